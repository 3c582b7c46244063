package transport

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// TestRoundTrip: a Layer A sends a request to a Layer B, which sees it
// stamped with received and rport and answers it; A gets the answer. Over
// streams (WebSocket included) the answer comes back on the connection A
// opened, and neither side opens another.
func TestRoundTrip(t *testing.T) {
	tlsCfg := tlsConfig(t)
	tests := []struct {
		name, network, ip string
	}{
		{"udp", "udp", "127.0.0.1"},
		{"tcp", "tcp", "127.0.0.1"},
		{"tls", "tls", "127.0.0.1"},
		{"ws", "ws", "127.0.0.1"},
		{"wss", "wss", "127.0.0.1"},
		{"udp ipv6", "udp", "::1"},
		{"tcp ipv6", "tcp", "::1"},
		{"tls ipv6", "tls", "::1"},
		{"ws ipv6", "ws", "::1"},
		{"wss ipv6", "wss", "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ip == "::1" {
				requireIPv6(t)
			}
			transport := transportName(tt.network)
			callID := "rt-" + tt.network + "-" + tt.ip
			cfg := Config{TLSConfig: tlsCfg}
			recA, recB := newRecorder(), newRecorder()
			a, b := newLayer(t, cfg, recA), newLayer(t, cfg, recB)
			aAddr := listen(t, a, tt.network, loopback(tt.ip))
			bAddr := listen(t, b, tt.network, loopback(tt.ip))

			// A Via with a wrong host and rport: the transport fills in
			// sent-by, B stamps received and rport.
			req := newRequest(t, sip.MethodOptions, callID, "SIP/2.0/UDP wrong.invalid:1;branch=z9hG4bK-rt;rport", nil)
			if err := a.SendRequest(req, Target{Transport: transport, Addr: bAddr}); err != nil {
				t.Fatal(err)
			}
			got, in := recB.nextRequest(t)
			if in.Transport != transport || in.Local != bAddr {
				t.Errorf("source %s local %v, want %s %v", in.Transport, in.Local, transport, bAddr)
			}
			v := topVia(t, got)
			if v.Transport != transport || v.Host != viaHost(aAddr.Addr()) || v.Port != int(aAddr.Port()) {
				t.Errorf("Via %s, want %s sent-by %v", v, transport, aAddr)
			}
			if param(v, "branch") != "z9hG4bK-rt" {
				t.Errorf("Via %s lost its branch", v)
			}
			wantPort := aAddr.Port() // UDP: the socket A sent from
			if transport != UDP {
				// A stream: A's end of the connection it dialed.
				c := a.onlyConn(t)
				wantPort = c.local.Port()
				if in.Remote != c.local {
					t.Errorf("B sees remote %v, A's connection is from %v", in.Remote, c.local)
				}
			}
			if r := param(v, "received"); r != tt.ip {
				t.Errorf("received=%s, want %s", r, tt.ip)
			}
			if r := param(v, "rport"); r != strconv.Itoa(int(wantPort)) {
				t.Errorf("rport=%s, want %d", r, wantPort)
			}

			resp := sip.NewResponse(got, sip.StatusOK, "")
			if err := resp.SetToTag("b1"); err != nil {
				t.Fatal(err)
			}
			if err := b.SendResponse(resp, in.Source); err != nil {
				t.Fatal(err)
			}
			gotResp, rin := recA.nextResponse(t)
			if gotResp.StatusCode != sip.StatusOK || gotResp.CallID() != callID {
				t.Errorf("A got %d %s", gotResp.StatusCode, gotResp.CallID())
			}
			if rin.Remote != bAddr {
				t.Errorf("response from %v, want %v", rin.Remote, bAddr)
			}
			if transport != UDP {
				if c := a.onlyConn(t); rin.via != c {
					t.Error("the response did not come back on A's connection")
				}
				if n := b.connCount(); n != 1 {
					t.Errorf("B has %d connections, want the one A opened", n)
				}
			} else if a.connCount()+b.connCount() != 0 {
				t.Error("UDP opened stream connections")
			}
		})
	}
}

