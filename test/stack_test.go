package test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// node is one SIP element in a test: a transport layer with a transaction
// layer on top, listening on loopback.
type node struct {
	tp   *transport.Layer
	tl   *transaction.Layer
	addr netip.AddrPort
}

func newNode(t *testing.T, network string, tlsCfg *tls.Config, core transaction.Core) *node {
	t.Helper()
	n := &node{}
	n.tp = transport.New(transport.Config{TLSConfig: tlsCfg},
		transport.HandlerFunc(func(in *transport.Inbound) { n.tl.HandleInbound(in) }))
	n.tl = transaction.New(n.tp, transaction.Config{})
	n.tl.SetCore(core)
	var err error
	if n.addr, err = n.tp.Listen(network, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.tl.Close()
		n.tp.Close()
	})
	return n
}

// answering is a UAS core that answers OPTIONS with 200 and INVITE with
// 180 then 200, counting the requests its transaction layer lets through.
type answering struct {
	mu       sync.Mutex
	requests map[string]int // method -> count
}

func (a *answering) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	a.mu.Lock()
	if a.requests == nil {
		a.requests = map[string]int{}
	}
	a.requests[req.Method]++
	a.mu.Unlock()
	if req.Method == sip.MethodInvite {
		r := sip.NewResponse(req, sip.StatusRinging, "")
		r.SetToTag("b1")
		tx.Respond(r)
	}
	ok := sip.NewResponse(req, sip.StatusOK, "")
	ok.SetToTag("b1")
	tx.Respond(ok)
}

func (a *answering) HandleStray(*transport.Inbound) {}

func (a *answering) count(method string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[method]
}

// collector is a ClientHandler that hands the final response or error to
// a channel.
type collector struct {
	provisional atomic.Int32
	final       chan *sip.Response
	err         chan error
}

func newCollector() *collector {
	return &collector{final: make(chan *sip.Response, 4), err: make(chan error, 1)}
}

func (c *collector) HandleResponse(tx *transaction.ClientTx, r *sip.Response) {
	if r.StatusCode < 200 {
		c.provisional.Add(1)
		return
	}
	c.final <- r
}

func (c *collector) HandleError(tx *transaction.ClientTx, err error) { c.err <- err }

func (c *collector) wait(t *testing.T, within time.Duration) *sip.Response {
	t.Helper()
	select {
	case r := <-c.final:
		return r
	case err := <-c.err:
		t.Fatalf("transaction failed: %v", err)
	case <-time.After(within):
		t.Fatalf("no final response within %v", within)
	}
	return nil
}

var callSeq atomic.Int64

// newRequest builds a request as a UAC core would: the Via carries only the
// branch; the transport fills in sent-by.
func newRequest(t *testing.T, method string, to netip.AddrPort, transportName string) *sip.Request {
	t.Helper()
	u, err := sip.ParseURI("sip:bob@" + to.String())
	if err != nil {
		t.Fatal(err)
	}
	n := strconv.FormatInt(callSeq.Add(1), 10)
	r := sip.NewRequest(method, u)
	r.PushVia(sip.Via{Transport: transportName, Host: "placeholder.invalid", Params: sip.Params(";branch=" + transaction.NewBranch())})
	r.Add("Max-Forwards", "70")
	r.Add("From", "<sip:alice@example.com>;tag=a"+n)
	r.Add("To", "<sip:bob@example.com>")
	r.Add("Call-ID", "stack-"+n)
	r.Add("CSeq", "1 "+method)
	r.Add("Contact", "<sip:alice@127.0.0.1>")
	return r
}

func loopbackTLS(t *testing.T) *tls.Config {
	t.Helper()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := transport.GenerateSelfSigned([]string{"127.0.0.1"}, cert, key); err != nil {
		t.Fatal(err)
	}
	cfg, err := transport.LoadTLSConfig(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RootCAs = x509.NewCertPool()
	cfg.RootCAs.AppendCertsFromPEM(pem)
	return cfg
}

// TestStackRoundTrip sends OPTIONS and INVITE through the client transaction
// layer to a UAS over each transport and checks the answers, one server
// transaction per request.
func TestStackRoundTrip(t *testing.T) {
	for _, tc := range []struct{ network, name string }{
		{"udp", transport.UDP}, {"tcp", transport.TCP}, {"tls", transport.TLS},
		{"ws", transport.WS}, {"wss", transport.WSS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg *tls.Config
			if tc.network == "tls" || tc.network == "wss" {
				cfg = loopbackTLS(t)
			}
			uas := &answering{}
			server := newNode(t, tc.network, cfg, uas)
			client := newNode(t, tc.network, cfg, &answering{})
			dst := transport.Target{Transport: tc.name, Addr: server.addr}
			for _, method := range []string{sip.MethodOptions, sip.MethodInvite} {
				c := newCollector()
				req := newRequest(t, method, server.addr, tc.name)
				if _, err := client.tl.Request(req, dst, c); err != nil {
					t.Fatal(err)
				}
				resp := c.wait(t, 5*time.Second)
				if resp.StatusCode != 200 || resp.ToTag() != "b1" || resp.CallID() != req.CallID() {
					t.Fatalf("%s: got %d tag %q call %q", method, resp.StatusCode, resp.ToTag(), resp.CallID())
				}
				if v, _ := resp.TopVia(); v.Transport != tc.name {
					t.Errorf("%s: response Via transport %q", method, v.Transport)
				}
				if got := uas.count(method); got != 1 {
					t.Errorf("%s: UAS saw %d requests, want 1", method, got)
				}
			}
		})
	}
}

// lossyRelay forwards datagrams from clients to dst, dropping the first
// drop INVITEs. Responses do not pass through it: they follow the Via.
type lossyRelay struct {
	conn    *net.UDPConn
	dropped atomic.Int32
	passed  atomic.Int32
}

func newLossyRelay(t *testing.T, dst netip.AddrPort, drop int32) *lossyRelay {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	r := &lossyRelay{conn: c}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n > 6 && string(buf[:6]) == "INVITE" && r.dropped.Load() < drop {
				r.dropped.Add(1)
				continue
			}
			r.passed.Add(1)
			c.WriteToUDPAddrPort(buf[:n], dst)
		}
	}()
	return r
}

func (r *lossyRelay) addr() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// TestUDPInviteTimerA: the first two copies of an INVITE are lost; Timer A
// retransmits it (at T1 and 3*T1) and the call still completes, with one
// server transaction at the UAS.
func TestUDPInviteTimerA(t *testing.T) {
	uas := &answering{}
	server := newNode(t, "udp", nil, uas)
	client := newNode(t, "udp", nil, &answering{})
	relay := newLossyRelay(t, server.addr, 2)
	c := newCollector()
	start := time.Now()
	req := newRequest(t, sip.MethodInvite, server.addr, transport.UDP)
	if _, err := client.tl.Request(req, transport.Target{Transport: transport.UDP, Addr: relay.addr()}, c); err != nil {
		t.Fatal(err)
	}
	resp := c.wait(t, 5*time.Second)
	elapsed := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	if relay.dropped.Load() != 2 {
		t.Errorf("relay dropped %d INVITEs, want 2", relay.dropped.Load())
	}
	// The third copy leaves at 3*T1 = 1.5 s.
	if elapsed < 1400*time.Millisecond {
		t.Errorf("answered after %v: before the second retransmission was due", elapsed)
	}
	if n := uas.count(sip.MethodInvite); n != 1 {
		t.Errorf("UAS saw %d INVITEs, want 1", n)
	}
}
