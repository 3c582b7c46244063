package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sipd/sipd/sip"
)

// Layer is a SIP transport layer: its listeners, its connection table and
// the Handler it delivers to. Its methods are safe for concurrent use.
type Layer struct {
	cfg    Config
	h      Handler
	log    *slog.Logger
	parser sip.Parser
	bufs   bufPools

	ctx    context.Context // cancelled by Close: stops dials and handshakes
	cancel context.CancelFunc

	// state is the current set of listeners and what they make ours; it
	// is replaced whole under mu and read without locks.
	state atomic.Pointer[listeners]

	shut atomic.Bool // closed, for the send paths to check without mu

	mu     sync.Mutex
	closed bool
	conns  map[connKey]*conn
	perIP  map[netip.Addr]int // accepted connections by remote IP
	nconns int                // entries of conns, dialing ones included
	wg     sync.WaitGroup     // read and accept loops
}

// listeners is an immutable snapshot of a Layer's sockets and of the
// sent-by values that count as ours (RFC 3261 §18.1.2).
type listeners struct {
	udp     []*udpSocket
	streams []*streamListener

	exact   map[netip.AddrPort]bool // bound address of a listener with a specified IP
	anyPort map[uint16]bool         // port of a listener on 0.0.0.0 or ::
	local   map[netip.Addr]bool     // interface addresses, filled when anyPort is not empty
	ports   map[uint16]bool         // every listener's port
	hostIPs map[netip.Addr]bool     // Config.Hosts that are IP addresses
	names   []string                // Config.Hosts that are names
}

