package transport

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/sipd/sipd/sip"
)

// stampViaSets is stampVia written with sip.Params.Set, as it was before it
// wrote the Via in one pass: the reference the fast one must match.
func stampViaSets(h *sip.Header, v sip.Via, remote netip.AddrPort) {
	ip := remote.Addr()
	changed := false
	if port, ok := v.RPort(); ok && port == 0 {
		v.Params = v.Params.Set("rport", strconv.Itoa(int(remote.Port())))
		changed = true
	}
	if a, ok := hostAddr(v.Host); changed || !ok || a != ip {
		v.Params = v.Params.Set("received", ip.String())
		changed = true
	}
	if changed {
		h.SetTopVia(v)
	}
}

var stampCases = []string{
	"SIP/2.0/UDP client.invalid:5060;branch=z9hG4bK1",
	"SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK2",
	"SIP/2.0/UDP 127.0.0.1:4000;branch=z9hG4bK3",
	"SIP/2.0/UDP 127.0.0.1:4000;branch=z9hG4bK4;rport",
	"SIP/2.0/UDP client.invalid;rport;branch=z9hG4bK5",
	"SIP/2.0/UDP 127.0.0.1:4000;branch=z9hG4bK6;rport=4000",
	"SIP/2.0/UDP client.invalid;received=192.0.2.1;branch=z9hG4bK7",
	"SIP/2.0/UDP client.invalid;branch=z9hG4bK8, SIP/2.0/UDP other.invalid;branch=z9hG4bK9",
	"SIP/2.0/UDP client.invalid;RPORT;Received=192.0.2.1;branch=z9hG4bK10",
	"SIP/2.0/UDP client.invalid;received=192.0.2.1;rport;branch=z9hG4bK11",
	"SIP/2.0/UDP client.invalid;rport;x=\"a;rport;received=1\";branch=z9hG4bK12",
	"SIP/2.0/UDP client.invalid ; rport ; branch=z9hG4bK13 ; received = 10.0.0.1",
	"SIP/2.0/UDP client.invalid;x=\"q\\\";rport\";rport;branch=z9hG4bK14",
	"SIP/2.0/UDP client.invalid;rport;rport;branch=z9hG4bK15",
	"SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bK16;rport",
	"SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK17",
	"SIP/2.0/UDP client.invalid;branch=z9hG4bK18;rportx;received2=1",
}

// TestStampViaMatchesSets: the one-pass stamp writes the very Via that
// setting rport and received with sip.Params.Set writes, quoted-strings,
// case, spaces and repeated parameters included.
func TestStampViaMatchesSets(t *testing.T) {
	remotes := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:4000"),
		netip.MustParseAddrPort("192.0.2.1:5062"),
		netip.MustParseAddrPort("[2001:db8::2]:5070"),
	}
	for _, via := range stampCases {
		for _, remote := range remotes {
			fast, slow := newRequest(t, sip.MethodOptions, "c", via, nil), newRequest(t, sip.MethodOptions, "c", via, nil)
			v, err := fast.TopVia()
			if err != nil {
				t.Fatalf("%s: %v", via, err)
			}
			stampVia(&fast.Header, v, remote)
			stampViaSets(&slow.Header, v, remote)
			if got, want := fast.Get("Via"), slow.Get("Via"); got != want {
				t.Errorf("Via %q from %v:\n got %q\nwant %q", via, remote, got, want)
			}
		}
	}
}

// TestStampViaAllocs: stamping allocates the new header value and nothing
// else.
func TestStampViaAllocs(t *testing.T) {
	req := newRequest(t, sip.MethodOptions, "c", "SIP/2.0/UDP client.invalid:5060;branch=z9hG4bK1;rport", nil)
	v, _ := req.TopVia()
	remote := netip.MustParseAddrPort("192.0.2.1:45000")
	if n := testing.AllocsPerRun(100, func() { stampVia(&req.Header, v, remote) }); n > 1 {
		t.Errorf("stampVia: %v allocations, want 1", n)
	}
}

// BenchmarkStampVia: received and rport on a typical client's Via.
func BenchmarkStampVia(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    func(*sip.Header, sip.Via, netip.AddrPort)
	}{{"onepass", stampVia}, {"params-set", stampViaSets}} {
		b.Run(bc.name, func(b *testing.B) {
			req := newRequest(b, sip.MethodOptions, "c", "SIP/2.0/UDP 10.1.2.3:5060;branch=z9hG4bK776asdhds;rport", nil)
			v, _ := req.TopVia()
			remote := netip.MustParseAddrPort("192.0.2.1:45000")
			b.ReportAllocs()
			for b.Loop() {
				bc.f(&req.Header, v, remote)
			}
		})
	}
}

// TestSetSentByAllocs: rewriting the top Via's sent-by allocates the new
// header value only, and writes what SetTopVia would.
func TestSetSentByAllocs(t *testing.T) {
	const via = "SIP/2.0/UDP 0.0.0.0;branch=z9hG4bK-524287-1---6e2a5b0dd9bfc8b5;rport"
	req := newRequest(t, sip.MethodInvite, "c", via, nil)
	want := newRequest(t, sip.MethodInvite, "c", via, nil)
	for _, r := range []*sip.Request{req, want} { // a proxy's Via on top of the client's
		r.Add("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1")
	}
	v, _ := want.TopVia()
	v.Transport, v.Host, v.Port = TCP, "192.0.2.10", 5070
	want.SetTopVia(v)
	v, _ = req.TopVia()
	setSentBy(req, &v, TCP, "192.0.2.10", 5070)
	if got, w := req.String(), want.String(); got != w {
		t.Errorf("got\n%s\nwant\n%s", got, w)
	}
	hosts := []string{"192.0.2.10", "192.0.2.11"}
	i := 0
	n := testing.AllocsPerRun(100, func() {
		i++
		setSentBy(req, &v, UDP, hosts[i%2], 5060)
	})
	if n > 1 {
		t.Errorf("setSentBy: %v allocations, want 1", n)
	}
}

// BenchmarkSendRequestSentBy: sending a request whose top Via the sender
// left for the transport to fill in (as the proxy pushes it, RFC 3261
// §16.6 step 8), so that each send rewrites sent-by.
func BenchmarkSendRequestSentBy(b *testing.B) {
	a := New(Config{}, nil)
	defer a.Close()
	if _, err := a.Listen("udp", "127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	sink := New(Config{}, nil)
	defer sink.Close()
	dst, err := sink.Listen("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	const via = "SIP/2.0/UDP 0.0.0.0;branch=z9hG4bK-524287-1---6e2a5b0dd9bfc8b5"
	req := newRequest(b, sip.MethodInvite, "bench", via, nil)
	req.Add("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;received=10.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		req.ReplaceFirst("Via", via)
		if err := a.SendRequest(req, Target{Transport: UDP, Addr: dst}); err != nil {
			b.Fatal(err)
		}
	}
}