// TestStampVia: received and rport as RFC 3261 §18.2.1 and RFC 3581 §4 say,
// for requests from a plain UDP socket.
func TestStampVia(t *testing.T) {
	rec := newRecorder()
	b := newLayer(t, Config{}, rec)
	bAddr := listen(t, b, "udp", "127.0.0.1:0")
	c := newUDPClient(t, "127.0.0.1")
	p := strconv.Itoa(int(c.addr().Port()))
	tests := []struct {
		name, via      string
		received, rprt string
	}{
		{"host name", "SIP/2.0/UDP client.invalid:5060;branch=z9hG4bK1", "127.0.0.1", "<absent>"},
		{"other IP", "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK2", "127.0.0.1", "<absent>"},
		{"source IP", "SIP/2.0/UDP 127.0.0.1:" + p + ";branch=z9hG4bK3", "<absent>", "<absent>"},
		{"source IP, rport", "SIP/2.0/UDP 127.0.0.1:" + p + ";branch=z9hG4bK4;rport", "127.0.0.1", p},
		{"host name, rport", "SIP/2.0/UDP client.invalid;rport;branch=z9hG4bK5", "127.0.0.1", p},
		{"rport with a value", "SIP/2.0/UDP 127.0.0.1:" + p + ";branch=z9hG4bK6;rport=4000", "<absent>", "4000"},
		{"received replaced", "SIP/2.0/UDP client.invalid;received=192.0.2.1;branch=z9hG4bK7", "127.0.0.1", "<absent>"},
		{"only the top Via", "SIP/2.0/UDP client.invalid;branch=z9hG4bK8, SIP/2.0/UDP other.invalid;branch=z9hG4bK9", "127.0.0.1", "<absent>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(bAddr, rawRequest(sip.MethodOptions, "stamp", tt.via, ""))
			req, _ := rec.nextRequest(t)
			v := topVia(t, req)
			if r := param(v, "received"); r != tt.received {
				t.Errorf("received=%s, want %s (Via %s)", r, tt.received, v)
			}
			if r := param(v, "rport"); r != tt.rprt {
				t.Errorf("rport=%s, want %s (Via %s)", r, tt.rprt, v)
			}
			if v.Branch() == "" {
				t.Errorf("Via %s lost its branch", v)
			}
			if vs, _ := req.Vias(); len(vs) > 1 && vs[1].Received() != "" {
				t.Errorf("second Via stamped: %s", vs[1])
			}
		})
	}
}