// New returns a Layer that delivers inbound messages to h. It has no
// listeners yet; see Listen.
func New(cfg Config, h Handler) *Layer {
	cfg = cfg.withDefaults()
	if h == nil {
		h = HandlerFunc(func(*Inbound) {})
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Layer{
		cfg:    cfg,
		h:      h,
		log:    cfg.Logger.With("component", "transport"),
		parser: sip.Parser{MaxMessageSize: cfg.MaxMessageSize},
		ctx:    ctx,
		cancel: cancel,
		conns:  make(map[connKey]*conn),
		perIP:  make(map[netip.Addr]int),
	}
	l.state.Store(l.newListeners(nil, nil))
	return l
}

// Listen opens a listener and starts serving it. network is "udp", "tcp",
// "tls", "ws" or "wss" (any case); addr is an IP address and port, such as
// "127.0.0.1:5060", "[::1]:0" or "0.0.0.0:5060" (":5060" is the same). A
// Layer may listen on many addresses at once. Listen returns the address
// bound, with the port chosen when addr asks for port 0.
//
// RFC 3261 §18.2.1: a server listening on UDP should listen on TCP at the
// same address and port, as large requests come over TCP.
//
// A "ws" or "wss" listener takes WebSocket connections (RFC 7118): the
// HTTP/1.1 opening handshake (RFC 6455 §4) on any path, which must offer
// the "sip" subprotocol, then SIP messages one per WebSocket message. A
// "tls" or "wss" listener needs Config.TLSConfig with a certificate.
func (l *Layer) Listen(network, addr string) (netip.AddrPort, error) {
	ap, err := parseListenAddr(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if l.isClosed() {
		return netip.AddrPort{}, ErrClosed
	}
	switch strings.ToLower(network) {
	case "udp":
		return l.listenUDP(ap)
	case "tcp":
		return l.listenStream(TCP, ap)
	case "tls", "wss":
		if l.cfg.TLSConfig == nil || (len(l.cfg.TLSConfig.Certificates) == 0 &&
			l.cfg.TLSConfig.GetCertificate == nil && l.cfg.TLSConfig.GetConfigForClient == nil) {
			return netip.AddrPort{}, errors.New("transport: a " + strings.ToLower(network) + " listener needs Config.TLSConfig with a certificate")
		}
		return l.listenStream(strings.ToUpper(network), ap)
	case "ws":
		return l.listenStream(WS, ap)
	}
	return netip.AddrPort{}, errors.New("transport: unknown network " + strconv.Quote(network))
}

func parseListenAddr(addr string) (netip.AddrPort, error) {
	if strings.HasPrefix(addr, ":") {
		addr = "0.0.0.0" + addr
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if ap.Addr().Zone() != "" {
		return netip.AddrPort{}, errors.New("transport: zoned listen address " + strconv.Quote(addr))
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// family is the network suffix for an address: "4" or "6". Go's "tcp6"
// and "udp6" sockets are IPv6-only, so every socket has one family.
func family(a netip.Addr) string {
	if a.Is4() {
		return "4"
	}
	return "6"
}

// addListener registers a new UDP socket or stream listener; it fails
// when the layer is closed, and the caller closes what it opened.
func (l *Layer) addListener(u *udpSocket, s *streamListener) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	old := l.state.Load()
	udp, streams := old.udp, old.streams
	if u != nil {
		udp = append(udp[:len(udp):len(udp)], u)
	}
	if s != nil {
		streams = append(streams[:len(streams):len(streams)], s)
	}
	l.state.Store(l.newListeners(udp, streams))
	l.wg.Add(1)
	return nil
}

func (l *Layer) newListeners(udp []*udpSocket, streams []*streamListener) *listeners {
	ls := &listeners{
		udp:     udp,
		streams: streams,
		exact:   make(map[netip.AddrPort]bool),
		anyPort: make(map[uint16]bool),
		ports:   make(map[uint16]bool),
		hostIPs: make(map[netip.Addr]bool),
	}
	add := func(a netip.AddrPort) {
		ls.ports[a.Port()] = true
		if a.Addr().IsUnspecified() {
			ls.anyPort[a.Port()] = true
		} else {
			ls.exact[a] = true
		}
	}
	for _, u := range udp {
		add(u.addr)
	}
	for _, s := range streams {
		add(s.addr)
	}
	if len(ls.anyPort) > 0 {
		ls.local = make(map[netip.Addr]bool)
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					ls.local[p.Addr().Unmap()] = true
				}
			}
		}
	}
	for _, h := range l.cfg.Hosts {
		if a, ok := hostAddr(h); ok {
			ls.hostIPs[a] = true
		} else if h != "" {
			ls.names = append(ls.names, h)
		}
	}
	return ls
}

// ours reports whether a Via sent-by is one this layer puts into requests
// (RFC 3261 §18.1.2): a listener's IP and port, any local IP with the port
// of a listener on an unspecified address, or one of Config.Hosts with a
// listener's port. A missing port is the transport's default (§18.1.1).
func (ls *listeners) ours(v *sip.Via) bool {
	port := uint16(v.Port)
	if port == 0 {
		port = defaultPort(v.Transport)
	}
	if a, ok := hostAddr(v.Host); ok {
		return ls.exact[netip.AddrPortFrom(a, port)] ||
			(ls.anyPort[port] && ls.local[a]) ||
			(ls.hostIPs[a] && ls.ports[port])
	}
	if !ls.ports[port] {
		return false
	}
	for _, n := range ls.names {
		if strings.EqualFold(n, v.Host) {
			return true
		}
	}
	return false
}

// defaultPort is 5061 for TLS and 5060 for UDP and TCP (RFC 3261 §18.1.1,
// §19.1.2), 80 for WS and 443 for WSS (RFC 7118 §5.5).
func defaultPort(transport string) uint16 {
	switch {
	case strings.EqualFold(transport, TLS):
		return 5061
	case strings.EqualFold(transport, WS):
		return 80
	case strings.EqualFold(transport, WSS):
		return 443
	}
	return 5060
}

// hostAddr parses a host that is an IP address, bracketed or not, as Via
// sent-by, received and maddr carry it.
func hostAddr(h string) (netip.Addr, bool) {
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if !maybeIP(h) {
		return netip.Addr{}, false // spare a host name the parse error's allocation
	}
	a, err := netip.ParseAddr(h)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// maybeIP reports whether s could be an IP address: IPv6 has a colon,
// IPv4 only digits and dots.
func maybeIP(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ':' {
			return true
		} else if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// viaHost writes an IP address as Via sent-by host: IPv6 in brackets
// (RFC 3261 §25.1 IPv6reference).
func viaHost(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

func (l *Layer) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Close stops the listeners, closes every connection and waits until all
// read loops have returned; handlers running then finish first, so a
// Handler must not call Close. Listen and the Send methods fail with
// ErrClosed afterwards. Close is idempotent.
func (l *Layer) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.wg.Wait()
		return nil
	}
	l.closed = true
	l.shut.Store(true)
	ls := l.state.Load()
	conns := make([]*conn, 0, len(l.conns))
	for _, c := range l.conns {
		if !c.dialing { // a dial in progress sees closed when it ends
			conns = append(conns, c)
		}
	}
	l.mu.Unlock()

	l.cancel()
	var errs []error
	for _, u := range ls.udp {
		if err := u.pc.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range ls.streams {
		if err := s.ln.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range conns {
		c.close()
	}
	l.wg.Wait()
	return errors.Join(errs...)
}

// tlsConfig returns the config for dialing name ("" verifies the IP).
func (l *Layer) tlsClientConfig(name string, ip netip.Addr) *tls.Config {
	var cfg *tls.Config
	if l.cfg.TLSConfig != nil {
		cfg = l.cfg.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if name == "" {
		name = ip.String()
	}
	cfg.ServerName = name
	return cfg
}
