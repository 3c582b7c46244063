package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipd/sipd/sip"
)

// streamListener is a TCP, TLS, WS or WSS listener.
type streamListener struct {
	transport string
	ln        *net.TCPListener
	addr      netip.AddrPort // bound address
	host      string         // Via sent-by host, "" when addr is unspecified
}

// connKey indexes the connection table as RFC 3261 §18 says: transport,
// far-end address and port. For dialed TLS and WSS connections the name
// verified is part of the key, so that a connection is reused only for
// the identity it was authenticated as (RFC 5923 §8.1).
type connKey struct {
	transport string
	remote    netip.AddrPort
	name      string
}

// conn is a TCP, TLS, WS or WSS connection, accepted or dialed; both
// kinds are in the connection table and serve requests and responses
// alike.
type conn struct {
	l         *Layer
	key       connKey
	transport string
	accepted  bool

	// Set before ready is closed (dialed) or before the conn is shared
	// (accepted), then read-only.
	nc            net.Conn
	tc            *tls.Conn // nc as a TLS connection, or nil
	local, remote netip.AddrPort
	ready         chan struct{} // closed when the dial (or an accepted WebSocket's handshake) is over
	err           error         // the dial's error, after ready

	// WS, WSS: the reader of frames, holding what followed the opening
	// handshake. Set before ready is closed, then used by the read loop
	// only.
	ws *wsStream

	dialing   bool // guarded by l.mu: in the table, dial not over
	wmu       sync.Mutex
	closed    atomic.Bool
	lastWrite atomic.Int64 // unix nanoseconds of the last write
}

func (l *Layer) listenStream(transport string, ap netip.AddrPort) (netip.AddrPort, error) {
	ln, err := net.ListenTCP("tcp"+family(ap.Addr()), net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return netip.AddrPort{}, err
	}
	bound := ln.Addr().(*net.TCPAddr).AddrPort()
	bound = netip.AddrPortFrom(bound.Addr().Unmap(), bound.Port())
	s := &streamListener{transport: transport, ln: ln, addr: bound}
	if !bound.Addr().IsUnspecified() {
		s.host = viaHost(bound.Addr())
	}
	if err := l.addListener(nil, s); err != nil {
		ln.Close()
		return netip.AddrPort{}, err
	}
	l.log.Info("listening", "transport", transport, "addr", bound)
	go l.acceptLoop(s)
	return bound, nil
}

// streamListenerFor picks the listener whose port goes into the Via
// sent-by of a request sent over transport to dst (RFC 3261 §18.1.1).
func (ls *listeners) streamListenerFor(transport string, dst netip.Addr) *streamListener {
	var first *streamListener
	for _, s := range ls.streams {
		a := s.addr.Addr()
		if s.transport != transport || a.Is4() != dst.Is4() {
			continue
		}
		if a.IsUnspecified() || a.IsLoopback() == dst.IsLoopback() {
			return s
		}
		if first == nil {
			first = s
		}
	}
	return first
}

func (l *Layer) acceptLoop(s *streamListener) {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		nc, err := s.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little, as
			// net/http does, instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("accept", "addr", s.addr, "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		l.accept(s, nc)
	}
}

// accept registers an accepted connection and starts its read loop, or
// closes it at once when a limit is reached.
func (l *Layer) accept(s *streamListener, tcp *net.TCPConn) {
	remote := tcp.RemoteAddr().(*net.TCPAddr).AddrPort()
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	local := tcp.LocalAddr().(*net.TCPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	c := &conn{
		l:         l,
		key:       connKey{transport: s.transport, remote: remote},
		transport: s.transport,
		accepted:  true,
		nc:        tcp,
		local:     local,
		remote:    remote,
	}
	if isTLS(s.transport) {
		c.tc = tls.Server(tcp, l.cfg.TLSConfig)
		c.nc = c.tc
	}
	c.lastWrite.Store(time.Now().UnixNano())
	c.ready = make(chan struct{})
	if !isWS(s.transport) {
		close(c.ready) // a WebSocket is ready after its handshake, in readLoop
	}

	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		tcp.Close()
		return
	case l.nconns >= l.cfg.MaxConns:
		l.mu.Unlock()
		tcp.Close()
		// Debug, not Warn: a flood of connections must not become a
		// flood of log lines.
		l.log.Debug("refused connection: too many connections", "remote", remote, "max", l.cfg.MaxConns)
		return
	case l.perIP[remote.Addr()] >= l.cfg.MaxConnsPerIP:
		l.mu.Unlock()
		tcp.Close()
		l.log.Debug("refused connection: too many from one IP", "remote", remote, "max", l.cfg.MaxConnsPerIP)
		return
	}
	// An accepted connection's remote port is ephemeral, so its key
	// rarely collides; if it does, the newer connection takes the slot
	// and the older one lives on until it closes.
	l.conns[c.key] = c
	l.nconns++
	l.perIP[remote.Addr()]++
	l.wg.Add(1)
	l.mu.Unlock()
	go c.readLoop()
}

