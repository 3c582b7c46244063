package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/sipd/sipd/sip"
)

// TestUDPResponseRouting: RFC 3261 §18.2.2 and RFC 3581 §4 over UDP:
// maddr, then received with rport, then received with the sent-by port,
// then sent-by. Two client sockets stand for the addresses a Via names.
func TestUDPResponseRouting(t *testing.T) {
	b := newLayer(t, Config{}, nil)
	bAddr := listen(t, b, "udp", "127.0.0.1:0")
	c1, c2 := newUDPClient(t, "127.0.0.1"), newUDPClient(t, "127.0.0.1")
	p1, p2 := c1.addr().Port(), c2.addr().Port()
	tests := []struct {
		name string
		via  string
		to   *udpClient
	}{
		{"maddr first, sent-by port", fmt.Sprintf("SIP/2.0/UDP client.invalid:%d;maddr=127.0.0.1;received=127.0.0.1;rport=%d;branch=z9hG4bK1", p1, p2), c1},
		{"received and rport", fmt.Sprintf("SIP/2.0/UDP client.invalid:%d;received=127.0.0.1;rport=%d;branch=z9hG4bK2", p1, p2), c2},
		{"received, sent-by port", fmt.Sprintf("SIP/2.0/UDP client.invalid:%d;received=127.0.0.1;branch=z9hG4bK3", p2), c2},
		{"rport without received", fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;rport=%d;branch=z9hG4bK4", p1, p2), c1},
		{"sent-by", fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK5", p2), c2},
		{"received wins over sent-by", fmt.Sprintf("SIP/2.0/UDP 192.0.2.1:%d;received=127.0.0.1;branch=z9hG4bK6", p1), c1},
	}
	want := map[*udpClient][]string{}
	for i, tt := range tests {
		callID := fmt.Sprintf("route-%d", i)
		resp, err := sip.ParseResponse([]byte(rawResponse(callID, tt.via)))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.SendResponse(resp, Source{Transport: UDP}); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		want[tt.to] = append(want[tt.to], callID)
	}
	// A fence from the same socket, after the responses, to each client:
	// whatever a client gets before it was sent to that client.
	u := b.state.Load().udp[0]
	for _, c := range []*udpClient{c1, c2} {
		if err := u.writeTo([]byte("fence"), c.addr(), false); err != nil {
			t.Fatal(err)
		}
		var got []string
		for range len(tests) + 1 {
			msg, from := c.recv()
			if from != bAddr {
				t.Errorf("datagram from %v, want %v", from, bAddr)
			}
			if msg == "fence" {
				break
			}
			m, err := sip.Parse([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m.Headers().CallID())
		}
		if strings.Join(got, " ") != strings.Join(want[c], " ") {
			t.Errorf("client %v got %v, want %v", c.addr(), got, want[c])
		}
	}
}

// TestUDPResponseFromArrivalSocket: the response leaves from the socket the
// request arrived on (RFC 3581 §4), not the layer's first socket.
func TestUDPResponseFromArrivalSocket(t *testing.T) {
	b := newLayer(t, Config{}, HandlerFunc(func(in *Inbound) {
		req := in.Msg.(*sip.Request)
		resp := sip.NewResponse(req, sip.StatusOK, "")
		if err := in.layerOf().SendResponse(resp, in.Source); err != nil {
			t.Error(err)
		}
	}))
	listen(t, b, "udp", "127.0.0.1:0")
	second := listen(t, b, "udp", "127.0.0.1:0")
	c := newUDPClient(t, "127.0.0.1")
	c.send(second, rawRequest(sip.MethodOptions, "arrival", "SIP/2.0/UDP client.invalid;rport;branch=z9hG4bKa", ""))
	msg, from := c.recv()
	if from != second {
		t.Errorf("response from %v, want %v, where the request went", from, second)
	}
	if statusLine(msg) != "SIP/2.0 200 OK" {
		t.Errorf("got %q", statusLine(msg))
	}
}

// layerOf returns the layer that received in.
func (in *Inbound) layerOf() *Layer {
	switch v := in.via.(type) {
	case *udpSocket:
		return v.l
	case *conn:
		return v.l
	}
	return nil
}

// TestUDPJunk: keep-alives, garbage, bad requests and foreign responses
// never reach the handler; a bad request that can be answered gets a 400
// that says what is wrong; nothing crashes. Datagrams from one socket to
// one socket over loopback arrive in order, so "nothing happened" is seen
// as "the next thing that happened is the next message".
func TestUDPJunk(t *testing.T) {
	rec := newRecorder()
	var b *Layer
	b = newLayer(t, Config{}, HandlerFunc(func(in *Inbound) {
		rec.HandleInbound(in)
		if req, ok := in.Msg.(*sip.Request); ok {
			if err := b.SendResponse(sip.NewResponse(req, sip.StatusOK, ""), in.Source); err != nil {
				t.Error(err)
			}
		}
	}))
	bAddr := listen(t, b, "udp", "127.0.0.1:0")
	c := newUDPClient(t, "127.0.0.1")
	via := "SIP/2.0/UDP client.invalid;rport;branch=z9hG4bKj"
	valid := rawRequest(sip.MethodOptions, "valid", via, "")
	brokenCSeq := strings.Replace(rawRequest(sip.MethodOptions, "broken-cseq", via, ""), "CSeq: 1 OPTIONS", "CSeq: one OPTIONS", 1)
	brokenAck := strings.Replace(rawRequest(sip.MethodAck, "broken-ack", via, ""), "CSeq: 1 ACK", "CSeq: x ACK", 1)
	noCallID := strings.Replace(rawRequest(sip.MethodOptions, "no-call-id", via, ""), "Call-ID: no-call-id\r\n", "", 1)
	badVia := strings.Replace(rawRequest(sip.MethodOptions, "bad-via", via, ""), "Via: "+via, "Via: SIP/2.0/UDP ;;", 1)
	for _, junk := range []string{
		"\r\n\r\n",
		"\r\n",
		"garbage\x00\xff",
		"\x00\x01\x00\x00\x21\x12\xa4\x42stun-like",
		"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n", // no end of header
		"INVITE sip:x SIP/3.0\r\n\r\n",
		brokenAck,
		noCallID,
		badVia,
		rawResponse("foreign", "SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKf"),
		rawResponse("foreign-name", "SIP/2.0/UDP elsewhere.invalid;branch=z9hG4bKf"),
		strings.Replace(rawResponse("ours-but-broken", "SIP/2.0/UDP "+bAddr.String()+";branch=z9hG4bKo"), "CSeq: 1", "CSeq: x", 1),
		brokenCSeq,
		rawResponse("ours", "SIP/2.0/UDP "+bAddr.String()+";branch=z9hG4bKo"),
		valid,
	} {
		c.send(bAddr, junk)
	}

	// The client hears the 400 for the broken CSeq, then the 200 for the
	// valid request, and nothing else.
	msg, _ := c.recv()
	r, err := sip.ParseResponse([]byte(msg))
	if err != nil {
		t.Fatalf("%v:\n%s", err, msg)
	}
	if r.StatusCode != sip.StatusBadRequest || r.CallID() != "broken-cseq" || !strings.Contains(r.Reason, "CSeq") {
		t.Errorf("first answer: %s", statusLine(msg))
	}
	if r.ToTag() == "" {
		t.Error("the 400 has no To tag")
	}
	if v := topVia(t, r); v.Received() != "127.0.0.1" || param(v, "rport") != fmt.Sprint(c.addr().Port()) {
		t.Errorf("the 400's Via is not stamped: %s", v)
	}
	msg, _ = c.recv()
	if r, err := sip.ParseResponse([]byte(msg)); err != nil || r.StatusCode != sip.StatusOK || r.CallID() != "valid" {
		t.Errorf("second answer: %q (%v)", statusLine(msg), err)
	}

	// The handler saw our own response, then the valid request; the 200
	// was sent after both were queued.
	if resp, _ := rec.nextResponse(t); resp.CallID() != "ours" {
		t.Errorf("handler got response %q first", resp.CallID())
	}
	if req, _ := rec.nextRequest(t); req.CallID() != "valid" {
		t.Errorf("handler got request %q", req.CallID())
	}
	if n := len(rec.ch); n != 0 {
		t.Errorf("handler got %d more messages", n)
	}
}

// TestUDPWriteTo: a datagram written by a UDP socket (on Linux with a raw
// sendto, rawSend) arrives whole, from the socket's address, over IPv4 and
// IPv6, up to the largest UDP payload; once the socket is closed, a write
// fails with net.ErrClosed.
func TestUDPWriteTo(t *testing.T) {
	rawUsed := runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64")
	for _, ip := range []string{"127.0.0.1", "::1"} {
		t.Run(ip, func(t *testing.T) {
			if ip == "::1" {
				requireIPv6(t)
			}
			l := newLayer(t, Config{}, nil)
			addr := listen(t, l, "udp", loopback(ip))
			c := newUDPClient(t, ip)
			u := l.state.Load().udp[0]
			big := strings.Repeat("x", maxUDPPayload)
			for _, msg := range []string{"small", big} {
				if err := u.writeTo([]byte(msg), c.addr(), false); err != nil {
					t.Fatal(err)
				}
				got, from := c.recv()
				if got != msg || from != addr {
					t.Errorf("got %d bytes from %v, want %d from %v", len(got), from, len(msg), addr)
				}
			}
			if done, err := u.rawSend([]byte("raw"), c.addr()); done != rawUsed || err != nil {
				t.Errorf("rawSend: %v, %v; want %v, nil", done, err, rawUsed)
			}
			if ip == "127.0.0.1" {
				// A send the kernel refuses (to port 0: EINVAL)
				// fails as the net package's does.
				port0 := netip.MustParseAddrPort("127.0.0.1:0")
				err := u.writeTo([]byte("no"), port0, false)
				_, want := u.pc.WriteToUDPAddrPort([]byte("no"), port0)
				var got, wantErrno syscall.Errno
				if !errors.As(err, &got) || !errors.As(want, &wantErrno) || got != wantErrno {
					t.Errorf("to port 0: %v, want %v", err, want)
				}
				if oe := (*net.OpError)(nil); !errors.As(err, &oe) || oe.Op != "write" {
					t.Errorf("to port 0: %#v is not a write *net.OpError", err)
				}
			}
			l.Close()
			if err := u.writeTo([]byte("late"), c.addr(), false); !errors.Is(err, net.ErrClosed) {
				t.Errorf("write after Close: %v, want net.ErrClosed", err)
			}
		})
	}
}
