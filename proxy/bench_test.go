package proxy

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/storage/memory"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// The benchmarks and the allocation budget here take a request as the
// transport hands it over (bytes off a UDP socket) through the proxy to the
// bytes it sends on: parse, the §16.3 checks, Route processing, the
// location lookup, the copy with Via and Record-Route, serialization.

// benchSender serializes what the proxy sends into a reused buffer, as
// the UDP transport does, and keeps nothing else.
type benchSender struct {
	buf      []byte
	dst      transport.Target
	requests int
}

func (s *benchSender) SendRequest(req *sip.Request, dst transport.Target) error {
	s.buf = req.AppendTo(s.buf[:0])
	s.dst = dst
	s.requests++
	return nil
}

func (s *benchSender) SendResponse(resp *sip.Response, _ transport.Source) error {
	s.buf = resp.AppendTo(s.buf[:0])
	return nil
}

var (
	benchProxyAddr  = netip.MustParseAddrPort("192.0.2.1:5060")
	benchCallerAddr = netip.MustParseAddrPort("192.0.2.20:5060")
	benchCalleeAddr = netip.MustParseAddrPort("198.51.100.10:5060")
)

// benchStore is a location store with bob@example.com registered over UDP
// at benchCalleeAddr, and 10,000 other users.
func benchStore(tb testing.TB) *memory.Store {
	tb.Helper()
	st := memory.New()
	now := time.Now()
	add := func(user string, addr netip.AddrPort) {
		aor := "sip:" + user + "@example.com"
		b := location.Binding{
			AOR: aor, Contact: "sip:" + user + "@" + addr.String(), Q: 1000,
			Expires: now.Add(time.Hour), CallID: "reg-" + user, CSeq: 1,
			Transport: transport.UDP, Source: addr, Local: benchProxyAddr, Updated: now,
		}
		if _, err := st.Apply(context.Background(), aor, func([]location.Binding) ([]location.Binding, error) {
			return []location.Binding{b}, nil
		}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range 10000 {
		add("user"+strconv.Itoa(i), netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 250)}), uint16(5060+i%1000)))
	}
	add("bob", benchCalleeAddr)
	return st
}

// benchInvite is an INVITE for bob as SIPp's UAC sends it, with a body.
// Its branch and Call-ID end in ten digits that benchWire numbers.
const benchInvite = "INVITE sip:bob@example.com SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-bench-0000000000\r\n" +
	"From: sipp <sip:sipp@192.0.2.20:5060>;tag=1234SIPpTag001\r\n" +
	"To: bob <sip:bob@example.com>\r\n" +
	"Call-ID: 0000000000-1234@192.0.2.20\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Contact: <sip:sipp@192.0.2.20:5060>\r\n" +
	"Max-Forwards: 70\r\n" +
	"Subject: bench\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: 129\r\n" +
	"\r\n" +
	"v=0\r\n" +
	"o=user1 53655765 2353687637 IN IP4 192.0.2.20\r\n" +
	"s=-\r\n" +
	"c=IN IP4 192.0.2.20\r\n" +
	"t=0 0\r\n" +
	"m=audio 6000 RTP/AVP 0\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n"

// benchWire returns a copy of benchInvite and a function that writes n
// into its branch and Call-ID, so that each request is a new transaction.
func benchWire() ([]byte, func(n int)) {
	wire := []byte(benchInvite)
	var offs []int
	for _, marker := range []string{"bench-", "Call-ID: "} {
		for i := 0; i+len(marker) <= len(wire); i++ {
			if string(wire[i:i+len(marker)]) == marker {
				offs = append(offs, i+len(marker))
				break
			}
		}
	}
	return wire, func(n int) {
		for _, off := range offs {
			v := n
			for i := off + 9; i >= off; i-- {
				wire[i] = byte('0' + v%10)
				v /= 10
			}
		}
	}
}

// newBenchStateless is a stateless proxy for example.com over benchStore.
func newBenchStateless(tb testing.TB) (*Stateless, *benchSender) {
	tb.Helper()
	tp := &benchSender{}
	next := transport.HandlerFunc(func(*transport.Inbound) { tb.Error("request passed up, not forwarded") })
	sl, err := NewStateless(Config{Domains: []string{"example.com"}}, tp, benchStore(tb), nil, next)
	if err != nil {
		tb.Fatal(err)
	}
	return sl, tp
}

var benchSource = transport.Source{Transport: transport.UDP, Remote: benchCallerAddr, Local: benchProxyAddr}

