package proxy

import (
	"context"
	"errors"
	"sync"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// respContext is the response context of one proxied request (RFC 3261
// §16.7): its branches, the final responses they gave, and whether the
// final response went upstream.
//
// It holds no goroutine: once begin has started the first branches, it
// moves only on events — the branches' responses and errors (their
// ClientHandler callbacks, on the transport's and the transaction timers'
// goroutines), Timer C (a transaction.Timer), a CANCEL of the request
// (Proxy.serveCancel calls cancel) and the end of the server's context
// (context.AfterFunc). Each event runs under mu, sends what it must and
// returns.
type respContext struct {
	p    *Proxy
	tx   *transaction.ServerTx
	req  *sip.Request // as received; responses made here answer it, each branch forwards a copy
	ro   routeEdit    // the Route processing of req (§16.4)
	hash hashHex

	mu       sync.Mutex
	targets  []target  // the targets not tried yet, by groups (see target)
	target1  [1]target // the array of targets when there is one
	branches []*branch
	first    branch          // the first branch, kept here: one allocation less
	firstBr  [1]*branch      // the array of branches while there is one
	finals   []*sip.Response // non-2xx final responses, ready to go upstream
	watch    *ctxWatch       // aborts it when the server's context ends (see Proxy.watch)
	stopCtx  func() bool     // or this unregisters abort from the context; nil until set
	// The counts and flags share two words: a call's context lives as
	// long as its INVITE's client transactions, 32 s after the answer.
	pending     int32 // branches without a final response
	recursed    int32 // targets added from 3xx responses (recurse.go)
	got6xx      bool
	cancelled   bool
	finalSent   bool
	recordRoute bool // record-route each branch (§16.6 step 4); never changes
	invite      bool // never changes
}

// branch is one client transaction of a respContext.
type branch struct {
	rc          *respContext
	t           *target // in rc's targets, or its own after a failover
	client      *transaction.ClientTx
	timerC      transaction.Timer // on the transaction layer's heap: no allocation
	provisional bool              // a 1xx arrived
	final       bool              // counted as finished in rc.pending
}

func newRespContext(p *Proxy, tx *transaction.ServerTx, req *sip.Request, ro *routing, hash hashHex, ts []target) *respContext {
	rc := &respContext{
		p:      p,
		tx:     tx,
		req:    req,
		ro:     ro.routeEdit,
		hash:   hash,
		invite: req.Method == sip.MethodInvite,
	}
	rc.targets = append(rc.target1[:0], ts...) // ts may be the caller's
	return rc
}

// begin forwards the request to the first group of targets and returns;
// the response context goes on from the events it then receives (see
// respContext), until the final response went upstream.
//
// An INVITE's context is entered in p.calls before its server
// transaction is asked whether it was cancelled: a CANCEL handled after the
// entry finds it there, one handled before has closed the channel, so
// none is missed.
func (rc *respContext) begin(ctx context.Context) {
	if rc.invite {
		rc.p.addCall(rc)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.invite && rc.tx.IsCancelled() {
		// Cancelled while queued: nothing goes downstream, and the
		// answer is 487 (§16.10).
		rc.cancelled = true
		rc.targets = nil
	}
	rc.next()
	if !rc.finalSent {
		rc.p.watch(ctx, rc)
	}
}

// cancel cancels the request (§16.10): no further group is tried and the
// pending branches are cancelled; the best response — 487 from the
// branches, or made here for those that could not be cancelled yet — goes
// upstream once they are all done.
func (rc *respContext) cancel() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.cancelled || rc.finalSent {
		return
	}
	rc.cancelled = true
	rc.targets = nil
	rc.cancelPending()
	rc.next()
}

// abort runs when the server's context ends (the server closes): the
// pending branches are cancelled and their timers stopped. The request may
// stay unanswered then, as server.ErrAnswerLater allows.
func (rc *respContext) abort() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.stopAll() {
		rc.next()
	}
}

// shutdown ends the call for a closing server (Proxy.Shutdown): the
// pending branches are cancelled, no other is started, and the caller gets
// 503 now, not the 487 the branches will bring. rc.mu is not held.
func (rc *respContext) shutdown() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.stopAll() {
		resp := response(rc.req, sip.StatusServiceUnavailable)
		resp.Reason = "Service Unavailable - shutting down"
		rc.respond(resp)
	}
}

