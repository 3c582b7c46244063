package ua

import (
	"context"
	"net/netip"
	"strconv"

	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/sdp"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

func netipAddrPort(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// InviteOptions tune UA.Invite. The zero value places a plain call with an
// SDP offer of our codecs.
type InviteOptions struct {
	// To is the To address; the Request-URI when zero.
	To sip.Address
	// NoOffer sends the INVITE without SDP: the offer comes in the 2xx and
	// our answer goes in the ACK (RFC 3264 §4, RFC 3261 §13.2.1).
	NoOffer bool
	// Require100rel asks for reliable provisional responses (RFC 3262)
	// with Require: 100rel; they are always Supported.
	Require100rel bool
	// Replaces is the value of a Replaces header field (RFC 3891).
	Replaces string
	// ReferredBy is the value of a Referred-By header field (RFC 3892).
	ReferredBy string
	// SessionExpires asks for a session timer of that many seconds (RFC
	// 4028); 0 asks for none. RefreshWithUpdate refreshes with UPDATE
	// instead of re-INVITE.
	SessionExpires    uint32
	RefreshWithUpdate bool
	// OnProvisional sees each provisional response (in a goroutine of the
	// caller of Invite).
	OnProvisional func(*sip.Response)
}

// Invite places a call to uri and waits for its outcome (RFC 3261 §13.2):
// the call once a 2xx is ACKed, or a *ResponseError with the final
// response. Reliable provisional responses are PRACKed (RFC 3262), early
// dialogs kept per fork, a 2xx from a second fork ACKed and ended with
// BYE (§13.2.2.4), a 401/407 answered with credentials (§22.2) and a 422
// retried with the peer's Min-SE (RFC 4028 §8.1). When ctx ends before a
// final response the INVITE is CANCELed (§9.1) and ctx's error returned.
func (u *UA) Invite(ctx context.Context, uri sip.URI, opts *InviteOptions) (*Call, error) {
	var o InviteOptions
	if opts != nil {
		o = *opts
	}
	c := newCall(u, true)
	c.opts = o
	to := o.To
	if to.URI == (sip.URI{}) {
		to = sip.Address{URI: uri}
	}
	var body []byte
	c.mu.Lock()
	err := c.ensureMedia()
	if err == nil && !o.NoOffer {
		body, err = c.sess.Offer(c.offerConfig(sdp.SendRecv))
	}
	c.mu.Unlock()
	if err != nil {
		c.end(err)
		return nil, err
	}
	c.se.init(o.SessionExpires, o.RefreshWithUpdate)
	req := u.newRequest(sip.MethodInvite, uri, to, u.newCallID(), 1)
	if o.Require100rel {
		req.Add("Require", "100rel")
	}
	if o.Replaces != "" {
		req.Add("Replaces", o.Replaces)
	}
	if o.ReferredBy != "" {
		req.Add("Referred-By", o.ReferredBy)
	}
	if body != nil {
		req.Add("Content-Type", "application/sdp")
		req.Body = body
	}
	decorate(req)
	var st authState
	seq := uint32(1)
	tried422 := false
	for attempt := 0; attempt < 6; attempt++ {
		c.se.addToRequest(req, u)
		next := req.Clone()
		resp, err := c.inviteOnce(ctx, req, body)
		if err != nil {
			c.end(err)
			return nil, err
		}
		if resp.IsSuccess() {
			if ctx.Err() != nil {
				// The 2xx crossed our CANCEL (§9.1): the call is up but
				// unwanted; it is ACKed already, so end it with BYE.
				u.goAsync(func() { c.byeAndEnd(ctx.Err()) })
				return nil, ctx.Err()
			}
			c.se.fromResponse(c, resp)
			return c, nil
		}
		seq++
		switch {
		case challenged(resp):
			// §22.2: the transaction ACKed the 401/407; a new INVITE with
			// CSeq+1 carries the credentials.
			next = retryCopy(next, seq)
			if !u.authorize(&st, next, resp) {
				return nil, c.fail(ctx, resp)
			}
		case resp.StatusCode == sip.StatusSessionIntervalTooSmall && !tried422:
			// RFC 4028 §8.1: retry with the Min-SE of the 422.
			tried422 = true
			min, _ := strconv.ParseUint(firstToken(resp.Get("Min-SE")), 10, 32)
			if min == 0 {
				return nil, c.fail(ctx, resp)
			}
			c.se.raise(uint32(min))
			next = retryCopy(next, seq)
		default:
			return nil, c.fail(ctx, resp)
		}
		req = next
	}
	return nil, c.fail(ctx, nil)
}

func (c *Call) fail(ctx context.Context, resp *sip.Response) error {
	var err error
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case resp != nil:
		err = &ResponseError{resp}
	default:
		err = ErrAuth
	}
	c.end(err)
	return err
}

// firstToken returns s up to the first ';' or space.
func firstToken(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == ';' || s[i] == ' ' || s[i] == '\t' {
			return s[:i]
		}
	}
	return s
}

