package ua

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/sdp"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// core is the UA as the transaction layer's TU.
type core struct{ u *UA }

func (k core) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	k.u.handleRequest(tx, req)
}

// HandleStray takes an ACK for a 2xx of ours, and a 2xx retransmitted
// after its INVITE transaction ended (RFC 6026 §8.4), which is ACKed again.
func (k core) HandleStray(in *transport.Inbound) {
	u := k.u
	switch m := in.Msg.(type) {
	case *sip.Request:
		switch m.Method {
		case sip.MethodAck:
			if id, ok := dialog.Match(m); ok {
				if c := u.findCall(id); c != nil {
					c.onAck(m)
				}
			}
		case sip.MethodCancel:
			// §9.2: a CANCEL that matches no transaction gets 481.
			u.out.SendResponse(sip.NewResponse(m, sip.StatusCallTransactionDoesNotExist, ""), in.Source)
		}
	case *sip.Response:
		if cs, err := m.CSeq(); err == nil && cs.Method == sip.MethodInvite && m.IsSuccess() {
			if id, ok := dialog.Match(m); ok {
				if c := u.findCall(id); c != nil {
					c.mu.Lock()
					var ack *sip.Request
					if c.ack != nil && c.ackSeq == cs.Seq {
						ack = c.ack.Clone()
					}
					d := c.dlg
					c.mu.Unlock()
					if ack != nil {
						u.sendAck(d, ack)
					}
				}
			}
		}
	}
}

// handleRequest dispatches a new request (RFC 3261 §8.2).
func (u *UA) handleRequest(tx *transaction.ServerTx, req *sip.Request) {
	u.mu.Lock()
	closed := u.closed
	u.mu.Unlock()
	if closed {
		respond(tx, req, sip.StatusServiceUnavailable, "", nil)
		return
	}
	if req.Method == sip.MethodCancel {
		// §9.2: 200 to the CANCEL; the INVITE's watcher answers it 487.
		if _, ok := u.tl.MatchCancel(req); ok {
			respond(tx, req, sip.StatusOK, "", nil)
		} else {
			respond(tx, req, sip.StatusCallTransactionDoesNotExist, "", nil)
		}
		return
	}
	if _, err := req.CSeq(); err != nil {
		respond(tx, req, sip.StatusBadRequest, "Bad CSeq", nil)
		return
	}
	// §8.2.2.3: option tags we do not know are refused with 420.
	var unsupported []string
	for _, t := range req.OptionTags("Require") {
		if !knownTag(t) {
			unsupported = append(unsupported, t)
		}
	}
	if len(unsupported) > 0 && req.Method != sip.MethodAck {
		respond(tx, req, sip.StatusBadExtension, "", func(r *sip.Response) {
			for _, t := range unsupported {
				r.Add("Unsupported", t)
			}
		})
		return
	}
	if req.ToTag() != "" {
		// §12.2.2: a request within a dialog.
		id, ok := dialog.Match(req)
		var c *Call
		if ok {
			c = u.findCall(id)
		}
		if c == nil {
			respond(tx, req, sip.StatusCallTransactionDoesNotExist, "", nil)
			return
		}
		c.mu.Lock()
		d := c.dlg
		if d == nil || d.ID() != id {
			d = c.early[id]
		}
		c.mu.Unlock()
		if d == nil {
			respond(tx, req, sip.StatusCallTransactionDoesNotExist, "", nil)
			return
		}
		c.handleRequest(d, tx, req)
		return
	}
	switch req.Method {
	case sip.MethodInvite:
		u.incoming(tx, req)
	case sip.MethodOptions:
		// §11.2: what we allow, accept and support.
		respond(tx, req, sip.StatusOK, "", func(r *sip.Response) {
			r.SetToTag(newTag())
			r.Add("Allow", allowed)
			r.Add("Accept", "application/sdp")
			r.Add("Supported", supported)
		})
	case sip.MethodMessage:
		// RFC 3428 §7: the UAS answers 200 once the message is delivered.
		code := sip.StatusOK
		if u.cfg.OnMessage != nil {
			if c := u.cfg.OnMessage(req); c != 0 {
				code = c
			}
		}
		respond(tx, req, code, "", func(r *sip.Response) { r.SetToTag(newTag()) })
	case sip.MethodBye, sip.MethodPrack, sip.MethodUpdate, sip.MethodInfo, sip.MethodRefer, sip.MethodNotify:
		// These exist only within a dialog.
		respond(tx, req, sip.StatusCallTransactionDoesNotExist, "", nil)
	case sip.MethodAck:
	default:
		respond(tx, req, sip.StatusMethodNotAllowed, "", func(r *sip.Response) {
			r.SetToTag(newTag())
			r.Add("Allow", allowed)
		})
	}
}

