package dialog

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/sipd/sipd/sip"
)

// msg turns a message written with LF line ends into wire form.
func msg(s string) []byte {
	s = strings.TrimLeft(s, "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

func parseReq(t *testing.T, s string) *sip.Request {
	t.Helper()
	r, err := sip.ParseRequest(msg(s))
	if err != nil {
		t.Fatalf("parse request: %v", err)
	}
	return r
}

func parseResp(t *testing.T, s string) *sip.Response {
	t.Helper()
	r, err := sip.ParseResponse(msg(s))
	if err != nil {
		t.Fatalf("parse response: %v", err)
	}
	return r
}

func mustURI(t *testing.T, s string) sip.URI {
	t.Helper()
	u, err := sip.ParseURI(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// reparse serializes a built request, parses it back and validates it, as
// the peer would.
func reparse(t *testing.T, r *sip.Request) *sip.Request {
	t.Helper()
	p, err := sip.ParseRequest(r.Bytes())
	if err != nil {
		t.Fatalf("built request does not parse: %v\n%s", err, r)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("built request does not validate: %v\n%s", err, r)
	}
	return p
}

func routeValues(r *sip.Request) []string {
	var out []string
	for v := range r.Values("Route") {
		out = append(out, v)
	}
	return out
}

func addrStrings(as []sip.Address) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkTarget compares the Request-URI and Route values of a built request.
func checkTarget(r *sip.Request, ruri string, routes []string) error {
	if got := r.URI.String(); got != ruri {
		return fmt.Errorf("Request-URI = %s, want %s", got, ruri)
	}
	if got := routeValues(r); !equalStrings(got, routes) {
		return fmt.Errorf("Route = %q, want %q", got, routes)
	}
	return nil
}

// The RFC 3261 §24.2 session setup, with both proxies record-routing (the
// example as printed has no Record-Route): F1 as Alice sent it, F5 as Bob
// received it, F11 as Alice received it.
const (
	f1Invite = `
INVITE sip:bob@biloxi.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
Max-Forwards: 70
To: Bob <sip:bob@biloxi.com>
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.com>
Content-Length: 0

`
	f5Invite = `
INVITE sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1
Max-Forwards: 68
Record-Route: <sip:server10.biloxi.com;lr>
Record-Route: <sip:bigbox3.site3.atlanta.com;lr>
To: Bob <sip:bob@biloxi.com>
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.com>
Content-Length: 0

`
	f8Ringing = `
SIP/2.0 180 Ringing
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
Contact: <sip:bob@192.0.2.4>
CSeq: 314159 INVITE
Content-Length: 0

`
	f11OK = `
SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1
Record-Route: <sip:server10.biloxi.com;lr>
Record-Route: <sip:bigbox3.site3.atlanta.com;lr>
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0

`
)

var (
	aliceID = ID{CallID: "a84b4c76e66710", LocalTag: "1928301774", RemoteTag: "a6c85cf"}
	bobID   = ID{CallID: "a84b4c76e66710", LocalTag: "a6c85cf", RemoteTag: "1928301774"}
)

// session returns Alice's (UAC) and Bob's (UAS) dialogs of §24.2.
func session(t *testing.T) (alice, bob *Dialog) {
	t.Helper()
	alice, err := NewUAC(parseReq(t, f1Invite), parseResp(t, f11OK))
	if err != nil {
		t.Fatalf("NewUAC: %v", err)
	}
	bob, err = NewUAS(parseReq(t, f5Invite), "a6c85cf", mustURI(t, "sip:bob@192.0.2.4"))
	if err != nil {
		t.Fatalf("NewUAS: %v", err)
	}
	return alice, bob
}

func TestSessionSetup(t *testing.T) {
	alice, bob := session(t)

	// §12.1.2: the UAC's route set is Record-Route reversed.
	if got, want := addrStrings(alice.RouteSet()), []string{"<sip:bigbox3.site3.atlanta.com;lr>", "<sip:server10.biloxi.com;lr>"}; !equalStrings(got, want) {
		t.Errorf("UAC route set = %q, want %q", got, want)
	}
	// §12.1.1: the UAS's route set is Record-Route in order.
	if got, want := addrStrings(bob.RouteSet()), []string{"<sip:server10.biloxi.com;lr>", "<sip:bigbox3.site3.atlanta.com;lr>"}; !equalStrings(got, want) {
		t.Errorf("UAS route set = %q, want %q", got, want)
	}

	checks := []struct {
		name string
		got  any
		want any
	}{
		{"alice ID", alice.ID(), aliceID},
		{"bob ID", bob.ID(), bobID},
		{"alice state", alice.State(), Confirmed},
		{"bob state", bob.State(), Early},
		{"alice remote target", alice.RemoteTarget().String(), "sip:bob@192.0.2.4"},
		{"bob remote target", bob.RemoteTarget().String(), "sip:alice@pc33.atlanta.com"},
		{"alice local URI", alice.LocalURI().String(), "Alice <sip:alice@atlanta.com>;tag=1928301774"},
		{"alice remote URI", alice.RemoteURI().String(), "Bob <sip:bob@biloxi.com>;tag=a6c85cf"},
		{"bob local URI", bob.LocalURI().String(), "Bob <sip:bob@biloxi.com>;tag=a6c85cf"},
		{"bob remote URI", bob.RemoteURI().String(), "Alice <sip:alice@atlanta.com>;tag=1928301774"},
		{"alice local contact", alice.LocalContact().String(), "sip:alice@pc33.atlanta.com"},
		{"bob local contact", bob.LocalContact().String(), "sip:bob@192.0.2.4"},
		{"alice secure", alice.Secure(), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if seq, ok := alice.LocalSeq(); seq != 314159 || !ok {
		t.Errorf("alice local seq = %d %v, want 314159 true", seq, ok)
	}
	if _, ok := alice.RemoteSeq(); ok {
		t.Error("alice remote seq is set, want empty")
	}
	if seq, ok := bob.RemoteSeq(); seq != 314159 || !ok {
		t.Errorf("bob remote seq = %d %v, want 314159 true", seq, ok)
	}
	if _, ok := bob.LocalSeq(); ok {
		t.Error("bob local seq is set, want empty")
	}
}

// TestAckFor2xx: F12, built by the UA core (§13.2.2.4), with the route set.
func TestAckFor2xx(t *testing.T) {
	alice, _ := session(t)
	inv := parseReq(t, f1Invite)
	inv.Add("Proxy-Authorization", `Digest username="alice", realm="atlanta.com", nonce="n", uri="sip:bob@biloxi.com", response="0123"`)
	ack := reparse(t, alice.NewAck(inv))
	if ack.Method != sip.MethodAck {
		t.Errorf("method = %s", ack.Method)
	}
	if err := checkTarget(ack, "sip:bob@192.0.2.4", []string{"<sip:bigbox3.site3.atlanta.com;lr>", "<sip:server10.biloxi.com;lr>"}); err != nil {
		t.Error(err)
	}
	cs, _ := ack.CSeq()
	if cs != (sip.CSeq{Seq: 314159, Method: sip.MethodAck}) {
		t.Errorf("CSeq = %v, want 314159 ACK", cs)
	}
	v, _ := ack.TopVia()
	iv, _ := inv.TopVia()
	if !v.HasRFC3261Branch() || v.Branch() == iv.Branch() {
		t.Errorf("ACK branch %q: want a new RFC 3261 branch, not the INVITE's %q", v.Branch(), iv.Branch())
	}
	if v.Host != PlaceholderHost {
		t.Errorf("Via host = %q", v.Host)
	}
	for name, want := range map[string]string{
		"From":         "Alice <sip:alice@atlanta.com>;tag=1928301774",
		"To":           "Bob <sip:bob@biloxi.com>;tag=a6c85cf",
		"Call-ID":      "a84b4c76e66710",
		"Max-Forwards": "70",
	} {
		if got := ack.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if ack.Get("Proxy-Authorization") == "" {
		t.Error("ACK lacks the INVITE's credentials")
	}
	if ack.Has("Contact") {
		t.Error("ACK has a Contact")
	}
	if seq, _ := alice.LocalSeq(); seq != 314159 {
		t.Errorf("NewAck moved the local seq to %d", seq)
	}
}

// TestBye: each side's BYE (F13 and its mirror), the peer's view of it and
// of the response.
func TestBye(t *testing.T) {
	tests := []struct {
		name              string
		sender, receiver  func(a, b *Dialog) *Dialog
		ruri, from, to    string
		routes            []string
		senderID, recvID  ID
		randomInitialCSeq bool
	}{
		{
			name:     "alice hangs up",
			sender:   func(a, _ *Dialog) *Dialog { return a },
			receiver: func(_, b *Dialog) *Dialog { return b },
			ruri:     "sip:bob@192.0.2.4",
			routes:   []string{"<sip:bigbox3.site3.atlanta.com;lr>", "<sip:server10.biloxi.com;lr>"},
			from:     "Alice <sip:alice@atlanta.com>;tag=1928301774",
			to:       "Bob <sip:bob@biloxi.com>;tag=a6c85cf",
			senderID: aliceID, recvID: bobID,
		},
		{
			name:     "bob hangs up (F13)",
			sender:   func(_, b *Dialog) *Dialog { return b },
			receiver: func(a, _ *Dialog) *Dialog { return a },
			ruri:     "sip:alice@pc33.atlanta.com",
			routes:   []string{"<sip:server10.biloxi.com;lr>", "<sip:bigbox3.site3.atlanta.com;lr>"},
			from:     "Bob <sip:bob@biloxi.com>;tag=a6c85cf",
			to:       "Alice <sip:alice@atlanta.com>;tag=1928301774",
			senderID: bobID, recvID: aliceID, randomInitialCSeq: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := session(t)
			b.Confirm()
			s, r := tt.sender(a, b), tt.receiver(a, b)
			before, _ := s.LocalSeq()
			bye, err := s.NewRequest(sip.MethodBye)
			if err != nil {
				t.Fatal(err)
			}
			bye = reparse(t, bye)
			if err := checkTarget(bye, tt.ruri, tt.routes); err != nil {
				t.Error(err)
			}
			if got := bye.Get("From"); got != tt.from {
				t.Errorf("From = %q, want %q", got, tt.from)
			}
			if got := bye.Get("To"); got != tt.to {
				t.Errorf("To = %q, want %q", got, tt.to)
			}
			if bye.Has("Contact") {
				t.Error("BYE has a Contact")
			}
			cs, _ := bye.CSeq()
			if tt.randomInitialCSeq {
				if cs.Seq == 0 || cs.Seq >= 1<<31 {
					t.Errorf("first CSeq of a UAS = %d, want in [1, 2**31)", cs.Seq)
				}
			} else if cs.Seq != before+1 {
				t.Errorf("CSeq = %d, want %d", cs.Seq, before+1)
			}
			if cs.Method != sip.MethodBye {
				t.Errorf("CSeq method = %s", cs.Method)
			}
			if seq, _ := s.LocalSeq(); seq != cs.Seq {
				t.Errorf("local seq = %d after sending %d", seq, cs.Seq)
			}

			// The peer finds its dialog from the request ...
			if id, ok := Match(bye); !ok || id != tt.recvID {
				t.Errorf("Match(BYE) = %v %v, want %v", id, ok, tt.recvID)
			}
			if err := r.ReceiveRequest(bye); err != nil {
				t.Fatalf("ReceiveRequest(BYE): %v", err)
			}
			if seq, ok := r.RemoteSeq(); seq != cs.Seq || !ok {
				t.Errorf("receiver remote seq = %d %v, want %d", seq, ok, cs.Seq)
			}
			if r.State() != Terminated {
				t.Errorf("receiver state after BYE = %v", r.State())
			}
			// ... and the sender from the response (F14).
			ok200 := sip.NewResponse(bye, sip.StatusOK, "")
			if id, ok := Match(ok200); !ok || id != tt.senderID {
				t.Errorf("Match(200) = %v %v, want %v", id, ok, tt.senderID)
			}
			if err := s.ReceiveResponse(ok200); err != nil {
				t.Fatal(err)
			}
			if s.State() != Terminated {
				t.Errorf("sender state after 200 to BYE = %v", s.State())
			}
			if _, err := s.NewRequest(sip.MethodInfo); !errors.Is(err, ErrTerminated) {
				t.Errorf("NewRequest on terminated dialog: %v", err)
			}
		})
	}
}

// TestRouting: §12.2.1.1 for loose and strict routers, from both ends of
// the §16.12.1.2 dialog (U1 -> P1 -> P2 -> P3 (strict) -> P4 -> U2).
func TestRouting(t *testing.T) {
	const uasInvite = `
INVITE sip:callee@u2.domain.com SIP/2.0
Via: SIP/2.0/UDP p4.domain.com;branch=z9hG4bKp4
Max-Forwards: 66
%sTo: <sip:callee@domain.com>
From: <sip:caller@example.com>;tag=u1
Call-ID: strict-1
CSeq: 1 INVITE
Contact: sip:caller@u1.example.com
Content-Length: 0

`
	const uacInvite = `
INVITE sip:callee@domain.com SIP/2.0
Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bKu1
Max-Forwards: 70
To: <sip:callee@domain.com>
From: <sip:caller@example.com>;tag=u1
Call-ID: strict-1
CSeq: 1 INVITE
Contact: <sip:caller@u1.example.com>
Content-Length: 0

`
	const uacOK = `
SIP/2.0 200 OK
Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bKu1
%sTo: <sip:callee@domain.com>;tag=u2
From: <sip:caller@example.com>;tag=u1
Call-ID: strict-1
CSeq: 1 INVITE
Contact: <sip:callee@u2.domain.com>
Content-Length: 0

`
	rr := func(vs ...string) string {
		var b strings.Builder
		for _, v := range vs {
			b.WriteString("Record-Route: " + v + "\n")
		}
		return b.String()
	}
	tests := []struct {
		name   string
		uac    bool
		rr     string
		ruri   string
		routes []string
	}{
		{
			name: "no route set",
			ruri: "sip:caller@u1.example.com",
		},
		{
			name:   "UAS, loose first hop, strict router inside (§16.12.1.2)",
			rr:     rr("<sip:p4.domain.com;lr>", "<sip:p3.middle.com>", "<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"),
			ruri:   "sip:caller@u1.example.com",
			routes: []string{"<sip:p4.domain.com;lr>", "<sip:p3.middle.com>", "<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"},
		},
		{
			name:   "UAC, same dialog, route set reversed",
			uac:    true,
			rr:     rr("<sip:p4.domain.com;lr>", "<sip:p3.middle.com>", "<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"),
			ruri:   "sip:callee@u2.domain.com",
			routes: []string{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>", "<sip:p3.middle.com>", "<sip:p4.domain.com;lr>"},
		},
		{
			name:   "UAS, strict first hop (P4 reformatted, §16.12.1.2)",
			rr:     rr("<sip:p3.middle.com>", "<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"),
			ruri:   "sip:p3.middle.com",
			routes: []string{"<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>", "<sip:caller@u1.example.com>"},
		},
		{
			name:   "UAS, single strict router",
			rr:     rr("<sip:p1.example.com>"),
			ruri:   "sip:p1.example.com",
			routes: []string{"<sip:caller@u1.example.com>"},
		},
		{
			name:   "strict router URI loses what a Request-URI may not carry",
			rr:     rr("<sip:p1.example.com;method=INVITE;maddr=192.0.2.9;transport=tcp>"),
			ruri:   "sip:p1.example.com;maddr=192.0.2.9;transport=tcp",
			routes: []string{"<sip:caller@u1.example.com>"},
		},
		{
			name:   "comma-separated Record-Route, header params kept",
			rr:     "Record-Route: <sip:p4.domain.com;lr>;foo=bar, <sip:p1.example.com;lr>\n",
			ruri:   "sip:caller@u1.example.com",
			routes: []string{"<sip:p4.domain.com;lr>;foo=bar", "<sip:p1.example.com;lr>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d *Dialog
			var err error
			if tt.uac {
				d, err = NewUAC(parseReq(t, uacInvite), parseResp(t, fmt.Sprintf(uacOK, tt.rr)))
			} else {
				d, err = NewUAS(parseReq(t, fmt.Sprintf(uasInvite, tt.rr)), "u2", mustURI(t, "sip:callee@u2.domain.com"))
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, method := range []string{sip.MethodBye, sip.MethodInvite} {
				r, err := d.NewRequest(method)
				if err != nil {
					t.Fatal(err)
				}
				if err := checkTarget(reparse(t, r), tt.ruri, tt.routes); err != nil {
					t.Errorf("%s: %v", method, err)
				}
			}
			inv, _ := d.NewRequest(sip.MethodInvite)
			if err := checkTarget(reparse(t, d.NewAck(inv)), tt.ruri, tt.routes); err != nil {
				t.Errorf("ACK: %v", err)
			}
		})
	}
}

func TestEarlyDialog(t *testing.T) {
	inv := parseReq(t, f1Invite)
	ringing := `
SIP/2.0 180 Ringing
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
Contact: <sip:bob@192.0.2.99>
CSeq: 314159 INVITE
%s
`
	t.Run("180 then 200 confirms and recomputes the route set", func(t *testing.T) {
		// RFC 2543 proxies need not mirror Record-Route in a 1xx.
		d, err := NewUAC(inv, parseResp(t, f8Ringing))
		if err != nil {
			t.Fatal(err)
		}
		if d.State() != Early || len(d.RouteSet()) != 0 {
			t.Fatalf("state %v, route set %v", d.State(), d.RouteSet())
		}
		// An unreliable 1xx does not refresh the target (RFC 6141 §4.7).
		if err := d.ReceiveResponse(parseResp(t, fmt.Sprintf(ringing, "Content-Length: 0\n"))); err != nil {
			t.Fatal(err)
		}
		if got := d.RemoteTarget().String(); got != "sip:bob@192.0.2.4" {
			t.Errorf("target after unreliable 180 = %s", got)
		}
		// A reliable one does.
		if err := d.ReceiveResponse(parseResp(t, fmt.Sprintf(ringing, "RSeq: 1\nRequire: 100rel\nContent-Length: 0\n"))); err != nil {
			t.Fatal(err)
		}
		if got := d.RemoteTarget().String(); got != "sip:bob@192.0.2.99" {
			t.Errorf("target after reliable 180 = %s", got)
		}
		if err := d.ReceiveResponse(parseResp(t, f11OK)); err != nil {
			t.Fatal(err)
		}
		if d.State() != Confirmed {
			t.Errorf("state after 200 = %v", d.State())
		}
		if got := addrStrings(d.RouteSet()); len(got) != 2 || got[0] != "<sip:bigbox3.site3.atlanta.com;lr>" {
			t.Errorf("route set after 200 = %q", got)
		}
		if got := d.RemoteTarget().String(); got != "sip:bob@192.0.2.4" {
			t.Errorf("target after 200 = %s", got)
		}
		// A retransmitted 2xx changes nothing.
		if err := d.ReceiveResponse(parseResp(t, f11OK)); err != nil || d.State() != Confirmed {
			t.Errorf("retransmitted 200: %v, %v", err, d.State())
		}
	})
	t.Run("final failure terminates the early dialog", func(t *testing.T) {
		d, err := NewUAC(inv, parseResp(t, f8Ringing))
		if err != nil {
			t.Fatal(err)
		}
		busy := strings.Replace(strings.Replace(f8Ringing, "180 Ringing", "486 Busy Here", 1), "Contact: <sip:bob@192.0.2.4>\n", "", 1)
		if err := d.ReceiveResponse(parseResp(t, busy)); err != nil {
			t.Fatal(err)
		}
		if d.State() != Terminated {
			t.Errorf("state after 486 = %v", d.State())
		}
	})
	t.Run("200 of another fork does not match", func(t *testing.T) {
		d, err := NewUAC(inv, parseResp(t, f8Ringing))
		if err != nil {
			t.Fatal(err)
		}
		other := strings.Replace(f11OK, "tag=a6c85cf", "tag=fork2", 1)
		if err := d.ReceiveResponse(parseResp(t, other)); !errors.Is(err, ErrMismatch) {
			t.Errorf("ReceiveResponse(other fork) = %v", err)
		}
		if d.State() != Early {
			t.Errorf("state = %v", d.State())
		}
		d2, err := NewUAC(inv, parseResp(t, other))
		if err != nil || d2.State() != Confirmed || d2.ID() == d.ID() {
			t.Errorf("fork dialog: %v %v", err, d2)
		}
	})
	t.Run("UAS confirms on 2xx", func(t *testing.T) {
		_, bob := session(t)
		bob.Confirm()
		if bob.State() != Confirmed {
			t.Errorf("state = %v", bob.State())
		}
		bob.Terminate()
		bob.Confirm()
		if bob.State() != Terminated {
			t.Errorf("Confirm revived a terminated dialog: %v", bob.State())
		}
	})
}

func TestCreationErrors(t *testing.T) {
	inv := parseReq(t, f1Invite)
	uas := parseReq(t, f5Invite)
	contact := mustURI(t, "sip:bob@192.0.2.4")
	tests := []struct {
		name string
		err  error
		make func() (*Dialog, error)
	}{
		{"100 Trying", ErrNotDialogResponse, func() (*Dialog, error) {
			return NewUAC(inv, parseResp(t, strings.Replace(f8Ringing, "180 Ringing", "100 Trying", 1)))
		}},
		{"486", ErrNotDialogResponse, func() (*Dialog, error) {
			return NewUAC(inv, parseResp(t, strings.Replace(f8Ringing, "180 Ringing", "486 Busy Here", 1)))
		}},
		{"1xx without To tag", ErrNoTag, func() (*Dialog, error) {
			return NewUAC(inv, parseResp(t, strings.Replace(f8Ringing, ";tag=a6c85cf", "", 1)))
		}},
		{"2xx without Contact", ErrNoContact, func() (*Dialog, error) {
			return NewUAC(inv, parseResp(t, strings.Replace(f11OK, "Contact: <sip:bob@192.0.2.4>\n", "", 1)))
		}},
		{"2xx of another call", ErrMismatch, func() (*Dialog, error) {
			return NewUAC(inv, parseResp(t, strings.Replace(f11OK, "Call-ID: a84b4c76e66710", "Call-ID: other", 1)))
		}},
		{"2xx to another CSeq", ErrMismatch, func() (*Dialog, error) {
			return NewUAC(inv, parseResp(t, strings.Replace(f11OK, "CSeq: 314159", "CSeq: 314158", 1)))
		}},
		{"UAS without Contact", ErrNoContact, func() (*Dialog, error) {
			return NewUAS(parseReq(t, strings.Replace(f5Invite, "Contact: <sip:alice@pc33.atlanta.com>\n", "", 1)), "a6c85cf", contact)
		}},
		{"UAS with wildcard Contact", ErrNoContact, func() (*Dialog, error) {
			return NewUAS(parseReq(t, strings.Replace(f5Invite, "Contact: <sip:alice@pc33.atlanta.com>", "Contact: *", 1)), "a6c85cf", contact)
		}},
		{"UAS without From tag", ErrNoTag, func() (*Dialog, error) {
			return NewUAS(parseReq(t, strings.Replace(f5Invite, ";tag=1928301774", "", 1)), "a6c85cf", contact)
		}},
		{"UAS without local tag", ErrNoTag, func() (*Dialog, error) {
			return NewUAS(uas, "", contact)
		}},
		{"UAS without Call-ID", ErrNoCallID, func() (*Dialog, error) {
			return NewUAS(parseReq(t, strings.Replace(f5Invite, "Call-ID: a84b4c76e66710\n", "", 1)), "a6c85cf", contact)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.make()
			if !errors.Is(err, tt.err) || d != nil {
				t.Errorf("got %v, %v; want error %v", d, err, tt.err)
			}
		})
	}
}

// inDialog returns a request from Alice to Bob in the §24.2 dialog.
func inDialog(t *testing.T, method string, seq uint32, extra string) *sip.Request {
	t.Helper()
	return parseReq(t, fmt.Sprintf(`
%s sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKx%d
Max-Forwards: 70
Route: <sip:server10.biloxi.com;lr>
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: %d %s
%sContent-Length: 0

`, method, seq, seq, method, extra))
}

func TestReceiveRequestOrdering(t *testing.T) {
	_, bob := session(t) // remote seq 314159
	bob.Confirm()
	wrongTag := inDialog(t, sip.MethodInfo, 400001, "")
	wrongTag.Set("To", "Bob <sip:bob@biloxi.com>;tag=zz")
	tests := []struct {
		name    string
		req     *sip.Request
		code    int
		err     error
		wantSeq uint32
	}{
		{"ACK of the INVITE", inDialog(t, sip.MethodAck, 314159, ""), 0, nil, 314159},
		{"higher", inDialog(t, sip.MethodInfo, 314161, ""), 0, nil, 314161},
		{"lower is out of order", inDialog(t, sip.MethodInfo, 314160, ""), 500, ErrOutOfOrder, 314161},
		{"much lower", inDialog(t, sip.MethodUpdate, 1, ""), 500, ErrOutOfOrder, 314161},
		{"gaps are fine", inDialog(t, sip.MethodInfo, 400000, ""), 0, nil, 400000},
		{"wrong to tag", wrongTag, 481, ErrMismatch, 400000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := bob.ReceiveRequest(tt.req)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("ReceiveRequest: %v", err)
				}
			} else {
				var se *sip.StatusError
				if !errors.As(err, &se) || se.Code != tt.code || !errors.Is(err, tt.err) {
					t.Fatalf("ReceiveRequest = %v, want status %d wrapping %v", err, tt.code, tt.err)
				}
				if code, _ := sip.StatusOf(err); code != tt.code {
					t.Errorf("StatusOf = %d", code)
				}
			}
			if seq, _ := bob.RemoteSeq(); seq != tt.wantSeq {
				t.Errorf("remote seq = %d, want %d", seq, tt.wantSeq)
			}
		})
	}
	bob.Terminate()
	var se *sip.StatusError
	if err := bob.ReceiveRequest(inDialog(t, sip.MethodInfo, 500000, "")); !errors.As(err, &se) || se.Code != 481 || !errors.Is(err, ErrTerminated) {
		t.Errorf("request on terminated dialog: %v", err)
	}
}

// TestUACRemoteSeq: a UAC's remote seq starts empty, so any first CSeq from
// the peer is accepted (§12.2.2).
func TestUACRemoteSeq(t *testing.T) {
	alice, _ := session(t)
	req := parseReq(t, `
INFO sip:alice@pc33.atlanta.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKi1
Max-Forwards: 70
From: Bob <sip:bob@biloxi.com>;tag=a6c85cf
To: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 0 INFO
Content-Length: 0

`)
	if err := alice.ReceiveRequest(req); err != nil {
		t.Fatal(err)
	}
	if seq, ok := alice.RemoteSeq(); seq != 0 || !ok {
		t.Errorf("remote seq = %d %v, want 0 true", seq, ok)
	}
}

func TestTerminatingResponses(t *testing.T) {
	tests := []struct {
		code   int
		method string
		want   State
	}{
		{481, sip.MethodInfo, Terminated},
		{408, sip.MethodInvite, Terminated},
		{481, sip.MethodUpdate, Terminated},
		{486, sip.MethodInvite, Confirmed}, // a rejected re-INVITE keeps the dialog
		{487, sip.MethodInvite, Confirmed},
		{500, sip.MethodInfo, Confirmed},
		{404, sip.MethodBye, Terminated},
		{200, sip.MethodBye, Terminated},
		{200, sip.MethodInfo, Confirmed},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d to %s", tt.code, tt.method), func(t *testing.T) {
			alice, _ := session(t)
			req, err := alice.NewRequest(tt.method)
			if err != nil {
				t.Fatal(err)
			}
			resp := sip.NewResponse(req, tt.code, "")
			if err := alice.ReceiveResponse(resp); err != nil {
				t.Fatal(err)
			}
			if got := alice.State(); got != tt.want {
				t.Errorf("state = %v, want %v", got, tt.want)
			}
			if tt.want == Terminated {
				if _, err := alice.NewRequest(sip.MethodInfo); !errors.Is(err, ErrTerminated) {
					t.Errorf("NewRequest after termination: %v", err)
				}
			}
		})
	}
}

// TestTargetRefresh: the remote target changes only on an accepted
// refresh (RFC 3261 §12.2, RFC 6141 §4.6, §4.7).
func TestTargetRefresh(t *testing.T) {
	const moved = "sip:alice@198.51.100.7:5070;transport=tcp"
	t.Run("UAS: only on Refresh", func(t *testing.T) {
		_, bob := session(t)
		bob.Confirm()
		reinv := inDialog(t, sip.MethodInvite, 314160, "Contact: <"+moved+">\n")
		if err := bob.ReceiveRequest(reinv); err != nil {
			t.Fatal(err)
		}
		if got := bob.RemoteTarget().String(); got != "sip:alice@pc33.atlanta.com" {
			t.Fatalf("target changed before the refresh was accepted: %s", got)
		}
		// The UA rejects it (488): no Refresh, the target stays.
		bye, _ := bob.NewRequest(sip.MethodBye)
		if bye.URI.String() != "sip:alice@pc33.atlanta.com" {
			t.Errorf("BYE after rejected refresh goes to %s", bye.URI.String())
		}
		// The next refresh is accepted: the UA calls Refresh with its 2xx.
		upd := inDialog(t, sip.MethodUpdate, 314161, "Contact: <"+moved+">\n")
		if err := bob.ReceiveRequest(upd); err != nil {
			t.Fatal(err)
		}
		cts, _ := upd.Contacts()
		bob.Refresh(cts[0].URI)
		info, _ := bob.NewRequest(sip.MethodInfo)
		if got := reparse(t, info).URI.String(); got != moved {
			t.Errorf("request after refresh goes to %s, want %s", got, moved)
		}
	})
	t.Run("UAC: on 2xx to a target refresh", func(t *testing.T) {
		tests := []struct {
			method string
			code   int
			rseq   bool
			want   string
		}{
			{sip.MethodInvite, 200, false, moved},
			{sip.MethodUpdate, 200, false, moved},
			{sip.MethodInvite, 183, true, moved},
			{sip.MethodInvite, 180, false, "sip:bob@192.0.2.4"},
			{sip.MethodInvite, 488, false, "sip:bob@192.0.2.4"},
			{sip.MethodInfo, 200, false, "sip:bob@192.0.2.4"},
			{sip.MethodBye, 200, false, "sip:bob@192.0.2.4"},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%d to %s", tt.code, tt.method), func(t *testing.T) {
				alice, _ := session(t)
				req, err := alice.NewRequest(tt.method)
				if err != nil {
					t.Fatal(err)
				}
				resp := sip.NewResponse(req, tt.code, "")
				resp.Add("Contact", "<"+moved+">")
				if tt.rseq {
					resp.Add("RSeq", "1")
				}
				if err := alice.ReceiveResponse(resp); err != nil {
					t.Fatal(err)
				}
				if got := alice.RemoteTarget().String(); got != tt.want {
					t.Errorf("target = %s, want %s", got, tt.want)
				}
			})
		}
	})
	t.Run("UAC: a 2xx without Contact keeps the target", func(t *testing.T) {
		alice, _ := session(t)
		req, _ := alice.NewRequest(sip.MethodUpdate)
		if err := alice.ReceiveResponse(sip.NewResponse(req, 200, "")); err != nil {
			t.Fatal(err)
		}
		if got := alice.RemoteTarget().String(); got != "sip:bob@192.0.2.4" {
			t.Errorf("target = %s", got)
		}
	})
}

func TestNewRequestHeaders(t *testing.T) {
	alice, _ := session(t)
	tests := []struct {
		method  string
		contact bool
	}{
		{sip.MethodInvite, true},
		{sip.MethodUpdate, true},
		{sip.MethodSubscribe, true},
		{sip.MethodNotify, true},
		{sip.MethodRefer, true},
		{sip.MethodBye, false},
		{sip.MethodInfo, false},
		{sip.MethodPrack, false},
		{sip.MethodMessage, false},
	}
	seen := map[string]bool{}
	for i, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			r, err := alice.NewRequest(tt.method)
			if err != nil {
				t.Fatal(err)
			}
			r = reparse(t, r)
			cs, _ := r.CSeq()
			if want := uint32(314159 + 1 + i); cs.Seq != want || cs.Method != tt.method {
				t.Errorf("CSeq = %v, want %d %s", cs, want, tt.method)
			}
			if got := r.Get("Contact"); (got != "") != tt.contact || (tt.contact && got != "<sip:alice@pc33.atlanta.com>") {
				t.Errorf("Contact = %q, want present %v", got, tt.contact)
			}
			if mf, ok, _ := r.MaxForwards(); !ok || mf != 70 {
				t.Errorf("Max-Forwards = %d %v", mf, ok)
			}
			v, _ := r.TopVia()
			if !v.HasRFC3261Branch() || seen[v.Branch()] {
				t.Errorf("branch %q not fresh", v.Branch())
			}
			seen[v.Branch()] = true
			if r.CallID() != "a84b4c76e66710" {
				t.Errorf("Call-ID = %q", r.CallID())
			}
		})
	}
	for _, m := range []string{sip.MethodAck, sip.MethodCancel} {
		if _, err := alice.NewRequest(m); !errors.Is(err, ErrMethod) {
			t.Errorf("NewRequest(%s) = %v, want ErrMethod", m, err)
		}
	}
}

