package ua

import (
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/sip"
)

// TestAttendedTransfer: A calls B; B calls C; B refers A to C with a
// Refer-To carrying Replaces of the B-C dialog (RFC 3515, RFC 3891). A
// sends C an INVITE with Replaces, C takes it and ends the B-C dialog with
// BYE; A's NOTIFYs tell B "100 Trying" then "200 OK"; B hangs up with A.
func TestAttendedTransfer(t *testing.T) {
	bobCalls := make(chan *Call, 1)
	bob, bobRec := loopUA(t, Config{User: "bob", OnInvite: answerer(bobCalls)})
	carolCalls := make(chan *Call, 2)
	carolEvents := newEvents()
	carol, carolRec := loopUA(t, Config{User: "carol", OnInvite: answerer(carolCalls), OnEvent: carolEvents.on})
	aliceEvents := newEvents()
	alice, aliceRec := loopUA(t, Config{User: "alice", OnEvent: aliceEvents.on})
	ctx := testCtx(t)

	ab, err := alice.Invite(ctx, bob.Contact(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ba := recv(t, bobCalls, 5*time.Second)
	bc, err := bob.Invite(ctx, carol.Contact(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cb := recv(t, carolCalls, 5*time.Second)

	target := ReferTarget(bc.Dialog().RemoteTarget(), bc.Replaces())
	code, err := ba.Refer(ctx, target)
	if err != nil || code != 200 {
		t.Fatalf("Refer: %d %v\n%s", code, err, bobRec)
	}
	// Carol took the new call and ended the one with Bob.
	ca := recv(t, carolCalls, 5*time.Second)
	recv(t, cb.Done(), 5*time.Second)
	recv(t, bc.Done(), 5*time.Second)
	if bobRec.count(In, sip.MethodBye, 0) != 1 || carolRec.count(Out, sip.MethodBye, 0) != 1 {
		t.Errorf("B-C not ended by Carol's BYE:\n%s", bobRec)
	}
	ev := carolEvents.wait(t, EventReplaced, 5*time.Second)
	if ev.Call != cb || ev.NewCall != ca {
		t.Errorf("replaced event %+v", ev)
	}
	invs := carolRec.find(In, sip.MethodInvite, 0)
	if len(invs) != 2 {
		t.Fatalf("carol got %d INVITEs", len(invs))
	}
	rp, err := invs[1].msg.(*sip.Request).Replaces()
	if err != nil || rp.CallID != cb.ID().CallID || rp.ToTag != cb.ID().LocalTag || rp.FromTag != cb.ID().RemoteTag {
		t.Errorf("Replaces %+v %v, carol's dialog %+v", rp, err, cb.ID())
	}
	if invs[1].msg.(*sip.Request).Get("Referred-By") == "" {
		t.Errorf("no Referred-By")
	}
	// The NOTIFYs Bob got: 100 then 200, the last terminating the
	// subscription.
	notifies := bobRec.find(In, sip.MethodNotify, 0)
	if len(notifies) != 2 {
		t.Fatalf("bob got %d NOTIFYs", len(notifies))
	}
	for i, want := range []string{"SIP/2.0 100 Trying", "SIP/2.0 200 OK"} {
		r := notifies[i].msg.(*sip.Request)
		if !strings.HasPrefix(string(r.Body), want) || r.ContentType() != "message/sipfrag" || !strings.HasPrefix(r.Get("Event"), "refer") {
			t.Errorf("NOTIFY %d: %q %q %q", i, r.Body, r.ContentType(), r.Get("Event"))
		}
	}
	if ss := notifies[1].msg.(*sip.Request).Get("Subscription-State"); !strings.HasPrefix(ss, "terminated") {
		t.Errorf("final Subscription-State %q", ss)
	}
	rev := aliceEvents.wait(t, EventRefer, 5*time.Second)
	if rev.NewCall == nil || rev.Status != 200 || rev.NewCall.State() != dialog.Confirmed {
		t.Fatalf("alice's transfer: %+v", rev)
	}
	if rev.NewCall.ID().CallID != ca.ID().CallID {
		t.Errorf("alice's new call is not carol's")
	}
	// Bob hangs up with Alice; Alice and Carol talk on.
	if err := ba.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	recv(t, ab.Done(), 5*time.Second)
	if ca.State() != dialog.Confirmed || rev.NewCall.State() != dialog.Confirmed {
		t.Errorf("A-C: %v %v", ca.State(), rev.NewCall.State())
	}
	_ = aliceRec
}

// TestReplacesNoMatch: an INVITE with Replaces naming no dialog gets 481,
// one naming a confirmed dialog with early-only 486 (RFC 3891 §3).
func TestReplacesNoMatch(t *testing.T) {
	bobCalls := make(chan *Call, 1)
	bob, _ := loopUA(t, Config{User: "bob", OnInvite: answerer(bobCalls)})
	alice, _ := loopUA(t, Config{User: "alice"})
	ctx := testCtx(t)
	_, err := alice.Invite(ctx, bob.Contact(), &InviteOptions{Replaces: "nope@x;to-tag=a;from-tag=b"})
	if StatusCode(err) != 481 {
		t.Fatalf("got %v", err)
	}
	ab, err := alice.Invite(ctx, bob.Contact(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ba := recv(t, bobCalls, 5*time.Second)
	_, err = alice.Invite(ctx, bob.Contact(), &InviteOptions{Replaces: ba.Replaces() + ";early-only"})
	// ba.Replaces is bob's view: to-tag bob's peer (alice). Bob matches
	// to-tag against his own tag, so use alice's view of the dialog.
	if StatusCode(err) != 481 {
		t.Fatalf("wrong-view Replaces: %v", err)
	}
	_, err = alice.Invite(ctx, bob.Contact(), &InviteOptions{Replaces: ab.Replaces() + ";early-only"})
	if StatusCode(err) != 486 {
		t.Fatalf("early-only: %v", err)
	}
}
