package proxy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// respContext is the response context of one proxied request (RFC 3261
// §16.7): its branches, the final responses they gave, and whether the
// final response went upstream.
type respContext struct {
	p           *Proxy
	tx          *transaction.ServerTx
	req         *sip.Request // as received; responses made here answer it
	fwd         *sip.Request // after Route processing; each branch clones it
	hash        string
	recordRoute string // the Record-Route value, "" for none
	invite      bool

	mu        sync.Mutex
	groups    [][]target // the groups not tried yet
	branches  []*branch
	pending   int             // branches without a final response
	finals    []*sip.Response // non-2xx final responses, ready to go upstream
	got6xx    bool
	cancelled bool
	finalSent bool
	done      chan struct{} // closed when finalSent turns true
}

// branch is one client transaction of a respContext.
type branch struct {
	rc          *respContext
	client      *transaction.ClientTx
	timerC      *time.Timer
	provisional bool // a 1xx arrived
	final       bool // counted as finished in rc.pending
}

func newRespContext(p *Proxy, tx *transaction.ServerTx, req, fwd *sip.Request, hash string, groups [][]target) *respContext {
	return &respContext{
		p:      p,
		tx:     tx,
		req:    req,
		fwd:    fwd,
		hash:   hash,
		invite: req.Method == sip.MethodInvite,
		groups: groups,
		done:   make(chan struct{}),
	}
}

// run forwards the request and waits until the final response went
// upstream, cancelling the branches if the request is cancelled (§16.10)
// or ctx ends.
func (rc *respContext) run(ctx context.Context) error {
	var cancelled <-chan struct{}
	if rc.invite {
		cancelled = rc.tx.Cancelled()
	}
	rc.mu.Lock()
	select {
	case <-cancelled:
		// Cancelled while queued: nothing was sent downstream.
		rc.cancelled = true
		rc.groups = nil
	default:
	}
	rc.next()
	rc.mu.Unlock()
	for {
		select {
		case <-rc.done:
			return nil
		case <-cancelled:
			cancelled = nil
			rc.mu.Lock()
			rc.cancelled = true
			rc.groups = nil
			rc.cancelPending()
			rc.mu.Unlock()
		case <-ctx.Done():
			rc.mu.Lock()
			rc.groups = nil
			rc.cancelPending()
			rc.mu.Unlock()
			return ctx.Err()
		}
	}
}

// next starts the next group of targets while nothing is pending, or sends
// the best response when none is left (§16.7 step 4). rc.mu is held.
func (rc *respContext) next() {
	for rc.pending == 0 && !rc.finalSent {
		if len(rc.groups) == 0 || rc.got6xx || rc.cancelled {
			rc.sendBest()
			return
		}
		g := rc.groups[0]
		rc.groups = rc.groups[1:]
		for _, t := range g {
			rc.start(t)
		}
	}
}

// start forwards a copy of the request to t (§16.6). rc.mu is held.
func (rc *respContext) start(t target) {
	r := rc.fwd.Clone()
	r.URI = t.uri // step 2
	for i := len(t.route) - 1; i >= 0; i-- {
		r.Prepend("Route", t.route[i])
	}
	r.DecMaxForwards() // step 3
	if rc.recordRoute != "" {
		r.Prepend("Record-Route", rc.recordRoute) // step 4
	}
	// Step 7: a next hop that is a strict router gets the Request-URI
	// at the end of the Route, and its own URI as the Request-URI.
	if routes, err := r.Routes(); err == nil && len(routes) > 0 && !routes[0].URI.Params.Has("lr") {
		r.Add("Route", "<"+r.URI.String()+">")
		r.URI = routes[0].URI
		r.PopFirst("Route")
	}
	// Step 8: our Via; the transport fills in sent-by.
	r.PushVia(sip.Via{Proto: sip.Version, Transport: cmpOr(t.dst.Transport, transport.UDP), Host: "0.0.0.0",
		Params: sip.Params(";branch=" + rc.p.branch(rc.hash))})
	b := &branch{rc: rc}
	rc.branches = append(rc.branches, b)
	rc.pending++
	ct, err := rc.p.tl.Request(r, t.dst, b)
	if err != nil {
		// §16.9: a transport error is a 503 from the branch.
		rc.p.log.Debug("branch not sent", "call_id", rc.req.CallID(), "dst", t.dst.Addr, "err", err)
		b.finish(sip.StatusServiceUnavailable)
		return
	}
	b.client = ct
	if rc.invite {
		// Step 11: Timer C.
		b.timerC = time.AfterFunc(rc.p.timerC, b.fireTimerC)
	}
}

// respond sends resp upstream through the server transaction; a 2xx the
// transaction no longer takes goes statelessly (RFC 6026 §8.7, forking).
// rc.mu is held, which keeps the responses in order.
func (rc *respContext) respond(resp *sip.Response) {
	err := rc.tx.Respond(resp)
	if errors.Is(err, transaction.ErrFinal) && resp.IsSuccess() && rc.invite {
		err = rc.p.tp.SendResponse(resp, rc.tx.Source())
	}
	if err != nil {
		rc.p.log.Debug("response not sent upstream", "call_id", rc.req.CallID(), "status", resp.StatusCode, "err", err)
	}
	if resp.StatusCode >= 200 && !rc.finalSent {
		rc.finalSent = true
		close(rc.done)
	}
}

