package ua

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/sip"
)

// TestRequire100rel: a caller that Requires 100rel gets its 180 reliably
// (RFC 3262 §3) and PRACKs it before the 200.
func TestRequire100rel(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: answerer(calls)})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		if _, err := alice.Invite(context.Background(), bob.Contact(), &InviteOptions{Require100rel: true}); err != nil {
			t.Fatal(err)
		}
		<-calls
		r180 := aliceRec.find(In, sip.MethodInvite, 180)
		if len(r180) != 1 || !hasTag(r180[0].msg.(*sip.Response), "Require", "100rel") {
			t.Fatalf("180 not reliable:\n%s", aliceRec)
		}
		if bobRec.count(In, sip.MethodPrack, 0) != 1 {
			t.Errorf("no PRACK")
		}
		inv := bobRec.find(In, sip.MethodInvite, 0)[0].msg.(*sip.Request)
		if !hasTag(inv, "Require", "100rel") {
			t.Errorf("INVITE lacks Require: 100rel")
		}
	})
}

// TestInDialog481EndsCall: a request in a dialog the peer has forgotten
// gets 481, which ends the dialog here too (RFC 3261 §12.2.1.2).
func TestInDialog481EndsCall(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		bob, _ := n.add(t, 2, Config{User: "bob", OnInvite: answerer(calls)})
		alice, _ := n.add(t, 1, Config{User: "alice"})
		ac, err := alice.Invite(context.Background(), bob.Contact(), nil)
		if err != nil {
			t.Fatal(err)
		}
		bc := <-calls
		bc.end(nil) // bob forgets the call without a BYE
		err = ac.Info(context.Background(), "text/plain", []byte("x"))
		if StatusCode(err) != 481 {
			t.Fatalf("INFO: %v", err)
		}
		<-ac.Done()
		if ac.State() != dialog.Terminated || len(alice.Calls()) != 0 {
			t.Errorf("call %v, %d left", ac.State(), len(alice.Calls()))
		}
	})
}

// TestTargetRefresh: a re-INVITE with a new Contact moves the peer's
// remote target once it is accepted (RFC 3261 §12.2, RFC 6141 §4.6), and
// a 2xx with a new Contact moves ours (§12.2.1.2).
func TestTargetRefresh(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: answerer(calls)})
		alice, _ := n.add(t, 1, Config{User: "alice"})
		ac, err := alice.Invite(context.Background(), bob.Contact(), nil)
		if err != nil {
			t.Fatal(err)
		}
		bc := <-calls
		moved := alice.Contact()
		moved.User = "alice-moved"
		ac.Dialog().SetLocalContact(moved)
		if err := ac.Hold(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := bc.Dialog().RemoteTarget(); got.User != "alice-moved" {
			t.Errorf("bob's remote target %v", got)
		}
		// Bob's BYE goes to the new target.
		if err := bc.Hangup(context.Background()); err != nil {
			t.Fatal(err)
		}
		byes := bobRec.find(Out, sip.MethodBye, 0)
		if len(byes) != 1 || byes[0].msg.(*sip.Request).URI.User != "alice-moved" {
			t.Errorf("BYE not sent to the refreshed target")
		}
	})
}

// TestOfferInAnswer: an INVITE without SDP gets the offer in the 2xx and
// the answer in the ACK (RFC 3264 §4, RFC 3261 §13.2.1); a re-INVITE
// without SDP the same way (§14.2).
func TestOfferInAnswer(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: answerer(calls)})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		ac, err := alice.Invite(context.Background(), bob.Contact(), &InviteOptions{NoOffer: true})
		if err != nil {
			t.Fatal(err)
		}
		bc := <-calls
		synctest.Wait()
		if len(aliceRec.find(Out, sip.MethodInvite, 0)[0].msg.(*sip.Request).Body) != 0 {
			t.Fatal("INVITE carried SDP")
		}
		ack := bobRec.find(In, sip.MethodAck, 0)
		if len(ack) != 1 || len(ack[0].msg.(*sip.Request).Body) == 0 {
			t.Fatal("no answer in the ACK")
		}
		if ac.Negotiated().Codec.Name != "PCMU" || bc.Negotiated().Codec.Name != "PCMU" || bc.Negotiated().Remote.Port() == 0 {
			t.Errorf("negotiated %v / %v", ac.Negotiated(), bc.Negotiated())
		}
		// A re-INVITE without SDP from bob: alice offers in the 200.
		seq0, _ := bc.Dialog().LocalSeq()
		resp, err := bc.invite(context.Background(), func(*sip.Request) {})
		if err != nil || len(resp.Body) == 0 {
			t.Fatalf("re-INVITE: %v", err)
		}
		synctest.Wait()
		if seq, _ := bc.Dialog().LocalSeq(); seq == seq0 {
			t.Errorf("CSeq did not move")
		}
		if acks := aliceRec.find(In, sip.MethodAck, 0); len(acks) != 1 {
			t.Errorf("alice got %d ACKs", len(acks))
		}
	})
}
