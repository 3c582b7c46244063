package transport

import (
	"errors"
	"net/netip"
	"strings"
	"syscall"

	"github.com/sipd/sipd/sip"
)

// SendRequest sends req to dst (RFC 3261 §18.1.1). The top Via, which the
// caller put there with its branch, gets the transport and the sent-by of
// the listener that sends: for UDP the socket of dst's address family, for
// TCP, TLS, WS and WSS the port of that transport's listener. After SendRequest
// returns, the top Via names the transport actually used, which is how the
// caller learns that a large UDP request went over TCP. SendRequest edits
// req, so it must not be called concurrently for one request.
//
// A UDP request larger than Config.MTU-200 bytes goes over TCP to the same
// address unless dst.Pinned; if TCP is refused (a reset), it is sent over
// UDP after all, as §18.1.1 asks for the sake of RFC 2543 peers. Without a
// TCP listener to name in the Via such a request fails with ErrNoListener
// (RFC 3261 §18.2.1 asks for TCP wherever there is UDP). TCP, TLS, WS and
// WSS requests use an open connection to dst when there is one, accepted
// or dialed, else dial (within WriteTimeout, handshakes included); a dial
// from a Handler blocks that read loop. A WS or WSS dial asks for
// Config.WSPath with dst.ServerName (or the IP) as Host.
//
// Errors: ErrClosed, ErrNoVia, the Via's parse error, ErrNoListener,
// ErrTooManyConns, ErrTooLarge, ErrWSHandshake (wrapped), or the network's
// error; the transaction layer reports them as transport errors (RFC 3261
// §17.1.4).
func (l *Layer) SendRequest(req *sip.Request, dst Target) error {
	if l.shut.Load() {
		return ErrClosed
	}
	if !req.Has("Via") {
		return ErrNoVia
	}
	v, err := req.TopVia()
	if err != nil {
		return err
	}
	addr := netip.AddrPortFrom(dst.Addr.Addr().Unmap(), dst.Addr.Port())
	if !addr.Addr().IsValid() || addr.Port() == 0 {
		return ErrNoRoute
	}
	ls := l.state.Load()
	switch t := transportName(dst.Transport); t {
	case UDP:
		return l.sendRequestUDP(req, &v, ls, addr, dst.Pinned)
	case TCP, TLS, WS, WSS:
		return l.sendRequestStream(req, &v, ls, t, addr, dst.ServerName)
	}
	return ErrNoListener
}

func (l *Layer) sendRequestUDP(req *sip.Request, v *sip.Via, ls *listeners, dst netip.AddrPort, pinned bool) error {
	u := ls.udpSocketFor(dst.Addr())
	if u == nil {
		return ErrNoListener
	}
	host, err := u.sentBy(dst)
	if err != nil {
		return err
	}
	setSentBy(req, v, UDP, host, u.addr.Port())
	bp := l.bufs.getSmall()
	defer l.bufs.putSmall(bp)
	b := req.AppendTo(bp[:0])
	if len(b) > l.cfg.MTU-200 && !pinned {
		// RFC 3261 §18.1.1: a request within 200 bytes of the path
		// MTU MUST go over a congestion controlled transport, such as
		// TCP, and the top Via MUST say so.
		err := l.sendRequestStream(req, v, ls, TCP, dst, "")
		if err == nil || !refused(err) {
			return err
		}
		// §18.1.1: if that connection attempt ends in a TCP reset or
		// ICMP Protocol Not Supported, retry the request over UDP.
		setSentBy(req, v, UDP, host, u.addr.Port())
		b = req.AppendTo(bp[:0])
	}
	return u.writeTo(b, dst, true)
}

// refused reports a connection refused by a reset or for want of the
// protocol: the cases RFC 3261 §18.1.1 falls back to UDP for.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

func (l *Layer) sendRequestStream(req *sip.Request, v *sip.Via, ls *listeners, t string, dst netip.AddrPort, name string) error {
	s := ls.streamListenerFor(t, dst.Addr())
	if s == nil {
		return ErrNoListener
	}
	bp := l.bufs.getSmall()
	defer l.bufs.putSmall(bp)
	for attempt := 0; ; attempt++ {
		c, fresh, err := l.getConn(t, dst, name)
		if err != nil {
			return err
		}
		host := s.host
		if host == "" {
			host = viaHost(c.local.Addr())
		}
		setSentBy(req, v, t, host, s.addr.Port())
		err = c.write(req.AppendTo(bp[:0]))
		if err == nil || fresh || attempt > 0 {
			return err
		}
		// RFC 5923 §8.1: a reused connection may be gone by now; open a
		// new one.
	}
}

// setSentBy makes the top Via of req say transport and host:port, keeping
// its parameters; v is the top Via as it stands and is updated. An
// unchanged Via is not rewritten, so a retransmission serializes as
// cheaply as the first send.
func setSentBy(req *sip.Request, v *sip.Via, transport, host string, port uint16) {
	if v.Transport == transport && v.Host == host && v.Port == int(port) {
		return
	}
	v.Transport, v.Host, v.Port = transport, host, int(port)
	// req.SetTopVia(*v), written through a buffer on the stack: one
	// allocation, the header's new value, where Via.String makes two
	// for a Via longer than 64 bytes.
	var buf [256]byte
	req.ReplaceFirst("Via", string(v.AppendTo(buf[:0])))
}

