package transport

import "errors"

// Errors callers branch on. Errors from the network itself (a refused
// connection, a write timeout) are returned as the net package gives them.
var (
	// ErrClosed: the Layer was closed.
	ErrClosed = errors.New("transport: closed")
	// ErrTooManyConns: opening a connection would exceed Config.MaxConns.
	ErrTooManyConns = errors.New("transport: too many connections")
	// ErrNoListener: there is no listener of the transport and address
	// family to send from (or to name in the Via sent-by).
	ErrNoListener = errors.New("transport: no listener for transport and address family")
	// ErrNoVia: the message has no Via header field.
	ErrNoVia = errors.New("transport: no Via")
	// ErrNoRoute: the response's top Via gives no IP address to send to
	// (sent-by is a host name without received, and the Source is empty).
	ErrNoRoute = errors.New("transport: no address to send the response to")
	// ErrTooLarge: the message does not fit in a UDP datagram.
	ErrTooLarge = errors.New("transport: message too large")
	// ErrWSHandshake: a WebSocket server did not accept our opening
	// handshake (no 101, a wrong Sec-WebSocket-Accept, no sip
	// subprotocol); RFC 7118 §4.1 makes it a transaction error. The error
	// returned wraps it with the detail.
	ErrWSHandshake = errors.New("transport: websocket handshake failed")
)
