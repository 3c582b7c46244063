package transaction

import (
	"strings"
	"sync"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// ServerTx is a server transaction (RFC 3261 §17.2): INVITE (Figure 7 as
// RFC 6026 redraws it) or non-INVITE (Figure 8). The layer makes one for
// each new request and hands it to Core.HandleRequest; the TU answers
// through Respond. Its methods are safe for concurrent use.
type ServerTx struct {
	l       *Layer
	src     transport.Source
	key     serverKey
	leg     *legacyInfo   // set for a request without the magic cookie
	created time.Duration // since l.epoch

	sendMu sync.Mutex // serializes sends: see the package comment

	mu sync.Mutex
	// req is the request until a final response is sent; then the
	// transaction lets go of it, so that it can be freed while the
	// transaction waits out Timer H, I, J or L.
	req   *sip.Request
	state State
	tm    txTimer
	// last is the final response a retransmitted request gets (and Timer
	// G resends), in wire form: a few hundred bytes the collector need
	// not scan, in place of the response and the request whose strings
	// it shares, for the up to 32 s of Completed. It is parsed anew for
	// each retransmission, which is rare. It is packed (see pack).
	last string
	// prov is the last provisional response, which a retransmitted
	// request in Proceeding gets again (§17.2.1, §17.2.2). It is kept as
	// it is, not in wire form as last: it lives only until the final
	// response, and the transport serializes it anew either way.
	prov *sip.Response
	// invite and reliable never change: they sit with trying and
	// cancelled to share a word.
	invite    bool
	reliable  bool
	trying    bool // the layer sent 100 (Trying) and last is "": make it anew
	cancelled bool
	doublings uint8         // of Timer G's interval so far (timerG)
	cancelCh  chan struct{} // made on demand
	done      chan struct{} // made on demand
	err       error
	// rec is the record the transaction became in Completed (a
	// non-INVITE over an unreliable transport, see completedTx): from
	// then on the layer knows it by rec alone, and rec tells when it
	// ends.
	rec *completedTx
}

// legacyInfo is what matching a request from an RFC 2543 element needs.
type legacyInfo struct {
	key      legacyKey
	ackToTag string // the To tag of the final response an ACK must carry
}

// newServerTxLocked makes a server transaction for req and enters it in
// the maps; l.mu is held.
func (l *Layer) newServerTxLocked(in *transport.Inbound, req *sip.Request, id *reqID) *ServerTx {
	tx := &ServerTx{
		l:        l,
		req:      req,
		src:      in.Source,
		invite:   req.Method == sip.MethodInvite,
		reliable: reliable(in.Transport),
		created:  l.now(),
	}
	tx.tm.owner = tx
	if id.rfc3261 {
		var buf [128]byte
		tx.key = serverKey(id.key.appendTo(buf[:0]))
		l.servers[tx.key] = serverEntry{tx: tx}
		l.peaks.servers = max(l.peaks.servers, len(l.servers))
	} else {
		id.own()
		tx.leg = &legacyInfo{key: id.lkey}
		l.legacy[id.lkey] = tx
		l.peaks.legacy = max(l.peaks.legacy, len(l.legacy))
	}
	if tx.invite {
		// RFC 3261 §17.2.1: an INVITE server transaction starts in
		// Proceeding.
		tx.state = StateProceeding
	} else {
		// §17.2.2: a non-INVITE one in Trying.
		tx.state = StateTrying
	}
	return tx
}

// start arms the 100 (Trying) timer of a new transaction and hands it to
// the core.
func (l *Layer) start(tx *ServerTx, req *sip.Request, core Core) {
	if tx.invite {
		// RFC 3261 §17.2.1: 100 (Trying) unless the TU sends a response
		// within 200 ms. Armed before the TU runs, so that a TU that
		// blocks does not hold it back.
		tx.mu.Lock()
		if tx.state == StateProceeding && tx.last == "" && tx.prov == nil {
			tx.tm.rtx = tx.created + trying100
			tx.rearm(l.now())
		}
		tx.mu.Unlock()
	}
	core.HandleRequest(tx, req)
	if !tx.invite {
		// RFC 4320 §4.1: a non-INVITE gets a 100 when Timer E of the
		// client would reach T2, if nothing else was sent by then. Armed
		// after the TU ran: most are answered at once, and need no timer
		// over a reliable transport then.
		tx.mu.Lock()
		if tx.state == StateTrying {
			tx.tm.rtx = tx.created + l.nonInvite100()
			tx.rearm(l.now())
		}
		tx.mu.Unlock()
	}
}

// Request returns the request that created the transaction, or nil once
// a final response was sent (or the transaction ended): the transaction
// lets go of the request then, so that it need not stay in memory for the
// up to 32 s the transaction lingers to absorb retransmissions. A TU that
// needs it later keeps the one Core.HandleRequest gave it. It belongs to
// the transaction: Clone it before changing it.
func (tx *ServerTx) Request() *sip.Request {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.req
}

// Method returns the method of the request, e.g. "INVITE".
func (tx *ServerTx) Method() string {
	if tx.leg != nil {
		return tx.leg.key.method
	}
	return tx.key.method()
}

// Source returns where the request came from; responses go back there.
func (tx *ServerTx) Source() transport.Source { return tx.src }

// State returns the current state.
func (tx *ServerTx) State() State {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.syncLocked()
	return tx.state
}

// syncLocked brings the state of a transaction that became a completed
// record up to date: Terminated once the record ended. tx.mu is held.
func (tx *ServerTx) syncLocked() {
	if rec := tx.rec; rec != nil && tx.state == StateCompleted && rec.ended.Load() {
		tx.state = StateTerminated
		if rec.ext != nil && rec.ext.err != nil {
			tx.err = rec.ext.err
		}
	}
}

// Err returns the failure the transaction met, if any: ErrTimeout when
// Timer H fired without an ACK, or an error wrapping ErrTransport.
func (tx *ServerTx) Err() error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.syncLocked()
	return tx.err
}

