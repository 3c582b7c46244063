package ua

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	pion "github.com/pion/sdp/v3"

	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/media"
	"github.com/sipd/sipd/sdp"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// EventKind says what an Event reports.
type EventKind uint8

// What Config.OnEvent hears of.
const (
	// EventEnded: the call is over (BYE either way, CANCEL, a failed
	// 2xx, session expiry); Call.Err says why.
	EventEnded EventKind = iota + 1
	// EventModified: the peer changed the session with a re-INVITE or an
	// UPDATE; Request is it.
	EventModified
	// EventInfo: an INFO arrived (RFC 6086); Request carries the body.
	EventInfo
	// EventRefer: a REFER was accepted and the transfer is done; NewCall
	// is the call to the Refer-To target (nil if it failed) and Status
	// its final status.
	EventRefer
	// EventNotify: a NOTIFY of the progress of a REFER we sent; Status is
	// the status line in its message/sipfrag body.
	EventNotify
	// EventReplaced: Call was replaced by NewCall (RFC 3891) and ended
	// with BYE.
	EventReplaced
)

func (k EventKind) String() string {
	switch k {
	case EventEnded:
		return "ended"
	case EventModified:
		return "modified"
	case EventInfo:
		return "info"
	case EventRefer:
		return "refer"
	case EventNotify:
		return "notify"
	case EventReplaced:
		return "replaced"
	}
	return "unknown"
}

// Event is something that happened in a call.
type Event struct {
	Kind    EventKind
	Call    *Call
	Request *sip.Request
	NewCall *Call
	Status  int
}

// Call is one INVITE dialog and its session: placed with UA.Invite or
// taken with IncomingCall.Answer. Its methods are safe for concurrent use.
type Call struct {
	u     *UA
	isUAC bool // we sent the INVITE that made it, so we own the Call-ID

	mu         sync.Mutex
	dlg        *dialog.Dialog
	early      map[dialog.ID]*dialog.Dialog // UAC: early dialogs of forks
	confirmed  bool
	sess       *sdp.Session
	rtp        *media.Session
	port       uint16 // our RTP port in SDP
	neg        sdp.Negotiated
	hasNeg     bool
	localOffer []byte // our offer awaiting an answer (in the ACK)
	remoteSDP  []byte
	// UAC: the ACK of the last 2xx to an INVITE of ours, re-sent when the
	// 2xx is retransmitted (§13.2.2.4).
	ack    *sip.Request
	ackSeq uint32
	// UAS: the 2xx being retransmitted until the ACK (§13.3.1.4).
	pending *pending2xx
	// glare (§14.1, §14.2; RFC 3311 §5.2)
	outOffer bool // our re-INVITE or UPDATE with an offer is pending
	inInvite bool // a re-INVITE from the peer is not yet ACKed
	rseqs    map[dialog.ID]uint32
	se       sessionTimer
	inviteTx *transaction.ClientTx // UAC: the initial INVITE until its final response
	ic       *IncomingCall         // UAS: until the final response
	referCh  chan int
	opts     InviteOptions

	done    chan struct{}
	ended   bool
	byeSent bool
	err     error
}

func newCall(u *UA, isUAC bool) *Call {
	return &Call{u: u, isUAC: isUAC, done: make(chan struct{}), early: map[dialog.ID]*dialog.Dialog{},
		rseqs: map[dialog.ID]uint32{}, referCh: make(chan int, 4)}
}

// Dialog returns the call's dialog (nil before the first response with a
// To tag).
func (c *Call) Dialog() *dialog.Dialog {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dlg
}

// ID returns the dialog ID.
func (c *Call) ID() dialog.ID {
	if d := c.Dialog(); d != nil {
		return d.ID()
	}
	return dialog.ID{}
}

// State returns the dialog's state: early, confirmed or terminated.
func (c *Call) State() dialog.State {
	c.mu.Lock()
	d, ended := c.dlg, c.ended
	c.mu.Unlock()
	if ended || d == nil {
		if ended {
			return dialog.Terminated
		}
		return dialog.Early
	}
	return d.State()
}

// Done is closed when the call is over.
func (c *Call) Done() <-chan struct{} { return c.done }

