package transaction

import (
	"strings"
	"sync"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// ClientHandler is the TU of a client transaction.
type ClientHandler interface {
	// HandleResponse gets the responses the state machine passes up
	// (RFC 3261 Figures 5 and 6, with RFC 6026's Accepted state: every 2xx
	// to an INVITE until Timer M fires). Retransmitted final responses are
	// absorbed.
	HandleResponse(tx *ClientTx, resp *sip.Response)
	// HandleError reports the end of a transaction without a final
	// response — ErrTimeout (Timer B or F, or 64*T1 after a CANCEL) — or a
	// transport failure after Request returned (an error wrapping
	// ErrTransport, §17.1.4). The transaction is Terminated.
	HandleError(tx *ClientTx, err error)
}

// ClientTx is a client transaction (RFC 3261 §17.1): INVITE (Figure 5 as
// RFC 6026 redraws it) or non-INVITE (Figure 6). Its methods are safe for
// concurrent use.
type ClientTx struct {
	l   *Layer
	dst transport.Target
	key clientKey

	// sendMu serializes sends and guards req and ack (see the package
	// comment).
	sendMu sync.Mutex
	// req is the request until the first final response; then the
	// transaction lets go of it, so that it can be freed while the
	// transaction waits out Timer D, K or M.
	req *sip.Request
	// ack is the ACK for a non-2xx final response (§17.1.1.3) in wire
	// form, kept to answer retransmissions of that response: a few hundred
	// bytes rather than the INVITE and the response it was built from.
	ack []byte

	mu       sync.Mutex
	h        ClientHandler // nil once a non-INVITE got its final response
	state    State
	invite   bool // never changes; it sits with reliable and cancel to share a word
	reliable bool
	cancel   cancelState
	tm       txTimer
	interval time.Duration // Timer A's or E's current interval
}

type cancelState uint8

const (
	cancelNone    cancelState = iota
	cancelPending             // Cancel was called in Calling: send on the first 1xx
	cancelSent
)

// Request starts a client transaction that sends req to dst and tells h
// what comes of it. req must have its top Via, with a unique branch
// starting with the magic cookie (NewBranch), and a CSeq; it belongs to the
// transaction from now on (the transport rewrites the top Via's transport
// and sent-by when it sends). An ACK is not a transaction: send it through
// the transport. If the first send fails, Request returns an error
// wrapping ErrTransport and h hears nothing.
func (l *Layer) Request(req *sip.Request, dst transport.Target, h ClientHandler) (*ClientTx, error) {
	if h == nil {
		return nil, errNoHandler
	}
	if req.Method == sip.MethodAck {
		return nil, errAck
	}
	via, err := req.TopVia()
	if err != nil {
		return nil, err
	}
	if !via.HasRFC3261Branch() {
		return nil, errNoBranch
	}
	if _, err := req.CSeq(); err != nil {
		return nil, err
	}
	now := l.now()
	tx := &ClientTx{
		l:        l,
		h:        h,
		req:      req,
		dst:      dst,
		key:      clientKey{branch: via.Branch(), method: internMethod(req.Method)},
		invite:   req.Method == sip.MethodInvite,
		reliable: reliable(dst.Transport),
		state:    StateTrying,
	}
	tx.tm.owner = tx
	if tx.invite {
		tx.state = StateCalling
	}
	// Timer B (§17.1.1.2) or F (§17.1.2.2): 64*T1 for every transport.
	// Set before the send, made to run after it.
	tx.tm.end = now + 64*l.t1

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrTerminated
	}
	if l.clients[tx.key] != nil {
		l.mu.Unlock()
		return nil, errDuplicate
	}
	// Entered before the send, so that a quick response finds it.
	l.clients[tx.key] = tx
	l.peaks.clients = max(l.peaks.clients, len(l.clients))
	l.mu.Unlock()

	tx.sendMu.Lock()
	err = l.tp.SendRequest(req, dst)
	// The transport may have sent a large UDP request over TCP
	// (§18.1.1); the top Via says so, and then nothing is retransmitted.
	viaReliable := false
	if v, verr := req.TopVia(); err == nil && verr == nil {
		viaReliable = reliable(v.Transport)
	}
	tx.sendMu.Unlock()

	tx.mu.Lock()
	if err != nil {
		tx.terminateLocked()
		tx.mu.Unlock()
		return nil, &transportError{err}
	}
	tx.reliable = tx.reliable || viaReliable
	if (tx.state == StateCalling || tx.state == StateTrying) && !tx.reliable {
		// Timer A (§17.1.1.2) or E (§17.1.2.2) starts at T1, only over
		// unreliable transports.
		tx.interval = l.t1
		tx.tm.rtx = now + l.t1
	}
	tx.rearm(l.now())
	tx.mu.Unlock()
	return tx, nil
}