// getConn returns an open connection to dst over transport from the table
// (RFC 3261 §18.1.1: a request to a destination with an open connection
// should use it), or dials one and starts its read loop, so that responses
// come back on it. Concurrent callers for one destination share one dial.
// fresh reports that this call dialed the connection.
func (l *Layer) getConn(transport string, dst netip.AddrPort, name string) (c *conn, fresh bool, err error) {
	key := connKey{transport: transport, remote: dst}
	if isTLS(transport) {
		key.name = name
	}
	for range 3 { // a connection found closing is retried
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, false, ErrClosed
		}
		if c := l.conns[key]; c != nil {
			l.mu.Unlock()
			<-c.ready
			if c.err != nil {
				return nil, false, c.err
			}
			if !c.closed.Load() {
				return c, false, nil
			}
			continue
		}
		if l.nconns >= l.cfg.MaxConns {
			l.mu.Unlock()
			return nil, false, ErrTooManyConns
		}
		c := &conn{l: l, key: key, transport: transport, ready: make(chan struct{}), dialing: true}
		l.conns[key] = c
		l.nconns++
		l.mu.Unlock()
		if err := l.dial(c, name); err != nil {
			return nil, false, err
		}
		return c, true, nil
	}
	return nil, false, net.ErrClosed
}

// dial connects c, a placeholder already in the table, and starts its
// read loop; on failure it removes c and hands the error to every waiter.
func (l *Layer) dial(c *conn, name string) error {
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.WriteTimeout)
	defer cancel()
	dst := c.key.remote
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp"+family(dst.Addr()), dst.String())
	if err == nil && isTLS(c.transport) {
		tc := tls.Client(nc, l.tlsClientConfig(name, dst.Addr()))
		if err = tc.HandshakeContext(ctx); err != nil {
			nc.Close()
		} else {
			c.tc, nc = tc, tc
		}
	}
	var ws *wsStream
	if err == nil && isWS(c.transport) {
		if ws, err = l.dialWS(ctx, nc, name, dst); err != nil {
			nc.Close()
		}
	}
	l.mu.Lock()
	c.dialing = false
	if err == nil && l.closed {
		nc.Close()
		err = ErrClosed
	}
	if err != nil {
		c.err = err
		c.closed.Store(true)
		if l.conns[c.key] == c {
			delete(l.conns, c.key)
		}
		l.nconns--
		l.mu.Unlock()
		close(c.ready)
		l.log.Debug("dial failed", "transport", c.transport, "remote", dst, "err", err)
		return err
	}
	c.nc = nc
	c.ws = ws
	c.remote = dst
	local := nc.LocalAddr().(*net.TCPAddr).AddrPort()
	c.local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	c.lastWrite.Store(time.Now().UnixNano())
	l.wg.Add(1)
	l.mu.Unlock()
	close(c.ready)
	l.log.Debug("connected", "transport", c.transport, "remote", dst, "local", c.local)
	go c.readLoop()
	return nil
}

// close closes the connection and takes it out of the table, once.
func (c *conn) close() {
	if c.closed.Swap(true) {
		return
	}
	c.nc.Close()
	l := c.l
	l.mu.Lock()
	if l.conns[c.key] == c {
		delete(l.conns, c.key)
	}
	l.nconns--
	if c.accepted {
		ip := c.remote.Addr()
		if l.perIP[ip] <= 1 {
			delete(l.perIP, ip)
		} else {
			l.perIP[ip]--
		}
	}
	l.mu.Unlock()
}

// write sends the message b whole, within WriteTimeout: on TCP and TLS as
// it is, on WS and WSS as one WebSocket message (RFC 7118 §5). A failed
// write closes the connection, as its stream state is then unknown.
func (c *conn) write(b []byte) error {
	if isWS(c.transport) {
		return c.writeWS(messageOpcode(b), b)
	}
	return c.writeRaw(b)
}

// writeRaw writes b to the connection as it is.
func (c *conn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	now := time.Now()
	if err := c.nc.SetWriteDeadline(now.Add(c.l.cfg.WriteTimeout)); err != nil {
		c.close()
		return err
	}
	if _, err := c.nc.Write(b); err != nil {
		c.close()
		return err
	}
	c.lastWrite.Store(now.UnixNano())
	return nil
}

// pong answers a keep-alive ping (RFC 5626 §4.4.1).
const pong = "\r\n"

// readLoop frames and delivers messages until the connection fails, is
// closed, idles for IdleTimeout or takes longer than ReadTimeout to send a
// message it has started. An accepted connection first goes through its
// TLS and WebSocket handshakes.
func (c *conn) readLoop() {
	l := c.l
	defer l.wg.Done()
	defer c.close()
	if c.accepted {
		err := c.serverHandshakes()
		if isWS(c.transport) {
			// accept left ready open for the handshake.
			if err != nil {
				c.close()
				c.err = err
			}
			close(c.ready)
		}
		if err != nil {
			return
		}
	}
	if isWS(c.transport) {
		c.readWS()
		return
	}
	c.readStream()
}