func TestSeqExhausted(t *testing.T) {
	alice, _ := session(t)
	alice.mu.Lock()
	alice.localSeq = math.MaxUint32 - 1
	alice.mu.Unlock()
	if _, err := alice.NewRequest(sip.MethodInfo); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.NewRequest(sip.MethodInfo); !errors.Is(err, ErrSeqExhausted) {
		t.Errorf("NewRequest at 2**32-1 = %v", err)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name string
		msg  sip.Message
		id   ID
		ok   bool
	}{
		{"request out of dialog", parseReq(t, f1Invite), ID{}, false},
		{"request in dialog: local = To tag", inDialog(t, sip.MethodBye, 1, ""), bobID, true},
		{"response: local = From tag", parseResp(t, f11OK), aliceID, true},
		{"100 Trying without To tag", parseResp(t, strings.Replace(strings.Replace(f8Ringing, "180 Ringing", "100 Trying", 1), ";tag=a6c85cf", "", 1)), ID{}, false},
		{"no Call-ID", parseResp(t, strings.Replace(f11OK, "Call-ID: a84b4c76e66710\n", "", 1)), ID{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := Match(tt.msg)
			if id != tt.id || ok != tt.ok {
				t.Errorf("Match = %v %v, want %v %v", id, ok, tt.id, tt.ok)
			}
		})
	}
}

