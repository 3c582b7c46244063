package dialog

import "errors"

// Errors a caller may branch on. ReceiveRequest wraps them in a
// *sip.StatusError that carries the response to send.
var (
	// ErrNoContact: the message that creates the dialog has no usable
	// Contact, so there is no remote target (RFC 3261 §12.1.1, §12.1.2).
	ErrNoContact = errors.New("dialog: no contact")
	// ErrNoTag: a From or To tag the dialog ID needs is missing (§12).
	ErrNoTag = errors.New("dialog: missing tag")
	// ErrNoCallID: the message has no Call-ID.
	ErrNoCallID = errors.New("dialog: missing call-id")
	// ErrNotDialogResponse: the response cannot create a dialog: only
	// 101-199 with a To tag and 2xx can (§12.1).
	ErrNotDialogResponse = errors.New("dialog: response does not create a dialog")
	// ErrMismatch: the message belongs to another dialog or another
	// request.
	ErrMismatch = errors.New("dialog: message does not match dialog")
	// ErrOutOfOrder: a request's CSeq is lower than the remote sequence
	// number (§12.2.2); it is answered with 500.
	ErrOutOfOrder = errors.New("dialog: cseq out of order")
	// ErrTerminated: the dialog is terminated.
	ErrTerminated = errors.New("dialog: terminated")
	// ErrMethod: ACK and CANCEL are not built by NewRequest (use NewAck
	// and sip.NewCancel).
	ErrMethod = errors.New("dialog: method not built by NewRequest")
	// ErrSeqExhausted: the local CSeq cannot grow any more.
	ErrSeqExhausted = errors.New("dialog: cseq exhausted")
)
