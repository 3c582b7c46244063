package proxy

import (
	"context"
	"reflect"
)

// ctxWatch holds the response contexts started under one context — the
// server's, which it passes to every request — so that they are aborted
// when it ends (respContext.abort): one context.AfterFunc for all of them,
// rather than one per request, which allocated three times and entered
// each request in the context's children under its lock.
type ctxWatch struct {
	ctx  context.Context
	stop func() bool
	rcs  map[*respContext]struct{}
}

// maxIdleWatches bounds the watches kept with no request in them, for
// the contexts that come again; past it, an idle watch is dropped.
const maxIdleWatches = 16

// watch has rc aborted when ctx ends. rc.mu is held.
func (p *Proxy) watch(ctx context.Context, rc *respContext) {
	if ctx.Done() == nil {
		return // a context that never ends
	}
	if reflect.TypeOf(ctx).Kind() != reflect.Pointer {
		// Not known to be usable as a map key: a watch of its own.
		rc.stopCtx = context.AfterFunc(ctx, rc.abort)
		return
	}
	p.watchMu.Lock()
	defer p.watchMu.Unlock()
	w := p.watches[ctx]
	if w == nil {
		w = &ctxWatch{ctx: ctx, rcs: make(map[*respContext]struct{})}
		if p.watches == nil {
			p.watches = make(map[context.Context]*ctxWatch)
		}
		p.watches[ctx] = w
		// An ended ctx runs ctxEnded at once, on its own goroutine: it
		// waits for p.watchMu and finds rc.
		w.stop = context.AfterFunc(ctx, func() { p.ctxEnded(w) })
	}
	w.rcs[rc] = struct{}{}
	rc.watch = w
}

// unwatch takes rc, which has sent its final response, out of its watch.
// rc.mu is held.
func (p *Proxy) unwatch(rc *respContext) {
	if rc.stopCtx != nil {
		rc.stopCtx()
		rc.stopCtx = nil
	}
	w := rc.watch
	if w == nil {
		return
	}
	rc.watch = nil
	p.watchMu.Lock()
	defer p.watchMu.Unlock()
	delete(w.rcs, rc)
	if len(w.rcs) == 0 && p.watches[w.ctx] == w && len(p.watches) > maxIdleWatches {
		delete(p.watches, w.ctx)
		w.stop()
	}
}

// ctxEnded aborts the response contexts of w, whose context ended.
func (p *Proxy) ctxEnded(w *ctxWatch) {
	p.watchMu.Lock()
	if p.watches[w.ctx] == w {
		delete(p.watches, w.ctx)
	}
	rcs := make([]*respContext, 0, len(w.rcs))
	for rc := range w.rcs {
		rcs = append(rcs, rc)
	}
	clear(w.rcs)
	p.watchMu.Unlock()
	for _, rc := range rcs {
		rc.abort()
	}
}
