package proxy

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"
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
// the UDP transport does, and keeps nothing else. The 100 (Trying) a
// server transaction sends on its timer, from another goroutine, is
// neither kept nor counted.
type benchSender struct {
	mu        sync.Mutex
	buf       []byte
	dst       transport.Target
	requests  int
	responses int // above 100
}

func (s *benchSender) SendRequest(req *sip.Request, dst transport.Target) error {
	s.mu.Lock()
	s.buf = req.AppendTo(s.buf[:0])
	s.dst = dst
	s.requests++
	s.mu.Unlock()
	return nil
}

func (s *benchSender) SendResponse(resp *sip.Response, _ transport.Source) error {
	if resp.StatusCode == sip.StatusTrying {
		return nil
	}
	s.mu.Lock()
	s.buf = resp.AppendTo(s.buf[:0])
	s.responses++
	s.mu.Unlock()
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
func benchWire() ([]byte, func(n int)) { return benchWireOf(benchInvite) }

// benchAck and benchBye are the ACK for the 2xx and the BYE of the call
// benchInvite starts, as the caller sends them: to bob's contact, through
// the proxy's Record-Route.
const (
	benchAck = "ACK sip:bob@198.51.100.10:5060 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-bench-0000000000\r\n" +
		"Route: <sip:192.0.2.1:5060;lr>\r\n" +
		"From: sipp <sip:sipp@192.0.2.20:5060>;tag=1234SIPpTag001\r\n" +
		"To: bob <sip:bob@example.com>;tag=callee-1\r\n" +
		"Call-ID: 0000000000-1234@192.0.2.20\r\n" +
		"CSeq: 1 ACK\r\n" +
		"Contact: <sip:sipp@192.0.2.20:5060>\r\n" +
		"Max-Forwards: 70\r\n" +
		"Content-Length: 0\r\n\r\n"
	benchBye = "BYE sip:bob@198.51.100.10:5060 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-bench-0000000000\r\n" +
		"Route: <sip:192.0.2.1:5060;lr>\r\n" +
		"From: sipp <sip:sipp@192.0.2.20:5060>;tag=1234SIPpTag001\r\n" +
		"To: bob <sip:bob@example.com>;tag=callee-1\r\n" +
		"Call-ID: 0000000000-1234@192.0.2.20\r\n" +
		"CSeq: 2 BYE\r\n" +
		"Contact: <sip:sipp@192.0.2.20:5060>\r\n" +
		"Max-Forwards: 70\r\n" +
		"Content-Length: 0\r\n\r\n"
)

// benchWireOf is benchWire for another request with the same markers.
func benchWireOf(msg string) ([]byte, func(n int)) {
	wire := []byte(msg)
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
// as server.Server does on a worker, with a context that ends when the
// server closes, as the server's does.
type benchCore struct {
	px  *Proxy
	ctx context.Context
}

func (c benchCore) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	_ = c.px.ServeSIP(c.ctx, tx, req)
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
	ctx, cancel := context.WithCancel(context.Background())
	tl.SetCore(benchCore{px, ctx})
	tb.Cleanup(tl.Close)
	tb.Cleanup(cancel)
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

// calleeAnswers returns the wire form of the 180 and the 200 with SDP that
// the callee sends for the INVITE it received as fwd, To tag callee-1.
func calleeAnswers(tb testing.TB, fwd []byte) (ringing, ok []byte) {
	tb.Helper()
	inv, err := sip.ParseRequest(fwd)
	if err != nil {
		tb.Fatal(err)
	}
	answer := func(code int, body string) []byte {
		resp := sip.NewResponse(inv, code, "")
		if err := resp.SetToTag("callee-1"); err != nil {
			tb.Fatal(err)
		}
		resp.Add("Contact", "<sip:bob@198.51.100.10:5060>")
		if body != "" {
			resp.Add("Content-Type", "application/sdp")
			resp.Body = []byte(body)
		}
		return resp.Bytes()
	}
	return answer(sip.StatusRinging, ""), answer(sip.StatusOK, benchInvite[strings.Index(benchInvite, "\r\n\r\n")+4:])
}

// BenchmarkStatefulResponseForward is the callee's 180 and 200 through the
// stateful proxy (RFC 3261 §16.7), from bytes to bytes: parse, the match
// to the client transaction, the response context, our Via removed, the
// server transaction's send upstream. The INVITEs are forwarded before
// the timer starts, one per op.
func BenchmarkStatefulResponseForward(b *testing.B) {
	tl, tp := newBenchStateful(b)
	wire, number := benchWire()
	answers := make([][2][]byte, b.N)
	for i := range answers {
		number(i + 1)
		statefulForward(b, tl, wire)
		answers[i][0], answers[i][1] = calleeAnswers(b, tp.buf)
	}
	src := transport.Source{Transport: transport.UDP, Remote: benchCalleeAddr, Local: benchProxyAddr}
	sent := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for _, wire := range answers[i] {
			resp, err := sip.ParseResponse(wire)
			if err != nil {
				b.Fatal(err)
			}
			before := tp.responses
			tl.HandleInbound(&transport.Inbound{Msg: resp, Source: src})
			sent += tp.responses - before
		}
	}
	b.StopTimer()
	if sent != 2*b.N {
		b.Fatalf("%d responses sent upstream, want %d", sent, 2*b.N)
	}
}

// BenchmarkStatelessResponseForward is the callee's 200 through the
// stateless proxy (RFC 3261 §16.11): parse, our Via removed, sent by the
// next Via.
func BenchmarkStatelessResponseForward(b *testing.B) {
	sl, tp := newBenchStateless(b)
	wire, _ := benchWire()
	statelessForward(b, sl, wire)
	_, ok := calleeAnswers(b, tp.buf)
	src := transport.Source{Transport: transport.UDP, Remote: benchCalleeAddr, Local: benchProxyAddr}
	b.ReportAllocs()
	b.SetBytes(int64(len(ok)))
	for b.Loop() {
		resp, err := sip.ParseResponse(ok)
		if err != nil {
			b.Fatal(err)
		}
		sl.HandleInbound(&transport.Inbound{Msg: resp, Source: src})
	}
	if tp.responses != b.N {
		b.Fatalf("%d responses forwarded, want %d", tp.responses, b.N)
	}
}

// BenchmarkStatefulInDialog is the ACK for the 2xx and the BYE of a call
// through the stateful proxy, by their Route naming it: the ACK
// statelessly (HandleStray, §16.11), the BYE with its server and client
// transactions (§16.6). One op is both.
func BenchmarkStatefulInDialog(b *testing.B) {
	tl, tp := newBenchStateful(b)
	ack, numberAck := benchWireOf(benchAck)
	bye, numberBye := benchWireOf(benchBye)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		numberAck(n)
		numberBye(n)
		statefulForward(b, tl, ack)
		statefulForward(b, tl, bye)
	}
	if tp.requests != 2*b.N {
		b.Fatalf("%d requests forwarded, want %d", tp.requests, 2*b.N)
	}
}

