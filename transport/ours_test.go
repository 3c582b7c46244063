package transport

import (
	"net/netip"
	"testing"

	"github.com/sipd/sipd/sip"
)

// TestOurs: which response sent-by values are ours (RFC 3261 §18.1.2).
// The listeners here are descriptions only; no socket is opened.
func TestOurs(t *testing.T) {
	l := New(Config{Hosts: []string{"SIP.example.com", "192.0.2.7"}}, nil)
	defer l.Close()
	ls := l.newListeners(
		[]*udpSocket{
			{addr: netip.MustParseAddrPort("127.0.0.1:5080")},
			{addr: netip.MustParseAddrPort("0.0.0.0:5060")},
		},
		[]*streamListener{
			{transport: TLS, addr: netip.MustParseAddrPort("[::1]:5061")},
		})
	tests := []struct {
		via  string
		want bool
	}{
		{"SIP/2.0/UDP 127.0.0.1:5080", true},
		{"SIP/2.0/UDP 127.0.0.1:5081", false},
		{"SIP/2.0/UDP 127.0.0.1", true}, // 5060 on 0.0.0.0, and 127.0.0.1 is local
		{"SIP/2.0/TCP 127.0.0.1:5060", true},
		{"SIP/2.0/UDP 192.0.2.200:5060", false}, // not a local address
		{"SIP/2.0/TLS [::1]", true},             // default 5061
		{"SIP/2.0/TLS [::1]:5061", true},
		{"SIP/2.0/TLS [::1]:5062", false},
		{"SIP/2.0/UDP sip.example.COM:5080", true},
		{"SIP/2.0/UDP sip.example.com:5999", false},
		{"SIP/2.0/UDP other.example.com:5080", false},
		{"SIP/2.0/UDP 192.0.2.7:5080", true},
		{"SIP/2.0/UDP 192.0.2.8:5080", false},
	}
	for _, tt := range tests {
		v, err := sip.ParseVia(tt.via + ";branch=z9hG4bK1")
		if err != nil {
			t.Fatal(err)
		}
		if got := ls.ours(&v); got != tt.want {
			t.Errorf("ours(%s) = %v, want %v", tt.via, got, tt.want)
		}
	}
}

// TestUDPTooLarge: a datagram over MaxMessageSize is dropped unread.
func TestUDPTooLarge(t *testing.T) {
	rec := newRecorder()
	b := newLayer(t, Config{MaxMessageSize: 600}, rec)
	bAddr := listen(t, b, "udp", "127.0.0.1:0")
	c := newUDPClient(t, "127.0.0.1")
	via := "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKbig"
	big := rawRequest(sip.MethodOptions, "big", via, "X-Pad: "+pad(600)+"\r\n")
	c.send(bAddr, big)
	c.send(bAddr, rawRequest(sip.MethodOptions, "small", via, ""))
	if req, _ := rec.nextRequest(t); req.CallID() != "small" {
		t.Errorf("got %s", req.CallID())
	}
}

func pad(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'p'
	}
	return string(b)
}

// TestTLSServerName: a TLS connection is verified against Target.ServerName
// (or the IP), and reused only for the name it was verified as.
func TestTLSServerName(t *testing.T) {
	cfg := Config{TLSConfig: tlsConfig(t)}
	rec := newRecorder()
	a, b := newLayer(t, cfg, nil), newLayer(t, cfg, rec)
	listen(t, a, "tls", "127.0.0.1:0")
	bAddr := listen(t, b, "tls", "127.0.0.1:0")
	for i, tt := range []struct {
		name  string
		ok    bool
		conns int
	}{
		{"", true, 1},          // the IP, an IP SAN
		{"localhost", true, 2}, // a DNS SAN, a connection of its own
		{"localhost", true, 2}, // reused
		{"wrong.invalid", false, 2},
	} {
		req := newRequest(t, sip.MethodOptions, "tls-name", "SIP/2.0/TLS x;branch=z9hG4bKn"+string(rune('a'+i)), nil)
		err := a.SendRequest(req, Target{Transport: TLS, Addr: bAddr, ServerName: tt.name})
		if (err == nil) != tt.ok {
			t.Fatalf("ServerName %q: %v", tt.name, err)
		}
		if tt.ok {
			rec.next(t)
		}
		if n := a.connCount(); n != tt.conns {
			t.Errorf("after ServerName %q: %d connections, want %d", tt.name, n, tt.conns)
		}
	}
}