// Err returns why the call ended: nil for a BYE either way, ErrNoAck,
// ErrSessionExpired, ...
func (c *Call) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Negotiated returns the outcome of the last offer/answer exchange: the
// codec, the remote RTP address, our direction.
func (c *Call) Negotiated() sdp.Negotiated {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.neg
}

// LocalSDP returns the SDP we sent last; RemoteSDP the peer's.
func (c *Call) LocalSDP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return nil
	}
	return c.sess.Last()
}

// RemoteSDP returns the last SDP the peer sent.
func (c *Call) RemoteSDP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteSDP
}

// Media returns the call's RTP session: its remote address follows the
// negotiation. Send a tone or WAV samples with its Send, record with
// Received. It is nil with Config.NoMedia.
func (c *Call) Media() *media.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rtp
}

// Codec returns the negotiated G.711 codec to send with (PCMU when the
// negotiation chose something else).
func (c *Call) Codec() media.Codec {
	n := c.Negotiated()
	if strings.EqualFold(n.Codec.Name, "PCMA") {
		return media.PCMA
	}
	return media.PCMU
}

// Replaces returns the value of a Replaces header field that names this
// call's dialog to a third UA (RFC 3891 §4): its to-tag is the peer's tag
// and its from-tag ours, as the peer sees them.
func (c *Call) Replaces() string {
	id := c.ID()
	return id.CallID + ";to-tag=" + id.RemoteTag + ";from-tag=" + id.LocalTag
}

// ensureMedia opens the RTP session and the SDP session; c.mu held.
func (c *Call) ensureMedia() error {
	if c.sess == nil {
		s, err := sdp.NewSession(c.u.cfg.MediaAddr, nil)
		if err != nil {
			return err
		}
		c.sess = s
	}
	if c.rtp == nil && c.port == 0 {
		if c.u.cfg.NoMedia {
			// Signaling only: a port in SDP, no socket behind it.
			c.port = uint16(40000 + 2*(c.u.mediaPorts.Add(1)%10000))
			return nil
		}
		m, err := media.Listen(netipAddrPort(c.u.cfg.MediaAddr, 0), media.Options{})
		if err != nil {
			return err
		}
		c.rtp = m
		c.port = m.LocalAddr().Port()
	}
	return nil
}

func (c *Call) offerConfig(dir sdp.Direction) sdp.OfferConfig {
	return sdp.OfferConfig{Addr: c.u.cfg.MediaAddr, Port: c.port, Codecs: c.u.cfg.Codecs, Direction: dir}
}

func (c *Call) answerConfig() sdp.AnswerConfig {
	return sdp.AnswerConfig{Addr: c.u.cfg.MediaAddr, Port: c.port, Codecs: c.u.cfg.Codecs}
}

// applyNeg records a negotiation; c.mu held.
func (c *Call) applyNeg(n sdp.Negotiated, remote []byte) {
	c.neg, c.hasNeg, c.remoteSDP = n, true, remote
	if c.rtp != nil && n.Remote.IsValid() {
		c.rtp.SetRemote(n.Remote)
	}
}

// answerOffer answers a remote offer; c.mu held.
func (c *Call) answerOffer(offer []byte) ([]byte, error) {
	if err := c.ensureMedia(); err != nil {
		return nil, err
	}
	ans, n, err := c.sess.Answer(offer, c.answerConfig())
	if err != nil {
		return nil, err
	}
	c.applyNeg(n, offer)
	return ans, nil
}

// takeAnswer checks the peer's answer to our offer; c.mu held.
func (c *Call) takeAnswer(offer, answer []byte) error {
	n, err := sdp.ParseAnswer(offer, answer)
	if err != nil {
		return err
	}
	c.applyNeg(n, answer)
	return nil
}

