package ua

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// TestInDialogTimeoutEndsCall: an in-dialog request that times out counts
// as 408 and ends the dialog (RFC 3261 §12.2.1.2), with a BYE tried.
func TestInDialogTimeoutEndsCall(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		bob, _ := n.add(t, 2, Config{User: "bob", OnInvite: answerer(calls)})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		ac, err := alice.Invite(context.Background(), bob.Contact(), nil)
		if err != nil {
			t.Fatal(err)
		}
		<-calls
		n.setDrop(func(_, _ netip.AddrPort, _ sip.Message) bool { return true })
		start := time.Now()
		if err := ac.Info(context.Background(), "text/plain", []byte("x")); !errors.Is(err, transaction.ErrTimeout) {
			t.Fatalf("INFO: %v", err)
		}
		if d := time.Since(start); d != 32*time.Second {
			t.Errorf("timed out after %v", d)
		}
		<-ac.Done()
		if aliceRec.count(Out, sip.MethodBye, 0) == 0 || !errors.Is(ac.Err(), transaction.ErrTimeout) {
			t.Errorf("no BYE, or ended with %v", ac.Err())
		}
	})
}

// TestReplacesEarly: an INVITE with Replaces naming an early dialog the
// receiver did not initiate gets 481; one naming an early dialog it did
// initiate is accepted, and the replaced INVITE CANCELed (RFC 3891 §3).
func TestReplacesEarly(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		ringing := make(chan *IncomingCall, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: func(ic *IncomingCall) {
			ic.Ring()
			ringing <- ic
		}})
		aliceCalls := make(chan *Call, 1)
		alice, aliceRec := n.add(t, 1, Config{User: "alice", OnInvite: answerer(aliceCalls)})
		carol, _ := n.add(t, 3, Config{User: "carol"})
		inviteErr := make(chan error, 1)
		go func() {
			_, err := alice.Invite(context.Background(), bob.Contact(), nil)
			inviteErr <- err
		}()
		bic := <-ringing
		synctest.Wait()
		calls := alice.Calls()
		if len(calls) != 1 {
			t.Fatalf("alice has %d calls", len(calls))
		}
		early := calls[0]
		// Bob is the UAS of the early dialog: 481.
		bobView := bic.Call().Replaces()
		if _, err := carol.Invite(context.Background(), bob.Contact(), &InviteOptions{Replaces: bobView}); StatusCode(err) != 481 {
			t.Fatalf("to bob: %v", err)
		}
		// Alice initiated it: she takes the new call and cancels hers.
		aliceView := early.ID().CallID + ";to-tag=" + early.ID().LocalTag + ";from-tag=" + early.ID().RemoteTag
		cc, err := carol.Invite(context.Background(), alice.Contact(), &InviteOptions{Replaces: aliceView})
		if err != nil {
			t.Fatal(err)
		}
		<-aliceCalls
		if err := <-inviteErr; StatusCode(err) != 487 {
			t.Errorf("alice's INVITE ended with %v", err)
		}
		if aliceRec.count(Out, sip.MethodCancel, 0) != 1 || bobRec.count(Out, sip.MethodInvite, 487) != 1 {
			t.Errorf("no CANCEL of the replaced early dialog")
		}
		<-bic.Call().Done()
		if cc.State().String() != "confirmed" {
			t.Errorf("carol's call %v", cc.State())
		}
	})
}

