package proxy

import (
	"context"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// TestFNV64a: the allocation-free hash is hash/fnv's FNV-1a, written in
// hex as hex.EncodeToString writes the sum, so that branches keep their
// form.
func TestFNV64a(t *testing.T) {
	for _, in := range [][]string{{}, {""}, {"a"}, {"z9hG4bK-1", "INVITE", "sip:bob@example.com"}, {"\x00\xff", "Ünïcode"}} {
		want := fnv.New64a()
		got := newFNV64a()
		for _, s := range in {
			want.Write([]byte(s))
			want.Write([]byte{0})
			got.field(s)
		}
		x := got.hex()
		if w := hex.EncodeToString(want.Sum(nil)); x.String() != w {
			t.Errorf("%q: %s, want %s", in, x.String(), w)
		}
	}
	lo, up := newFNV64a(), newFNV64a()
	lo.field("host.example.com:5060")
	up.fieldLower([]byte("HOST.Example.COM:5060"))
	if lo != up {
		t.Error("fieldLower does not hash the lowercased bytes")
	}
}

func TestLoopHashAllocs(t *testing.T) {
	r := mustParse(t, "INVITE sip:bob@example.com SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-1\r\n"+
		"Route: <sip:192.0.2.1;lr>\r\nProxy-Require: foo\r\n"+
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n"+
		"Call-ID: c1\r\nCSeq: 7 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	h := loopHash(r)
	top, _ := r.TopVia()
	if n := testing.AllocsPerRun(100, func() {
		if loopHash(r) != h {
			t.Fatal("loopHash changed")
		}
		statelessLoopHash(r)
		statelessBranchHash(r, &top)
	}); n != 0 && !raceEnabled {
		t.Errorf("loop and branch hashes: %v allocations, want 0", n)
	}
	// The same fields give the same hash, another CSeq another.
	r2 := mustParse(t, r.String())
	if loopHash(r2) != h {
		t.Error("loopHash differs for the same request")
	}
	r2.Set("CSeq", "8 INVITE")
	if loopHash(r2) == h {
		t.Error("loopHash ignores the CSeq number")
	}
}

func mustParse(t *testing.T, s string) *sip.Request {
	t.Helper()
	r, err := sip.ParseRequest([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestViaValue: our Via names the outbound listener when it has an
// address, so that the transport needs not rewrite it, else 0.0.0.0; the
// branch is ours, carries the loop hash and differs every time.
func TestViaValue(t *testing.T) {
	p := &Proxy{prefix: newPrefix()}
	var h hashHex
	copy(h[:], "0123456789abcdef")
	dst := transport.Target{Transport: transport.UDP, Addr: netip.MustParseAddrPort("198.51.100.1:5060")}
	check := func(want string) {
		t.Helper()
		v, err := sip.ParseVia(p.viaValue(dst, h))
		if err != nil {
			t.Fatal(err)
		}
		if v.Transport+" "+v.SentBy() != want || !p.hasLoopHash(v.Branch(), &h) || len(v.Branch()) != len(p.prefix)+16+1+22 {
			t.Errorf("Via %+v, want sent-by %q and a branch of ours with the hash", v, want)
		}
		if p.viaValue(dst, h) == p.viaValue(dst, h) {
			t.Error("two branches are the same")
		}
	}
	check("UDP 0.0.0.0")
	p.AddListener("udp", netip.MustParseAddrPort("0.0.0.0:5080"))
	check("UDP 0.0.0.0")
	p = &Proxy{prefix: p.prefix}
	p.AddListener("udp", netip.MustParseAddrPort("192.0.2.1:5060"))
	check("UDP 192.0.2.1:5060")
	p.AddListener("tcp", netip.MustParseAddrPort("[2001:db8::1]:5070"))
	dst = transport.Target{Transport: transport.TCP, Addr: netip.MustParseAddrPort("[2001:db8::2]:5060")}
	check("TCP [2001:db8::1]:5070")
	var other hashHex
	copy(other[:], "0123456789abcdee")
	if p.hasLoopHash(p.branch(h), &other) || !p.hasLoopHash(p.branch(h), &h) || p.hasLoopHash("z9hG4bK-x-"+h.String()+"-1", &h) {
		t.Error("hasLoopHash")
	}
}

// TestDeadlineCtx: the lazily armed context behaves as
// context.WithTimeout's: Err is nil until the deadline, then
// DeadlineExceeded; Done closes at the deadline, or at once when asked
// after it; cancel ends it with Canceled.
func TestDeadlineCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cancel := withDeadline(time.Hour)
		if d, ok := c.Deadline(); !ok || time.Until(d) != time.Hour {
			t.Errorf("Deadline %v %v", d, ok)
		}
		if c.Err() != nil || c.Value("k") != nil {
			t.Error("ended early")
		}
		done := c.Done()
		cancel()
		select {
		case <-done:
		default:
			t.Fatal("Done not closed by cancel")
		}
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("Err %v after cancel", c.Err())
		}

		// Done asked before the deadline closes at it, not earlier.
		c, cancel = withDeadline(20 * time.Millisecond)
		defer cancel()
		done = c.Done()
		time.Sleep(19 * time.Millisecond)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Done closed before the deadline")
		default:
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Done not closed at the deadline")
		}
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err %v after the deadline", c.Err())
		}

		// Err alone (no Done, so no timer) reports the deadline.
		c, cancel = withDeadline(time.Millisecond)
		defer cancel()
		if c.Err() != nil {
			t.Fatal("Err before the deadline")
		}
		time.Sleep(time.Millisecond)
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err %v at the deadline", c.Err())
		}
		select {
		case <-c.Done():
		default:
			t.Fatal("Done asked after the deadline is not closed")
		}
		cancel()
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("cancel after the deadline changed Err to %v", c.Err())
		}
	})
}

// TestLiteralHop: only a next hop that is an IP address, found without the
// location service, static routes or DNS, goes without a lookup timeout.
func TestLiteralHop(t *testing.T) {
	p := &Proxy{domains: map[string]struct{}{"example.com": {}}}
	uri := func(s string) sip.URI {
		u, err := sip.ParseURI(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	addr := func(s string) sip.Address { return sip.Address{URI: uri(s)} }
	for _, c := range []struct {
		ro   routing
		want bool
	}{
		{routing{routeEdit: routeEdit{uri: uri("sip:bob@198.51.100.10:5060")}}, true},
		{routing{routeEdit: routeEdit{uri: uri("sip:bob@[2001:db8::1]")}}, true},
		{routing{routeEdit: routeEdit{uri: uri("sip:bob@example.com")}}, false},
		{routing{routeEdit: routeEdit{uri: uri("sip:bob@example.net")}}, false},
		{routing{routeEdit: routeEdit{uri: uri("sip:bob@example.com")}, next: addr("sip:192.0.2.9;lr"), hasNext: true}, true},
		{routing{routeEdit: routeEdit{uri: uri("sip:bob@198.51.100.10")}, next: addr("sip:proxy.example.net;lr"), hasNext: true}, false},
	} {
		if got := p.literalHop(&c.ro); got != c.want {
			t.Errorf("%s via %s (%v): %v, want %v", c.ro.uri.String(), c.ro.next.URI.String(), c.ro.hasNext, got, c.want)
		}
	}
	p.routes = []Route{{Prefix: "+49", Next: uri("sip:gw.example.net")}}
	if p.literalHop(&routing{routeEdit: routeEdit{uri: uri("sip:bob@198.51.100.10:5060")}}) {
		t.Error("with static routes, a Request-URI hop is not known without them")
	}
}
