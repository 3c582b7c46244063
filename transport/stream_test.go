package transport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// dialRaw opens a plain TCP connection to addr, closed when the test ends.
func dialRaw(t *testing.T, addr netip.AddrPort) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// readAll reads until the peer closes (a reset counts: closing with
// unread data sends one), failing after waitFor.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection not closed by the peer: %v (read %q)", err, b)
	}
	return string(b)
}

// ping sends a CRLFCRLF ping and checks the CRLF pong (RFC 5626 §4.4.1).
func ping(c net.Conn) error {
	if _, err := io.WriteString(c, "\r\n\r\n"); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(waitFor))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "\r\n" {
		return fmt.Errorf("pong %q", buf)
	}
	return nil
}

func streamRequest(callID string, body string) string {
	via := "SIP/2.0/TCP client.invalid;rport;branch=z9hG4bK" + callID
	raw := rawRequest(sip.MethodMessage, callID, via, "Content-Type: text/plain\r\n")
	return strings.Replace(raw, "Content-Length: 0\r\n\r\n", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body), 1)
}

// TestTCPFraming: messages that share a segment or span several come out
// whole and in order, with pings between them answered.
func TestTCPFraming(t *testing.T) {
	rec := newRecorder()
	b := newLayer(t, Config{}, rec)
	bAddr := listen(t, b, "tcp", "127.0.0.1:0")
	c := dialRaw(t, bAddr)
	m1, m2 := streamRequest("one", "first body"), streamRequest("two", "")
	m3 := streamRequest("three", strings.Repeat("x", 300))
	write(t, c, m1+m2)
	if err := ping(c); err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(c)
	for _, piece := range []string{m3[:10], m3[10:200], m3[200:]} {
		bw.WriteString(piece)
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []struct{ callID, body string }{{"one", "first body"}, {"two", ""}, {"three", strings.Repeat("x", 300)}} {
		req, in := rec.nextRequest(t)
		if req.CallID() != want.callID || string(req.Body) != want.body {
			t.Errorf("got %q with body %q, want %q with %q", req.CallID(), req.Body, want.callID, want.body)
		}
		local := c.LocalAddr().(*net.TCPAddr).AddrPort()
		if in.Transport != TCP || in.Remote != local {
			t.Errorf("source %s %v, want TCP %v", in.Transport, in.Remote, local)
		}
		if v := topVia(t, req); param(v, "rport") != fmt.Sprint(local.Port()) || v.Received() != "127.0.0.1" {
			t.Errorf("Via not stamped: %s", v)
		}
	}
	if n := len(rec.ch); n != 0 {
		t.Errorf("%d more messages", n)
	}
}

// TestTCPBadFraming: a message the stream cannot frame is answered with a
// 400 when possible, then the connection is closed (RFC 3261 §18.3).
func TestTCPBadFraming(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{
		{"no Content-Length", strings.Replace(streamRequest("nocl", ""), "Content-Length: 0\r\n", "", 1), "SIP/2.0 400 Bad Content-Length"},
		{"Content-Length too large", strings.Replace(streamRequest("big", ""), "Content-Length: 0", "Content-Length: 99999999", 1), ""},
		{"header section too large", "OPTIONS sip:x SIP/2.0\r\nX: " + strings.Repeat("y", 70000), ""},
		{"no Content-Length in an ACK", strings.Replace(rawRequest(sip.MethodAck, "ack", "SIP/2.0/TCP h;branch=z9hG4bKa", ""), "Content-Length: 0\r\n", "", 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			b := newLayer(t, Config{}, rec)
			c := dialRaw(t, listen(t, b, "tcp", "127.0.0.1:0"))
			write(t, c, tt.msg)
			got := readAll(t, c)
			if !strings.HasPrefix(got, tt.want) || (tt.want == "" && got != "") {
				t.Errorf("got %q, want %q", statusLine(got), tt.want)
			}
			if len(rec.ch) != 0 {
				t.Error("the handler got a message")
			}
		})
	}
}

// TestConnLimits: the connection over a limit is closed at accept; those
// within it keep working.
func TestConnLimits(t *testing.T) {
	for _, cfg := range []Config{{MaxConnsPerIP: 2}, {MaxConns: 2}} {
		t.Run(fmt.Sprintf("MaxConns=%d,MaxConnsPerIP=%d", cfg.MaxConns, cfg.MaxConnsPerIP), func(t *testing.T) {
			b := newLayer(t, cfg, nil)
			bAddr := listen(t, b, "tcp", "127.0.0.1:0")
			c1, c2, c3 := dialRaw(t, bAddr), dialRaw(t, bAddr), dialRaw(t, bAddr)
			// Accepted in order: the third is over the limit.
			if got := readAll(t, c3); got != "" {
				t.Errorf("refused connection got %q", got)
			}
			for i, c := range []net.Conn{c1, c2} {
				if err := ping(c); err != nil {
					t.Errorf("connection %d: %v", i+1, err)
				}
			}
			if n := b.connCount(); n != 2 {
				t.Errorf("%d connections, want 2", n)
			}
			// A closed connection frees its slot.
			c1.Close()
			var c4 net.Conn
			for deadline := time.Now().Add(waitFor); c4 == nil && time.Now().Before(deadline); {
				c4 = dialRaw(t, bAddr)
				if ping(c4) != nil {
					c4 = nil // B had not seen c1 go yet
				}
			}
			if c4 == nil {
				t.Error("no slot after a connection closed")
			}
		})
	}
}

// TestStreamTimeouts: an idle connection is closed after IdleTimeout, a
// message left unfinished after ReadTimeout, and keep-alives or single
// CRLFs do not count as unfinished messages.
func TestStreamTimeouts(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		send string
	}{
		{"idle", Config{IdleTimeout: 100 * time.Millisecond}, ""},
		{"idle after a CRLF", Config{IdleTimeout: 100 * time.Millisecond, ReadTimeout: time.Minute}, "\r\n"},
		{"idle after a ping", Config{IdleTimeout: 100 * time.Millisecond, ReadTimeout: time.Minute}, "\r\n\r\n"},
		{"unfinished message", Config{IdleTimeout: time.Minute, ReadTimeout: 100 * time.Millisecond}, "OPTIONS sip:x SIP/2.0\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLayer(t, tt.cfg, nil)
			addr := listen(t, b, "tcp", "127.0.0.1:0")
			start := time.Now() // before B can start its clock
			c := dialRaw(t, addr)
			write(t, c, tt.send)
			got := readAll(t, c)
			if got != "" && got != "\r\n" {
				t.Errorf("got %q before the close", got)
			}
			if d := time.Since(start); d < 100*time.Millisecond {
				t.Errorf("closed after %v, before the timeout", d)
			}
		})
	}
}

