package ua

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// rawPeer sends hand-written requests over UDP and reads the answers.
type rawPeer struct {
	conn *net.UDPConn
	to   netip.AddrPort
}

func newRawPeer(t *testing.T, to netip.AddrPort) *rawPeer {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPeer{conn: c, to: to}
}

func (p *rawPeer) addr() string { return p.conn.LocalAddr().String() }

// send sends msg and returns the status of the first final response (0
// when none comes within a second).
func (p *rawPeer) send(t *testing.T, msg string) int {
	t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort([]byte(msg), p.to); err != nil {
		t.Fatal(err)
	}
	var callID, cseq string
	if req, err := sip.ParseRequest([]byte(msg)); err == nil {
		callID, cseq = req.CallID(), req.Get("CSeq")
	}
	buf := make([]byte, 65535)
	deadline := time.Now().Add(time.Second)
	for {
		p.conn.SetReadDeadline(deadline)
		n, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return 0
		}
		m, err := sip.Parse(buf[:n])
		if err != nil {
			continue
		}
		if r, ok := m.(*sip.Response); ok && r.StatusCode >= 200 && r.CallID() == callID && r.Get("CSeq") == cseq {
			return r.StatusCode
		}
	}
}

// request writes a request with the given method, tags, CSeq and extra
// lines.
func (p *rawPeer) request(method, ruri, callID, fromTag, toTag string, seq int, extra string, body string) string {
	to := "<" + ruri + ">"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	return fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%d;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:raw@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n%sContent-Length: %d\r\n\r\n%s",
		method, ruri, p.addr(), rand.N(uint64(1)<<62), p.addr(), fromTag, to, callID, seq, method, extra, len(body), body)
}

// TestMalformedRequests: requests that break a rule get the response the
// RFC names, in and out of a dialog, and never a panic.
func TestMalformedRequests(t *testing.T) {
	calls := make(chan *Call, 1)
	bob, _ := loopUA(t, Config{User: "bob", OnInvite: answerer(calls)})
	p := newRawPeer(t, bob.Addr())
	ruri := bob.Contact().String()
	contact := "Contact: <sip:raw@" + p.addr() + ">\r\n"
	sdpOffer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	sdpHdr := "Content-Type: application/sdp\r\n"

	// A call from the raw peer, so there is a dialog to abuse.
	inv := p.request("INVITE", ruri, "robust-1", "r1", "", 10, contact+sdpHdr, sdpOffer)
	if code := p.send(t, inv); code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	var bobTag string
	for _, bc := range bob.Calls() {
		bobTag = bc.ID().LocalTag
	}
	if bobTag == "" {
		t.Fatal("no dialog at bob")
	}
	ack := p.request("ACK", ruri, "robust-1", "r1", bobTag, 10, "", "")
	p.conn.WriteToUDPAddrPort([]byte(ack), bob.Addr())
	if recvOrNil(calls) == nil {
		t.Fatal("the ACK did not confirm the call")
	}

	for _, tc := range []struct {
		name string
		msg  string
		want int
	}{
		{"unknown dialog", p.request("BYE", ruri, "robust-1", "r1", "other", 11, "", ""), 481},
		{"unknown call", p.request("INFO", ruri, "nope", "r1", bobTag, 11, "", ""), 481},
		{"in-dialog method outside a dialog", p.request("BYE", ruri, "robust-9", "r9", "", 1, "", ""), 481},
		{"unknown option", p.request("OPTIONS", ruri, "robust-2", "r2", "", 1, "Require: frobnicate\r\n", ""), 420},
		{"INVITE without Contact", p.request("INVITE", ruri, "robust-3", "r3", "", 1, "", ""), 400},
		{"bad SDP", p.request("INVITE", ruri, "robust-4", "r4", "", 1, contact+sdpHdr, "v=0\r\nthis is not sdp\r\n"), 488},
		{"Session-Expires too small", p.request("INVITE", ruri, "robust-5", "r5", "", 1, contact+"Session-Expires: 30\r\n", ""), 422},
		{"Replaces without match", p.request("INVITE", ruri, "robust-6", "r6", "", 1, contact+"Replaces: x@y;to-tag=1;from-tag=2\r\n", ""), 481},
		{"two Replaces", p.request("INVITE", ruri, "robust-7", "r7", "", 1, contact+"Replaces: x@y;to-tag=1;from-tag=2\r\nReplaces: x@y;to-tag=1;from-tag=3\r\n", ""), 400},
		{"REFER without Refer-To", p.request("REFER", ruri, "robust-1", "r1", bobTag, 12, contact, ""), 400},
		{"NOTIFY of an unknown event", p.request("NOTIFY", ruri, "robust-1", "r1", bobTag, 13, contact+"Event: presence\r\nSubscription-State: active\r\n", ""), 489},
		{"PRACK without RAck", p.request("PRACK", ruri, "robust-1", "r1", bobTag, 14, "", ""), 400},
		{"PRACK matching nothing", p.request("PRACK", ruri, "robust-1", "r1", bobTag, 15, "RAck: 1 10 INVITE\r\n", ""), 481},
		{"re-INVITE without Contact", p.request("INVITE", ruri, "robust-1", "r1", bobTag, 16, "", ""), 400},
		{"CSeq out of order", p.request("INFO", ruri, "robust-1", "r1", bobTag, 5, "", ""), 500},
		{"unknown method", p.request("FROB", ruri, "robust-8", "r8", "", 1, "", ""), 405},
		{"CANCEL matching nothing", p.request("CANCEL", ruri, "robust-10", "r10", "", 1, "", ""), 481},
	} {
		if got := p.send(t, tc.msg); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}

	// Random damage to valid requests: whatever comes back, the UA goes on
	// answering.
	r := rand.New(rand.NewPCG(1, 2))
	base := []string{inv, p.request("INFO", ruri, "robust-1", "r1", bobTag, 100, "", ""),
		p.request("REFER", ruri, "robust-1", "r1", bobTag, 101, contact+"Refer-To: <sip:x@127.0.0.1:9>\r\n", "")}
	for i := 0; i < 300; i++ {
		b := []byte(base[i%len(base)])
		for range 1 + r.IntN(4) {
			b[r.IntN(len(b))] = byte(r.IntN(256))
		}
		p.conn.WriteToUDPAddrPort(b, bob.Addr())
	}
	if code := p.send(t, p.request("OPTIONS", ruri, "robust-end", "re", "", 1, "", "")); code != 200 {
		t.Fatalf("OPTIONS after the damage: %d", code)
	}
}

func recvOrNil[T any](ch <-chan T) T {
	select {
	case v := <-ch:
		return v
	case <-time.After(2 * time.Second):
	}
	var zero T
	return zero
}