// end ends the call once: the dialog terminated, timers stopped, RTP
// closed, the dialog forgotten.
func (c *Call) end(err error) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended, c.err = true, err
	d := c.dlg
	early := c.early
	c.early = nil
	if c.pending != nil {
		c.pending.stop()
	}
	c.se.stop()
	rtp := c.rtp
	c.mu.Unlock()
	if d != nil {
		d.Terminate()
		c.u.removeCall(d.ID(), c)
	}
	for id, e := range early {
		e.Terminate()
		c.u.removeCall(id, c)
	}
	if rtp != nil {
		rtp.Close()
	}
	close(c.done)
	c.u.emit(Event{Kind: EventEnded, Call: c})
}

// Hangup ends the call: BYE in a confirmed dialog (RFC 3261 §15.1.1),
// CANCEL while our INVITE has no final response (§9.1), 480 to an
// incoming call not yet answered.
func (c *Call) Hangup(ctx context.Context) error {
	c.mu.Lock()
	tx, ic, confirmed, ended := c.inviteTx, c.ic, c.confirmed, c.ended
	c.mu.Unlock()
	switch {
	case ended:
		return nil
	case !confirmed && tx != nil:
		return tx.Cancel()
	case !confirmed && ic != nil:
		return ic.Reject(sip.StatusTemporarilyUnavailable, "")
	}
	_, err := c.request(ctx, sip.MethodBye, nil)
	c.end(nil)
	return err
}

// byeAndEnd sends BYE once and ends the call with err.
func (c *Call) byeAndEnd(err error) {
	c.mu.Lock()
	if c.byeSent || c.ended {
		c.mu.Unlock()
		return
	}
	c.byeSent = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.u.ctx, 64*c.u.t1)
	defer cancel()
	c.request(ctx, sip.MethodBye, nil)
	c.end(err)
}

// request sends a non-INVITE request in the dialog with the auth retry
// loop and processes the final response in the dialog: a 481 or 408
// ends the call (§12.2.1.2).
func (c *Call) request(ctx context.Context, method string, mod func(*sip.Request)) (*sip.Response, error) {
	d := c.Dialog()
	if d == nil {
		return nil, ErrCallEnded
	}
	resp, err := c.u.doAuth(ctx, d, func(int, *sip.Request) (*sip.Request, error) {
		r, err := d.NewRequest(method)
		if err != nil {
			return nil, ErrCallEnded
		}
		if mod != nil {
			mod(r)
		}
		decorate(r)
		return r, nil
	}, nil)
	if err != nil {
		if errors.Is(err, transaction.ErrTimeout) && method != sip.MethodBye {
			// §12.2.1.2: a timeout counts as 408: the dialog ends, here
			// with a BYE in case the peer is still there.
			c.u.goAsync(func() { c.byeAndEnd(err) })
		}
		return nil, err
	}
	d.ReceiveResponse(resp)
	if d.State() == dialog.Terminated && method != sip.MethodBye {
		c.end(&ResponseError{resp})
	}
	if !resp.IsSuccess() {
		return resp, &ResponseError{resp}
	}
	return resp, nil
}

// Info sends INFO with a body (RFC 6086), such as application/dtmf-relay.
func (c *Call) Info(ctx context.Context, ctype string, body []byte) error {
	_, err := c.request(ctx, sip.MethodInfo, func(r *sip.Request) {
		if len(body) > 0 {
			r.Add("Content-Type", ctype)
			r.Body = body
		}
	})
	return err
}

// Hold puts the call on hold with a re-INVITE whose offer marks the stream
// sendonly (RFC 3264 §8.4).
func (c *Call) Hold(ctx context.Context) error {
	return c.Reinvite(ctx, func(s *sdp.Session) ([]byte, error) { return s.Hold() })
}

// Resume takes the call off hold: a re-INVITE offering sendrecv.
func (c *Call) Resume(ctx context.Context) error {
	return c.Reinvite(ctx, func(s *sdp.Session) ([]byte, error) { return s.Resume() })
}

// Update sends an UPDATE (RFC 3311) offering our current SDP again, which
// refreshes the session (and its session timer) without a re-INVITE.
func (c *Call) Update(ctx context.Context) error {
	return c.modify(ctx, sip.MethodUpdate, func(s *sdp.Session) ([]byte, error) { return resend(s) })
}

