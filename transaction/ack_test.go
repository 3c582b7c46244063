package transaction

import (
	"slices"
	"strings"
	"testing"

	"github.com/sipd/sipd/sip"
)

// The example of RFC 3261 §17.1.1.3, with two Vias (as a proxy's INVITE
// would have) and a route set.
const ackExampleInvite = "INVITE sip:bob@biloxi.com SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKkjshdyff\r\n" +
	"Via: SIP/2.0/UDP client.atlanta.com;branch=z9hG4bK1234;received=192.0.2.99\r\n" +
	"Route: <sip:p1.example.com;lr>\r\n" +
	"Route: <sip:p2.example.com;lr>,<sip:p3.example.com;lr>\r\n" +
	"To: Bob <sip:bob@biloxi.com>\r\n" +
	"From: Alice <sip:alice@atlanta.com>;tag=88sja8x\r\n" +
	"Max-Forwards: 70\r\n" +
	"Call-ID: 987asjd97y7atg\r\n" +
	"CSeq: 986759 INVITE\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: 4\r\n\r\nv=0\n"

const ackExampleResponse = "SIP/2.0 486 Busy Here\r\n" +
	"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKkjshdyff\r\n" +
	"Via: SIP/2.0/UDP client.atlanta.com;branch=z9hG4bK1234;received=192.0.2.99\r\n" +
	"To: Bob <sip:bob@biloxi.com>;tag=99sa0xk\r\n" +
	"From: Alice <sip:alice@atlanta.com>;tag=88sja8x\r\n" +
	"Call-ID: 987asjd97y7atg\r\n" +
	"CSeq: 986759 INVITE\r\n" +
	"Content-Length: 0\r\n\r\n"

// TestNewAckForFailure checks the ACK against each rule of RFC 3261
// §17.1.1.3.
func TestNewAckForFailure(t *testing.T) {
	inv, err := sip.ParseRequest([]byte(ackExampleInvite))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := sip.ParseResponse([]byte(ackExampleResponse))
	if err != nil {
		t.Fatal(err)
	}
	// Serialize and parse again: what the peer receives.
	ack, err := sip.ParseRequest(newAckForFailure(inv, resp).Bytes())
	if err != nil {
		t.Fatalf("the ACK does not parse: %v", err)
	}
	vias, err := ack.Vias()
	if err != nil {
		t.Fatal(err)
	}
	invVia, _ := inv.TopVia()
	cs, err := ack.CSeq()
	if err != nil {
		t.Fatal(err)
	}
	invRoutes, _ := inv.Routes()
	ackRoutes, _ := ack.Routes()
	routeStrings := func(as []sip.Address) []string {
		var ss []string
		for _, a := range as {
			ss = append(ss, a.String())
		}
		return ss
	}
	checks := []struct {
		rule      string
		got, want any
	}{
		{"method is ACK", ack.Method, sip.MethodAck},
		{"Request-URI equals the INVITE's", ack.URI.String(), inv.URI.String()},
		{"Call-ID equals the INVITE's", ack.CallID(), inv.CallID()},
		{"From equals the INVITE's", ack.Get("From"), inv.Get("From")},
		{"To equals the response's (with its tag)", ack.Get("To"), resp.Get("To")},
		{"To tag is the response's", ack.ToTag(), "99sa0xk"},
		{"a single Via", len(vias), 1},
		{"the Via is the INVITE's top Via", vias[0].String(), invVia.String()},
		{"CSeq number is the INVITE's", cs.Seq, uint32(986759)},
		{"CSeq method is ACK", cs.Method, sip.MethodAck},
		{"Route values are the INVITE's", strings.Join(routeStrings(ackRoutes), ","), strings.Join(routeStrings(invRoutes), ",")},
		{"three Route values", len(ackRoutes), 3},
		{"no body", len(ack.Body), 0},
		{"Max-Forwards", ack.Get("Max-Forwards"), "70"},
		{"no Content-Type", ack.Has("Content-Type"), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.rule, c.got, c.want)
		}
	}
	// The RFC's own ACK, field by field (its Via, To, From, Max-Forwards,
	// Call-ID, CSeq), on the example without a route set.
	want := map[string]string{
		"Via":          "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKkjshdyff",
		"To":           "Bob <sip:bob@biloxi.com>;tag=99sa0xk",
		"From":         "Alice <sip:alice@atlanta.com>;tag=88sja8x",
		"Max-Forwards": "70",
		"Call-ID":      "987asjd97y7atg",
		"CSeq":         "986759 ACK",
	}
	for name, v := range want {
		if got := ack.Get(name); got != v {
			t.Errorf("%s: %q, want %q (RFC 3261 §17.1.1.3 example)", name, got, v)
		}
	}
	if !strings.HasPrefix(ack.String(), "ACK sip:bob@biloxi.com SIP/2.0\r\n") {
		t.Errorf("request line: %q", strings.SplitN(ack.String(), "\r\n", 2)[0])
	}
}