// Done returns a channel closed when the transaction is Terminated.
func (tx *ServerTx) Done() <-chan struct{} {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.syncLocked()
	if tx.done == nil {
		switch {
		case tx.state == StateTerminated:
			return closedChan
		case tx.rec != nil:
			return tx.l.doneChan(tx.rec)
		}
		tx.done = make(chan struct{})
	}
	return tx.done
}

// Cancelled returns a channel closed when a CANCEL matching this INVITE
// server transaction arrives (RFC 3261 §9.2). The CANCEL itself goes to
// Core.HandleRequest in a transaction of its own.
func (tx *ServerTx) Cancelled() <-chan struct{} {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.cancelCh == nil {
		if tx.cancelled {
			return closedChan
		}
		tx.cancelCh = make(chan struct{})
	}
	return tx.cancelCh
}

// IsCancelled reports whether a CANCEL matching this INVITE server
// transaction has arrived (RFC 3261 §9.2): Cancelled without the channel,
// for a TU that only asks.
func (tx *ServerTx) IsCancelled() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.cancelled
}

// closedChan is returned by Done and Cancelled once the event has passed
// before anyone asked; it is never written.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (tx *ServerTx) markCancelled() {
	tx.mu.Lock()
	if !tx.cancelled {
		tx.cancelled = true
		if tx.cancelCh != nil {
			close(tx.cancelCh)
		}
	}
	tx.mu.Unlock()
}

