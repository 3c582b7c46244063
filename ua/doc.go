// Package ua is sipd's SIP user agent library: the UAC and UAS cores of
// RFC 3261 §8, §12-15 on top of package transaction (the §17 layer) and
// package dialog (the §12 state), with SDP offer/answer from package sdp
// and RTP from package media. The sipd commands call, answer, register,
// options and message are thin wiring on it.
//
// A tour:
//
//   - New starts a UA on a listener (or on Config.Transport, which tests
//     use for an in-memory network). Config.Trace sees every message sent
//     and received, for a readable call flow. Close hangs up, stops every
//     timer and waits for every goroutine the UA started.
//   - UA.Invite places a call: SDP offer, early dialogs from 1xx with a To
//     tag (one per fork), PRACK for reliable provisional responses (RFC
//     3262), the ACK for a 2xx built by the UA (§13.2.2.4) and sent again
//     when the 2xx is retransmitted, a second fork's 2xx ACKed and ended
//     with BYE, digest credentials after 401/407 (a new INVITE with CSeq+1;
//     the ACK of the 407 is the transaction's), 422 retried with the peer's
//     Min-SE (RFC 4028), CANCEL when the context ends first (§9.1).
//   - Config.OnInvite receives an IncomingCall: Ring, Progress (183 with
//     early media, reliable with 100rel: RSeq, retransmitted from T1
//     doubling until the PRACK, 5xx after 64*T1), Answer (the 2xx
//     retransmitted from T1 doubling to T2 until the ACK, BYE after 64*T1,
//     §13.3.1.4) or Reject. A CANCEL is answered 200 and the INVITE 487.
//     An INVITE with Replaces (RFC 3891) that matches a confirmed dialog
//     ends it with BYE once answered, an early one of ours with CANCEL;
//     no match is 481, early-only on a confirmed dialog 486.
//   - Call is one INVITE dialog: Hold and Resume (re-INVITE with a=sendonly
//     and a=sendrecv, RFC 3264 §8.4), Update (RFC 3311), Info (RFC 6086),
//     Refer (RFC 3515: waits for the NOTIFY that ends the implicit
//     subscription and returns its sipfrag status), Hangup, Done.
//     Glare is answered 491 (§14.2) and our own 491 retried after the
//     back-off of §14.1. A 481 or 408 to an in-dialog request ends the
//     dialog (§12.2.1.2). Session timers (RFC 4028) refresh at half the
//     interval by re-INVITE or UPDATE; the other side sends BYE at expiry.
//     Negotiated, Media, SendTone, PlayWAV and WriteRecording give the
//     audio side.
//   - An accepted REFER makes the UA call the Refer-To target (with the
//     Replaces of its URI headers) and report progress with NOTIFY
//     message/sipfrag: "SIP/2.0 100 Trying", then the final status, the
//     subscription terminated.
//   - UA.Register keeps a binding refreshed at half the granted lifetime
//     (Unregister sends Expires: 0); UA.Do sends any non-INVITE request
//     outside a dialog with the digest retry (MD5, SHA-256, qop=auth,
//     nc/cnonce, once per challenge, again on stale=true); Message (RFC
//     3428) and Options are built on it; Config.OnMessage receives MESSAGE.
//
// # Goroutines and callbacks
//
// The transport calls the UA inline from its read loop; the UA never
// blocks there. Config.OnInvite and Config.OnEvent run in goroutines of
// their own, so they may call any method (Answer, Hangup, ...). Timers
// (2xx and reliable 1xx retransmission, session timers) are time.AfterFunc;
// everything runs under testing/synctest. Every goroutine the UA starts is
// counted and Close waits for them.
//
// # Locks
//
// The order is
//
//	transaction locks  →  UA.mu  →  Call.mu  →  dialog.Dialog's lock
//
// and none is held while calling user callbacks, the transaction layer or
// the transport: the transaction layer calls the UA with no lock held, the
// UA takes UA.mu only to find or change its map of calls, and Call.mu only
// to read or change the call's fields. sip messages cache what they parse,
// so a message read by two goroutines is cloned (and warmed) first.
package ua
