package transport

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// TestSentByUnspecified: a request from a socket on 0.0.0.0 names in its
// Via the address the kernel sends from, found once and then taken from
// the cache until routeTTL has passed.
func TestSentByUnspecified(t *testing.T) {
	a := newLayer(t, Config{}, nil)
	listen(t, a, "udp", "0.0.0.0:0")
	listen(t, a, "tcp", "0.0.0.0:0")
	c := newUDPClient(t, "127.0.0.1")
	u := a.state.Load().udp[0]
	for i := range 2 {
		req := newRequest(t, sip.MethodOptions, "route", "SIP/2.0/UDP x.invalid;branch=z9hG4bKroute", nil)
		if err := a.SendRequest(req, Target{Transport: UDP, Addr: c.addr()}); err != nil {
			t.Fatal(err)
		}
		msg, _ := c.recv()
		m, err := sip.Parse([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		if v := topVia(t, m); v.Host != "127.0.0.1" || v.Port != int(u.addr.Port()) {
			t.Errorf("request %d: Via sent-by %s, want 127.0.0.1:%d", i, v.SentBy(), u.addr.Port())
		}
		if h, ok := u.routes.get(c.addr().Addr(), time.Now()); !ok || h != "127.0.0.1" {
			t.Errorf("request %d: route cache has %q, %v; want 127.0.0.1", i, h, ok)
		}
	}
	// A stale entry is not used: sentBy asks the kernel again.
	u.routes.put(c.addr().Addr(), "192.0.2.1", time.Now().Add(-routeTTL))
	if h, err := u.sentBy(c.addr()); err != nil || h != "127.0.0.1" {
		t.Errorf("after the TTL: sent-by %q, %v; want 127.0.0.1", h, err)
	}
}

// TestRouteCacheBounded: a full cache starts over rather than grow.
func TestRouteCacheBounded(t *testing.T) {
	var c routeCache
	now := time.Now()
	for i := range routeCacheSize + 10 {
		c.put(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), "h", now)
	}
	if n := len(c.m); n > routeCacheSize {
		t.Errorf("%d entries, want at most %d", n, routeCacheSize)
	}
	last := routeCacheSize + 9
	if _, ok := c.get(netip.AddrFrom4([4]byte{10, 0, byte(last >> 8), byte(last)}), now); !ok {
		t.Error("the latest entry is missing")
	}
}

// BenchmarkUDPSendUnspecified: sending requests from a socket on 0.0.0.0,
// which needs the source address the kernel picks for the Via.
func BenchmarkUDPSendUnspecified(b *testing.B) {
	a := New(Config{}, nil)
	defer a.Close()
	if _, err := a.Listen("udp", "0.0.0.0:0"); err != nil {
		b.Fatal(err)
	}
	sink, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() { // drain, so that the sink's buffer never fills
		buf := make([]byte, 65535)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	dst := Target{Transport: UDP, Addr: sink.LocalAddr().(*net.UDPAddr).AddrPort()}
	req := newRequest(b, sip.MethodOptions, "bench@example.com", "SIP/2.0/UDP x.invalid;branch=z9hG4bKbench;rport", nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := a.SendRequest(req, dst); err != nil {
			b.Fatal(err)
		}
	}
}