// IncomingCall is an INVITE received outside a dialog, waiting for the
// application to ring, answer or reject it. Its methods are safe for
// concurrent use.
type IncomingCall struct {
	u        *UA
	tx       *transaction.ServerTx
	req      *sip.Request
	call     *Call
	dlg      *dialog.Dialog
	replaces *Call
	early    bool   // replaces an early dialog of ours (CANCEL it)
	seq      uint32 // the INVITE's CSeq

	mu        sync.Mutex
	final     bool
	answered  []byte // SDP answer sent in a reliable 1xx
	rseq      uint32
	prackWait chan struct{}
	prackRSeq uint32
	finalCh   chan struct{}
}

// Request returns the INVITE.
func (ic *IncomingCall) Request() *sip.Request { return ic.req }

// From returns the caller's address.
func (ic *IncomingCall) From() sip.Address { a, _ := ic.req.From(); return a }

// Replaces returns the call this INVITE replaces (RFC 3891), or nil.
func (ic *IncomingCall) Replaces() *Call { return ic.replaces }

// Cancelled is closed when the caller CANCELs; the UA has then answered
// 487 (RFC 3261 §9.2).
func (ic *IncomingCall) Cancelled() <-chan struct{} { return ic.tx.Cancelled() }

// Call returns the call the INVITE makes; it is early until answered.
func (ic *IncomingCall) Call() *Call { return ic.call }

// incoming takes a new INVITE (RFC 3261 §13.3).
func (u *UA) incoming(tx *transaction.ServerTx, req *sip.Request) {
	if _, ok := contactOf(req); !ok {
		respond(tx, req, sip.StatusBadRequest, "Missing Contact", nil)
		return
	}
	cs, _ := req.CSeq()
	ic := &IncomingCall{u: u, tx: tx, req: warm(req.Clone()), seq: cs.Seq, finalCh: make(chan struct{})}
	// RFC 3891 §3.
	if n := req.Count("Replaces"); n > 0 {
		if n > 1 {
			respond(tx, req, sip.StatusBadRequest, "Multiple Replaces", nil)
			return
		}
		rp, err := req.Replaces()
		if err != nil {
			respond(tx, req, sip.StatusBadRequest, "Bad Replaces", nil)
			return
		}
		c := u.findCall(dialog.ID{CallID: rp.CallID, LocalTag: rp.ToTag, RemoteTag: rp.FromTag})
		code := 0
		switch {
		case c == nil:
			code = sip.StatusCallTransactionDoesNotExist
		default:
			switch c.State() {
			case dialog.Terminated:
				code = sip.StatusDecline
			case dialog.Confirmed:
				if rp.EarlyOnly {
					code = sip.StatusBusyHere
				}
			default:
				if !c.isUAC {
					code = sip.StatusCallTransactionDoesNotExist
				}
				ic.early = true
			}
		}
		if code != 0 {
			respond(tx, req, code, "", func(r *sip.Response) { r.SetToTag(newTag()) })
			return
		}
		ic.replaces = c
	}
	c := newCall(u, false)
	if code, mod := c.se.check(u, req); code != 0 {
		respond(tx, req, code, "", func(r *sip.Response) {
			r.SetToTag(newTag())
			mod(r)
		})
		return
	}
	d, err := dialog.NewUAS(req, newTag(), u.contact)
	if err != nil {
		code, reason := sip.StatusOf(err)
		respond(tx, req, code, reason, nil)
		return
	}
	c.dlg, c.ic = d, ic
	ic.call, ic.dlg = c, d
	u.addCall(d.ID(), c)
	if u.cfg.OnInvite == nil {
		ic.Reject(sip.StatusTemporarilyUnavailable, "")
		return
	}
	// The watcher answers a CANCEL with 487 (§9.2).
	if !u.goAsync(func() {
		select {
		case <-tx.Cancelled():
			if ic.reject(sip.StatusRequestTerminated, "") == nil {
				c.end(context.Canceled)
			}
		case <-ic.finalCh:
		case <-u.ctx.Done():
			ic.Reject(sip.StatusServiceUnavailable, "")
		}
	}) {
		return
	}
	u.goAsync(func() { u.cfg.OnInvite(ic) })
}