// stopAll takes the request out of the proxy's pending INVITEs and, unless
// it was answered, drops the targets not tried, cancels the pending
// branches and stops their Timer C; it reports whether the request is
// still unanswered. rc.mu is held.
func (rc *respContext) stopAll() bool {
	rc.p.removeCall(rc)
	if rc.finalSent {
		return false
	}
	rc.targets = nil
	rc.cancelPending()
	for _, b := range rc.branches {
		b.stopTimerC()
	}
	return true
}

// next starts the next group of targets while nothing is pending, or sends
// the best response when none is left (§16.7 step 4). rc.mu is held.
func (rc *respContext) next() {
	for rc.pending == 0 && !rc.finalSent {
		if len(rc.targets) == 0 || rc.got6xx || rc.cancelled {
			rc.sendBest()
			return
		}
		n := group(rc.targets)
		g := rc.targets[:n]
		rc.targets = rc.targets[n:]
		for i := range g {
			rc.start(&g[i])
		}
	}
}

// start forwards a copy of the request to t (§16.6). rc.mu is held.
func (rc *respContext) start(t *target) {
	r := rc.req.Clone() // step 1
	rc.ro.apply(r)
	rc.p.forward(r, &rc.ro, t, rc.tx.Source(), rc.recordRoute, rc.p.viaValue(t.dst, rc.hash))
	b := &rc.first
	if rc.branches == nil {
		rc.branches = rc.firstBr[:0]
	} else {
		b = &branch{}
	}
	*b = branch{rc: rc, t: t}
	rc.branches = append(rc.branches, b)
	rc.pending++
	ct, err := rc.p.tl.Request(r, t.dst, b)
	if err != nil {
		// §16.9: a transport error is a 503 from the branch, unless
		// DNS gave another destination to try (RFC 3263 §4.3).
		rc.p.log.Debug("branch not sent", "call_id", rc.callID(), "dst", t.dst.Addr, "err", err)
		if !b.failover() {
			b.finish(sip.StatusServiceUnavailable)
		}
		return
	}
	b.client = ct
	if rc.invite {
		// Step 11: Timer C.
		b.timerC.Start(rc.p.tl, rc.p.timerC, b)
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
		rc.p.log.Debug("response not sent upstream", "call_id", rc.callID(), "status", resp.StatusCode, "err", err)
	}
	if resp.StatusCode >= 200 && !rc.finalSent {
		rc.finalSent = true
		if rc.invite {
			rc.p.removeCall(rc)
		}
		rc.p.unwatch(rc)
		rc.release()
	}
}

// release lets go of what the response context needs no more once the
// final response went upstream: the request, the final responses and the
// targets not tried. An INVITE's context lives on for as long as its
// branches' client transactions, 32 s in Accepted (RFC 6026 §7.2), to
// pass on 2xx retransmissions, for which the server transaction is
// enough; keeping a parsed INVITE per call that long is most of a live
// call's memory. rc.mu is held.
func (rc *respContext) release() {
	rc.req = nil
	rc.ro = routeEdit{}
	rc.finals = nil
	rc.targets = nil
}

// callID is the Call-ID for the debug log, "" once released. rc.mu is held.
func (rc *respContext) callID() string {
	if rc.req == nil {
		return ""
	}
	return rc.req.CallID()
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
			rc.p.log.Debug("branch not cancelled", "call_id", rc.callID(), "err", err)
		}
		if !b.provisional {
			b.finish(sip.StatusRequestTerminated)
		}
	}
}

// sendBest sends the best of the final responses (§16.7 step 6); when
// there is none, 487 for a request cancelled before any branch started
// (§16.10), else 408. rc.mu is held.
func (rc *respContext) sendBest() {
	best := chooseBest(rc.finals)
	switch {
	case best != nil:
	case rc.cancelled:
		best = response(rc.req, sip.StatusRequestTerminated)
	default:
		best = response(rc.req, sip.StatusRequestTimeout)
	}
	rc.respond(best)
}

// chooseBest picks the response to send upstream from the final ones
// (§16.7 step 6): any 6xx; else one of the lowest class, preferring 401,
// 407, 415, 420 and 484 among 4xx, as the RFC suggests, and taking 404 and
// 408 last: that one contact is unknown or did not answer says less about
// the callee than another's 486 or 403 does. A 503 becomes 500, since a 503 would
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
		case 404, 408:
			n += 2
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