// Respond passes a response from the TU to the transaction, which sends it
// and moves as Figures 7 and 8 say. It returns ErrFinal when a final
// response was already sent (the response is discarded, §17.2.2),
// ErrTerminated when the transaction is gone, and an error wrapping
// ErrTransport when the transport failed (§17.2.4): a non-INVITE
// transaction is then Terminated, an INVITE one stays where it is (RFC 6026
// §8.8) so that retransmissions of the INVITE are still absorbed.
//
// For a non-INVITE request (RFC 4320 §4): a provisional response other
// than 100 is refused; a 100 over an unreliable transport before Timer E of
// the client could reach T2 is held back (the transaction sends one then if
// nothing else went out); a 408 is not sent at all, but completes the
// transaction all the same.
//
// The response belongs to the transaction once passed.
func (tx *ServerTx) Respond(resp *sip.Response) error {
	code := resp.StatusCode
	if code < 100 || code > 699 {
		return errStatus
	}
	now := tx.l.now()
	tx.mu.Lock()
	tx.syncLocked()
	var send bool
	var err error
	if tx.invite {
		send, err = tx.respondInviteLocked(resp, now)
	} else {
		send, err = tx.respondNonInviteLocked(resp, now)
	}
	tx.mu.Unlock()
	if !send {
		return err
	}
	return tx.send(resp)
}

func (tx *ServerTx) respondInviteLocked(resp *sip.Response, now time.Duration) (send bool, err error) {
	code := resp.StatusCode
	switch tx.state {
	case StateProceeding:
		tx.tm.rtx = 0 // the TU answered: no 100 (Trying) from us
		switch {
		case code < 200:
			// §17.2.1: provisional responses are sent, not
			// retransmitted; the last one answers a retransmitted INVITE.
			tx.prov, tx.trying = resp, false
		case code < 300:
			// RFC 6026 §8.5, §8.7: a 2xx moves to Accepted and starts
			// Timer L; the TU retransmits the 2xx itself.
			tx.state = StateAccepted
			tx.req, tx.prov, tx.trying = nil, nil, false
			tx.tm.end = now + 64*tx.l.t1
		default:
			// §17.2.1: 300-699 moves to Completed; Timer G retransmits
			// over unreliable transports, Timer H waits for the ACK.
			tx.state = StateCompleted
			tx.req, tx.prov, tx.last, tx.trying = nil, nil, packed(resp), false
			if tx.leg != nil {
				tx.leg.ackToTag = strings.Clone(resp.ToTag())
			}
			if !tx.reliable {
				tx.doublings = 0
				tx.tm.rtx = now + tx.l.timerG(0)
			}
			tx.tm.end = now + 64*tx.l.t1
		}
		tx.rearm(now)
		return true, nil
	case StateAccepted:
		// RFC 6026 §8.7: 2xx retransmissions from the TU are sent.
		if code >= 200 && code < 300 {
			return true, nil
		}
		return false, ErrFinal
	case StateCompleted, StateConfirmed:
		return false, ErrFinal
	}
	return false, ErrTerminated
}

func (tx *ServerTx) respondNonInviteLocked(resp *sip.Response, now time.Duration) (send bool, err error) {
	code := resp.StatusCode
	switch tx.state {
	case StateTrying, StateProceeding:
	case StateCompleted:
		// §17.2.2: other final responses are discarded in Completed.
		return false, ErrFinal
	default:
		return false, ErrTerminated
	}
	if code < 200 {
		if code != 100 {
			return false, errProvisional // RFC 4320 §4.1
		}
		if tx.state == StateTrying && !tx.reliable && now < tx.created+tx.l.nonInvite100() {
			// RFC 4320 §4.1: no 100 over UDP before the client's Timer E
			// reaches T2; the timer armed by start sends it then.
			return false, nil
		}
		// §17.2.2: Trying → Proceeding on a provisional response.
		tx.state = StateProceeding
		tx.prov, tx.trying = resp, false
		tx.tm.rtx = 0
		tx.rearm(now)
		return true, nil
	}
	// §17.2.2: a final response moves to Completed, with Timer J at
	// 64*T1 over unreliable transports and zero over reliable ones.
	tx.state = StateCompleted
	tx.tm.rtx = 0
	tx.req, tx.prov, tx.trying = nil, nil, false
	send = true
	if code == sip.StatusRequestTimeout {
		// RFC 4320 §4.2: a transaction-stateful element sends no 408 to
		// a non-INVITE request. Retransmissions are absorbed quietly.
		send = false
	}
	switch {
	case tx.reliable:
		tx.terminateLocked()
	case tx.leg == nil:
		// Timer J runs in the record the transaction becomes.
		tx.l.timers.stop(&tx.tm)
		var wire, buf [1024]byte
		var last []byte
		if send {
			last = pack(buf[:0], resp.AppendTo(wire[:0]))
		}
		tx.l.complete(tx, last, now)
	default:
		if send {
			tx.last = packed(resp)
		}
		tx.tm.end = now + 64*tx.l.t1
		tx.rearm(now)
	}
	return send, nil
}