// Request returns the request the transaction sends, or nil once a final
// response has arrived: the transaction lets go of the request then (an
// INVITE transaction keeps only its ACK), so that it need not stay in
// memory for the up to 32 s the transaction lingers. A TU that needs it
// later keeps its own reference. The request is the transaction's: read it
// only while no response or timer can be in flight.
func (tx *ClientTx) Request() *sip.Request {
	tx.sendMu.Lock()
	defer tx.sendMu.Unlock()
	return tx.req
}

// Method returns the method of the request, e.g. "INVITE".
func (tx *ClientTx) Method() string { return tx.key.method }

// Target returns where the request goes.
func (tx *ClientTx) Target() transport.Target { return tx.dst }

// State returns the current state.
func (tx *ClientTx) State() State {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.state
}

// Cancel cancels an INVITE (RFC 3261 §9.1): it sends a CANCEL in a client
// transaction of its own to the same destination, whose responses are
// dropped. In Calling the CANCEL waits for the first provisional response,
// as §9.1 asks. If no final response for the INVITE comes within 64*T1 of
// the CANCEL, the INVITE transaction ends with ErrTimeout (§9.1). Cancel
// returns ErrFinal once a final response has arrived and ErrTerminated
// after the transaction ended; a second call does nothing.
func (tx *ClientTx) Cancel() error {
	if !tx.invite {
		return errNotInvite
	}
	now := tx.l.now()
	tx.mu.Lock()
	switch tx.state {
	case StateCalling:
		if tx.cancel == cancelNone {
			tx.cancel = cancelPending
		}
		tx.mu.Unlock()
		return nil
	case StateProceeding:
		if tx.cancel == cancelSent {
			tx.mu.Unlock()
			return nil
		}
		tx.cancelSentLocked(now)
		tx.mu.Unlock()
		return tx.sendCancel()
	case StateCompleted, StateAccepted:
		tx.mu.Unlock()
		return ErrFinal
	}
	tx.mu.Unlock()
	return ErrTerminated
}

// cancelSentLocked records a CANCEL as sent and starts the §9.1 wait for
// the final response.
func (tx *ClientTx) cancelSentLocked(now time.Duration) {
	tx.cancel = cancelSent
	tx.tm.end = now + 64*tx.l.t1
	tx.rearm(now)
}

func (tx *ClientTx) sendCancel() error {
	tx.sendMu.Lock()
	if tx.req == nil {
		// A final response came in since Cancel decided to send: there
		// is nothing left to cancel (§9.1).
		tx.sendMu.Unlock()
		return ErrFinal
	}
	c, err := sip.NewCancel(tx.req)
	dst := tx.hopLocked()
	tx.sendMu.Unlock()
	if err != nil {
		return err
	}
	_, err = tx.l.Request(c, dst, cancelHandler{tx.l})
	return err
}

// hopLocked returns the destination of the ACK and the CANCEL: the
// address, port and transport the request was sent to (§17.1.1.3, §9.1),
// which is TCP if the transport moved a large UDP request there. tx.sendMu
// is held and req is still there.
func (tx *ClientTx) hopLocked() transport.Target {
	dst := tx.dst
	if v, err := tx.req.TopVia(); err == nil && reliable(v.Transport) && !reliable(dst.Transport) {
		dst.Transport = strings.ToUpper(v.Transport)
		dst.Pinned = true
	}
	return dst
}

// reliable reports whether a transport name (any case; "" is UDP, as the
// transport layer takes it) is reliable, so that nothing is retransmitted
// over it (§17.1.1.2, §17.1.2.2, §17.2.1).
func reliable(name string) bool {
	return name != "" && transport.Reliable(strings.ToUpper(name))
}

// cancelHandler takes the responses to a CANCEL sent by Cancel: the
// INVITE transaction gets the 487.
type cancelHandler struct{ l *Layer }

