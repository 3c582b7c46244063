package transport

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// waitFor bounds every wait in these tests.
const waitFor = 2 * time.Second

// recorder is a Handler that queues what it receives.
type recorder struct {
	ch chan *Inbound
}

func newRecorder() *recorder { return &recorder{ch: make(chan *Inbound, 64)} }

func (r *recorder) HandleInbound(in *Inbound) { r.ch <- in }

// next returns the next inbound message, failing the test after waitFor.
func (r *recorder) next(t *testing.T) *Inbound {
	t.Helper()
	select {
	case in := <-r.ch:
		return in
	case <-time.After(waitFor):
		t.Fatal("no message arrived")
		return nil
	}
}

func (r *recorder) nextRequest(t *testing.T) (*sip.Request, *Inbound) {
	t.Helper()
	in := r.next(t)
	req, ok := in.Msg.(*sip.Request)
	if !ok {
		t.Fatalf("got %T, want a request:\n%s", in.Msg, in.Msg)
	}
	return req, in
}

func (r *recorder) nextResponse(t *testing.T) (*sip.Response, *Inbound) {
	t.Helper()
	in := r.next(t)
	resp, ok := in.Msg.(*sip.Response)
	if !ok {
		t.Fatalf("got %T, want a response:\n%s", in.Msg, in.Msg)
	}
	return resp, in
}

// newLayer returns a Layer closed when the test ends.
func newLayer(t *testing.T, cfg Config, h Handler) *Layer {
	t.Helper()
	l := New(cfg, h)
	t.Cleanup(func() { l.Close() })
	return l
}

func listen(t *testing.T, l *Layer, network, addr string) netip.AddrPort {
	t.Helper()
	ap, err := l.Listen(network, addr)
	if err != nil {
		t.Fatalf("Listen(%s, %s): %v", network, addr, err)
	}
	return ap
}

// loopback returns "127.0.0.1:0" or "[::1]:0".
func loopback(ip string) string { return net.JoinHostPort(ip, "0") }

// requireIPv6 skips the test on a machine without ::1.
func requireIPv6(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback (::1) on this machine: %v", err)
	}
	ln.Close()
}

// tlsFiles writes a self-signed certificate for the loopback addresses
// and returns a config that serves it and trusts it.
func tlsConfig(t *testing.T) *tls.Config {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := GenerateSelfSigned([]string{"localhost", "127.0.0.1", "::1"}, certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadTLSConfig(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		t.Fatal("cannot add the certificate to the pool")
	}
	return cfg
}

// newRequest builds a request as a transaction layer would hand it down:
// with a Via carrying the branch, and sent-by left for the transport.
func newRequest(t testing.TB, method, callID, via string, body []byte) *sip.Request {
	t.Helper()
	u, err := sip.ParseURI("sip:bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	r := sip.NewRequest(method, u)
	r.Add("Via", via)
	r.Add("Max-Forwards", "70")
	r.Add("From", "<sip:alice@example.com>;tag=a1")
	r.Add("To", "<sip:bob@example.com>")
	r.Add("Call-ID", callID)
	r.Add("CSeq", "1 "+method)
	if body != nil {
		r.Add("Content-Type", "text/plain")
		r.Body = body
	}
	return r
}

// rawRequest is a request in wire form with the given Via and Call-ID;
// extra header lines (each ending in CRLF) go before Content-Length.
func rawRequest(method, callID, via, extra string) string {
	return fmt.Sprintf("%s sip:bob@example.com SIP/2.0\r\n"+
		"Via: %s\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:alice@example.com>;tag=a1\r\n"+
		"To: <sip:bob@example.com>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 %s\r\n"+
		"%sContent-Length: 0\r\n\r\n", method, via, callID, method, extra)
}

// rawResponse is a 200 response in wire form with the given top Via.
func rawResponse(callID, via string) string {
	return "SIP/2.0 200 OK\r\n" +
		"Via: " + via + "\r\n" +
		"From: <sip:alice@example.com>;tag=a1\r\n" +
		"To: <sip:bob@example.com>;tag=b1\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// udpClient is a plain UDP socket on loopback that a test drives by hand.
type udpClient struct {
	t  *testing.T
	pc *net.UDPConn
}

func newUDPClient(t *testing.T, ip string) *udpClient {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(loopback(ip))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return &udpClient{t: t, pc: pc}
}

func (c *udpClient) addr() netip.AddrPort { return c.pc.LocalAddr().(*net.UDPAddr).AddrPort() }

func (c *udpClient) send(to netip.AddrPort, msg string) {
	c.t.Helper()
	if _, err := c.pc.WriteToUDPAddrPort([]byte(msg), to); err != nil {
		c.t.Fatal(err)
	}
}

// recv returns the next datagram and its sender, failing after waitFor.
func (c *udpClient) recv() (string, netip.AddrPort) {
	c.t.Helper()
	buf := make([]byte, 65536)
	c.pc.SetReadDeadline(time.Now().Add(waitFor))
	n, from, err := c.pc.ReadFromUDPAddrPort(buf)
	if err != nil {
		c.t.Fatalf("no datagram at %v: %v", c.addr(), err)
	}
	return string(buf[:n]), from
}

// connCount is the number of stream connections in l's table.
func (l *Layer) connCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nconns
}

// onlyConn returns l's single stream connection.
func (l *Layer) onlyConn(t *testing.T) *conn {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) != 1 {
		t.Fatalf("%d connections, want 1", len(l.conns))
	}
	for _, c := range l.conns {
		return c
	}
	return nil
}

func topVia(t *testing.T, m sip.Message) sip.Via {
	t.Helper()
	v, err := m.Headers().TopVia()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func param(v sip.Via, name string) string {
	s, ok := v.Params.Get(name)
	if !ok {
		return "<absent>"
	}
	return s
}

func statusLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\r\n")
	return line
}