// TestLargeRequest: RFC 3261 §18.1.1: a UDP request over MTU-200 bytes
// goes over TCP with the Via saying so, unless pinned; when TCP is refused
// it goes over UDP after all.
func TestLargeRequest(t *testing.T) {
	rec := newRecorder()
	b := newLayer(t, Config{}, rec)
	// B listens on UDP and TCP at the same port (RFC 3261 §18.2.1).
	var bAddr netip.AddrPort
	for range 10 {
		bAddr = listen(t, b, "udp", "127.0.0.1:0")
		if _, err := b.Listen("tcp", bAddr.String()); err == nil {
			break
		}
		bAddr = netip.AddrPort{}
	}
	if !bAddr.IsValid() {
		t.Fatal("no port free for both UDP and TCP")
	}
	udpOnly := newRecorder()
	b2 := newLayer(t, Config{}, udpOnly)
	b2Addr := listen(t, b2, "udp", "127.0.0.1:0")

	a := newLayer(t, Config{}, nil)
	aUDP := listen(t, a, "udp", "127.0.0.1:0")
	aTCP := listen(t, a, "tcp", "127.0.0.1:0")

	big := []byte(strings.Repeat("b", 1300))
	tests := []struct {
		name      string
		body      []byte
		dst       Target
		rec       *recorder
		transport string
		port      uint16
	}{
		{"small stays on UDP", []byte("hi"), Target{Transport: UDP, Addr: bAddr}, rec, UDP, aUDP.Port()},
		{"large moves to TCP", big, Target{Transport: UDP, Addr: bAddr}, rec, TCP, aTCP.Port()},
		{"large but pinned", big, Target{Transport: UDP, Addr: bAddr, Pinned: true}, rec, UDP, aUDP.Port()},
		{"large, TCP refused", big, Target{Transport: UDP, Addr: b2Addr}, udpOnly, UDP, aUDP.Port()},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, sip.MethodMessage, fmt.Sprint("large-", i), "SIP/2.0/UDP x.invalid;branch=z9hG4bKl"+fmt.Sprint(i), tt.body)
			if err := a.SendRequest(req, tt.dst); err != nil {
				t.Fatal(err)
			}
			if v := topVia(t, req); v.Transport != tt.transport {
				t.Errorf("sender's Via says %s, want %s", v.Transport, tt.transport)
			}
			got, in := tt.rec.nextRequest(t)
			v := topVia(t, got)
			if in.Transport != tt.transport || v.Transport != tt.transport || v.Port != int(tt.port) {
				t.Errorf("arrived over %s with Via %s, want %s from port %d", in.Transport, v, tt.transport, tt.port)
			}
			if string(got.Body) != string(tt.body) {
				t.Errorf("body of %d bytes, want %d", len(got.Body), len(tt.body))
			}
		})
	}
}

