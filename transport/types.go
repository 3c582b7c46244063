package transport

import (
	"net/netip"

	"github.com/sipd/sipd/sip"
)

// Transport names as they appear in Via sent-protocol (RFC 3261 §20.42)
// and in the transport URI parameter, upper-cased.
const (
	UDP = "UDP"
	TCP = "TCP"
	TLS = "TLS"
	WS  = "WS"  // RFC 7118
	WSS = "WSS" // RFC 7118
)

// Reliable reports whether a transport is reliable, so that the
// transaction layer does not retransmit over it (RFC 3261 §17.1.1.2, §17.1.2.2).
func Reliable(transport string) bool {
	switch transport {
	case UDP:
		return false
	}
	return true
}

// Target is where a request is sent: the result of RFC 3263 resolution of
// the next hop.
type Target struct {
	Transport  string         // UDP, TCP, TLS, WS, WSS
	Addr       netip.AddrPort // destination IP and port
	ServerName string         // TLS, WSS: the name to verify; WS, WSS: the Host; "" means Addr's IP

	// Pinned keeps Transport as it is: a UDP request larger than the MTU
	// allows is not moved to TCP (RFC 3261 §18.1.1). Set it when the
	// transport was chosen explicitly, e.g. by a transport=udp URI
	// parameter or an RFC 5626 flow.
	Pinned bool
}

// Source tells where a received message came from and on which socket or
// connection, so that responses to a request go back the way RFC 3261
// §18.2.2 and RFC 3581 §4 say.
type Source struct {
	Transport string         // UDP, TCP, TLS, WS, WSS
	Remote    netip.AddrPort // the peer's address as seen on the socket
	Local     netip.AddrPort // our address the message arrived on

	// set by the transport layer: the socket or connection the message
	// came in on; nil in Sources made by tests or other layers.
	via any
}

// Inbound is a received, parsed message and where it came from. For
// requests, the transport has already stamped received and rport on the
// top Via (RFC 3261 §18.2.1, RFC 3581 §4).
type Inbound struct {
	Msg sip.Message
	Source
}

// Handler receives inbound messages. It is called from the transport's read
// loops: it must not block for long.
type Handler interface {
	HandleInbound(in *Inbound)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(in *Inbound)

// HandleInbound calls f(in).
func (f HandlerFunc) HandleInbound(in *Inbound) { f(in) }

var _ Handler = HandlerFunc(nil)

// SourceRef holds a Source in 40 bytes rather than 96, for state kept a
// while per message (a completed transaction's record keeps one for each
// request it answered over UDP for 32 s). A Source from one of this
// layer's UDP sockets is kept as the socket and the remote address; any
// other is kept whole, behind a pointer.
type SourceRef struct {
	u    *udpSocket
	ip   [16]byte
	port uint16
	is4  bool
	full *Source
}

// Ref returns s as a SourceRef.
func (s Source) Ref() SourceRef {
	u, ok := s.via.(*udpSocket)
	a := s.Remote.Addr()
	if !ok || s.Transport != UDP || s.Local != u.addr || a.Zone() != "" || !a.IsValid() {
		return SourceRef{full: &s}
	}
	return SourceRef{u: u, ip: a.As16(), port: s.Remote.Port(), is4: a.Is4()}
}

// Source returns the Source r holds.
func (r *SourceRef) Source() Source {
	if r.full != nil {
		return *r.full
	}
	a := netip.AddrFrom16(r.ip)
	if r.is4 {
		a = a.Unmap()
	}
	return Source{Transport: UDP, Remote: netip.AddrPortFrom(a, r.port), Local: r.u.addr, via: r.u}
}
