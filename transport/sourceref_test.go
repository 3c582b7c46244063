package transport

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/sipd/sipd/sip"
)

// TestSourceRef: a SourceRef gives back the Source it was made from — the
// compact form for one of the layer's UDP sockets, the whole Source for
// any other — and the compact form is what it claims to be in size.
func TestSourceRef(t *testing.T) {
	got := make(chan Source, 2)
	l := New(Config{}, HandlerFunc(func(in *Inbound) { got <- in.Source }))
	defer l.Close()
	addr, err := l.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := newUDPClient(t, "127.0.0.1")
	c.send(addr, rawRequest(sip.MethodOptions, "ref", "SIP/2.0/UDP client.invalid;branch=z9hG4bKr", ""))
	var src Source
	select {
	case src = <-got:
	case <-time.After(waitFor):
		t.Fatal("no request")
	}
	ref := src.Ref()
	if ref.full != nil || ref.u == nil {
		t.Fatalf("a UDP source kept whole: %+v", ref)
	}
	if back := ref.Source(); back != src {
		t.Errorf("round trip: %+v, want %+v", back, src)
	}
	others := []Source{
		{Transport: TCP, Remote: netip.MustParseAddrPort("192.0.2.1:5060"), Local: addr},
		{Transport: UDP, Remote: netip.MustParseAddrPort("[fe80::1%eth0]:5060"), Local: addr, via: src.via},
		{Transport: UDP, Remote: netip.MustParseAddrPort("[2001:db8::1]:5060"), Local: netip.MustParseAddrPort("[::1]:5060")},
	}
	for _, s := range others {
		r := s.Ref()
		if r.full == nil {
			t.Errorf("%+v kept compact", s)
		}
		if back := r.Source(); back != s {
			t.Errorf("round trip: %+v, want %+v", back, s)
		}
	}
	if n := unsafe.Sizeof(SourceRef{}); n > 40 {
		t.Errorf("SourceRef is %d bytes", n)
	}
}