// BenchmarkStatelessInDialog is BenchmarkStatefulInDialog through the
// stateless proxy.
func BenchmarkStatelessInDialog(b *testing.B) {
	sl, tp := newBenchStateless(b)
	ack, _ := benchWireOf(benchAck)
	bye, _ := benchWireOf(benchBye)
	b.ReportAllocs()
	for b.Loop() {
		statelessForward(b, sl, ack)
		statelessForward(b, sl, bye)
	}
	if tp.requests != 2*b.N {
		b.Fatalf("%d requests forwarded, want %d", tp.requests, 2*b.N)
	}
}

// TestBenchInDialogForwards: the in-dialog requests of the benchmarks go
// to bob's contact without our Route, and the callee's answers come back
// upstream without our Via.
func TestBenchInDialogForwards(t *testing.T) {
	sl, stp := newBenchStateless(t)
	tl, ftp := newBenchStateful(t)
	for name, c := range map[string]struct {
		tp      *benchSender
		forward func(testing.TB, []byte)
	}{
		"stateless": {stp, func(tb testing.TB, w []byte) { statelessForward(tb, sl, w) }},
		"stateful":  {ftp, func(tb testing.TB, w []byte) { statefulForward(tb, tl, w) }},
	} {
		for _, msg := range []string{benchAck, benchBye} {
			before := c.tp.requests
			c.forward(t, []byte(msg))
			if c.tp.requests != before+1 {
				t.Fatalf("%s: %d requests sent, want one more", name, c.tp.requests)
			}
			fwd, err := sip.ParseRequest(c.tp.buf)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if c.tp.dst.Addr != benchCalleeAddr || fwd.Has("Route") || fwd.Count("Via") != 2 {
				t.Errorf("%s: %s sent to %v:\n%s", name, fwd.Method, c.tp.dst.Addr, c.tp.buf)
			}
		}
	}
	wire, _ := benchWire()
	statefulForward(t, tl, wire)
	ringing, ok := calleeAnswers(t, ftp.buf)
	src := transport.Source{Transport: transport.UDP, Remote: benchCalleeAddr, Local: benchProxyAddr}
	for _, w := range [][]byte{ringing, ok} {
		resp, err := sip.ParseResponse(w)
		if err != nil {
			t.Fatal(err)
		}
		before := ftp.responses
		tl.HandleInbound(&transport.Inbound{Msg: resp, Source: src})
		if ftp.responses != before+1 {
			t.Fatalf("%d: not sent upstream", resp.StatusCode)
		}
		up, err := sip.ParseResponse(ftp.buf)
		if err != nil || up.StatusCode != resp.StatusCode || up.Count("Via") != 1 || up.ToTag() != "callee-1" {
			t.Errorf("upstream %v:\n%s", err, ftp.buf)
		}
	}
}