// cancelPending cancels the branches without a final response (§16.7
// step 10, §16.10). A branch that has had no provisional response cannot
// be cancelled yet (§9.1): the transaction sends the CANCEL once one
// comes, and the branch counts as finished with 487 now, so that the
// caller does not wait for Timer B. rc.mu is held.
func (rc *respContext) cancelPending() {
	for _, b := range rc.branches {
		if b.final || b.client == nil {
			continue
		}
		if err := b.client.Cancel(); err != nil && !errors.Is(err, transaction.ErrFinal) {
			rc.p.log.Debug("branch not cancelled", "call_id", rc.req.CallID(), "err", err)
		}
		if !b.provisional {
			b.finish(sip.StatusRequestTerminated)
		}
	}
}

// sendBest sends the best of the final responses (§16.7 step 6), or 408
// when there is none. rc.mu is held.
func (rc *respContext) sendBest() {
	best := chooseBest(rc.finals)
	if best == nil {
		best = response(rc.req, sip.StatusRequestTimeout)
	}
	rc.respond(best)
}

// chooseBest picks the response to send upstream from the final ones
// (§16.7 step 6): any 6xx; else one of the lowest class, preferring 401,
// 407, 415, 420 and 484 among 4xx. A 503 becomes 500, since a 503 would
// tell the client this proxy is overloaded (step 6). The challenges of
// every 401 and 407 are merged into a 401 or 407 chosen (step 7).
func chooseBest(finals []*sip.Response) *sip.Response {
	var best *sip.Response
	rank := func(r *sip.Response) int {
		c := r.StatusCode
		if c >= 600 {
			return 0
		}
		n := c / 100 * 10
		switch c {
		case 401, 407, 415, 420, 484:
		default:
			n++
		}
		return n
	}
	for _, r := range finals {
		if best == nil || rank(r) < rank(best) {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	switch best.StatusCode {
	case sip.StatusServiceUnavailable:
		best = best.Clone()
		best.StatusCode, best.Reason = sip.StatusInternalServerError, sip.StatusText(sip.StatusInternalServerError)
	case sip.StatusUnauthorized, sip.StatusProxyAuthRequired:
		orig := best
		best = best.Clone()
		for _, r := range finals {
			if r == orig || (r.StatusCode != sip.StatusUnauthorized && r.StatusCode != sip.StatusProxyAuthRequired) {
				continue
			}
			for _, name := range [...]string{"WWW-Authenticate", "Proxy-Authenticate"} {
				for v := range r.Lines(name) {
					best.Add(name, v)
				}
			}
		}
	}
	return best
}

// HandleResponse implements transaction.ClientHandler (§16.7).
func (b *branch) HandleResponse(_ *transaction.ClientTx, resp *sip.Response) {
	rc := b.rc
	r := resp.Clone()
	r.PopVia() // step 3: our Via
	if !r.Has("Via") {
		return
	}
	code := r.StatusCode
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch {
	case code == sip.StatusTrying:
		// §16.7 step 5: a 100 is never forwarded.
		b.provisional = true
	case code < 200:
		b.provisional = true
		if b.timerC != nil && !b.final {
			b.timerC.Reset(rc.p.timerC) // §16.8
		}
		if !rc.finalSent {
			rc.respond(r)
		}
	case code < 300:
		// Step 5: every 2xx goes upstream at once; then the other
		// branches are cancelled (step 10).
		if rc.finalSent && !rc.invite {
			return
		}
		if !b.final {
			b.final = true
			rc.pending--
			b.stopTimerC()
		}
		rc.respond(r)
		if rc.invite {
			rc.cancelPending()
		}
	default:
		if b.final {
			return
		}
		b.final = true
		rc.pending--
		b.stopTimerC()
		rc.finals = append(rc.finals, r)
		if code >= 600 && rc.invite {
			// Step 5: a 6xx ends the search; the rest are cancelled.
			rc.got6xx = true
			rc.groups = nil
			rc.cancelPending()
		}
		rc.next()
	}
}

// HandleError implements transaction.ClientHandler: a timeout counts as a
// 408 from the branch, a transport error as a 503 (§16.7 step 2, §16.9).
func (b *branch) HandleError(_ *transaction.ClientTx, err error) {
	code := sip.StatusServiceUnavailable
	if errors.Is(err, transaction.ErrTimeout) {
		code = sip.StatusRequestTimeout
	}
	b.rc.mu.Lock()
	defer b.rc.mu.Unlock()
	if b.final {
		return
	}
	b.finish(code)
	b.rc.next()
}

// finish ends a branch with a response of code made here. rc.mu is held;
// the caller runs rc.next.
func (b *branch) finish(code int) {
	if b.final {
		return
	}
	b.final = true
	b.rc.pending--
	b.stopTimerC()
	b.rc.finals = append(b.rc.finals, response(b.rc.req, code))
}

func (b *branch) stopTimerC() {
	if b.timerC != nil {
		b.timerC.Stop()
	}
}

// fireTimerC: an INVITE branch went Timer C without a final response
// (§16.8). With a provisional response it is cancelled and its 487 awaited;
// without one it counts as a 408 now, and is cancelled when it can be.
func (b *branch) fireTimerC() {
	rc := b.rc
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if b.final || b.client == nil {
		return
	}
	if err := b.client.Cancel(); err != nil && !errors.Is(err, transaction.ErrFinal) {
		rc.p.log.Debug("branch not cancelled", "call_id", rc.req.CallID(), "err", err)
	}
	if !b.provisional {
		b.finish(sip.StatusRequestTimeout)
		rc.next()
	}
}
