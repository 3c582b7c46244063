// Package dialog keeps the state of SIP dialogs and builds the requests
// sent within them (RFC 3261 §12–§15, RFC 6141). It is pure state and
// message building on top of package sip: it never sends or receives.
//
// A UAC makes a Dialog with NewUAC from the request it sent and a 1xx (with
// a To tag) or 2xx response to it (§12.1.2); a UAS makes one with NewUAS
// from the request it received, the tag of its responses and its Contact
// (§12.1.1). Dialog.NewRequest builds an in-dialog request (§12.2.1.1):
// To, From, Call-ID, the next local CSeq, the Request-URI and Route values
// from the remote target and route set (loose or strict routing), a Via
// with a fresh branch and a placeholder sent-by that the transport
// rewrites, and Contact for target refresh requests. Dialog.NewAck builds
// the ACK for a 2xx to an INVITE, which the UA core sends itself (§13.2.2.4,
// unlike the ACK for a failure, built by the transaction, §17.1.1.3).
//
// Incoming in-dialog requests go through Dialog.ReceiveRequest, which
// enforces CSeq ordering (§12.2.2) and returns a *sip.StatusError to answer
// with; responses to requests the dialog sent go through
// Dialog.ReceiveResponse (§12.2.1.2, §13.2.2.4). The remote target changes
// only as RFC 6141 §4.6 and §4.7 allow: on a 2xx or reliable 1xx to a target
// refresh we sent, or when the UA calls Dialog.Refresh as it accepts a
// target refresh it received.
//
// Match computes the dialog ID of an incoming message and Set holds the
// dialogs of a UA by ID. Dialog and Set are safe for concurrent use; a
// Dialog's lock is taken after any transaction lock and is never held while
// calling back into the UA or the transaction layer.
package dialog