func (cancelHandler) HandleResponse(*ClientTx, *sip.Response) {}

func (h cancelHandler) HandleError(tx *ClientTx, err error) {
	h.l.log.Debug("CANCEL failed", "error", err, "branch", tx.key.branch)
}

// receive handles a response matched to the transaction. It reports false
// if the transaction was already Terminated.
func (tx *ClientTx) receive(resp *sip.Response) bool {
	now := tx.l.now()
	tx.mu.Lock()
	if tx.state == StateTerminated {
		tx.mu.Unlock()
		return false
	}
	var a clientAction
	if tx.invite {
		a = tx.receiveInviteLocked(resp, now)
	} else {
		a = tx.receiveNonInviteLocked(resp, now)
	}
	h := tx.h
	if a.final && !tx.invite {
		// §17.1.2.2: Completed only absorbs retransmissions; the TU
		// hears nothing more, and need not be kept for Timer K.
		tx.h = nil
	}
	tx.mu.Unlock()

	var ackErr error
	if a.ack {
		ackErr = tx.sendAck(resp, a.deliver)
	} else if a.final {
		tx.release()
	}
	if a.cancel {
		if err := tx.sendCancel(); err != nil {
			tx.l.log.Debug("CANCEL not sent", "error", err, "branch", tx.key.branch)
		}
	}
	if a.deliver {
		h.HandleResponse(tx, resp)
	}
	if ackErr != nil {
		h.HandleError(tx, ackErr)
	}
	return true
}

type clientAction struct {
	deliver bool // pass the response to the TU
	final   bool // the first final response: the request is no longer needed
	ack     bool // send (or resend) the ACK for a non-2xx final response
	cancel  bool // send the CANCEL that waited for a provisional response
}

// release lets go of the request after the first final response: Accepted
// and Completed never send it again (RFC 3261 §17.1.1.2, §17.1.2.2, RFC
// 6026 §8.4).
func (tx *ClientTx) release() {
	tx.sendMu.Lock()
	tx.req = nil
	tx.sendMu.Unlock()
}

func (tx *ClientTx) receiveInviteLocked(resp *sip.Response, now time.Duration) (a clientAction) {
	code := resp.StatusCode
	switch tx.state {
	case StateCalling, StateProceeding:
		switch {
		case code < 200:
			// §17.1.1.2: a provisional response moves Calling to
			// Proceeding, where the request is no longer retransmitted
			// and Timer B no longer applies; each one goes to the TU.
			if tx.state == StateCalling {
				tx.state = StateProceeding
				tx.tm.rtx, tx.tm.end = 0, 0
				if tx.cancel == cancelPending {
					// §9.1: the CANCEL waited for a provisional response.
					tx.cancelSentLocked(now)
					a.cancel = true
				}
				tx.rearm(now)
			}
			a.deliver = true
		case code < 300:
			// RFC 6026 §8.4: a 2xx moves to Accepted with Timer M; the
			// TU acknowledges it.
			tx.state = StateAccepted
			tx.tm.rtx = 0
			tx.tm.end = now + 64*tx.l.t1
			tx.rearm(now)
			a.deliver, a.final = true, true
		default:
			// §17.1.1.2: 300-699 moves to Completed; the ACK is sent even
			// over reliable transports, and Timer D starts: at least 32 s
			// over unreliable transports, zero over reliable ones.
			tx.state = StateCompleted
			a.ack, a.deliver, a.final = true, true, true
			if tx.reliable {
				tx.terminateLocked()
			} else {
				tx.tm.rtx = 0
				tx.tm.end = now + tx.l.timerD()
				tx.rearm(now)
			}
		}
	case StateCompleted:
		// §17.1.1.2: a retransmitted final response gets the ACK again
		// and is not passed up.
		a.ack = code >= 300
	case StateAccepted:
		// RFC 6026 §8.4: every 2xx goes to the TU; nothing else does.
		a.deliver = code >= 200 && code < 300
	}
	return a
}

