package main

import (
	"bytes"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

const flowInvite = "INVITE sip:bob@127.0.0.1:5062 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: <sip:alice@127.0.0.1>;tag=a\r\n" +
	"To: <sip:bob@127.0.0.1>\r\n" +
	"Call-ID: c1\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: 4\r\n\r\nv=0\n"

func mustParse(t *testing.T, s string) sip.Message {
	t.Helper()
	m, err := sip.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFlowLine(t *testing.T) {
	inv := mustParse(t, flowInvite)
	trying := sip.NewResponse(inv.(*sip.Request), 100, "Trying")
	trying.Body = nil
	noReason := sip.NewResponse(inv.(*sip.Request), 486, "")
	rel180 := sip.NewResponse(inv.(*sip.Request), 180, "Ringing")
	rel180.Add("Require", "100rel")
	rel180.Add("RSeq", "7")
	prack := mustParse(t, strings.Replace(strings.Replace(flowInvite, "INVITE sip:", "PRACK sip:", 1), "CSeq: 1 INVITE", "CSeq: 2 PRACK\r\nRAck: 7 1 INVITE", 1)).(*sip.Request)
	prack.Body = nil
	prack.Del("Content-Type")
	noCSeq := mustParse(t, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n")
	peer := netip.MustParseAddrPort("127.0.0.1:5062")
	tests := []struct {
		name      string
		at        time.Duration
		sent      bool
		m         sip.Message
		peer      netip.AddrPort
		transport string
		want      string
	}{
		{"request sent", 0, true, inv, peer, "UDP",
			"   0.000  → INVITE sip:bob@127.0.0.1:5062           CSeq 1 INVITE    to 127.0.0.1:5062/udp  [application/sdp 4 B]"},
		{"response received", 4 * time.Millisecond, false, trying, peer, "UDP",
			"   0.004  ← 100 Trying                              CSeq 1 INVITE    from 127.0.0.1:5062/udp"},
		{"reason from the status table", 1234567 * time.Microsecond, false, noReason, peer, "TCP",
			"   1.235  ← 486 Busy Here                           CSeq 1 INVITE    from 127.0.0.1:5062/tcp"},
		{"reliable provisional", 0, false, rel180, peer, "UDP",
			"   0.000  ← 180 Ringing                             CSeq 1 INVITE    from 127.0.0.1:5062/udp  [RSeq 7]"},
		{"PRACK", 0, true, prack, peer, "UDP",
			"   0.000  → PRACK sip:bob@127.0.0.1:5062            CSeq 2 PRACK     to 127.0.0.1:5062/udp  [RAck 7 1 INVITE]"},
		{"no peer", 0, false, noCSeq, netip.AddrPort{}, "",
			"   0.000  ← 200 OK                                  CSeq ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flowLine(tt.at, tt.sent, tt.m, tt.peer, tt.transport); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestFlowLongRequestURI(t *testing.T) {
	long := strings.Replace(flowInvite, "sip:bob@127.0.0.1:5062", "sip:a-very-long-user-name-indeed@example.com:5062;transport=udp", 1)
	got := flowLine(0, true, mustParse(t, long), netip.MustParseAddrPort("127.0.0.1:5062"), "udp")
	if !strings.Contains(got, "transport=udp CSeq 1 INVITE") {
		t.Errorf("a request line wider than its column keeps one space before the CSeq: %q", got)
	}
}

// TestFlowConcurrent: lines written from several goroutines stay whole.
func TestFlowConcurrent(t *testing.T) {
	var buf bytes.Buffer
	f := newFlow(&buf)
	inv := mustParse(t, flowInvite)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if i%2 == 0 {
					f.message(true, inv, netip.MustParseAddrPort("127.0.0.1:5062"), "UDP")
				} else {
					f.notef("note %d", i)
				}
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "[application/sdp 4 B]") && !strings.Contains(l, "  · note ") {
			t.Fatalf("torn line %q", l)
		}
	}
}

func TestFlowNote(t *testing.T) {
	var buf bytes.Buffer
	f := newFlow(&buf)
	base := f.start
	f.now = func() time.Time { return base.Add(2500 * time.Millisecond) }
	f.notef("call established, %d s", 3)
	if got, want := buf.String(), "   2.500  · call established, 3 s\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