func TestSet(t *testing.T) {
	alice, bob := session(t)
	var s Set
	if s.Len() != 0 {
		t.Fatal("zero Set not empty")
	}
	if _, ok := s.Get(aliceID); ok {
		t.Fatal("Get on empty set")
	}
	if !s.Add(alice) || !s.Add(bob) {
		t.Fatal("Add failed")
	}
	dup, _ := NewUAC(parseReq(t, f1Invite), parseResp(t, f11OK))
	if s.Add(dup) {
		t.Error("Add of a duplicate ID succeeded")
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d", s.Len())
	}
	if d, ok := s.Get(aliceID); !ok || d != alice {
		t.Error("Get(alice) did not return the first dialog")
	}
	// Bob's BYE reaches Alice; Alice's 200 reaches Bob.
	bye, _ := bob.NewRequest(sip.MethodBye)
	if d, ok := s.Lookup(bye); !ok || d != alice {
		t.Error("Lookup(BYE from Bob) did not find Alice")
	}
	if d, ok := s.Lookup(sip.NewResponse(bye, 200, "")); !ok || d != bob {
		t.Error("Lookup(200 to Bob) did not find Bob")
	}
	if _, ok := s.Lookup(parseReq(t, f1Invite)); ok {
		t.Error("Lookup(out-of-dialog request) found a dialog")
	}
	s.Remove(aliceID)
	s.Remove(aliceID)
	if s.Len() != 1 {
		t.Errorf("Len after Remove = %d", s.Len())
	}
}