func (tx *ClientTx) receiveNonInviteLocked(resp *sip.Response, now time.Duration) (a clientAction) {
	switch tx.state {
	case StateTrying, StateProceeding:
	default:
		return a // §17.1.2.2: Completed absorbs retransmissions
	}
	a.deliver = true
	if resp.StatusCode < 200 {
		// §17.1.2.2: Trying → Proceeding; Timer E keeps running and
		// resets to T2 from its next firing.
		tx.state = StateProceeding
		return a
	}
	// §17.1.2.2: a final response moves to Completed with Timer K: T4
	// over unreliable transports, zero over reliable ones.
	tx.state = StateCompleted
	a.final = true
	if tx.reliable {
		tx.terminateLocked()
		return a
	}
	tx.tm.rtx = 0
	tx.tm.end = now + tx.l.t4
	tx.rearm(now)
	return a
}

// sendAck builds the ACK for a non-2xx final response on first use and
// sends it to where the INVITE went (§17.1.1.2); then it lets go of the
// INVITE and keeps the ACK in wire form for retransmissions of the
// response, sending a copy parsed from it each time. A transport error ends
// the transaction (Figure 5: Completed → Terminated) and is returned for the
// TU, if this is the first ACK (first) or the transaction was still
// running: the TU hears of it once.
func (tx *ClientTx) sendAck(resp *sip.Response, first bool) error {
	tx.sendMu.Lock()
	var err error
	if tx.req != nil {
		ack, hop := newAckForFailure(tx.req, resp), tx.hopLocked()
		err = tx.l.tp.SendRequest(ack, hop)
		if err == nil && !reliable(hop.Transport) {
			// Only over an unreliable transport does the transaction stay
			// in Completed; the hop is dst then.
			tx.ack = ack.Bytes()
		}
		tx.req = nil
	} else if tx.ack != nil {
		var ack *sip.Request
		if ack, err = sip.ParseRequest(tx.ack); err == nil {
			err = tx.l.tp.SendRequest(ack, tx.dst)
		}
	}
	tx.sendMu.Unlock()
	if err == nil {
		return nil
	}
	tx.mu.Lock()
	running := tx.state != StateTerminated
	tx.terminateLocked()
	tx.mu.Unlock()
	if !running && !first {
		return nil // already ended, and the TU was told or needs not be
	}
	return &transportError{err}
}

func (tx *ClientTx) rearm(now time.Duration) { tx.l.timers.reset(&tx.tm, now) }

// onTimer runs the timers that are due.
func (tx *ClientTx) onTimer() {
	l := tx.l
	now := l.now()
	tx.mu.Lock()
	if tx.state == StateTerminated {
		tx.mu.Unlock()
		return
	}
	h := tx.h
	var resend bool
	var failed error
	switch {
	case due(tx.tm.end, now):
		switch tx.state {
		case StateCalling, StateTrying, StateProceeding:
			// Timer B (§17.1.1.2) or F (§17.1.2.2), or the §9.1 wait
			// after a CANCEL: the TU is told of the timeout.
			failed = ErrTimeout
		}
		// Timers D, K and M just end the transaction.
		tx.terminateLocked()
	case due(tx.tm.rtx, now):
		resend = true
		switch tx.state {
		case StateCalling:
			// §17.1.1.2 Timer A: the interval doubles each time.
			tx.interval *= 2
		case StateTrying:
			// §17.1.2.2 Timer E: doubling, capped at T2.
			tx.interval = min(2*tx.interval, l.t2)
		default:
			// §17.1.2.2: Timer E in Proceeding resets to T2.
			tx.interval = l.t2
		}
		tx.tm.rtx = now + tx.interval
		tx.rearm(now)
	default:
		tx.rearm(now) // early or stale: wait for the deadline
	}
	tx.mu.Unlock()

	if resend {
		var err error
		tx.sendMu.Lock()
		if tx.req != nil { // else a final response came in meanwhile
			err = l.tp.SendRequest(tx.req, tx.dst)
		}
		tx.sendMu.Unlock()
		if err != nil {
			// §17.1.4: a transport error ends the transaction; the TU
			// is told.
			tx.mu.Lock()
			if tx.state != StateTerminated {
				tx.terminateLocked()
				failed = &transportError{err}
			}
			tx.mu.Unlock()
		}
	}
	if failed != nil {
		h.HandleError(tx, failed)
	}
}

// terminateLocked enters Terminated: timers stop and the transaction
// leaves the map ("destroyed immediately", §17.1.1.2). tx.mu is held.
func (tx *ClientTx) terminateLocked() {
	if tx.state == StateTerminated {
		return
	}
	tx.state = StateTerminated
	tx.l.timers.stop(&tx.tm)
	tx.l.removeClient(tx)
}