// transportName returns the transport constant for a name in any case
// ("" is UDP), or "" for one this layer does not carry.
func transportName(s string) string {
	switch {
	case s == UDP || s == "" || strings.EqualFold(s, UDP):
		return UDP
	case s == TCP || strings.EqualFold(s, TCP):
		return TCP
	case s == TLS || strings.EqualFold(s, TLS):
		return TLS
	case s == WS || strings.EqualFold(s, WS):
		return WS
	case s == WSS || strings.EqualFold(s, WSS):
		return WSS
	}
	return ""
}

// SendResponse sends resp to where its top Via says (RFC 3261 §18.2.2,
// RFC 3581 §4). src is the Source of the request, as the Inbound gave it:
//
//   - on a stream, the response goes on the connection the request came
//     on while it is open; otherwise a connection is opened (or reused) to
//     received, else the sent-by host, else src.Remote, at the sent-by port
//     or the transport's default;
//   - on WS and WSS, only on the connection the request came on, or
//     another open one from src.Remote: RFC 7118 §5.3 has responses go
//     back on the WebSocket connection, and a browser's Via names a host
//     (often a random .invalid name) that takes no connections;
//   - over UDP it goes to maddr at the sent-by port (or 5060); else to
//     received at the rport port (RFC 3581) or the sent-by port; else to
//     sent-by. This layer does no DNS: a maddr that is a host name is
//     ignored and a sent-by host name without received means src.Remote.
//     It leaves from the socket the request arrived on, so that it comes
//     from the address the client sent to (RFC 3581 §4).
//
// Errors: ErrClosed, ErrNoVia, the Via's parse error, ErrNoRoute (on WS
// and WSS also: the connection is gone), ErrNoListener, ErrTooManyConns,
// ErrTooLarge, or the network's error (RFC 3261 §17.2.4).
func (l *Layer) SendResponse(resp *sip.Response, src Source) error {
	if l.shut.Load() {
		return ErrClosed
	}
	if !resp.Has("Via") {
		return ErrNoVia
	}
	v, err := resp.TopVia()
	if err != nil {
		return err
	}
	bp := l.bufs.getSmall()
	defer l.bufs.putSmall(bp)
	b := resp.AppendTo(bp[:0])

	// §18.2.2: "the response MUST be sent using the existing connection
	// to the source of the original request ..., if that connection is
	// still open."
	var werr error // the failed write on the request's connection
	if c, ok := src.via.(*conn); ok && c.l == l {
		if werr = c.write(b); werr == nil {
			return nil
		}
	}
	switch t := transportName(v.Transport); t {
	case WS, WSS:
		// RFC 7118 §5.3: "SIP responses can only be sent over the
		// existing WebSocket connection." A Source without its
		// connection (made by another layer) may still find it in the
		// table; a new one is never opened.
		if c := l.openConn(connKey{transport: t, remote: src.Remote}); c != nil && c != src.via {
			return c.write(b)
		}
		if werr != nil {
			return werr
		}
		return ErrNoRoute
	case TCP, TLS:
		dst, name, err := streamResponseDest(&v, src, t)
		if err != nil {
			return err
		}
		c, _, err := l.getConn(t, dst, name)
		if err != nil {
			return err
		}
		return c.write(b)
	case UDP:
		dst, err := udpResponseDest(&v, src)
		if err != nil {
			return err
		}
		u, ok := src.via.(*udpSocket)
		if !ok || u.l != l || u.addr.Addr().Is4() != dst.Addr().Is4() {
			if u = l.state.Load().udpSocketFor(dst.Addr()); u == nil {
				return ErrNoListener
			}
		}
		return u.writeTo(b, dst, false)
	}
	return ErrNoListener
}

// streamResponseDest is where to open a connection for a response when the
// request's connection is gone (RFC 3261 §18.2.2, first bullet): the
// received address, else the sent-by host if it is an IP address, else the
// request's source address; at the sent-by port or the default port.
func streamResponseDest(v *sip.Via, src Source, t string) (netip.AddrPort, string, error) {
	port := uint16(v.Port)
	if port == 0 {
		port = defaultPort(t)
	}
	name := ""
	ip, ok := hostAddr(v.Received())
	if !ok {
		ip, ok = hostAddr(v.Host)
		if !ok {
			name = v.Host // a TLS peer is verified by its name
		}
	}
	if !ok {
		if !src.Remote.IsValid() {
			return netip.AddrPort{}, "", ErrNoRoute
		}
		ip = src.Remote.Addr()
	}
	return netip.AddrPortFrom(ip, port), name, nil
}

// udpResponseDest applies RFC 3261 §18.2.2 bullets two to four with the
// step RFC 3581 §4 puts between the second and the third.
func udpResponseDest(v *sip.Via, src Source) (netip.AddrPort, error) {
	port := uint16(v.Port)
	if port == 0 {
		port = 5060
	}
	if a, ok := hostAddr(v.MAddr()); ok {
		return netip.AddrPortFrom(a, port), nil
	}
	if a, ok := hostAddr(v.Received()); ok {
		if rport, ok := v.RPort(); ok && rport != 0 {
			return netip.AddrPortFrom(a, uint16(rport)), nil
		}
		return netip.AddrPortFrom(a, port), nil
	}
	if a, ok := hostAddr(v.Host); ok {
		return netip.AddrPortFrom(a, port), nil
	}
	if src.Remote.IsValid() {
		return src.Remote, nil
	}
	return netip.AddrPort{}, ErrNoRoute
}
