// Package transaction is sipd's transaction layer (RFC 3261 §17 with the
// corrections of RFC 6026 and RFC 4320): the four state machines — INVITE
// and non-INVITE, client and server — their timers, retransmissions and the
// matching of inbound messages to transactions.
//
// A Layer sits between the transport (below, through the Transport
// interface) and the transaction user, the TU (above, through Core and
// ClientHandler). The transport hands every received message to
// Layer.HandleInbound, which
//
//   - passes a response to the client transaction it matches by top Via
//     branch and CSeq method (§17.1.3), or to Core.HandleStray;
//   - absorbs a request retransmission in its server transaction, which
//     resends its last response (§17.2.1, §17.2.2); keys are the branch,
//     sent-by and method of §17.2.3, or the RFC 2543 fallback when the
//     branch lacks the magic cookie;
//   - absorbs an ACK for a non-2xx final response; an ACK for a 2xx is a
//     transaction of its own (§17.1.1.3, §13.2.2.4) and goes to
//     Core.HandleStray, as does an ACK that meets an INVITE server
//     transaction in the Accepted state (RFC 6026 §8.7);
//   - turns a CANCEL that matches an INVITE server transaction (§9.2) into
//     a non-INVITE server transaction of its own for Core.HandleRequest;
//     Layer.MatchCancel finds the INVITE so the TU can answer it 487;
//   - creates a server transaction for any other new request and gives it
//     to Core.HandleRequest.
//
// The TU starts client transactions with Layer.Request and answers through
// ServerTx.Respond. The layer sends the 100 (Trying) to an INVITE the TU
// has not answered within 200 ms (§17.2.1), and the 100 to a non-INVITE
// the TU has not answered by the time the client's Timer E reaches T2
// (RFC 4320 §4.1); it builds and sends the ACK for a non-2xx final response
// itself (§17.1.1.3).
//
// Timers run on one heap per layer, under one runtime timer
// (time.AfterFunc) set for the earliest deadline of all: a transaction sits
// in the heap at the earlier of its two pending deadlines — a
// retransmission timer (A, E, G or the 100 Trying) and a lifetime timer (B,
// D, F, H, I, J, K, L, M) — and costs no allocation and no runtime timer
// of its own. When a deadline comes, the transaction's timer code runs in a
// goroutine, as with time.AfterFunc; no goroutine waits per transaction,
// and everything runs under testing/synctest with a fake clock. A
// transaction leaves the layer's maps and the heap the moment it is
// Terminated; it lets go of its request at its final response (see
// ClientTx.Request and ServerTx.Request).
//
// A non-INVITE server transaction that sent its final response over an
// unreliable transport only answers retransmissions with it until Timer J
// (§17.2.2): the layer keeps a compact record of it then — match key,
// source, expiry and the response in wire form — and frees the ServerTx
// once the TU lets go of it. Timer J being the same for all, the records
// wait in one queue, in the order they end, under one entry of the heap.
// The TU's ServerTx, if it keeps one, follows its record. A TU may also
// run timers of its own on the heap (Timer, such as a proxy's Timer C).
//
// # Locks
//
// There are four kinds of lock (and a Timer's own, like tx.mu); the
// order is
//
//	tx.mu  →  Layer.mu  →  the timer heap's lock
//
// and tx.sendMu is never held together with any other. The timer heap's
// lock is a leaf: the heap calls no transaction while it holds it.
//
// Layer.mu guards the maps of transactions, the queue of completed
// records, the Core and closed. Nothing but the timer heap's lock, to
// rearm the queue's timer, is locked while it is held, and nothing called;
// HandleInbound lets go of it before it locks the transaction it found. tx.mu guards a
// transaction's state, timers and last response; it is held to decide a
// transition and, to leave the maps, while Layer.mu is taken, but never
// while calling the transport or the TU. tx.sendMu serializes what one
// transaction hands the transport, and its own reads of the request the
// transport edits (sip messages are not safe for concurrent use; the
// transport rewrites the top Via of a request it sends and caches the top
// Via of a response). The TU is called with no lock held, so it may call
// back into the layer and the transaction at once. Because sendMu is held
// while the Transport sends, a Transport must not call HandleInbound from
// inside SendRequest or SendResponse: deliver from another goroutine.
package transaction
