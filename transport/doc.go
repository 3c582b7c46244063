// Package transport is sipd's SIP transport layer (RFC 3261 §18): it owns
// the UDP sockets, TCP, TLS, WS and WSS (RFC 7118) listeners and
// connections, turns bytes into sip messages for the layer above and sends
// that layer's messages to the right address, socket or connection.
//
// A Layer is built with New and given listeners with Listen. Each UDP
// socket and each stream connection has exactly one read loop goroutine,
// which reads into a pooled buffer, frames (sip.Framer on TCP and TLS,
// RFC 6455 frames on WebSocket, one SIP message per WebSocket message),
// parses, and calls the Handler in line; nothing else spawns goroutines.
// On the way in the layer:
//
//   - drops CRLF keep-alive datagrams and answers CRLFCRLF pings on streams
//     with a CRLF pong (RFC 5626 §3.5.1, §4.4.1; RFC 7118 §6), and
//     WebSocket Pings with Pongs (RFC 6455 §5.5.2);
//   - refuses WebSocket opening handshakes that do not offer the sip
//     subprotocol (RFC 7118 §4.1), and fails a WebSocket connection whose
//     frames break RFC 6455 with a Close frame that says why;
//   - answers requests that parse but fail sip.Request.Validate with a
//     stateless 400 (or the status the flaw calls for) and drops what does
//     not parse at all;
//   - stamps received and rport on a request's top Via (RFC 3261 §18.2.1,
//     RFC 3581 §4);
//   - drops responses whose top Via sent-by is not ours (RFC 3261 §18.1.2).
//
// On the way out, SendRequest writes the top Via's transport and sent-by,
// moves large UDP requests to TCP (RFC 3261 §18.1.1) and reuses an open
// connection to the destination (RFC 3261 §18, the idea of RFC 5923);
// SendResponse follows RFC 3261 §18.2.2 and RFC 3581 §4: the connection
// the request came on, else maddr, received and rport, sent-by; over
// WebSocket only the connection (RFC 7118 §5.3).
//
// Stream connections (TCP, TLS, WS, WSS), accepted or dialed, live in one
// table keyed by transport and remote address, bounded in total and per
// remote IP, and are closed after IdleTimeout without traffic.
//
// Locks: Layer.mu guards the listener lists and the connection table;
// conn.wmu serializes writes on one connection. conn.wmu may be held when
// Layer.mu is taken (a failed write closes its connection), never the
// other way round.
package transport
