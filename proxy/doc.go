// Package proxy is sipd's proxy core (RFC 3261 §16): a transaction-stateful
// proxy that validates requests (§16.3), processes Route (§16.4), finds the
// targets in the location service (§16.5), forwards a copy to each — all
// contacts of the highest q at once, lower q groups in turn (§16.6) — and
// keeps a response context that forwards provisional responses and every
// 2xx at once and, failing a 2xx, the best final response (§16.7), with
// Timer C for INVITE branches (§16.8) and CANCEL (§16.10). ACKs for 2xx and
// late 2xx responses go through HandleStray, statelessly (§16.11). Next
// hops that are host names are resolved by RFC 3263 (package dns), with
// failover to the next destination; static routes send requests by
// Request-URI domain or user prefix. A request that changes listener —
// transport or address — is record-routed twice (RFC 5658).
//
// ServeSIP does not wait for the callee: it starts the branches and returns
// server.ErrAnswerLater, and the response context runs from then on from the
// client transactions' callbacks, Timer C and the CANCEL, with no goroutine
// of its own, so the number of calls ringing at once is not bounded by the
// server's workers.
//
// Stateless is the other mode, a stateless proxy (§16.11, sipd serve --mode
// stateless): a transport.Handler in front of the transaction layer that
// forwards each request to one target with a branch derived from the
// request, and each response by its Via, keeping nothing.
//
// A tour: proxy.go holds the Proxy, its checks and target selection;
// recordroute.go the listeners and Record-Route; context.go the response
// context and its branches, failover among them; stateless.go what the
// Proxy forwards without a transaction; stateless_proxy.go the Stateless
// proxy, which shares Proxy's checks and target selection.
package proxy