// serverHandshakes runs the TLS handshake of an accepted TLS or WSS
// connection, then the opening handshake of a WS or WSS one.
func (c *conn) serverHandshakes() error {
	l := c.l
	if c.tc != nil {
		ctx, cancel := context.WithTimeout(l.ctx, l.cfg.ReadTimeout)
		err := c.tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			l.log.Debug("tls handshake failed", "remote", c.remote, "err", err)
			return err
		}
	}
	if isWS(c.transport) {
		if err := c.acceptWS(); err != nil {
			if !errors.Is(err, errWSRefused) { // a refusal is logged with its reason
				l.log.Debug("websocket handshake failed", "transport", c.transport, "remote", c.remote, "err", err)
			}
			return err
		}
	}
	return nil
}

// readStream is the read loop of a TCP or TLS connection: messages framed
// by Content-Length (RFC 3261 §18.3) and RFC 5626 CRLF keep-alives.
func (c *conn) readStream() {
	l := c.l
	bp := l.bufs.getSmall()
	defer l.bufs.putSmall(bp)
	buf := bp[:]
	f := sip.Framer{MaxMessageSize: l.cfg.MaxMessageSize}
	src := Source{Transport: c.transport, Remote: c.remote, Local: c.local, via: c}
	var (
		started     time.Time // first byte of the message in progress, or zero
		lastRead    = time.Now()
		pendingCRLF bool // the Framer holds only CRs and LFs
	)
	for {
		var deadline time.Time
		if !started.IsZero() {
			deadline = started.Add(l.cfg.ReadTimeout)
		} else {
			deadline = c.idleDeadline(lastRead)
		}
		if err := c.nc.SetReadDeadline(deadline); err != nil {
			return
		}
		n, err := c.nc.Read(buf)
		if n > 0 {
			now := time.Now()
			lastRead = now
			f.Write(buf[:n])
			delivered := false
			for {
				msg, ping, ferr := f.Next()
				if ferr != nil {
					c.framingError(ferr, buf[:n], f.Buffered(), src)
					return
				}
				if ping {
					// RFC 5626 §4.4.1: a double-CRLF ping gets a
					// single CRLF pong.
					if c.write([]byte(pong)) != nil {
						return
					}
					continue
				}
				if msg == nil {
					break
				}
				delivered = true
				l.receive(msg, src, true)
			}
			// Is a message under way? The Framer keeps at most a few
			// CRLFs of a possible ping between messages; those do not
			// start ReadTimeout.
			switch b := f.Buffered(); {
			case b == 0:
				pendingCRLF = true
			case b <= n:
				pendingCRLF = onlyCRLF(buf[n-b : n])
			default:
				pendingCRLF = pendingCRLF && onlyCRLF(buf[:n])
			}
			if delivered || pendingCRLF {
				started = time.Time{}
			}
			if !pendingCRLF && started.IsZero() {
				started = now
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && started.IsZero() &&
				time.Now().Before(c.idleDeadline(lastRead)) {
				continue // writes kept the connection busy
			}
			if !errors.Is(err, net.ErrClosed) {
				l.log.Debug("connection closed", "transport", c.transport, "remote", c.remote, "err", err)
			}
			return
		}
	}
}

// idleDeadline is IdleTimeout after the last traffic in either direction.
func (c *conn) idleDeadline(lastRead time.Time) time.Time {
	last := lastRead
	if w := time.Unix(0, c.lastWrite.Load()); w.After(last) {
		last = w
	}
	return last.Add(c.l.cfg.IdleTimeout)
}

// framingError answers a request the Framer could not frame with 400 when
// enough of it is at hand (the whole message arrived in the last read):
// a message without Content-Length parses as a datagram would. Then the
// connection is closed, as the stream cannot be framed any more
// (RFC 3261 §18.3).
func (c *conn) framingError(err error, last []byte, buffered int, src Source) {
	l := c.l
	l.log.Debug("framing error", "transport", c.transport, "remote", c.remote, "err", err)
	if buffered == 0 || buffered > len(last) {
		return
	}
	m, perr := l.parser.Parse(last[len(last)-buffered:])
	if perr != nil {
		return
	}
	if req, ok := m.(*sip.Request); ok {
		l.reject(req, err, src)
	}
}

// openConn returns the open connection under key if it is ready, else
// nil; it neither dials nor waits.
func (l *Layer) openConn(key connKey) *conn {
	l.mu.Lock()
	c := l.conns[key]
	l.mu.Unlock()
	if c == nil || c.closed.Load() {
		return nil
	}
	select {
	case <-c.ready:
		if c.err != nil {
			return nil
		}
		return c
	default:
		return nil
	}
}
