package proxy

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// listener is one of the transport listeners the proxy receives and sends
// on, as AddListener was told.
type listener struct {
	transport string // UDP, TCP, TLS, WS, WSS
	addr      netip.AddrPort
}

// AddListener tells the proxy about a transport listener of its server
// (network "udp", "tcp", "tls", "ws", "wss" and the address it is bound
// to). With more than one, the proxy knows when a request leaves on
// another listener than the one it came in on, and record-routes it twice
// (RFC 5658); and it recognizes any of them in a Route (§16.4). Call it
// after each Listen, before traffic; it is safe for concurrent use.
func (p *Proxy) AddListener(network string, addr netip.AddrPort) {
	l := listener{transport: strings.ToUpper(network), addr: netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())}
	for {
		old := p.ls.Load()
		var next []listener
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, l)
		if p.ls.CompareAndSwap(old, &next) {
			return
		}
	}
}

// AddListener tells the stateless proxy about a listener, as
// Proxy.AddListener does.
func (s *Stateless) AddListener(network string, addr netip.AddrPort) { s.p.AddListener(network, addr) }

func (p *Proxy) listeners() []listener {
	if ls := p.ls.Load(); ls != nil {
		return *ls
	}
	return nil
}

// outbound returns the listener a request to dst leaves from, chosen as
// package transport chooses it (RFC 3261 §18.1.1): one of dst's transport
// and address family, preferring an unspecified address or one as
// loopback as dst's. ok is false when the proxy knows no such listener.
func (p *Proxy) outbound(dst transport.Target) (l listener, ok bool) {
	t := strings.ToUpper(cmpOr(dst.Transport, transport.UDP))
	a := dst.Addr.Addr().Unmap()
	for _, c := range p.listeners() {
		ca := c.addr.Addr()
		if c.transport != t || ca.Is4() != a.Is4() {
			continue
		}
		if ca.IsUnspecified() || ca.IsLoopback() == a.IsLoopback() {
			return c, true
		}
		if !ok {
			l, ok = c, true
		}
	}
	return l, ok
}

// recordRoute adds the proxy's Record-Route to r, which came in through
// src and goes to dst (RFC 3261 §16.6 step 4): the address the request
// reached the proxy on, so that the next request of the dialog comes back
// the same way. When r leaves on another listener — another transport, or
// another address — one entry cannot name the proxy for both sides: a
// request from the callee must reach the outbound listener, one from the
// caller the inbound one. Then the proxy record-routes twice (RFC 5658,
// as Kamailio's rr module does with enable_double_rr): the outbound
// listener on top, the inbound one below, each with its transport
// parameter. The Route processing (Proxy.route) removes both when they
// come back in a Route, as both name the proxy (§16.4).
func (p *Proxy) recordRoute(r *sip.Request, src transport.Source, dst transport.Target) {
	in := listener{transport: strings.ToUpper(cmpOr(src.Transport, transport.UDP)), addr: src.Local}
	out, ok := p.outbound(dst)
	if !ok || sameListener(out, in) {
		r.Prepend("Record-Route", p.recordRouteValue(in, false))
		return
	}
	if out.addr.Addr().IsUnspecified() {
		out.addr = netip.AddrPortFrom(localAddrFor(dst.Addr, in.addr.Addr()), out.addr.Port())
	}
	r.Prepend("Record-Route", p.recordRouteValue(in, true))
	r.Prepend("Record-Route", p.recordRouteValue(out, true))
}

// sameListener reports whether the outbound listener out is the one a
// request came in on: the same transport and address, an unspecified
// address matching any at its port.
func sameListener(out, in listener) bool {
	if out.transport != in.transport {
		return false
	}
	if out.addr.Addr().IsUnspecified() {
		return out.addr.Port() == in.addr.Port()
	}
	return out.addr == in.addr
}

// localAddrFor returns the local address the kernel sends to dst from
// (found with a connected UDP socket, which sends nothing), else fallback.
func localAddrFor(dst netip.AddrPort, fallback netip.Addr) netip.Addr {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return fallback
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// rrValue is a Record-Route value made for a listener, kept for the next
// request through it (see recordRouteValue).
type rrValue struct {
	l        listener
	explicit bool
	v        string
}

// maxRRValues bounds the Record-Route values kept: one or two per
// listener, and listeners are few; past it, values are made anew.
const maxRRValues = 32

// recordRouteValue is a Record-Route value naming the listener l: its
// address and port, with ;lr, and its transport parameter — always when
// explicit (double record-routing), else for transports other than UDP.
// An unspecified address has nothing to name; the first domain stands in.
// A value once made is kept: the same listener gets the same string, made
// and allocated once rather than per request.
func (p *Proxy) recordRouteValue(l listener, explicit bool) string {
	old := p.rrValues.Load()
	if old != nil {
		for _, e := range *old {
			if e.l == l && e.explicit == explicit {
				return e.v
			}
		}
	}
	v := p.makeRecordRouteValue(l, explicit)
	if old == nil || len(*old) < maxRRValues {
		var next []rrValue
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, rrValue{l, explicit, v})
		p.rrValues.CompareAndSwap(old, &next) // lost to another: made again next time
	}
	return v
}

func (p *Proxy) makeRecordRouteValue(l listener, explicit bool) string {
	host := p.firstDomain()
	if a := l.addr.Addr(); a.IsValid() && !a.IsUnspecified() {
		host = hostString(a.Unmap())
	}
	v := "<sip:" + host
	if port := l.addr.Port(); port != 0 {
		v += ":" + strconv.Itoa(int(port))
	}
	if t := l.transport; explicit || t != transport.UDP {
		v += ";transport=" + strings.ToLower(t)
	}
	return v + ";lr>"
}