// Reinvite sends a re-INVITE (RFC 3261 §14.1) with the offer made by
// offer from the call's SDP session; nil offer sends the current SDP again.
// A 491 is retried after the back-off of §14.1 (2.1-4 s when we own the
// Call-ID, 0-2 s otherwise), at most three times.
func (c *Call) Reinvite(ctx context.Context, offer func(*sdp.Session) ([]byte, error)) error {
	return c.modify(ctx, sip.MethodInvite, offer)
}

func (c *Call) modify(ctx context.Context, method string, offer func(*sdp.Session) ([]byte, error)) error {
	for attempt := 0; ; attempt++ {
		resp, err := c.modifyOnce(ctx, method, offer)
		if err == nil || resp == nil || resp.StatusCode != sip.StatusRequestPending || attempt == 3 {
			return err
		}
		// RFC 3261 §14.1: wait and try again.
		var wait time.Duration
		if c.isUAC {
			wait = 2100*time.Millisecond + time.Duration(rand.N(191))*10*time.Millisecond
		} else {
			wait = time.Duration(rand.N(201)) * 10 * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-c.done:
			t.Stop()
			return ErrCallEnded
		}
	}
}

// modifyOnce sends one re-INVITE or UPDATE with an offer.
func (c *Call) modifyOnce(ctx context.Context, method string, offer func(*sdp.Session) ([]byte, error)) (*sip.Response, error) {
	c.mu.Lock()
	if c.ended || !c.confirmed {
		c.mu.Unlock()
		return nil, ErrCallEnded
	}
	if c.outOffer || c.inInvite || c.pending != nil {
		c.mu.Unlock()
		return nil, ErrPending
	}
	if err := c.ensureMedia(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	if offer == nil {
		offer = func(s *sdp.Session) ([]byte, error) { return resend(s) }
	}
	var body []byte
	var err error
	if c.sess.Last() == nil {
		body, err = c.sess.Offer(c.offerConfig(sdp.SendRecv))
	} else {
		body, err = offer(c.sess)
	}
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.outOffer = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.outOffer = false
		c.mu.Unlock()
	}()
	mod := func(r *sip.Request) {
		r.Add("Content-Type", "application/sdp")
		r.Body = body
		c.se.addToRequest(r, c.u)
	}
	var resp *sip.Response
	if method == sip.MethodInvite {
		resp, err = c.invite(ctx, mod)
	} else {
		resp, err = c.request(ctx, method, mod)
	}
	if resp != nil && resp.IsSuccess() {
		c.mu.Lock()
		aerr := c.takeAnswer(body, resp.Body)
		c.mu.Unlock()
		c.se.fromResponse(c, resp)
		if aerr != nil {
			return resp, aerr
		}
	}
	return resp, err
}

// invite sends a re-INVITE in the dialog; 2xx are ACKed inline.
func (c *Call) invite(ctx context.Context, mod func(*sip.Request)) (*sip.Response, error) {
	d := c.Dialog()
	var st authState
	var resp *sip.Response
	for attempt := 0; attempt < 4; attempt++ {
		req, err := d.NewRequest(sip.MethodInvite)
		if err != nil {
			return nil, ErrCallEnded
		}
		mod(req)
		decorate(req)
		if attempt > 0 && !c.u.authorize(&st, req, resp) {
			break
		}
		dst, err := c.u.dialogTarget(d, req)
		if err != nil {
			return nil, err
		}
		inv := req.Clone()
		q := c.u.newQueue()
		q.on = func(_ *transaction.ClientTx, r *sip.Response) {
			if r.IsSuccess() {
				c.ackFor(inv, r)
			}
		}
		tx, err := c.u.tl.Request(req, dst, q)
		if err != nil {
			return nil, err
		}
		resp, err = finalOrCancel(ctx, q, tx)
		if err != nil {
			if errors.Is(err, transaction.ErrTimeout) {
				// §14.1: a re-INVITE that times out ends the dialog.
				c.u.goAsync(func() { c.byeAndEnd(err) })
			}
			return nil, err
		}
		if !resp.IsSuccess() {
			d.ReceiveResponse(resp)
			if d.State() == dialog.Terminated {
				c.end(&ResponseError{resp})
			}
		}
		if !challenged(resp) {
			break
		}
	}
	if !resp.IsSuccess() {
		return resp, &ResponseError{resp}
	}
	return resp, nil
}