// response builds a response to the INVITE with our To tag and Contact.
func (ic *IncomingCall) response(code int, reason string) *sip.Response {
	r := sip.NewResponse(ic.req, code, reason)
	r.SetToTag(ic.dlg.ID().LocalTag)
	if code > 100 && code < 300 {
		r.Add("Contact", (&sip.Address{URI: ic.u.contact}).String())
	}
	return r
}

// Ring sends 180 (Ringing); reliably, waiting for the PRACK, when the
// caller Requires 100rel (RFC 3262 §3).
func (ic *IncomingCall) Ring() error {
	return ic.Progress(context.Background(), sip.StatusRinging, false)
}

// supports100rel reports whether the caller supports or requires
// reliable provisional responses.
func (ic *IncomingCall) supports100rel() bool {
	return hasTag(ic.req, "Supported", "100rel") || hasTag(ic.req, "Require", "100rel")
}

// Progress sends a provisional response — 183 (Session Progress) with the
// SDP answer for early media when code is 0. With reliable, and a caller
// that supports 100rel, it is sent reliably (RFC 3262 §3): Require:
// 100rel and RSeq, retransmitted from T1 doubling until the PRACK, which
// Progress waits for; after 64*T1 without one the INVITE is rejected 500
// and ErrNoPRACK returned. A caller that Requires 100rel gets every
// provisional response reliably.
func (ic *IncomingCall) Progress(ctx context.Context, code int, reliable bool) error {
	if code == 0 {
		code = sip.StatusSessionProgress
	}
	if hasTag(ic.req, "Require", "100rel") {
		reliable = true
	}
	if reliable && !ic.supports100rel() {
		reliable = false
	}
	c := ic.call
	ic.mu.Lock()
	if ic.final {
		ic.mu.Unlock()
		return transaction.ErrFinal
	}
	if ic.prackWait != nil {
		ic.mu.Unlock()
		return ErrPending
	}
	r := ic.response(code, "")
	if code == sip.StatusSessionProgress && len(ic.req.Body) > 0 {
		c.mu.Lock()
		ans := ic.answered
		var err error
		if ans == nil {
			ans, err = c.answerOffer(ic.req.Body)
		}
		c.mu.Unlock()
		if err != nil {
			ic.mu.Unlock()
			return err
		}
		r.Add("Content-Type", "application/sdp")
		r.Body = ans
		if reliable {
			ic.answered = ans
		}
	}
	if !reliable {
		err := ic.tx.Respond(r)
		ic.mu.Unlock()
		return err
	}
	if ic.rseq == 0 {
		ic.rseq = 1 + rand.Uint32N(1<<31-2) // RFC 3262 §3: 1 to 2**31-1
	} else {
		ic.rseq++
	}
	rseq := ic.rseq
	r.Add("Require", "100rel")
	r.Add("RSeq", strconv.FormatUint(uint64(rseq), 10))
	wait := make(chan struct{})
	ic.prackWait, ic.prackRSeq = wait, rseq
	ic.mu.Unlock()
	defer func() {
		ic.mu.Lock()
		ic.prackWait = nil
		ic.mu.Unlock()
	}()
	if err := ic.tx.Respond(r.Clone()); err != nil {
		return err
	}
	t1 := ic.u.t1
	interval := t1
	start := time.Now()
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-wait:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-ic.finalCh:
			return transaction.ErrFinal
		case <-timer.C:
			if time.Since(start) >= 64*t1 {
				// RFC 3262 §3: reject the INVITE with a 5xx.
				ic.Reject(sip.StatusInternalServerError, "No PRACK")
				return ErrNoPRACK
			}
			if !transport.Reliable(ic.tx.Source().Transport) {
				ic.tx.Respond(r.Clone())
			}
			interval *= 2
			timer.Reset(min(interval, 64*t1-time.Since(start)))
		}
	}
}