// inviteOnce runs one initial INVITE transaction to its final response.
func (c *Call) inviteOnce(ctx context.Context, req *sip.Request, offer []byte) (*sip.Response, error) {
	u := c.u
	dst, err := u.targetOf(req)
	if err != nil {
		return nil, err
	}
	inv := req.Clone()  // read by the transport's goroutine
	inv2 := req.Clone() // read by this one (sip messages cache what they parse)
	q := c.u.newQueue()
	q.on = func(_ *transaction.ClientTx, r *sip.Response) {
		if r.IsSuccess() {
			c.initial2xx(inv, r, offer)
		}
	}
	tx, err := u.tl.Request(req, dst, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.inviteTx = tx
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inviteTx = nil
		c.mu.Unlock()
	}()
	cancelled := false
	for {
		wait := ctx
		if cancelled {
			wait = context.Background()
		}
		r, err := q.next(wait)
		if err != nil {
			if ctx.Err() != nil && !cancelled {
				cancelled = true
				tx.Cancel()
				continue
			}
			return nil, err
		}
		switch {
		case r.StatusCode < 200:
			c.provisional(inv2, r, offer)
			if c.opts.OnProvisional != nil {
				c.opts.OnProvisional(r)
			}
		case r.IsSuccess():
			c.mu.Lock()
			if !c.hasNeg && offer != nil {
				c.takeAnswer(offer, r.Body)
			}
			c.mu.Unlock()
			return r, nil
		default:
			// §12.3: a final failure ends every early dialog.
			c.mu.Lock()
			early := c.early
			c.early = map[dialog.ID]*dialog.Dialog{}
			c.dlg = nil
			c.mu.Unlock()
			for id, d := range early {
				d.Terminate()
				u.removeCall(id, c)
			}
			return r, nil
		}
	}
}

// provisional takes a 1xx to the initial INVITE: an early dialog when it
// has a To tag (§13.2.2.1), a PRACK when it is reliable (RFC 3262 §4).
func (c *Call) provisional(inv *sip.Request, r *sip.Response, offer []byte) {
	if r.StatusCode == sip.StatusTrying || r.ToTag() == "" {
		return
	}
	id, ok := dialog.Match(r)
	if !ok {
		return
	}
	c.mu.Lock()
	d := c.early[id]
	if d == nil && !c.confirmed {
		nd, err := dialog.NewUAC(inv, r)
		if err != nil {
			c.mu.Unlock()
			return
		}
		d = nd
		c.early[id] = d
		if c.dlg == nil {
			c.dlg = d
		}
		c.mu.Unlock()
		c.u.addCall(id, c)
		c.mu.Lock()
	} else if d != nil {
		c.mu.Unlock()
		d.ReceiveResponse(r)
		c.mu.Lock()
	}
	reliable := hasTag(r, "Require", "100rel") && r.Has("RSeq")
	if d == nil || !reliable {
		c.mu.Unlock()
		return
	}
	rseq, err := r.RSeq()
	if err != nil {
		c.mu.Unlock()
		return
	}
	// RFC 3262 §4: a retransmission (RSeq not above the last) is not
	// PRACKed again; the PRACK transaction retransmits itself.
	if last, seen := c.rseqs[id]; seen && rseq <= last {
		c.mu.Unlock()
		return
	}
	c.rseqs[id] = rseq
	if offer != nil && !c.hasNeg && len(r.Body) > 0 {
		c.takeAnswer(offer, r.Body)
	}
	c.mu.Unlock()
	cs, _ := r.CSeq()
	rack := strconv.FormatUint(uint64(rseq), 10) + " " + strconv.FormatUint(uint64(cs.Seq), 10) + " " + cs.Method
	c.u.goAsync(func() {
		ctx, cancel := context.WithTimeout(c.u.ctx, 64*c.u.t1)
		defer cancel()
		c.u.doAuth(ctx, d, func(int, *sip.Request) (*sip.Request, error) {
			p, err := d.NewRequest(sip.MethodPrack)
			if err != nil {
				return nil, err
			}
			p.Add("RAck", rack)
			decorate(p)
			return p, nil
		}, nil)
	})
}

// initial2xx takes a 2xx to the initial INVITE, inline: ACK it (again
// for a retransmission); the first makes the call, a later one from
// another fork is ACKed and ended with BYE (§13.2.2.4).
func (c *Call) initial2xx(inv *sip.Request, r *sip.Response, offer []byte) {
	id, ok := dialog.Match(r)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.confirmed && c.dlg != nil && c.dlg.ID() == id {
		c.mu.Unlock()
		c.ackFor(inv, r)
		return
	}
	if c.confirmed || c.ended {
		c.mu.Unlock()
		if c.u.findCall(id) != nil {
			return // the fork's ACK already went; its BYE is on its way
		}
		d, err := dialog.NewUAC(inv, r)
		if err != nil {
			return
		}
		ack := d.NewAck(inv)
		c.u.sendAck(d, ack)
		c.u.goAsync(func() {
			ctx, cancel := context.WithTimeout(c.u.ctx, 64*c.u.t1)
			defer cancel()
			other := newCall(c.u, true)
			other.dlg, other.confirmed = d, true
			c.u.addCall(id, other)
			other.request(ctx, sip.MethodBye, nil)
			other.end(nil)
		})
		return
	}
	d := c.early[id]
	delete(c.early, id)
	c.confirmed = true // no early dialog is made from here on
	c.mu.Unlock()
	if d == nil {
		nd, err := dialog.NewUAC(inv, r)
		if err != nil {
			return
		}
		d = nd
	} else {
		d.ReceiveResponse(r)
	}
	cs, _ := r.CSeq()
	ack := d.NewAck(inv)
	decorate(ack)
	c.mu.Lock()
	c.dlg, c.confirmed = d, true
	if offer == nil && len(r.Body) > 0 {
		// The offer came in the 2xx: the answer goes in the ACK.
		if ans, err := c.answerOffer(r.Body); err == nil {
			ack.Add("Content-Type", "application/sdp")
			ack.Body = ans
		}
	}
	c.ack, c.ackSeq = ack, cs.Seq
	others := c.early
	c.early = map[dialog.ID]*dialog.Dialog{}
	c.mu.Unlock()
	for oid, od := range others {
		od.Terminate()
		if oid != id {
			c.u.removeCall(oid, c)
		}
	}
	c.u.addCall(id, c)
	c.u.sendAck(d, ack.Clone())
}