// HandleResponse implements transaction.ClientHandler (§16.7). The
// response is the branch's from now on — the client transaction is done
// with it once it passes it up — so it is changed and sent upstream
// itself, not a copy.
func (b *branch) HandleResponse(_ *transaction.ClientTx, resp *sip.Response) {
	rc := b.rc
	r := resp
	r.PopVia() // step 3: our Via
	if !r.Has("Via") {
		// Step 3: with no Via left the response was meant for us and is
		// not forwarded. A final one still ends its branch, or the
		// caller would wait for Timer C: it counts with its status, as
		// a response of our own to the request.
		if r.StatusCode < 200 {
			return
		}
		rc.mu.Lock()
		req := rc.req
		rc.mu.Unlock()
		if req == nil {
			return // the final response went upstream already
		}
		own := sip.NewResponse(req, r.StatusCode, r.Reason)
		if tag := r.ToTag(); tag != "" {
			own.SetToTag(tag)
		}
		r = own
	}
	code := r.StatusCode
	redirects, rest := b.redirectTargets(r)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch {
	case code == sip.StatusTrying:
		// §16.7 step 5: a 100 is never forwarded.
		b.provisional = true
	case code < 200:
		b.provisional = true
		if b.final {
			// Counted as finished already (cancelled, or Timer C): its
			// CANCEL goes out now (§9.1), and the caller hears no more
			// of it.
			return
		}
		b.timerC.Reset(rc.p.timerC) // §16.8; an INVITE's only
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
		if code == sip.StatusServiceUnavailable && b.failover() {
			rc.next()
			return
		}
		b.final = true
		rc.pending--
		b.stopTimerC()
		if redirects != nil {
			r = rc.recurse(r, redirects, rest)
		}
		if r != nil && !rc.finalSent {
			rc.finals = append(rc.finals, r)
		}
		if code >= 600 && rc.invite {
			// Step 5: a 6xx ends the search; the rest are cancelled.
			rc.got6xx = true
			rc.targets = nil
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
	// RFC 3263 §4.3: a transport error, or a timeout without any
	// response, is a failure that sends the request to the next
	// destination.
	if (code == sip.StatusServiceUnavailable || !b.provisional) && b.failover() {
		b.rc.next()
		return
	}
	b.finish(code)
	b.rc.next()
}

// failover ends the branch, which failed as RFC 3263 §4.3 defines it (a
// transport error, a timeout without a response, a 503), and starts a new
// one — the same request with a new branch ID, a new transaction — to the
// next destination DNS gave for its target. It reports false, doing
// nothing, when there is none or the request is over (answered, cancelled,
// a 6xx). rc.mu is held.
func (b *branch) failover() bool {
	rc := b.rc
	if len(b.t.alts) == 0 || rc.cancelled || rc.got6xx || rc.finalSent {
		return false
	}
	b.final = true
	rc.pending--
	b.stopTimerC()
	next := *b.t
	next.dst, next.alts = b.t.alts[0], b.t.alts[1:]
	rc.p.log.Debug("failover", "call_id", rc.callID(), "from", b.t.dst.Addr, "to", next.dst.Addr)
	rc.start(&next)
	return true
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
	if !b.rc.finalSent {
		b.rc.finals = append(b.rc.finals, response(b.rc.req, code))
	}
}

func (b *branch) stopTimerC() { b.timerC.Stop() }

// TimerFired implements transaction.TimerFunc: Timer C fired.
func (b *branch) TimerFired() { b.fireTimerC() }

// fireTimerC: an INVITE branch went Timer C without a final response
// (§16.8). It is cancelled — at once if it had a provisional response,
// else by its transaction when one comes (§9.1) — and counts as a 408 now
// either way. Without a provisional response §16.8 asks for just that; with
// one, the 487 the CANCEL brings is not awaited: the caller cancelled
// nothing, so a 487 would mislead it, and a callee that never answers the
// CANCEL would hold the call for 64*T1 more. The 487, when it comes, is
// absorbed as the branch is already final.
func (b *branch) fireTimerC() {
	rc := b.rc
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if b.final || b.client == nil {
		return
	}
	if err := b.client.Cancel(); err != nil && !errors.Is(err, transaction.ErrFinal) {
		rc.p.log.Debug("branch not cancelled", "call_id", rc.callID(), "err", err)
	}
	b.finish(sip.StatusRequestTimeout)
	rc.next()
}