// handlePrack takes a PRACK in an early dialog (RFC 3262 §3).
func (c *Call) handlePrack(d *dialog.Dialog, tx *transaction.ServerTx, req *sip.Request) {
	if err := d.ReceiveRequest(req); err != nil {
		code, reason := sip.StatusOf(err)
		respond(tx, req, code, reason, nil)
		return
	}
	rack, err := req.RAck()
	if err != nil {
		respond(tx, req, sip.StatusBadRequest, "Bad RAck", nil)
		return
	}
	c.mu.Lock()
	ic := c.ic
	c.mu.Unlock()
	var acked chan struct{}
	if ic != nil {
		ic.mu.Lock()
		if ic.prackWait != nil && rack.RSeq == ic.prackRSeq && rack.CSeq == ic.seq && rack.Method == sip.MethodInvite {
			acked = ic.prackWait
			ic.prackWait = nil
		}
		ic.mu.Unlock()
	}
	if acked == nil {
		// §3: a PRACK that matches no unacknowledged reliable 1xx.
		respond(tx, req, sip.StatusCallTransactionDoesNotExist, "", nil)
		return
	}
	// The PRACK is answered before Ring returns, so that a final response
	// the application sends next follows the PRACK's 200 on the wire.
	respond(tx, req, sip.StatusOK, "", nil)
	close(acked)
}

// Answer accepts the call with 200 (OK) carrying our SDP answer (or our
// offer, when the INVITE had none), retransmits it until the ACK (RFC
// 3261 §13.3.1.4) and returns the confirmed call once the ACK arrived.
// Without an ACK within 64*T1 the call is ended with BYE and ErrNoAck
// returned. A call that Replaces another ends that one (BYE, or CANCEL
// for an early dialog of ours, RFC 3891 §3).
func (ic *IncomingCall) Answer(ctx context.Context) (*Call, error) {
	c := ic.call
	ic.mu.Lock()
	if ic.final {
		ic.mu.Unlock()
		return nil, transaction.ErrFinal
	}
	r := ic.response(sip.StatusOK, "")
	r.Add("Allow", allowed)
	r.Add("Supported", supported)
	c.mu.Lock()
	var body []byte
	var err error
	switch {
	case ic.answered != nil:
		// The answer went in a reliable 1xx: the exchange is complete.
	case len(ic.req.Body) > 0:
		body, err = c.answerOffer(ic.req.Body)
	default:
		if err = c.ensureMedia(); err == nil {
			body, err = c.sess.Offer(c.offerConfig(sdp.SendRecv))
			c.localOffer = body
		}
	}
	if err == nil {
		c.confirmed = true
	}
	c.mu.Unlock()
	if err != nil {
		ic.mu.Unlock()
		ic.Reject(sip.StatusNotAcceptableHere, "")
		return nil, err
	}
	if body != nil {
		r.Add("Content-Type", "application/sdp")
		r.Body = body
	}
	c.se.addToResponse(c, ic.req, r)
	ic.final = true
	close(ic.finalCh)
	ic.mu.Unlock()
	ic.dlg.Confirm()
	p, err := c.send2xx(ic.tx, r, func(ack *sip.Request) {
		c.mu.Lock()
		if off := c.localOffer; off != nil && len(ack.Body) > 0 {
			c.takeAnswer(off, ack.Body)
		}
		c.localOffer = nil
		c.ic = nil
		c.mu.Unlock()
	})
	if err != nil {
		c.end(err)
		return nil, err
	}
	select {
	case <-p.acked:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, p.err
	}
	c.se.fromRequest(c, ic.req)
	if old := ic.replaces; old != nil {
		ic.u.goAsync(func() {
			ctx, cancel := context.WithTimeout(ic.u.ctx, 64*ic.u.t1)
			defer cancel()
			old.Hangup(ctx)
			ic.u.emit(Event{Kind: EventReplaced, Call: old, NewCall: c})
		})
	}
	return c, nil
}

// Reject answers the INVITE with a final response of 300 or above and
// ends the call (§12.3); reason "" takes the standard phrase.
func (ic *IncomingCall) Reject(code int, reason string) error {
	err := ic.reject(code, reason)
	if err == nil {
		ic.call.end(&ResponseError{sip.NewResponse(ic.req, code, reason)})
	}
	return err
}

func (ic *IncomingCall) reject(code int, reason string) error {
	if code < 300 || code > 699 {
		return errors.New("ua: Reject needs a code of 300 to 699")
	}
	ic.mu.Lock()
	if ic.final {
		ic.mu.Unlock()
		return transaction.ErrFinal
	}
	ic.final = true
	close(ic.finalCh)
	ic.mu.Unlock()
	ic.dlg.Terminate()
	return ic.tx.Respond(ic.response(code, reason))
}