// TestInviteClientSendsAck checks that the INVITE client transaction sends
// that ACK to where the INVITE went (§17.1.1.2), once per final response.
func TestInviteClientSendsAck(t *testing.T) {
	inBubble(t, func(h *harness) {
		inv, _ := sip.ParseRequest([]byte(ackExampleInvite))
		rh := &recHandler{start: h.start}
		dst := target("UDP")
		if _, err := h.l.Request(inv, dst, rh); err != nil {
			t.Fatal(err)
		}
		resp, _ := sip.ParseResponse([]byte(ackExampleResponse))
		h.inject(resp, "UDP")
		again, _ := sip.ParseResponse([]byte(ackExampleResponse))
		h.inject(again, "UDP")
		var acks []sentMsg
		for _, m := range h.tp.all() {
			if m.method == sip.MethodAck {
				acks = append(acks, m)
			}
		}
		if len(acks) != 2 {
			t.Fatalf("%d ACKs sent, want 2", len(acks))
		}
		if acks[0].dst != dst || acks[1].dst != dst {
			t.Errorf("ACK sent to %v, want %v", acks[0].dst, dst)
		}
		inv2, _ := sip.ParseRequest([]byte(ackExampleInvite))
		resp2, _ := sip.ParseResponse([]byte(ackExampleResponse))
		if want := newAckForFailure(inv2, resp2).String(); acks[0].wire != want || acks[1].wire != want {
			t.Errorf("ACK sent:\n%s\nwant:\n%s", acks[0].wire, want)
		}
		if ev := rh.all(); len(ev) != 1 || ev[0].code != 486 {
			t.Errorf("TU heard %v, want one 486", ev)
		}
	})
}

// TestNewBranch checks the form of branches and that they differ.
func TestNewBranch(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		b := NewBranch()
		if !strings.HasPrefix(b, sip.MagicCookie) || len(b)-len(sip.MagicCookie) < 16 {
			t.Fatalf("branch %q", b)
		}
		v, err := sip.ParseVia("SIP/2.0/UDP h.example;branch=" + b)
		if err != nil || v.Branch() != b || !v.HasRFC3261Branch() {
			t.Fatalf("branch %q is not a token: %v", b, err)
		}
		if seen[b] {
			t.Fatalf("branch %q twice", b)
		}
		seen[b] = true
	}
	if n := testing.AllocsPerRun(100, func() { _ = NewBranch() }); n > 1 && !raceEnabled {
		t.Errorf("NewBranch allocates %v times, want 1", n)
	}
}

// TestStateString names every state.
func TestStateString(t *testing.T) {
	var got []string
	for s := StateCalling; s <= StateTerminated; s++ {
		got = append(got, s.String())
	}
	want := []string{"Calling", "Trying", "Proceeding", "Completed", "Confirmed", "Accepted", "Terminated"}
	if !slices.Equal(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
	if State(0).String() != "State(0)" {
		t.Errorf("State(0) = %q", State(0).String())
	}
}
