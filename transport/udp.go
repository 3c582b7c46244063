package transport

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// udpSocket is one UDP listener. Its read loop is the only reader; writes
// come from any goroutine (UDP sends are atomic).
type udpSocket struct {
	l    *Layer
	pc   *net.UDPConn
	rc   syscall.RawConn // pc's, for rawSend; nil where it is not used
	addr netip.AddrPort  // bound address
	host string          // Via sent-by host, "" when addr is unspecified

	// out queues what is sent while the read loop handles a batch;
	// nil where sendmmsg(2) is not used.
	out *sendQueue

	// stats are the read loop's counts, stored when it returns.
	stats atomic.Pointer[batchStats]

	// routes caches, for a socket on an unspecified address, the
	// sent-by host for a destination IP (see sentBy).
	routes routeCache
}

func (l *Layer) listenUDP(ap netip.AddrPort) (netip.AddrPort, error) {
	pc, err := net.ListenUDP("udp"+family(ap.Addr()), net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return netip.AddrPort{}, err
	}
	l.setUDPBuffers(pc)
	bound := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	bound = netip.AddrPortFrom(bound.Addr().Unmap(), bound.Port())
	u := &udpSocket{l: l, pc: pc, addr: bound}
	if rc, err := pc.SyscallConn(); err == nil {
		u.rc = rc
		u.out = newSendQueue()
	}
	if !bound.Addr().IsUnspecified() {
		u.host = viaHost(bound.Addr())
	}
	if err := l.addListener(u, nil); err != nil {
		pc.Close()
		return netip.AddrPort{}, err
	}
	l.log.Info("listening", "transport", UDP, "addr", bound)
	go u.readLoop()
	return bound, nil
}

// readLoop reads datagrams until the socket is closed, several with one
// system call where it can (udpBatch). The buffers are reused for every
// batch: the parser copies what it keeps. Datagrams are handled one after
// the other, in the order they came.
func (u *udpSocket) readLoop() {
	l := u.l
	defer l.wg.Done()
	// What the handlers send while the loop has datagrams to read is
	// queued (sendQueue) and sent when the socket has no more: when
	// datagrams come in bursts, as under load, one sendmmsg carries the
	// sends of several reads.
	b, err := newUDPBatch(l, u.pc, u.endBatch)
	if err != nil {
		l.log.Error("udp read loop", "addr", u.addr, "err", err)
		return
	}
	defer b.release()
	defer func() { u.stats.Store(&b.stats) }()
	defer u.endBatch()
	src := Source{Transport: UDP, Local: u.addr, via: u}
	for {
		k, err := b.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient (an ICMP error reported on the socket, a
			// signal); the socket still works.
			l.log.Debug("udp read", "addr", u.addr, "err", err)
			continue
		}
		u.beginBatch()
		for i := range k {
			data, remote, err := b.datagram(i)
			if err != nil {
				l.log.Debug("drop: "+err.Error(), "addr", u.addr)
				continue
			}
			if onlyCRLF(data) {
				// A CRLF keep-alive (RFC 5626 §3.5.1 is for streams, but
				// some clients send it over UDP too): nothing to answer.
				continue
			}
			if len(data) > l.cfg.MaxMessageSize {
				l.log.Debug("drop: datagram too large", "remote", remote, "size", len(data))
				continue
			}
			src.Remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
			l.receive(data, src, false)
		}
	}
}