// finalOrCancel waits for the final response of an INVITE; when ctx ends
// first it CANCELs and goes on waiting (the transaction bounds the wait).
func finalOrCancel(ctx context.Context, q *queue, tx *transaction.ClientTx) (*sip.Response, error) {
	r, err := q.final(ctx)
	if err == nil || ctx.Err() == nil {
		return r, err
	}
	tx.Cancel()
	r, err2 := q.final(context.Background())
	if err2 != nil {
		return nil, err2
	}
	return r, nil
}

// ackFor ACKs a 2xx to an INVITE of ours in the call's dialog (§13.2.2.4),
// and re-sends the ACK when the 2xx is retransmitted. Called inline.
func (c *Call) ackFor(inv *sip.Request, r *sip.Response) {
	cs, err := r.CSeq()
	if err != nil {
		return
	}
	c.mu.Lock()
	d := c.dlg
	if d == nil {
		c.mu.Unlock()
		return
	}
	if c.ack != nil && c.ackSeq == cs.Seq {
		ack := c.ack.Clone()
		c.mu.Unlock()
		c.u.sendAck(d, ack)
		return
	}
	c.mu.Unlock()
	d.ReceiveResponse(r)
	ack := d.NewAck(inv)
	decorate(ack)
	c.mu.Lock()
	c.ack, c.ackSeq = ack, cs.Seq
	c.mu.Unlock()
	c.u.sendAck(d, ack.Clone())
}

func (u *UA) sendAck(d *dialog.Dialog, ack *sip.Request) {
	dst, err := u.dialogTarget(d, ack)
	if err != nil {
		return
	}
	u.out.SendRequest(ack, dst)
}

// pending2xx retransmits a 2xx to an INVITE until the ACK (RFC 3261
// §13.3.1.4): T1, doubling up to T2; after 64*T1 the call is ended with
// BYE.
type pending2xx struct {
	c        *Call
	tx       *transaction.ServerTx
	resp     *sip.Response
	seq      uint32
	acked    chan struct{}
	err      error // ErrNoAck when it gave up
	mu       sync.Mutex
	timer    *time.Timer
	interval time.Duration
	start    time.Time
	stopped  bool
	onAck    func(ack *sip.Request) // c.mu not held
}

// send2xx sends resp and keeps it going until the ACK; c.mu not held.
func (c *Call) send2xx(tx *transaction.ServerTx, resp *sip.Response, onAck func(*sip.Request)) (*pending2xx, error) {
	cs, _ := resp.CSeq()
	p := &pending2xx{c: c, tx: tx, resp: resp, seq: cs.Seq, acked: make(chan struct{}), interval: c.u.t1, start: time.Now(), onAck: onAck}
	c.mu.Lock()
	c.pending = p
	c.mu.Unlock()
	if err := tx.Respond(resp.Clone()); err != nil {
		c.mu.Lock()
		c.pending = nil
		c.mu.Unlock()
		return nil, err
	}
	p.mu.Lock()
	p.timer = time.AfterFunc(p.interval, p.fire)
	p.mu.Unlock()
	return p, nil
}

func (p *pending2xx) fire() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	if time.Since(p.start) >= 64*p.c.u.t1 {
		p.stopped = true
		p.err = ErrNoAck
		p.mu.Unlock()
		c := p.c
		c.mu.Lock()
		if c.pending == p {
			c.pending = nil
		}
		c.inInvite = false
		c.mu.Unlock()
		close(p.acked)
		// §13.3.1.4: end the dialog with BYE.
		c.u.goAsync(func() { c.byeAndEnd(ErrNoAck) })
		return
	}
	if !transport.Reliable(p.tx.Source().Transport) {
		if err := p.tx.Respond(p.resp.Clone()); err != nil {
			p.c.u.out.SendResponse(p.resp.Clone(), p.tx.Source())
		}
	}
	p.interval = min(2*p.interval, p.c.u.t2)
	p.timer.Reset(min(p.interval, 64*p.c.u.t1-time.Since(p.start)))
	p.mu.Unlock()
}

