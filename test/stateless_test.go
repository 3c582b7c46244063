package test

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// TestSIPpStatelessCalls: TestSIPpProxyCalls through `sipd serve --mode
// stateless --auth off`, at scale: a SIPp UAS registers user uas, a SIPp
// UAC makes 1,000 calls to it at 100 calls per second. sipd forwards the
// INVITE with its Record-Route (the UAS checks for it) to the contact,
// the 180 and 200 back by their Via, the ACK and BYE by the route; it
// keeps no state, and SIPp's retransmissions, if any, go through again.
// Every call must succeed on both sides.
func TestSIPpStatelessCalls(t *testing.T) {
	srv := startSipd(t, t.TempDir(), "--domain", "127.0.0.1", "--mode", "stateless", "--auth", "off")
	callFlow{sipd: srv.addr, via: srv.addr.String(), uac: "proxy_uac.xml", calls: 1000, rate: 100, timeout: "90s"}.run(t)
}

// udpPeer is a bare UDP socket that speaks SIP by hand, to see exactly
// what a stateless proxy sends.
type udpPeer struct {
	t    *testing.T
	conn *net.UDPConn
	addr netip.AddrPort
}

func newUDPPeer(t *testing.T) *udpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpPeer{t: t, conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort()}
}

func (p *udpPeer) send(to netip.AddrPort, msg string) {
	p.t.Helper()
	msg = strings.ReplaceAll(strings.TrimLeft(msg, "\n"), "\n", "\r\n")
	if _, err := p.conn.WriteToUDPAddrPort([]byte(msg), to); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next message, or fails the test after 5 s.
func (p *udpPeer) recv() sip.Message {
	p.t.Helper()
	buf := make([]byte, 65535)
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		p.t.Fatalf("%s: nothing received: %v", p.addr, err)
	}
	m, err := sip.Parse(buf[:n])
	if err != nil {
		p.t.Fatalf("%s: unparseable: %v\n%s", p.addr, err, buf[:n])
	}
	return m
}

// TestStatelessRetransmission: an INVITE the caller retransmits is
// forwarded again, with the same branch (RFC 3261 §16.11), so that the
// callee's server transaction absorbs it; the callee's response comes back
// to the caller with sipd's Via removed; a CANCEL gets the INVITE's branch.
func TestStatelessRetransmission(t *testing.T) {
	srv := startSipd(t, t.TempDir(), "--domain", "127.0.0.1", "--mode", "stateless", "--auth", "off")
	caller, callee := newUDPPeer(t), newUDPPeer(t)

	callee.send(srv.addr, fmt.Sprintf(`
REGISTER sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP %[1]s;branch=z9hG4bK-reg-1
From: <sip:bob@127.0.0.1>;tag=r1
To: <sip:bob@127.0.0.1>
Call-ID: reg-1@test
CSeq: 1 REGISTER
Contact: <sip:bob@%[1]s>
Max-Forwards: 70
Content-Length: 0

`, callee.addr))
	if r, ok := callee.recv().(*sip.Response); !ok || r.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER: %v", r)
	}

	invite := fmt.Sprintf(`
%%s sip:bob@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP %[1]s;branch=z9hG4bK-inv-1
From: <sip:alice@127.0.0.1>;tag=a1
To: <sip:bob@127.0.0.1>
Call-ID: call-1@test
CSeq: 1 %%s
Contact: <sip:alice@%[1]s>
Max-Forwards: 70
Content-Length: 0

`, caller.addr)
	var branches []string
	for i, method := range []string{sip.MethodInvite, sip.MethodInvite, sip.MethodCancel} {
		caller.send(srv.addr, fmt.Sprintf(invite, method, method))
		r, ok := callee.recv().(*sip.Request)
		if !ok || r.Method != method {
			t.Fatalf("message %d: got %v, want %s", i, r, method)
		}
		vias, err := r.Vias()
		if err != nil || len(vias) != 2 {
			t.Fatalf("%s Vias %v %v", method, vias, err)
		}
		branches = append(branches, vias[0].Branch())
		if i == 0 {
			// The callee answers; the 180 reaches the caller with only
			// the caller's Via.
			resp := sip.NewResponse(r, sip.StatusRinging, "")
			resp.SetToTag("b1")
			callee.send(srv.addr, string(bytes.ReplaceAll(resp.Bytes(), []byte("\r\n"), []byte("\n"))))
			got, ok := caller.recv().(*sip.Response)
			if !ok || got.StatusCode != sip.StatusRinging {
				t.Fatalf("caller got %v, want the 180", got)
			}
			if vs, _ := got.Vias(); len(vs) != 1 || vs[0].Branch() != "z9hG4bK-inv-1" {
				t.Errorf("180 Vias %v, want the caller's alone", vs)
			}
		}
	}
	if branches[0] == "" || branches[1] != branches[0] || branches[2] != branches[0] {
		t.Errorf("branches of INVITE, its retransmission and CANCEL: %q, want one", branches)
	}
}