// TestConcurrent runs requests, responses and reads on one dialog from
// many goroutines; with -race it checks the locking, and the CSeqs must
// all differ.
func TestConcurrent(t *testing.T) {
	alice, _ := session(t)
	var s Set
	s.Add(alice)
	const n = 50
	seqs := make(chan uint32, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r, err := alice.NewRequest(sip.MethodUpdate)
			if err != nil {
				t.Error(err)
				return
			}
			cs, _ := r.CSeq()
			seqs <- cs.Seq
			resp := sip.NewResponse(r, 200, "")
			resp.Add("Contact", "<sip:bob@192.0.2.4>")
			if err := alice.ReceiveResponse(resp); err != nil {
				t.Error(err)
			}
			_ = alice.NewAck(r)
			_ = alice.RemoteTarget()
			_ = alice.RouteSet()
			if _, ok := s.Get(aliceID); !ok {
				t.Error("Get failed")
			}
		})
	}
	wg.Wait()
	close(seqs)
	seen := map[uint32]bool{}
	for q := range seqs {
		if seen[q] {
			t.Errorf("CSeq %d used twice", q)
		}
		seen[q] = true
	}
	if seq, _ := alice.LocalSeq(); seq != 314159+n {
		t.Errorf("local seq = %d, want %d", seq, 314159+n)
	}
}

func TestSecure(t *testing.T) {
	inv := parseReq(t, strings.Replace(f1Invite, "INVITE sip:bob@biloxi.com", "INVITE sips:bob@biloxi.com", 1))
	d, err := NewUAC(inv, parseResp(t, f11OK))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Secure() {
		t.Error("SIPS Request-URI: dialog not secure")
	}
	d.SetSecure(false)
	if d.Secure() {
		t.Error("SetSecure(false) ignored")
	}
}

func TestSetLocalContact(t *testing.T) {
	alice, _ := session(t)
	alice.SetLocalContact(mustURI(t, "sip:alice@203.0.113.5:5062"))
	r, err := alice.NewRequest(sip.MethodInvite)
	if err != nil {
		t.Fatal(err)
	}
	if got := reparse(t, r).Get("Contact"); got != "<sip:alice@203.0.113.5:5062>" {
		t.Errorf("Contact = %q", got)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Early: "early", Confirmed: "confirmed", Terminated: "terminated", 0: "unknown"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", s, s.String())
		}
	}
}