// stop ends the retransmissions without an ACK (the call ended).
func (p *pending2xx) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
	}
	p.err = ErrCallEnded
	close(p.acked)
}

// ack takes the ACK of the 2xx; reports false if it is not ours.
func (p *pending2xx) ack(req *sip.Request) bool {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return false
	}
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	if p.onAck != nil {
		p.onAck(req)
	}
	close(p.acked)
	return true
}

// onAck takes an ACK for a 2xx of ours (from HandleStray).
func (c *Call) onAck(req *sip.Request) {
	cs, err := req.CSeq()
	if err != nil {
		return
	}
	c.mu.Lock()
	p := c.pending
	d := c.dlg
	if p == nil || p.seq != cs.Seq || d == nil {
		c.mu.Unlock()
		return
	}
	c.pending = nil
	c.inInvite = false
	c.mu.Unlock()
	if d.ReceiveRequest(req) != nil {
		return
	}
	p.ack(req)
}

// respond answers an in-dialog request, with our Contact on 2xx to target
// refreshes.
func respond(tx *transaction.ServerTx, req *sip.Request, code int, reason string, mod func(*sip.Response)) {
	r := sip.NewResponse(req, code, reason)
	if mod != nil {
		mod(r)
	}
	tx.Respond(r)
}

// handleRequest takes a request within the call's dialog. Called inline
// from the transport: anything that waits runs in a goroutine.
func (c *Call) handleRequest(d *dialog.Dialog, tx *transaction.ServerTx, req *sip.Request) {
	if req.Method == sip.MethodPrack {
		c.handlePrack(d, tx, req)
		return
	}
	if err := d.ReceiveRequest(req); err != nil {
		code, reason := sip.StatusOf(err)
		respond(tx, req, code, reason, nil)
		return
	}
	switch req.Method {
	case sip.MethodBye:
		respond(tx, req, sip.StatusOK, "", nil)
		c.end(nil)
	case sip.MethodInvite:
		c.handleReinvite(d, tx, req)
	case sip.MethodUpdate:
		c.handleUpdate(d, tx, req)
	case sip.MethodInfo:
		respond(tx, req, sip.StatusOK, "", nil)
		c.u.emit(Event{Kind: EventInfo, Call: c, Request: req})
	case sip.MethodRefer:
		c.handleRefer(d, tx, req)
	case sip.MethodNotify:
		c.handleNotify(tx, req)
	case sip.MethodOptions:
		respond(tx, req, sip.StatusOK, "", func(r *sip.Response) {
			r.Add("Allow", allowed)
			r.Add("Supported", supported)
		})
	case sip.MethodMessage:
		respond(tx, req, sip.StatusOK, "", nil)
	default:
		respond(tx, req, sip.StatusMethodNotAllowed, "", func(r *sip.Response) { r.Add("Allow", allowed) })
	}
}

// contactOf returns the URI of a request's first Contact.
func contactOf(req *sip.Request) (sip.URI, bool) {
	cs, err := req.Contacts()
	if err != nil || len(cs) == 0 || cs[0].Wildcard {
		return sip.URI{}, false
	}
	return cs[0].URI, true
}

