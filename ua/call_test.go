package ua

import (
	"context"
	"testing"
	"time"

	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/sdp"
	"github.com/sipd/sipd/sip"
)

// answerer is an OnInvite that rings and answers, handing the call over.
func answerer(calls chan<- *Call) func(*IncomingCall) {
	return func(ic *IncomingCall) {
		ic.Ring()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := ic.Answer(ctx)
		if err != nil {
			return
		}
		calls <- c
	}
}

func recv[T any](t *testing.T, ch <-chan T, d time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("nothing within %v", d)
	}
	var zero T
	return zero
}

// TestCallOverLoopback: a call is set up, held and resumed with
// re-INVITEs, refreshed with an UPDATE, and ended, over loopback UDP.
func TestCallOverLoopback(t *testing.T) {
	bobCalls := make(chan *Call, 1)
	bobEvents := newEvents()
	bob, bobRec := loopUA(t, Config{User: "bob", OnInvite: answerer(bobCalls), OnEvent: bobEvents.on})
	aliceEvents := newEvents()
	alice, aliceRec := loopUA(t, Config{User: "alice", OnEvent: aliceEvents.on})
	ctx := testCtx(t)

	ac, err := alice.Invite(ctx, bob.Contact(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bc := recv(t, bobCalls, 5*time.Second)
	if ac.State() != dialog.Confirmed || bc.State() != dialog.Confirmed {
		t.Fatalf("states %v %v", ac.State(), bc.State())
	}
	if ac.ID().CallID != bc.ID().CallID || ac.ID().LocalTag != bc.ID().RemoteTag || ac.ID().RemoteTag != bc.ID().LocalTag {
		t.Fatalf("dialog ids %+v %+v", ac.ID(), bc.ID())
	}
	an, bn := ac.Negotiated(), bc.Negotiated()
	if an.Codec.Name != "PCMU" || bn.Codec.Name != "PCMU" {
		t.Errorf("codecs %v %v", an.Codec, bn.Codec)
	}
	if an.Remote != bc.Media().LocalAddr() || bn.Remote != ac.Media().LocalAddr() {
		t.Errorf("remote RTP %v %v, want %v %v", an.Remote, bn.Remote, bc.Media().LocalAddr(), ac.Media().LocalAddr())
	}
	if aliceRec.count(In, sip.MethodInvite, 180) != 1 || bobRec.count(In, sip.MethodAck, 0) != 1 {
		t.Errorf("flow:\n%s", aliceRec)
	}
	seq0, _ := ac.Dialog().LocalSeq()

	// Hold: alice offers sendonly, bob answers recvonly (RFC 3264 §8.4).
	if err := ac.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	if d := ac.Negotiated().Direction; d != sdp.SendOnly {
		t.Errorf("alice on hold: %v", d)
	}
	bobEvents.wait(t, EventModified, 5*time.Second)
	if d := bc.Negotiated().Direction; d != sdp.RecvOnly {
		t.Errorf("bob held: %v", d)
	}
	if seq, _ := ac.Dialog().LocalSeq(); seq != seq0+1 {
		t.Errorf("CSeq after hold %d, want %d", seq, seq0+1)
	}
	invites := aliceRec.find(Out, sip.MethodInvite, 0)
	if len(invites) != 2 || !contains(invites[1].msg.(*sip.Request).Body, "a=sendonly") {
		t.Fatalf("re-INVITE: %d invites", len(invites))
	}
	if n := bobRec.count(In, sip.MethodAck, 0); n != 2 {
		t.Errorf("bob got %d ACKs", n)
	}

	if err := ac.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if d := ac.Negotiated().Direction; d != sdp.SendRecv {
		t.Errorf("alice resumed: %v", d)
	}
	bobEvents.wait(t, EventModified, 5*time.Second)
	if d := bc.Negotiated().Direction; d != sdp.SendRecv {
		t.Errorf("bob resumed: %v", d)
	}
	if seq, _ := ac.Dialog().LocalSeq(); seq != seq0+2 {
		t.Errorf("CSeq after resume %d, want %d", seq, seq0+2)
	}

	// Bob sends an UPDATE (RFC 3311): his first request in the dialog.
	if err := bc.Update(ctx); err != nil {
		t.Fatal(err)
	}
	aliceEvents.wait(t, EventModified, 5*time.Second)
	if bobRec.count(In, sip.MethodUpdate, 200) != 1 {
		t.Errorf("no 200 to UPDATE")
	}
	if rs, ok := ac.Dialog().RemoteSeq(); !ok || rs == 0 {
		t.Errorf("alice remote seq %d %v", rs, ok)
	}

	// INFO passes its body through (RFC 6086).
	if err := ac.Info(ctx, "application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n")); err != nil {
		t.Fatal(err)
	}
	ev := bobEvents.wait(t, EventInfo, 5*time.Second)
	if !contains(ev.Request.Body, "Signal=5") {
		t.Errorf("INFO body %q", ev.Request.Body)
	}

	// Bob hangs up.
	if err := bc.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	recv(t, ac.Done(), 5*time.Second)
	if ac.State() != dialog.Terminated || bc.State() != dialog.Terminated || ac.Err() != nil {
		t.Errorf("after BYE: %v %v %v", ac.State(), bc.State(), ac.Err())
	}
	if bobRec.count(In, sip.MethodBye, 200) != 1 {
		t.Errorf("bob's BYE not answered 200")
	}
	if len(alice.Calls()) != 0 || len(bob.Calls()) != 0 {
		t.Errorf("calls left: %d %d", len(alice.Calls()), len(bob.Calls()))
	}

	// A second call, hung up by the caller this time.
	ac2, err := alice.Invite(ctx, bob.Contact(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bc2 := recv(t, bobCalls, 5*time.Second)
	if err := ac2.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	recv(t, bc2.Done(), 5*time.Second)
	if aliceRec.count(In, sip.MethodBye, 200) != 1 {
		t.Errorf("alice's BYE not answered 200")
	}
}

func contains(b []byte, s string) bool { return len(s) > 0 && indexOf(string(b), s) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
