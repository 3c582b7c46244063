//go:build linux && (amd64 || arm64)

package transport

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// TestUDPBatchedSends: what the handlers send while the read loop handles
// a batch goes out with sendmmsg when the batch is done, in the order
// sent, to each one's destination.
func TestUDPBatchedSends(t *testing.T) {
	const n = 3 * udpBatchSize
	first := make(chan struct{})
	release := make(chan struct{})
	var l *Layer
	l = New(Config{}, HandlerFunc(func(in *Inbound) {
		req := in.Msg.(*sip.Request)
		if req.CallID() == "send-0" {
			close(first)
			<-release // hold the read loop while the rest queue up
		}
		resp := sip.NewResponse(req, 200, "OK")
		if err := l.SendResponse(resp, in.Source); err != nil {
			t.Errorf("%s: %v", req.CallID(), err)
		}
	}))
	defer l.Close()
	addr, err := l.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := newUDPClient(t, "127.0.0.1"), newUDPClient(t, "127.0.0.1")
	c1.send(addr, rawRequest(sip.MethodOptions, "send-0", "SIP/2.0/UDP client.invalid;rport;branch=z9hG4bKs0", ""))
	select {
	case <-first:
	case <-time.After(waitFor):
		t.Fatal("the first request did not arrive")
	}
	want := map[*udpClient][]string{c1: {"send-0"}}
	for i := 1; i <= n; i++ {
		c := c1
		if i%2 == 0 {
			c = c2
		}
		id := "send-" + strconv.Itoa(i)
		want[c] = append(want[c], id)
		c.send(addr, rawRequest(sip.MethodOptions, id, "SIP/2.0/UDP client.invalid;rport;branch=z9hG4bKs"+strconv.Itoa(i), ""))
	}
	close(release)
	for c, ids := range want {
		for _, id := range ids {
			msg, from := c.recv()
			if from != addr {
				t.Errorf("response from %v, want %v", from, addr)
			}
			if !strings.HasPrefix(msg, "SIP/2.0 200 OK\r\n") || !strings.Contains(msg, "Call-ID: "+id+"\r\n") {
				t.Fatalf("got %q, want the 200 to %s", msg, id)
			}
		}
	}
	q := l.state.Load().udp[0].out
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.sent < n || q.dropped != 0 {
		t.Fatalf("queue sent %d, dropped %d; want ≥ %d and 0", q.sent, q.dropped, n)
	}
	if q.flushes > q.sent/2 {
		t.Errorf("%d sendmmsg calls for %d datagrams: not batched", q.flushes, q.sent)
	}
}

// TestUDPSendQueueOrder: within a batch a response is queued; a request
// to a destination not yet sent to goes out at once, after what was
// queued before it, so that its error (no route) reaches the sender; once
// that destination took a datagram, requests to it are queued too.
func TestUDPSendQueueOrder(t *testing.T) {
	c, c2, c3 := newUDPClient(t, "127.0.0.1"), newUDPClient(t, "127.0.0.1"), newUDPClient(t, "127.0.0.1")
	type result struct {
		queued        []int // datagrams queued after each step
		errUnroutable error
		errs          []error
	}
	done := make(chan result, 1)
	var l *Layer
	l = New(Config{}, HandlerFunc(func(in *Inbound) {
		u := in.Source.via.(*udpSocket)
		var r result
		step := func(b string, dst netip.AddrPort, request bool) {
			r.errs = append(r.errs, u.writeTo([]byte(b), dst, request))
			u.out.mu.Lock()
			r.queued = append(r.queued, u.out.n)
			u.out.mu.Unlock()
		}
		// A loopback-bound socket cannot reach a documentation address:
		// the kernel refuses it, and the error comes back now.
		r.errUnroutable = u.writeTo([]byte("lost"), netip.MustParseAddrPort("192.0.2.1:5060"), true)
		step("c2-1", c2.addr(), false) // a response: queued
		step("c2-2", c2.addr(), true)  // a request to c2, not yet sent to: c2-1, then this, at once
		step("c2-3", c2.addr(), true)  // c2 took datagrams: queued
		step("c3-1", c3.addr(), true)  // c3 not yet sent to: c2-3, then this, at once
		step("c2-4", c2.addr(), false) // queued
		done <- r
	}))
	defer l.Close()
	addr, err := l.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.send(addr, rawRequest(sip.MethodOptions, "order", "SIP/2.0/UDP client.invalid;branch=z9hG4bKo", ""))
	var r result
	select {
	case r = <-done:
	case <-time.After(waitFor):
		t.Fatal("the request did not arrive")
	}
	if r.errUnroutable == nil {
		t.Error("a request to an unroutable address was queued: its error is lost")
	}
	for i, err := range r.errs {
		if err != nil {
			t.Errorf("send %d: %v", i, err)
		}
	}
	if want := []int{1, 0, 1, 0, 1}; !slices.Equal(r.queued, want) {
		t.Errorf("queued after each send %v, want %v", r.queued, want)
	}
	for _, want := range []string{"c2-1", "c2-2", "c2-3", "c2-4"} {
		if got, _ := c2.recv(); got != want {
			t.Fatalf("c2 got %q, want %q", got, want)
		}
	}
	if got, _ := c3.recv(); got != "c3-1" {
		t.Fatalf("c3 got %q", got)
	}
}
