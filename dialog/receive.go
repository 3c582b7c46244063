package dialog

import (
	"github.com/sipd/sipd/sip"
)

// ReceiveRequest processes a request received within the dialog, before
// the UA acts on it (RFC 3261 §12.2.2). An error is a *sip.StatusError
// with the response to send:
//
//   - 481 (wrapping ErrMismatch) when the request's Call-ID or tags are not
//     the dialog's, and (wrapping ErrTerminated) when the dialog is over;
//   - 500 (wrapping ErrOutOfOrder) when its CSeq is lower than the remote
//     sequence number; otherwise that number becomes the remote sequence
//     number.
//
// A target refresh does not change the remote target here: RFC 6141 §4.6
// updates it only once the request is accepted, when the UA calls Refresh.
// A BYE terminates the dialog (§15.1.2); ACK and CANCEL, which carry the
// number of their INVITE, do not move the remote sequence number.
func (d *Dialog) ReceiveRequest(req *sip.Request) error {
	if req.CallID() != d.id.CallID || req.FromTag() != d.id.RemoteTag || req.ToTag() != d.id.LocalTag {
		return &sip.StatusError{Code: sip.StatusCallTransactionDoesNotExist, Err: ErrMismatch}
	}
	cs, err := req.CSeq()
	if err != nil {
		return &sip.StatusError{Code: sip.StatusBadRequest, Err: err}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == Terminated {
		return &sip.StatusError{Code: sip.StatusCallTransactionDoesNotExist, Err: ErrTerminated}
	}
	if req.Method == sip.MethodAck || req.Method == sip.MethodCancel {
		return nil
	}
	if d.remoteSeqSet && cs.Seq < d.remoteSeq {
		return &sip.StatusError{Code: sip.StatusInternalServerError, Err: ErrOutOfOrder}
	}
	d.remoteSeq = cs.Seq
	d.remoteSeqSet = true
	if req.Method == sip.MethodBye {
		d.state = Terminated
	}
	return nil
}

// ReceiveResponse processes a response to a request this UA sent in the
// dialog (RFC 3261 §12.2.1.2), or to the request that created it:
//
//   - for the request that created an early dialog, a 2xx confirms it and
//     recomputes the route set from its Record-Route (§13.2.2.4), and a
//     final response of 300 or above terminates it (§12.3);
//   - a 2xx or reliable (RSeq-carrying) 1xx to a target refresh replaces the
//     remote target with its Contact, if present (§12.2.1.2, RFC 6141
//     §4.7); an unreliable 1xx never does;
//   - a 481 or 408 terminates the dialog (§12.2.1.2), as does any final
//     response to a BYE (§15.1.1).
//
// It returns ErrMismatch, with no change, for a response of another dialog
// (use Match and Set to find the right one; a 2xx from another fork makes
// a new dialog with NewUAC), and the error of a malformed Contact or
// Record-Route.
func (d *Dialog) ReceiveResponse(resp *sip.Response) error {
	if resp.CallID() != d.id.CallID || resp.FromTag() != d.id.LocalTag || resp.ToTag() != d.id.RemoteTag {
		return ErrMismatch
	}
	cs, err := resp.CSeq()
	if err != nil {
		return err
	}
	code := resp.StatusCode
	// Parse before taking the lock and changing anything, so a malformed
	// response changes nothing.
	var target sip.URI
	hasTarget := false
	reliable := code > 100 && code < 200 && resp.Has("RSeq")
	if IsTargetRefresh(cs.Method) && (resp.IsSuccess() || reliable) {
		cts, err := resp.Contacts()
		if err != nil {
			return err
		}
		if len(cts) > 0 && !cts[0].Wildcard {
			target, hasTarget = cts[0].URI, true
		}
	}
	var rr []sip.Address
	d.mu.Lock()
	defer d.mu.Unlock()
	creating := d.createMethod != "" && cs.Method == d.createMethod && cs.Seq == d.createSeq
	if creating && d.state == Early && resp.IsSuccess() {
		if rr, err = resp.RecordRoutes(); err != nil {
			return err
		}
	}
	switch {
	case d.state == Terminated:
		return nil
	case code == sip.StatusCallTransactionDoesNotExist || code == sip.StatusRequestTimeout:
		d.state = Terminated
		return nil
	case cs.Method == sip.MethodBye && code >= 200:
		d.state = Terminated
		return nil
	case creating && d.state == Early && code >= 300:
		d.state = Terminated
		return nil
	}
	if creating && d.state == Early && resp.IsSuccess() {
		d.state = Confirmed
		d.routeSet = reversed(rr)
	}
	if hasTarget {
		d.remoteTarget = target
	}
	return nil
}