// TestSendErrors: the sentinel errors of the send paths.
func TestSendErrors(t *testing.T) {
	b := newLayer(t, Config{}, nil)
	bUDP := listen(t, b, "udp", "127.0.0.1:0")
	bTCP := listen(t, b, "tcp", "127.0.0.1:0")
	b2 := newLayer(t, Config{}, nil)
	b2TCP := listen(t, b2, "tcp", "127.0.0.1:0")

	a := newLayer(t, Config{MaxConns: 1}, nil)
	listen(t, a, "udp", "127.0.0.1:0")
	listen(t, a, "tcp", "127.0.0.1:0")
	udpOnly := newLayer(t, Config{}, nil)
	listen(t, udpOnly, "udp", "127.0.0.1:0")

	// A TCP port that refuses: bound, then closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusing := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()

	via := "SIP/2.0/UDP x.invalid;branch=z9hG4bKerr"
	noVia := newRequest(t, sip.MethodOptions, "e", via, nil)
	noVia.Del("Via")
	tests := []struct {
		name string
		l    *Layer
		req  *sip.Request
		dst  Target
		want error
	}{
		{"no Via", a, noVia, Target{Transport: UDP, Addr: bUDP}, ErrNoVia},
		{"no UDP socket of the family", a, nil, Target{Transport: UDP, Addr: netip.MustParseAddrPort("[::1]:5060")}, ErrNoListener},
		{"no TCP listener", udpOnly, nil, Target{Transport: TCP, Addr: bTCP}, ErrNoListener},
		{"unsupported transport", a, nil, Target{Transport: "SCTP", Addr: bTCP}, ErrNoListener},
		{"no address", a, nil, Target{Transport: UDP}, ErrNoRoute},
		{"refused", a, nil, Target{Transport: TCP, Addr: refusing}, syscallRefused},
		{"first connection", a, nil, Target{Transport: TCP, Addr: bTCP}, nil},
		{"reused within the limit", a, nil, Target{Transport: TCP, Addr: bTCP}, nil},
		{"too many connections", a, nil, Target{Transport: TCP, Addr: b2TCP}, ErrTooManyConns},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req == nil {
				req = newRequest(t, sip.MethodOptions, "e", via, nil)
			}
			err := tt.l.SendRequest(req, tt.dst)
			if tt.want == syscallRefused {
				if !refused(err) {
					t.Fatalf("got %v, want connection refused", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	resp := sip.NewResponse(newRequest(t, sip.MethodOptions, "e", via, nil), 200, "")
	resp.Del("Via")
	if err := b.SendResponse(resp, Source{}); !errors.Is(err, ErrNoVia) {
		t.Errorf("SendResponse without Via: %v, want ErrNoVia", err)
	}
}

// syscallRefused marks a case that wants a refused connection.
var syscallRefused = errors.New("refused")

// TestClose: Close stops every goroutine the layer started, and the layer
// refuses work afterwards.
func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	recA, recB := newRecorder(), newRecorder()
	a, b := New(Config{}, recA), New(Config{}, recB)
	for _, l := range []*Layer{a, b} {
		listen(t, l, "udp", "127.0.0.1:0")
		listen(t, l, "tcp", "127.0.0.1:0")
		listen(t, l, "ws", "127.0.0.1:0")
	}
	bTCP := listen(t, b, "tcp", "127.0.0.1:0")
	bWS := listen(t, b, "ws", "127.0.0.1:0")
	// Connections with read loops at both ends, and one stuck in its
	// WebSocket handshake.
	if err := a.SendRequest(newRequest(t, sip.MethodOptions, "close", "SIP/2.0/TCP x;branch=z9hG4bKc", nil), Target{Transport: TCP, Addr: bTCP}); err != nil {
		t.Fatal(err)
	}
	recB.next(t)
	if err := a.SendRequest(newRequest(t, sip.MethodOptions, "close-ws", "SIP/2.0/WS x;branch=z9hG4bKw", nil), Target{Transport: WS, Addr: bWS}); err != nil {
		t.Fatal(err)
	}
	recB.next(t)
	stalled := dialRaw(t, bWS)
	write(t, stalled, "GET / HTTP/1.1\r\n")
	if a.connCount() != 2 {
		t.Fatalf("connections: A %d", a.connCount())
	}
	deadline := time.Now().Add(waitFor)
	for b.connCount() != 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // a bounded poll: accepting leaves no event
	}
	if b.connCount() != 3 {
		t.Fatalf("connections: A %d, B %d", a.connCount(), b.connCount())
	}
	for _, l := range []*Layer{a, b} {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	deadline = time.Now().Add(waitFor)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // a bounded poll: goroutines leave no event
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	if _, err := a.Listen("udp", "127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Errorf("Listen after Close: %v, want ErrClosed", err)
	}
	if err := a.SendRequest(newRequest(t, sip.MethodOptions, "c", "SIP/2.0/UDP x;branch=z9hG4bKd", nil), Target{Transport: TCP, Addr: bTCP}); !errors.Is(err, ErrClosed) {
		t.Errorf("SendRequest after Close: %v, want ErrClosed", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if a.connCount() != 0 || b.connCount() != 0 {
		t.Errorf("connections after Close: A %d, B %d", a.connCount(), b.connCount())
	}
}

// TestListen: networks and addresses Listen takes and refuses.
func TestListen(t *testing.T) {
	l := newLayer(t, Config{}, nil)
	for _, tt := range []struct {
		network, addr string
		ok            bool
	}{
		{"udp", "127.0.0.1:0", true},
		{"TCP", "127.0.0.1:0", true},
		{"tls", "127.0.0.1:0", false}, // no TLSConfig
		{"ws", "127.0.0.1:0", true},
		{"WSS", "127.0.0.1:0", false}, // no TLSConfig
		{"sctp", "127.0.0.1:0", false},
		{"udp", "localhost:5060", false},
		{"udp", "127.0.0.1", false},
	} {
		ap, err := l.Listen(tt.network, tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("Listen(%q, %q) = %v, %v", tt.network, tt.addr, ap, err)
		}
		if err == nil && (ap.Port() == 0 || ap.Addr() != netip.MustParseAddr("127.0.0.1")) {
			t.Errorf("Listen(%q, %q) bound %v", tt.network, tt.addr, ap)
		}
	}
}
