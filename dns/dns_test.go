package dns

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// zoneServer is a DNS server on 127.0.0.1 that answers from a zone given
// as text records; names it does not have get NXDOMAIN with an SOA.
type zoneServer struct {
	addr    string
	mu      sync.Mutex
	rrs     []mdns.RR
	queries atomic.Int32
	rcode   int // answer every query with this rcode when not 0
}

func newZoneServer(t *testing.T, records ...string) *zoneServer {
	t.Helper()
	z := &zoneServer{}
	z.set(t, records...)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z.addr = pc.LocalAddr().String()
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(z.serve)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return z
}

func (z *zoneServer) set(t *testing.T, records ...string) {
	t.Helper()
	var rrs []mdns.RR
	for _, s := range records {
		rr, err := mdns.NewRR(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		rrs = append(rrs, rr)
	}
	z.mu.Lock()
	z.rrs = rrs
	z.mu.Unlock()
}

func (z *zoneServer) serve(w mdns.ResponseWriter, req *mdns.Msg) {
	z.queries.Add(1)
	m := new(mdns.Msg)
	m.SetReply(req)
	q := req.Question[0]
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.rcode != 0 {
		m.Rcode = z.rcode
		w.WriteMsg(m)
		return
	}
	exists := false
	for _, rr := range z.rrs {
		if strings.EqualFold(rr.Header().Name, q.Name) {
			exists = true
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	if !exists {
		m.Rcode = mdns.RcodeNameError
		soa, _ := mdns.NewRR("test. 600 IN SOA ns.test. admin.test. 1 3600 600 86400 45")
		m.Ns = append(m.Ns, soa)
	}
	w.WriteMsg(m)
}

func uri(t *testing.T, s string) sip.URI {
	t.Helper()
	u, err := sip.ParseURI(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func targets(ts []transport.Target) []string {
	var out []string
	for _, tg := range ts {
		out = append(out, tg.Transport+" "+tg.Addr.String())
	}
	return out
}

func newResolver(t *testing.T, cfg Config) *Resolver {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestResolve: RFC 3263 §4.1 and §4.2, case by case.
func TestResolve(t *testing.T) {
	z := newZoneServer(t,
		"host.test. 60 IN A 127.0.0.5",
		"host.test. 60 IN AAAA ::1",
		"_sip._udp.srv.test. 60 IN SRV 20 0 5072 b.test.",
		"_sip._udp.srv.test. 60 IN SRV 10 0 5071 a.test.",
		"_sip._tcp.srv.test. 60 IN SRV 10 0 5080 a.test.",
		"_sips._tcp.srv.test. 60 IN SRV 10 0 5091 a.test.",
		"a.test. 60 IN A 127.0.0.11",
		"b.test. 60 IN A 127.0.0.12",
		"_sip._tcp.tcponly.test. 60 IN SRV 0 0 5090 a.test.",
		"tcponly.test. 60 IN A 127.0.0.99",
		"_sip._udp.none.test. 60 IN SRV 0 0 0 .",
		"none.test. 60 IN A 127.0.0.98",
	)
	tests := []struct {
		uri  string
		want []string
		err  error
	}{
		// §4.2: numeric, no lookup.
		{uri: "sip:bob@127.0.0.1", want: []string{"UDP 127.0.0.1:5060"}},
		{uri: "sip:bob@[::1]:5070;transport=tcp", want: []string{"TCP [::1]:5070"}},
		{uri: "sips:bob@127.0.0.1", want: []string{"TLS 127.0.0.1:5061"}},
		{uri: "sip:bob@host.test;maddr=127.0.0.3", want: []string{"UDP 127.0.0.3:5060"}},
		// A port given: A and AAAA, no SRV.
		{uri: "sip:bob@host.test:5070", want: []string{"UDP 127.0.0.5:5070", "UDP [::1]:5070"}},
		{uri: "sip:bob@srv.test:5070", err: ErrNotFound},
		// SRV by priority; UDP, then TCP.
		{uri: "sip:bob@srv.test", want: []string{"UDP 127.0.0.11:5071", "UDP 127.0.0.12:5072", "TCP 127.0.0.11:5080"}},
		// transport given: that SRV only.
		{uri: "sip:bob@srv.test;transport=tcp", want: []string{"TCP 127.0.0.11:5080"}},
		{uri: "sips:bob@srv.test", want: []string{"TLS 127.0.0.11:5091"}},
		{uri: "sip:bob@tcponly.test", want: []string{"TCP 127.0.0.11:5090"}},
		// No SRV: A and AAAA at the default port.
		{uri: "sip:bob@host.test", want: []string{"UDP 127.0.0.5:5060", "UDP [::1]:5060"}},
		{uri: "sip:bob@host.test;transport=tcp", want: []string{"TCP 127.0.0.5:5060", "TCP [::1]:5060"}},
		{uri: "sips:bob@host.test", want: []string{"TLS 127.0.0.5:5061", "TLS [::1]:5061"}},
		// "." : not offered over UDP; TCP has no SRV; then nothing.
		{uri: "sip:bob@none.test;transport=udp", err: ErrNotFound},
		{uri: "sip:bob@nx.test", err: ErrNotFound},
	}
	r := newResolver(t, Config{Servers: []string{z.addr}, Rand: rand.New(rand.NewPCG(1, 2))})
	for _, tc := range tests {
		got, err := r.Resolve(context.Background(), uri(t, tc.uri))
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.uri, err, tc.err)
			continue
		}
		if g := strings.Join(targets(got), ", "); g != strings.Join(tc.want, ", ") {
			t.Errorf("%s: %s, want %s", tc.uri, g, strings.Join(tc.want, ", "))
		}
	}
	// Pinned (no move to TCP for a large request, RFC 3261 §18.1.1) only
	// when the URI names the transport.
	for u, want := range map[string]bool{"sip:bob@srv.test": false, "sip:bob@srv.test;transport=udp": true,
		"sip:bob@host.test:5070": false, "sip:bob@127.0.0.1;transport=udp": true} {
		got, err := r.Resolve(context.Background(), uri(t, u))
		if err != nil || len(got) == 0 || got[0].Pinned != want {
			t.Errorf("%s: %+v %v, want Pinned %v", u, got, err, want)
		}
	}
	// TLS targets carry the name to verify.
	got, _ := r.Resolve(context.Background(), uri(t, "sips:bob@host.test"))
	if len(got) == 0 || got[0].ServerName != "host.test" {
		t.Errorf("TLS target without ServerName: %+v", got)
	}
}

// TestResolveNumericNoQuery: a numeric host asks no server.
func TestResolveNumericNoQuery(t *testing.T) {
	z := newZoneServer(t)
	r := newResolver(t, Config{Servers: []string{z.addr}})
	if _, err := r.Resolve(context.Background(), uri(t, "sip:127.0.0.1:5099")); err != nil {
		t.Fatal(err)
	}
	if n := z.queries.Load(); n != 0 {
		t.Errorf("%d queries for a numeric host", n)
	}
}

// TestSRVWeights: within one priority, RFC 2782 picks records in
// proportion to their weights: 90 and 10 come first about 9 times in 10
// and 1 in 10; weight 0 has a small chance.
func TestSRVWeights(t *testing.T) {
	z := newZoneServer(t,
		"_sip._udp.w.test. 60 IN SRV 10 90 5060 heavy.test.",
		"_sip._udp.w.test. 60 IN SRV 10 10 5060 light.test.",
		"_sip._udp.w.test. 60 IN SRV 10 0 5060 zero.test.",
		"_sip._udp.w.test. 60 IN SRV 5 0 5060 first.test.",
		"heavy.test. 60 IN A 127.0.0.1",
		"light.test. 60 IN A 127.0.0.2",
		"zero.test. 60 IN A 127.0.0.3",
		"first.test. 60 IN A 127.0.0.4",
	)
	r := newResolver(t, Config{Servers: []string{z.addr}, Rand: rand.New(rand.NewPCG(7, 8))})
	const n = 2000
	second := map[string]int{}
	for range n {
		got, err := r.Resolve(context.Background(), uri(t, "sip:x@w.test;transport=udp"))
		if err != nil || len(got) != 4 {
			t.Fatalf("%v %v", got, err)
		}
		if got[0].Addr.Addr().String() != "127.0.0.4" {
			t.Fatalf("priority 5 not first: %v", targets(got))
		}
		second[got[1].Addr.Addr().String()]++
	}
	heavy, light, zero := second["127.0.0.1"], second["127.0.0.2"], second["127.0.0.3"]
	// Expected: heavy 90/101, light 10/101, zero 1/101.
	if heavy < n*80/100 || heavy > n*95/100 || light < n*5/100 || light > n*15/100 || zero > n*3/100 {
		t.Errorf("first of priority 10: heavy %d, light %d, zero %d of %d", heavy, light, zero, n)
	}
	if q := z.queries.Load(); q > 9 { // SRV, then A and AAAA of 4 hosts, once
		t.Errorf("%d queries: the answers were not cached", q)
	}
}

// TestCacheTTL: an answer is kept for its TTL (by the clock given), a
// negative one for the SOA minimum (RFC 2308 §5), and then asked again.
func TestCacheTTL(t *testing.T) {
	z := newZoneServer(t, "host.test. 60 IN A 127.0.0.5")
	now := time.Unix(1e9, 0)
	// No AAAA: that NODATA answer, without SOA, lasts NegativeTTL.
	r := newResolver(t, Config{Servers: []string{z.addr}, NegativeTTL: 2 * time.Minute, Now: func() time.Time { return now }})
	res := func(s string) ([]transport.Target, error) { return r.Resolve(context.Background(), uri(t, s)) }

	res("sip:x@host.test:5060")
	q0 := z.queries.Load() // A and AAAA
	z.set(t, "host.test. 60 IN A 127.0.0.6")
	now = now.Add(59 * time.Second)
	got, _ := res("sip:x@host.test:5060")
	if z.queries.Load() != q0 || len(got) != 1 || got[0].Addr.Addr().String() != "127.0.0.5" {
		t.Errorf("within the TTL: %v, %d queries (was %d)", targets(got), z.queries.Load(), q0)
	}
	now = now.Add(2 * time.Second)
	got, _ = res("sip:x@host.test:5060")
	if z.queries.Load() == q0 || len(got) != 1 || got[0].Addr.Addr().String() != "127.0.0.6" {
		t.Errorf("after the TTL: %v, %d queries", targets(got), z.queries.Load())
	}

	// Negative: SOA minimum 45 s.
	if _, err := res("sip:x@nx.test:5060"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	q1 := z.queries.Load()
	now = now.Add(44 * time.Second)
	res("sip:x@nx.test:5060")
	if z.queries.Load() != q1 {
		t.Errorf("NXDOMAIN not cached")
	}
	now = now.Add(2 * time.Second)
	res("sip:x@nx.test:5060")
	if z.queries.Load() == q1 {
		t.Errorf("NXDOMAIN cached beyond the SOA minimum")
	}
}

// TestCacheBounded: the cache never holds more than CacheSize answers.
func TestCacheBounded(t *testing.T) {
	z := newZoneServer(t, "a.test. 60 IN A 127.0.0.1", "b.test. 60 IN A 127.0.0.2", "c.test. 60 IN A 127.0.0.3")
	r := newResolver(t, Config{Servers: []string{z.addr}, CacheSize: 3})
	for _, h := range []string{"a", "b", "c", "a", "b"} {
		if _, err := r.Resolve(context.Background(), uri(t, "sip:x@"+h+".test:5060")); err != nil {
			t.Fatal(err)
		}
		if n := r.cached(); n > 3 {
			t.Fatalf("cache holds %d answers, bound 3", n)
		}
	}
}

// TestServerFailover: a server that does not answer, or answers SERVFAIL,
// is followed by the next; when none answers the error is not
// ErrNotFound.
func TestServerFailover(t *testing.T) {
	good := newZoneServer(t, "host.test. 60 IN A 127.0.0.5")
	bad := newZoneServer(t)
	bad.mu.Lock()
	bad.rcode = mdns.RcodeServerFailure
	bad.mu.Unlock()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	r := newResolver(t, Config{Servers: []string{silent.LocalAddr().String(), bad.addr, good.addr}, Timeout: 100 * time.Millisecond})
	got, err := r.Resolve(context.Background(), uri(t, "sip:x@host.test:5060"))
	if err != nil || len(got) != 1 || got[0].Addr.String() != "127.0.0.5:5060" {
		t.Fatalf("%v %v", targets(got), err)
	}
	r = newResolver(t, Config{Servers: []string{bad.addr}})
	_, err = r.Resolve(context.Background(), uri(t, "sip:x@other.test:5060"))
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("SERVFAIL: %v, want a failure other than ErrNotFound", err)
	}
}

// TestSRVDeterministic: for a stateless proxy the order within a priority
// is the same every time (RFC 3263 §4.4): weight, then name, then port.
func TestSRVDeterministic(t *testing.T) {
	z := newZoneServer(t,
		"_sip._udp.d.test. 60 IN SRV 10 5 5060 b.test.",
		"_sip._udp.d.test. 60 IN SRV 10 5 5060 a.test.",
		"_sip._udp.d.test. 60 IN SRV 10 50 5060 c.test.",
		"_sip._udp.d.test. 60 IN SRV 5 0 5060 z.test.",
		"a.test. 60 IN A 127.0.0.1",
		"b.test. 60 IN A 127.0.0.2",
		"c.test. 60 IN A 127.0.0.3",
		"z.test. 60 IN A 127.0.0.26",
	)
	r := newResolver(t, Config{Servers: []string{z.addr}, Deterministic: true})
	want := "UDP 127.0.0.26:5060, UDP 127.0.0.3:5060, UDP 127.0.0.1:5060, UDP 127.0.0.2:5060"
	for range 50 {
		got, err := r.Resolve(context.Background(), uri(t, "sip:x@d.test;transport=udp"))
		if err != nil {
			t.Fatal(err)
		}
		if g := strings.Join(targets(got), ", "); g != want {
			t.Fatalf("%s, want %s", g, want)
		}
	}
}