// retransmission handles a retransmitted request (§17.2.1, §17.2.2): the
// last provisional response is resent in Proceeding, the final one in
// Completed; Trying, Confirmed and Accepted (RFC 6026 §8.7) absorb it. It
// reports false if the transaction was already Terminated.
func (tx *ServerTx) retransmission() bool {
	tx.mu.Lock()
	var resp *sip.Response
	switch tx.state {
	case StateTerminated:
		tx.mu.Unlock()
		return false
	case StateProceeding, StateCompleted:
		resp = tx.lastLocked()
	}
	tx.mu.Unlock()
	if resp != nil {
		tx.sendAsync(resp)
	}
	return true
}

// lastLocked returns the response a retransmitted request gets, making the
// 100 (Trying) anew if that is what was sent (it is not kept, to keep
// ringing transactions small), or nil.
func (tx *ServerTx) lastLocked() *sip.Response {
	if tx.trying {
		return sip.NewResponse(tx.req, sip.StatusTrying, "")
	}
	if tx.prov != nil {
		return tx.prov
	}
	if tx.last == "" {
		return nil
	}
	resp, err := sip.ParseResponse(unpack(make([]byte, 0, 2*len(tx.last)), tx.last))
	if err != nil {
		// The TU's response does not parse back: a peer could not
		// parse it either.
		tx.l.log.Debug("response not retransmitted", "error", err)
		return nil
	}
	return resp
}

type ackResult int

const (
	ackAbsorbed ackResult = iota // taken by the transaction
	ackToCore                    // for the TU: Core.HandleStray
	ackGone                      // the transaction was Terminated: look again
)

// ack handles an ACK matched to this INVITE server transaction. rfc3261
// tells the way it was matched; an RFC 2543 ACK must also carry the To tag
// of the final response (§17.2.3).
func (tx *ServerTx) ack(rfc3261 bool, toTag string) ackResult {
	now := tx.l.now()
	tx.mu.Lock()
	defer tx.mu.Unlock()
	switch tx.state {
	case StateTerminated:
		return ackGone
	case StateCompleted:
		if !rfc3261 && toTag != tx.leg.ackToTag {
			return ackToCore
		}
		// §17.2.1: ACK in Completed → Confirmed; Timer G stops, Timer I
		// starts: T4 over unreliable transports, zero over reliable ones.
		// The response is not sent again (Confirmed absorbs requests).
		tx.state = StateConfirmed
		tx.last = ""
		if tx.reliable {
			tx.terminateLocked()
			return ackAbsorbed
		}
		tx.tm.rtx = 0
		tx.tm.end = now + tx.l.t4
		tx.rearm(now)
		return ackAbsorbed
	case StateConfirmed:
		// §17.2.1: Confirmed absorbs further ACKs.
		if !rfc3261 && toTag != tx.leg.ackToTag {
			return ackToCore
		}
		return ackAbsorbed
	}
	// RFC 6026 §8.7: in Accepted the ACK is passed to the TU; in
	// Proceeding no final response was sent, so it acknowledges none of
	// ours.
	return ackToCore
}