// handleReinvite answers a re-INVITE (RFC 3261 §14.2).
func (c *Call) handleReinvite(d *dialog.Dialog, tx *transaction.ServerTx, req *sip.Request) {
	target, ok := contactOf(req)
	if !ok {
		respond(tx, req, sip.StatusBadRequest, "Missing Contact", nil)
		return
	}
	c.mu.Lock()
	switch {
	case c.outOffer:
		// §14.2: our own offer is pending: glare.
		c.mu.Unlock()
		respond(tx, req, sip.StatusRequestPending, "", nil)
		return
	case c.inInvite || c.pending != nil:
		// §14.2: an earlier re-INVITE of the peer is still going.
		c.mu.Unlock()
		respond(tx, req, sip.StatusInternalServerError, "", func(r *sip.Response) {
			r.Add("Retry-After", strconv.Itoa(rand.IntN(11)))
		})
		return
	}
	if code, mod := c.se.check(c.u, req); code != 0 {
		c.mu.Unlock()
		respond(tx, req, code, "", mod)
		return
	}
	var body []byte
	var err error
	offered := len(req.Body) > 0
	if offered {
		body, err = c.answerOffer(req.Body)
	} else if err = c.ensureMedia(); err == nil {
		// §14.2: no offer in the re-INVITE: ours goes in the 2xx, the
		// answer comes in the ACK.
		if c.sess.Last() == nil {
			body, err = c.sess.Offer(c.offerConfig(sdp.SendRecv))
		} else {
			body, err = resend(c.sess)
		}
		c.localOffer = body
	}
	if err != nil {
		c.mu.Unlock()
		respond(tx, req, sip.StatusNotAcceptableHere, "", nil)
		return
	}
	c.inInvite = true
	c.mu.Unlock()
	d.Refresh(target)
	resp := sip.NewResponse(req, sip.StatusOK, "")
	resp.Add("Contact", (&sip.Address{URI: d.LocalContact()}).String())
	resp.Add("Allow", allowed)
	resp.Add("Supported", supported)
	c.se.addToResponse(c, req, resp)
	resp.Add("Content-Type", "application/sdp")
	resp.Body = body
	_, err = c.send2xx(tx, resp, func(ack *sip.Request) {
		c.mu.Lock()
		if off := c.localOffer; off != nil && len(ack.Body) > 0 {
			c.takeAnswer(off, ack.Body)
		}
		c.localOffer = nil
		c.mu.Unlock()
		// The re-INVITE is done once ACKed (§14.2).
		c.u.emit(Event{Kind: EventModified, Call: c, Request: req})
	})
	if err != nil {
		c.mu.Lock()
		c.inInvite = false
		c.mu.Unlock()
		return
	}
	c.se.fromRequest(c, req)
}

// handleUpdate answers an UPDATE (RFC 3311 §5.2).
func (c *Call) handleUpdate(d *dialog.Dialog, tx *transaction.ServerTx, req *sip.Request) {
	target, ok := contactOf(req)
	if !ok {
		respond(tx, req, sip.StatusBadRequest, "Missing Contact", nil)
		return
	}
	c.mu.Lock()
	if len(req.Body) > 0 && (c.outOffer || c.inInvite) {
		// RFC 3311 §5.2: an offer while ours is outstanding is 491; one
		// while a re-INVITE of the peer's is open, 500 with Retry-After.
		out := c.outOffer
		c.mu.Unlock()
		if out {
			respond(tx, req, sip.StatusRequestPending, "", nil)
		} else {
			respond(tx, req, sip.StatusInternalServerError, "", func(r *sip.Response) {
				r.Add("Retry-After", strconv.Itoa(rand.IntN(11)))
			})
		}
		return
	}
	if code, mod := c.se.check(c.u, req); code != 0 {
		c.mu.Unlock()
		respond(tx, req, code, "", mod)
		return
	}
	var body []byte
	var err error
	if len(req.Body) > 0 {
		body, err = c.answerOffer(req.Body)
	}
	c.mu.Unlock()
	if err != nil {
		respond(tx, req, sip.StatusNotAcceptableHere, "", nil)
		return
	}
	d.Refresh(target)
	respond(tx, req, sip.StatusOK, "", func(r *sip.Response) {
		r.Add("Contact", (&sip.Address{URI: d.LocalContact()}).String())
		c.se.addToResponse(c, req, r)
		if body != nil {
			r.Add("Content-Type", "application/sdp")
			r.Body = body
		}
	})
	c.se.fromRequest(c, req)
	c.u.emit(Event{Kind: EventModified, Call: c, Request: req})
}

// resend returns the SDP the session sent last, to be sent again
// unchanged, same version (RFC 3264 §8).
func resend(s *sdp.Session) ([]byte, error) {
	var sd pion.SessionDescription
	if err := sd.Unmarshal(s.Last()); err != nil {
		return nil, err
	}
	return s.Send(&sd)
}

// String describes the call for logs.
func (c *Call) String() string {
	id := c.ID()
	return fmt.Sprintf("call %s (%s)", id.CallID, c.State())
}