func onlyCRLF(b []byte) bool {
	for _, c := range b {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// writeTo sends b to dst: queued, when the read loop is handling a batch
// (see sendQueue), else at once. request says whether b is a request.
func (u *udpSocket) writeTo(b []byte, dst netip.AddrPort, request bool) error {
	if len(b) > maxUDPPayload {
		return ErrTooLarge
	}
	if u.queue(b, dst, request) {
		return nil
	}
	if done, err := u.rawSend(b, dst); done {
		return err
	}
	_, err := u.pc.WriteToUDPAddrPort(b, dst)
	return err
}

// udpSocketFor picks the UDP socket to send to dst from: one of the same
// address family, preferring one whose address is as loopback as dst, or
// unspecified, so that a loopback-bound socket is not asked to reach the
// outside world.
func (ls *listeners) udpSocketFor(dst netip.Addr) *udpSocket {
	var first *udpSocket
	for _, u := range ls.udp {
		a := u.addr.Addr()
		if a.Is4() != dst.Is4() {
			continue
		}
		if a.IsUnspecified() || a.IsLoopback() == dst.IsLoopback() {
			return u
		}
		if first == nil {
			first = u
		}
	}
	return first
}

// sentBy returns the Via sent-by host for a request from u to dst: u's
// address, or for a socket on an unspecified address the local address
// the kernel routes dst from (found with a connected UDP socket, which
// sends nothing). The latter costs a socket and four system calls, so it
// is cached per destination IP for routeTTL.
func (u *udpSocket) sentBy(dst netip.AddrPort) (string, error) {
	if u.host != "" {
		return u.host, nil
	}
	now := time.Now()
	if h, ok := u.routes.get(dst.Addr(), now); ok {
		return h, nil
	}
	c, err := net.DialUDP("udp"+family(dst.Addr()), nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return "", err
	}
	a := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	c.Close()
	h := viaHost(a)
	u.routes.put(dst.Addr(), h, now)
	return h, nil
}

// routeTTL is how long a cached source address is used: an address or
// route that changes is picked up within it.
const (
	routeTTL       = 10 * time.Second
	routeCacheSize = 4096 // entries; a full cache starts over
)

// routeCache maps destination IPs to the sent-by host of the local address
// the kernel sends to them from.
type routeCache struct {
	mu sync.Mutex
	m  map[netip.Addr]route
}

type route struct {
	host string
	at   time.Time
}

func (c *routeCache) get(dst netip.Addr, now time.Time) (string, bool) {
	c.mu.Lock()
	r, ok := c.m[dst]
	c.mu.Unlock()
	if !ok || now.Sub(r.at) >= routeTTL {
		return "", false
	}
	return r.host, true
}

func (c *routeCache) put(dst netip.Addr, host string, now time.Time) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= routeCacheSize {
		c.m = make(map[netip.Addr]route)
	}
	c.m[dst] = route{host, now}
	c.mu.Unlock()
}

// setUDPBuffers asks for the configured socket buffers. A burst of
// datagrams larger than the receive buffer is dropped by the kernel before
// the read loop sees it, long before the server runs out of CPU; Linux's
// default (net.core.rmem_default, 208 KiB) is far too small for a busy
// server. Linux caps what is asked for at net.core.rmem_max/wmem_max;
// then, with CAP_NET_ADMIN, the *BUFFORCE options set it anyway
// (forceUDPBuffers). What the kernel granted is logged when it is less.
func (l *Layer) setUDPBuffers(pc *net.UDPConn) {
	if err := pc.SetReadBuffer(l.cfg.UDPReadBuffer); err != nil {
		l.log.Warn("cannot set UDP read buffer", "size", l.cfg.UDPReadBuffer, "err", err)
	}
	if err := pc.SetWriteBuffer(l.cfg.UDPWriteBuffer); err != nil {
		l.log.Warn("cannot set UDP write buffer", "size", l.cfg.UDPWriteBuffer, "err", err)
	}
	forceUDPBuffers(pc, l.cfg.UDPReadBuffer, l.cfg.UDPWriteBuffer)
	if r, w, err := udpBuffers(pc); err == nil && (r < l.cfg.UDPReadBuffer || w < l.cfg.UDPWriteBuffer) {
		l.log.Warn("UDP socket buffers smaller than configured (raise net.core.rmem_max and wmem_max)",
			"read", r, "read_wanted", l.cfg.UDPReadBuffer, "write", w, "write_wanted", l.cfg.UDPWriteBuffer)
	}
}