// statelessForward is one request through the stateless proxy, from bytes
// to bytes.
func statelessForward(tb testing.TB, sl *Stateless, wire []byte) {
	req, err := sip.ParseRequest(wire)
	if err != nil {
		tb.Fatal(err)
	}
	sl.HandleInbound(&transport.Inbound{Msg: req, Source: benchSource})
}

// BenchmarkStatelessForward is an INVITE through the stateless proxy
// (RFC 3261 §16.11): parse, checks, location lookup of bob among 10,000
// users, the copy with Record-Route and Via, serialization.
func BenchmarkStatelessForward(b *testing.B) {
	sl, tp := newBenchStateless(b)
	wire, _ := benchWire()
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		statelessForward(b, sl, wire)
	}
	if tp.requests != b.N {
		b.Fatalf("%d requests forwarded, want %d", tp.requests, b.N)
	}
}

// benchCore runs the proxy inline on the transaction layer's read path,
// as server.Server does on a worker.
type benchCore struct{ px *Proxy }

func (c benchCore) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	_ = c.px.ServeSIP(context.Background(), tx, req)
}

func (c benchCore) HandleStray(in *transport.Inbound) { c.px.HandleStray(in) }

// newBenchStateful is a transaction-stateful proxy for example.com over
// benchStore, behind a transaction layer.
func newBenchStateful(tb testing.TB) (*transaction.Layer, *benchSender) {
	tb.Helper()
	tp := &benchSender{}
	// T1 long enough that no INVITE is retransmitted while the benchmark
	// runs: a callee's 100 (Trying) would stop them in a real call, and
	// the sender counts each send.
	tl := transaction.New(tp, transaction.Config{T1: time.Hour, T2: 8 * time.Hour})
	px, err := New(Config{Domains: []string{"example.com"}}, tl, tp, benchStore(tb), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tl.SetCore(benchCore{px})
	tb.Cleanup(tl.Close)
	return tl, tp
}

// statefulForward is one new INVITE through the transaction layer and the
// stateful proxy, from bytes to bytes: a server transaction, the response
// context, a client transaction and the forwarded copy.
func statefulForward(tb testing.TB, tl *transaction.Layer, wire []byte) {
	req, err := sip.ParseRequest(wire)
	if err != nil {
		tb.Fatal(err)
	}
	tl.HandleInbound(&transport.Inbound{Msg: req, Source: benchSource})
}

// BenchmarkStatefulInviteForward is a new INVITE through the stateful
// proxy (RFC 3261 §16.6) with its transactions; the transactions stay
// (nobody answers), as they do while a call rings.
func BenchmarkStatefulInviteForward(b *testing.B) {
	tl, tp := newBenchStateful(b)
	wire, number := benchWire()
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	n := 0
	for b.Loop() {
		n++
		number(n)
		statefulForward(b, tl, wire)
	}
	if tp.requests != b.N {
		b.Fatalf("%d requests forwarded, want %d", tp.requests, b.N)
	}
}

// TestBenchPathForwards: what the benchmarks and budgets measure is a real
// forward: to bob's contact, with our Via on top and our Record-Route.
func TestBenchPathForwards(t *testing.T) {
	sl, stp := newBenchStateless(t)
	tl, ftp := newBenchStateful(t)
	wire, number := benchWire()
	number(42)
	statelessForward(t, sl, wire)
	statefulForward(t, tl, wire)
	for name, tp := range map[string]*benchSender{"stateless": stp, "stateful": ftp} {
		if tp.requests != 1 {
			t.Fatalf("%s: %d requests sent, want 1", name, tp.requests)
		}
		fwd, err := sip.ParseRequest(tp.buf)
		if err != nil {
			t.Fatalf("%s: the forwarded request does not parse: %v\n%s", name, err, tp.buf)
		}
		if tp.dst.Addr != benchCalleeAddr || fwd.URI.String() != "sip:bob@"+benchCalleeAddr.String() {
			t.Errorf("%s: sent %s to %v, want bob's contact at %v", name, fwd.URI.String(), tp.dst.Addr, benchCalleeAddr)
		}
		vias, err := fwd.Vias()
		if err != nil || len(vias) != 2 || vias[1].Host != "192.0.2.20" {
			t.Errorf("%s: Vias %v (%v), want ours above the caller's", name, vias, err)
		}
		if !fwd.Has("Record-Route") || fwd.CallID() != "0000000042-1234@192.0.2.20" {
			t.Errorf("%s: Record-Route %v, Call-ID %q", name, fwd.Has("Record-Route"), fwd.CallID())
		}
		if mf, _, _ := fwd.MaxForwards(); mf != 69 {
			t.Errorf("%s: Max-Forwards %d, want 69", name, mf)
		}
	}
}