// TestCloseCancelsAndRejects: Close CANCELs our ringing INVITE and answers
// an unanswered incoming one 480.
func TestCloseCancelsAndRejects(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		ringing := make(chan *IncomingCall, 2)
		ring := func(ic *IncomingCall) {
			ic.Ring()
			ringing <- ic
		}
		bob, _ := n.add(t, 2, Config{User: "bob", OnInvite: ring})
		alice, aliceRec := n.add(t, 1, Config{User: "alice", OnInvite: ring})
		carol, carolRec := n.add(t, 3, Config{User: "carol"})
		go alice.Invite(context.Background(), bob.Contact(), nil)
		bic := <-ringing
		carolErr := make(chan error, 1)
		go func() {
			_, err := carol.Invite(context.Background(), alice.Contact(), nil)
			carolErr <- err
		}()
		<-ringing
		synctest.Wait()
		alice.Close()
		<-bic.Cancelled()
		if aliceRec.count(Out, sip.MethodCancel, 0) != 1 {
			t.Errorf("no CANCEL")
		}
		if err := <-carolErr; StatusCode(err) != 480 {
			t.Errorf("carol's call: %v\n%s", err, carolRec)
		}
	})
}

// TestCancelCrossesOK: the callee answers just as the caller cancels; the
// 2xx wins (the CANCEL gets no effect), so the caller ACKs it and hangs up
// with BYE (RFC 3261 §9.1, §15).
func TestCancelCrossesOK(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		answer := make(chan struct{})
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: func(ic *IncomingCall) {
			ic.Ring()
			<-answer
			c, err := ic.Answer(context.Background())
			if err == nil {
				calls <- c
			}
		}})
		alice, _ := n.add(t, 1, Config{User: "alice"})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := alice.Invite(ctx, bob.Contact(), nil)
			done <- err
		}()
		synctest.Wait()
		// The 200 and the CANCEL cross.
		n.pause()
		close(answer)
		cancel()
		synctest.Wait()
		n.resume()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Invite: %v", err)
		}
		bc := <-calls
		<-bc.Done()
		if bobRec.count(In, sip.MethodBye, 0) != 1 {
			t.Errorf("no BYE for the unwanted call")
		}
	})
}

// TestGlareUpdate: an UPDATE and a re-INVITE, both with offers, cross;
// each side answers the other's 491 (RFC 3311 §5.2, RFC 3261 §14.2) and
// both go through after the back-off.
func TestGlareUpdate(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: answerer(calls)})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		ac, err := alice.Invite(context.Background(), bob.Contact(), nil)
		if err != nil {
			t.Fatal(err)
		}
		bc := <-calls
		synctest.Wait()
		n.pause()
		errs := make(chan error, 2)
		go func() { errs <- ac.Hold(context.Background()) }()
		go func() { errs <- bc.Update(context.Background()) }()
		synctest.Wait()
		n.resume()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if aliceRec.count(In, sip.MethodInvite, 491) != 1 || bobRec.count(In, sip.MethodUpdate, 491) != 1 {
			t.Fatalf("491s:\n%s\n%s", aliceRec, bobRec)
		}
		if bobRec.count(In, sip.MethodUpdate, 200) != 1 || aliceRec.count(In, sip.MethodInvite, 200) != 2 {
			t.Errorf("retries did not succeed")
		}
	})
}

// TestReAckAfterTimerM: a 2xx retransmitted after the client INVITE
// transaction ended (Timer M, RFC 6026 §8.4) reaches the core as a stray
// and is ACKed again (RFC 3261 §13.2.2.4).
func TestReAckAfterTimerM(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		answered := make(chan error, 1)
		slow := transaction.Config{T1: time.Second, T2: 4 * time.Second}
		bob, _ := n.add(t, 2, Config{User: "bob", Timers: slow, OnInvite: func(ic *IncomingCall) {
			_, err := ic.Answer(context.Background())
			answered <- err
		}})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		start := time.Now()
		n.setDrop(func(_, _ netip.AddrPort, m sip.Message) bool {
			return isMethod(m, sip.MethodAck) && time.Since(start) < 35*time.Second
		})
		if _, err := alice.Invite(context.Background(), bob.Contact(), nil); err != nil {
			t.Fatal(err)
		}
		if err := <-answered; err != nil {
			t.Fatalf("Answer: %v", err)
		}
		acks := aliceRec.find(Out, sip.MethodAck, 0)
		if last := acks[len(acks)-1].at.Sub(start); last < 35*time.Second {
			t.Errorf("last ACK at %v", last)
		}
	})
}
