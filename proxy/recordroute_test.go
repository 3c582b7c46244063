package proxy

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// registerContact gives sip:bob@example.com the one binding contact,
// registered over UDP (so that the proxy sends to the contact itself).
func (h *harness) registerContact(contact string) {
	h.t.Helper()
	now := time.Now()
	b := location.Binding{AOR: "sip:bob@example.com", Contact: contact, Q: 1000, Expires: now.Add(time.Hour),
		CallID: "reg-c", CSeq: 1, Transport: transport.UDP, Source: netip.MustParseAddrPort("198.51.100.99:5060"),
		Local: proxyAddr, Updated: now}
	_, err := h.store.Apply(context.Background(), "sip:bob@example.com", func([]location.Binding) ([]location.Binding, error) {
		return []location.Binding{b}, nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// TestDoubleRecordRoute: a request that leaves on another listener than it
// came in on — another transport or another address — is record-routed
// twice, the outbound listener on top, the inbound one below, each with its
// transport (RFC 3261 §16.6 step 4, RFC 5658); otherwise once. The
// caller reaches the proxy over TCP at 192.0.2.1:5060.
func TestDoubleRecordRoute(t *testing.T) {
	tests := []struct {
		name      string
		listeners []string // "network addr"
		contact   string
		want      []string
	}{
		{
			name:    "no listeners known: once",
			contact: "sip:bob@198.51.100.10:5060",
			want:    []string{"<sip:192.0.2.1:5060;transport=tcp;lr>"},
		},
		{
			name:      "same listener: once",
			listeners: []string{"udp 192.0.2.1:5060", "tcp 192.0.2.1:5060"},
			contact:   "sip:bob@198.51.100.10:5060;transport=tcp",
			want:      []string{"<sip:192.0.2.1:5060;transport=tcp;lr>"},
		},
		{
			name:      "TCP in, UDP out",
			listeners: []string{"udp 192.0.2.1:5060", "tcp 192.0.2.1:5060"},
			contact:   "sip:bob@198.51.100.10:5060",
			want:      []string{"<sip:192.0.2.1:5060;transport=udp;lr>", "<sip:192.0.2.1:5060;transport=tcp;lr>"},
		},
		{
			name:      "another address: the loopback listener for a loopback callee",
			listeners: []string{"tcp 192.0.2.1:5060", "tcp 127.0.0.1:5070"},
			contact:   "sip:bob@127.0.0.1:5080;transport=tcp",
			want:      []string{"<sip:127.0.0.1:5070;transport=tcp;lr>", "<sip:192.0.2.1:5060;transport=tcp;lr>"},
		},
		{
			name:      "outbound on a wildcard listener: the address the kernel sends from",
			listeners: []string{"tcp 192.0.2.1:5060", "udp 0.0.0.0:5062"},
			contact:   "sip:bob@127.0.0.1:5080",
			want:      []string{"<sip:127.0.0.1:5062;transport=udp;lr>", "<sip:192.0.2.1:5060;transport=tcp;lr>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			addListeners(h.px, tc.listeners)
			h.registerContact(tc.contact)
			h.fromCaller(request{}.build(t))
			reqs := h.tp.requests()
			if len(reqs) != 1 {
				t.Fatalf("sent %q, want one INVITE (upstream %q)", downLog(reqs), upLog(h.tp.responses()))
			}
			var rr []string
			for v := range reqs[0].req.Values("Record-Route") {
				rr = append(rr, v)
			}
			if !slices.Equal(rr, tc.want) {
				t.Errorf("Record-Route %q, want %q", rr, tc.want)
			}
		})
	}
}

// TestStatelessDoubleRecordRoute: the stateless proxy record-routes as the
// stateful one does.
func TestStatelessDoubleRecordRoute(t *testing.T) {
	h := newSLHarness(t, Config{})
	addListeners(h.sl.p, []string{"udp 192.0.2.1:5060", "tcp 192.0.2.1:5060"})
	h.registerContact("sip:bob@198.51.100.10:5060")
	h.in(request{}.build(t))
	reqs := h.tp.requests()
	if len(reqs) != 1 {
		t.Fatalf("sent %q, want one INVITE", downLog(reqs))
	}
	var rr []string
	for v := range reqs[0].req.Values("Record-Route") {
		rr = append(rr, v)
	}
	want := []string{"<sip:192.0.2.1:5060;transport=udp;lr>", "<sip:192.0.2.1:5060;transport=tcp;lr>"}
	if !slices.Equal(rr, want) {
		t.Errorf("Record-Route %q, want %q", rr, want)
	}
}

// TestDoubleRouteStripped: an in-dialog request routed through both of the
// proxy's Record-Route entries loses both (§16.4: each names the proxy, by
// any of its listeners), from either side; a Route naming a port the proxy
// does not listen on stays and is the next hop.
func TestDoubleRouteStripped(t *testing.T) {
	const (
		udp = "<sip:192.0.2.1:5060;transport=udp;lr>"
		tcp = "<sip:192.0.2.1:5060;transport=tcp;lr>"
		lo  = "<sip:127.0.0.1:5070;transport=tcp;lr>"
	)
	tests := []struct {
		name   string
		src    transport.Source
		routes string
		dst    string
		left   []string
	}{
		{name: "from the caller over TCP", routes: tcp + ", " + udp, dst: "203.0.113.7:5062"},
		{name: "from the callee over UDP",
			src:    transport.Source{Transport: transport.UDP, Remote: netip.MustParseAddrPort("203.0.113.7:5062"), Local: proxyAddr},
			routes: udp + ", " + tcp, dst: "203.0.113.7:5062"},
		{name: "from the loopback side",
			src:    transport.Source{Transport: transport.TCP, Remote: netip.MustParseAddrPort("127.0.0.1:5080"), Local: netip.MustParseAddrPort("127.0.0.1:5070")},
			routes: lo + ", " + tcp, dst: "203.0.113.7:5062"},
		{name: "a port not ours stays", routes: tcp + ", <sip:192.0.2.1:5999;lr>", dst: "192.0.2.1:5999",
			left: []string{"<sip:192.0.2.1:5999;lr>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{})
				addListeners(h.px, []string{"udp 192.0.2.1:5060", "tcp 192.0.2.1:5060", "tcp 127.0.0.1:5070"})
				if tc.src.Transport != "" {
					h.src = tc.src
				}
				bye := request{method: sip.MethodBye, ruri: "sip:bob@203.0.113.7:5062", toTag: "b1",
					headers: []string{"Route: " + tc.routes}}.build(t)
				h.fromCaller(bye)
				reqs := h.tp.requests()
				if len(reqs) != 1 {
					t.Fatalf("sent %q, want the BYE (upstream %q)", downLog(reqs), upLog(h.tp.responses()))
				}
				if got := reqs[0].dst.Addr.String(); got != tc.dst {
					t.Errorf("BYE sent to %s, want %s", got, tc.dst)
				}
				var left []string
				for v := range reqs[0].req.Values("Route") {
					left = append(left, v)
				}
				if !slices.Equal(left, tc.left) {
					t.Errorf("Route %q, want %q", left, tc.left)
				}
				if reqs[0].req.URI.String() != "sip:bob@203.0.113.7:5062" {
					t.Errorf("Request-URI %s", reqs[0].req.URI.String())
				}
			})
		})
	}
}

func addListeners(p *Proxy, ls []string) {
	for _, l := range ls {
		network, addr, _ := strings.Cut(l, " ")
		p.AddListener(network, netip.MustParseAddrPort(addr))
	}
}

// TestRecordRouteValueKept: a listener's Record-Route value is made once
// and then found again, without allocating; each listener and form keeps
// its own; past maxRRValues values are still right, only made anew.
func TestRecordRouteValueKept(t *testing.T) {
	p := &Proxy{domains: map[string]struct{}{"example.com": {}}}
	udp := listener{transport: transport.UDP, addr: netip.MustParseAddrPort("192.0.2.1:5060")}
	tcp := listener{transport: transport.TCP, addr: netip.MustParseAddrPort("[2001:db8::1]:5070")}
	want := map[string]string{
		p.recordRouteValue(udp, false): "<sip:192.0.2.1:5060;lr>",
		p.recordRouteValue(udp, true):  "<sip:192.0.2.1:5060;transport=udp;lr>",
		p.recordRouteValue(tcp, false): "<sip:[2001:db8::1]:5070;transport=tcp;lr>",
	}
	for got, w := range want {
		if got != w {
			t.Errorf("Record-Route %q, want %q", got, w)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		if p.recordRouteValue(tcp, false) != "<sip:[2001:db8::1]:5070;transport=tcp;lr>" {
			t.Fatal("value changed")
		}
	}); n != 0 && !raceEnabled {
		t.Errorf("a kept value costs %v allocations", n)
	}
	for i := range maxRRValues + 5 {
		l := listener{transport: transport.UDP, addr: netip.AddrPortFrom(udp.addr.Addr(), uint16(6000+i))}
		if v := p.recordRouteValue(l, false); v != "<sip:192.0.2.1:"+strconv.Itoa(6000+i)+";lr>" {
			t.Fatalf("listener %d: %q", i, v)
		}
	}
	if n := len(*p.rrValues.Load()); n != maxRRValues {
		t.Errorf("%d values kept, want the bound %d", n, maxRRValues)
	}
}