// TestStreamResponseReconnect: RFC 3261 §18.2.2: when the request's
// connection is gone, the response goes over a new connection to the
// received address and the sent-by port.
func TestStreamResponseReconnect(t *testing.T) {
	recA, recB := newRecorder(), newRecorder()
	a, b := newLayer(t, Config{}, recA), newLayer(t, Config{}, recB)
	aAddr := listen(t, a, "tcp", "127.0.0.1:0")
	bAddr := listen(t, b, "tcp", "127.0.0.1:0")
	if err := a.SendRequest(newRequest(t, sip.MethodOptions, "reconnect", "SIP/2.0/TCP x;branch=z9hG4bKr", nil), Target{Transport: TCP, Addr: bAddr}); err != nil {
		t.Fatal(err)
	}
	req, in := recB.nextRequest(t)
	in.via.(*conn).close()
	if err := b.SendResponse(sip.NewResponse(req, sip.StatusOK, ""), in.Source); err != nil {
		t.Fatal(err)
	}
	resp, rin := recA.nextResponse(t)
	if resp.CallID() != "reconnect" {
		t.Errorf("got %s", resp.CallID())
	}
	if rin.Local != aAddr {
		t.Errorf("response arrived at %v, want A's listener %v", rin.Local, aAddr)
	}
	if rin.via == in.via {
		t.Error("response came on the closed connection")
	}
}

// TestStreamSendAfterPeerClose: a request to a destination whose
// connection was closed by the peer opens a new one (RFC 5923 §8.1).
func TestStreamSendAfterPeerClose(t *testing.T) {
	recB := newRecorder()
	a, b := newLayer(t, Config{}, nil), newLayer(t, Config{}, recB)
	listen(t, a, "tcp", "127.0.0.1:0")
	bAddr := listen(t, b, "tcp", "127.0.0.1:0")
	send := func(callID string) {
		t.Helper()
		if err := a.SendRequest(newRequest(t, sip.MethodOptions, callID, "SIP/2.0/TCP x;branch=z9hG4bK"+callID, nil), Target{Transport: TCP, Addr: bAddr}); err != nil {
			t.Fatal(err)
		}
		if req, _ := recB.nextRequest(t); req.CallID() != callID {
			t.Fatalf("got %s, want %s", req.CallID(), callID)
		}
	}
	send("first")
	first := a.onlyConn(t)
	b.onlyConn(t).close()
	// A's read loop sees the close and drops the connection from the table.
	deadline := time.Now().Add(waitFor)
	for !first.closed.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // a bounded poll: nothing signals it
	}
	send("second")
	if a.onlyConn(t) == first {
		t.Error("the closed connection was reused")
	}
}