// timerG returns Timer G's interval after n doublings (§17.2.1): T1 at
// first, then twice the one before, at most T2.
func (l *Layer) timerG(n uint8) time.Duration {
	d := l.t1
	for range n {
		if d > l.t2/2 {
			return l.t2
		}
		d *= 2
	}
	return d
}

func (tx *ServerTx) rearm(now time.Duration) { tx.l.timers.reset(&tx.tm, now) }

// onTimer runs the timers that are due.
func (tx *ServerTx) onTimer() {
	l := tx.l
	now := l.now()
	tx.mu.Lock()
	if tx.state == StateTerminated {
		tx.mu.Unlock()
		return
	}
	var resp *sip.Response
	var failed error
	switch {
	case due(tx.tm.end, now):
		// Timer H (Completed), I (Confirmed), J (Completed, non-INVITE),
		// L (Accepted): Terminated. Only H is a failure (§17.2.1).
		if tx.invite && tx.state == StateCompleted {
			failed = ErrTimeout
			tx.err = ErrTimeout
		}
		tx.terminateLocked()
	case due(tx.tm.rtx, now):
		tx.tm.rtx = 0
		switch tx.state {
		case StateProceeding:
			if tx.invite && tx.prov == nil && !tx.trying {
				// §17.2.1: the TU sent nothing within 200 ms.
				tx.trying = true
				resp = tx.lastLocked()
			}
		case StateTrying:
			// RFC 4320 §4.1: 100 by the time Timer E reaches T2.
			tx.state = StateProceeding
			tx.trying = true
			resp = tx.lastLocked()
		case StateCompleted:
			// §17.2.1 Timer G: resend, the interval doubling up to T2.
			resp = tx.lastLocked()
			if tx.doublings < 64 {
				tx.doublings++
			}
			tx.tm.rtx = now + l.timerG(tx.doublings)
		}
		tx.rearm(now)
	default:
		tx.rearm(now) // early or stale: wait for the deadline
	}
	tx.mu.Unlock()
	if resp != nil {
		tx.sendAsync(resp)
	}
	if failed != nil {
		tx.report(failed)
	}
}

// send hands a response to the transport and handles its failure
// (§17.2.4, RFC 6026 §8.8).
func (tx *ServerTx) send(resp *sip.Response) error {
	tx.sendMu.Lock()
	err := tx.l.tp.SendResponse(resp, tx.src)
	tx.sendMu.Unlock()
	if err == nil {
		return nil
	}
	terr := &transportError{err}
	tx.mu.Lock()
	if tx.state != StateTerminated {
		tx.err = terr
		if !tx.invite {
			// Figure 8: a transport error ends a non-INVITE transaction.
			tx.terminateLocked()
		}
		// RFC 6026 §8.8: an INVITE server transaction stays in its
		// state, so that retransmitted INVITEs are still absorbed.
	}
	tx.mu.Unlock()
	return terr
}

// sendAsync sends a response the layer sends on its own and tells the TU
// if that fails.
func (tx *ServerTx) sendAsync(resp *sip.Response) {
	if err := tx.send(resp); err != nil {
		tx.report(err)
	}
}

func (tx *ServerTx) report(err error) {
	tx.l.mu.Lock()
	eh := tx.l.coreErr
	tx.l.mu.Unlock()
	if eh != nil {
		eh.HandleServerError(tx, err)
	}
}

// terminateLocked enters Terminated: timers stop, the transaction leaves
// the maps and Done is closed. tx.mu is held.
func (tx *ServerTx) terminateLocked() {
	if tx.state == StateTerminated {
		return
	}
	tx.state = StateTerminated
	tx.l.timers.stop(&tx.tm)
	tx.req, tx.last, tx.prov = nil, "", nil
	if tx.rec != nil {
		tx.l.mu.Lock()
		tx.l.endLocked(tx.rec, tx.err)
		tx.l.mu.Unlock()
	} else {
		tx.l.removeServer(tx)
	}
	if tx.done != nil {
		close(tx.done)
	}
}
