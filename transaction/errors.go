package transaction

import "errors"

// Errors callers branch on.
var (
	// ErrTimeout: Timer B or F fired before a final response (RFC 3261
	// §17.1.1.2, §17.1.2.2), no final response came within 64*T1 of a
	// CANCEL (§9.1), or Timer H fired before the ACK (§17.2.1).
	ErrTimeout = errors.New("transaction: timeout")
	// ErrTransport: the transport failed to send a message of the
	// transaction (RFC 3261 §17.1.4, §17.2.4). Errors that wrap it also
	// wrap the transport's own error.
	ErrTransport = errors.New("transaction: transport error")
	// ErrTerminated: the transaction, or the layer, is gone.
	ErrTerminated = errors.New("transaction: terminated")
	// ErrFinal: the transaction already has a final response, so a second
	// one is discarded (RFC 3261 §17.2.2) and a CANCEL would be pointless
	// (§9.1).
	ErrFinal = errors.New("transaction: final response already exchanged")
)

// Errors of misuse by the TU.
var (
	errNoBranch    = errors.New("transaction: top Via has no RFC 3261 branch")
	errAck         = errors.New("transaction: ACK is not sent in a client transaction")
	errDuplicate   = errors.New("transaction: a client transaction with this branch and method exists")
	errNoHandler   = errors.New("transaction: nil ClientHandler")
	errStatus      = errors.New("transaction: status code out of range 100-699")
	errProvisional = errors.New("transaction: provisional response other than 100 to a non-INVITE request")
	errNotInvite   = errors.New("transaction: only an INVITE can be cancelled")
)

// transportError is a send failure: it is ErrTransport and keeps the
// transport's error as its cause.
type transportError struct{ err error }

func (e *transportError) Error() string { return "transaction: transport error: " + e.err.Error() }

func (e *transportError) Unwrap() []error { return []error{ErrTransport, e.err} }
