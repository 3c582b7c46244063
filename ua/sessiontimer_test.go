package ua

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// TestSessionTimerRefresh: the caller asks for 120 s; the callee names it
// refresher; it re-INVITEs at half the interval, each refresh restarting
// the timer (RFC 4028 §10). When the network then goes silent, the callee
// (not the refresher) sends BYE at expiry minus min(32 s, interval/3), and
// the caller's failed refresh ends its side too.
func TestSessionTimerRefresh(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: answerer(calls)})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		start := time.Now()
		ac, err := alice.Invite(context.Background(), bob.Contact(), &InviteOptions{SessionExpires: 120})
		if err != nil {
			t.Fatal(err)
		}
		bc := <-calls
		if iv, ref := ac.SessionInterval(); iv != 120*time.Second || !ref {
			t.Fatalf("alice: %v refresher %v", iv, ref)
		}
		if iv, ref := bc.SessionInterval(); iv != 120*time.Second || ref {
			t.Fatalf("bob: %v refresher %v", iv, ref)
		}
		resp := aliceRec.find(In, sip.MethodInvite, 200)[0].msg.(*sip.Response)
		if resp.Get("Session-Expires") != "120;refresher=uac" || !hasTag(resp, "Require", "timer") {
			t.Errorf("200: Session-Expires %q Require %q", resp.Get("Session-Expires"), resp.Get("Require"))
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if n := aliceRec.count(Out, sip.MethodInvite, 0); n != 1 {
			t.Fatalf("%d INVITEs before half the interval", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		invs := aliceRec.find(Out, sip.MethodInvite, 0)
		if len(invs) != 2 || invs[1].at.Sub(start) != 60*time.Second {
			t.Fatalf("refresh: %d INVITEs", len(invs))
		}
		if v := invs[1].msg.(*sip.Request).Get("Session-Expires"); v != "120;refresher=uac" {
			t.Errorf("refresh Session-Expires %q", v)
		}
		// A second refresh at 120 s, then silence.
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if n := aliceRec.count(Out, sip.MethodInvite, 0); n != 3 {
			t.Fatalf("%d INVITEs after 121 s", n)
		}
		lastRefresh := time.Now().Add(-time.Second)
		n.setDrop(func(_, _ netip.AddrPort, _ sip.Message) bool { return true })
		<-bc.Done()
		if !errors.Is(bc.Err(), ErrSessionExpired) {
			t.Errorf("bob ended with %v", bc.Err())
		}
		byes := bobRec.find(Out, sip.MethodBye, 0)
		if len(byes) == 0 || byes[0].at.Sub(lastRefresh) != 88*time.Second {
			t.Errorf("bob's BYE: %d, %v after the refresh", len(byes), byes)
		}
		<-ac.Done()
		if ac.Err() == nil || aliceRec.count(Out, sip.MethodBye, 0) == 0 {
			t.Errorf("alice ended with %v, BYEs %d", ac.Err(), aliceRec.count(Out, sip.MethodBye, 0))
		}
	})
}

// TestSessionTimer422: an interval below the callee's Min-SE gets 422; the
// caller retries with the Min-SE (RFC 4028 §8.1) and refreshes by UPDATE.
func TestSessionTimer422(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		bob, _ := n.add(t, 2, Config{User: "bob", MinSE: 300, OnInvite: answerer(calls)})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		ac, err := alice.Invite(context.Background(), bob.Contact(), &InviteOptions{SessionExpires: 100, RefreshWithUpdate: true})
		if err != nil {
			t.Fatal(err)
		}
		<-calls
		if aliceRec.count(In, sip.MethodInvite, 422) != 1 {
			t.Fatalf("no 422")
		}
		invs := aliceRec.find(Out, sip.MethodInvite, 0)
		if v := invs[len(invs)-1].msg.(*sip.Request).Get("Session-Expires"); v != "300;refresher=uac" {
			t.Errorf("retry Session-Expires %q", v)
		}
		if iv, _ := ac.SessionInterval(); iv != 300*time.Second {
			t.Errorf("interval %v", iv)
		}
		time.Sleep(151 * time.Second)
		synctest.Wait()
		if aliceRec.count(In, sip.MethodUpdate, 200) != 1 {
			t.Errorf("no UPDATE refresh")
		}
	})
}

// TestNoAck: a 2xx is retransmitted (T1 doubling to T2) until 64*T1; with
// no ACK the callee then ends the call with BYE (RFC 3261 §13.3.1.4).
func TestNoAck(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		answerErr := make(chan error, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: func(ic *IncomingCall) {
			_, err := ic.Answer(context.Background())
			answerErr <- err
		}})
		alice, _ := n.add(t, 1, Config{User: "alice"})
		n.setDrop(func(_, _ netip.AddrPort, m sip.Message) bool { return isMethod(m, sip.MethodAck) })
		ac, err := alice.Invite(context.Background(), bob.Contact(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-answerErr; !errors.Is(err, ErrNoAck) {
			t.Fatalf("Answer: %v", err)
		}
		oks := bobRec.find(Out, sip.MethodInvite, 200)
		// 0, .5, 1.5, 3.5, 7.5, 11.5, ... 31.5: 11 copies.
		if len(oks) != 11 {
			t.Errorf("bob sent the 200 %d times", len(oks))
		}
		var gaps []time.Duration
		for i := 1; i < len(oks); i++ {
			gaps = append(gaps, oks[i].at.Sub(oks[i-1].at))
		}
		if len(gaps) > 4 && (gaps[0] != 500*time.Millisecond || gaps[1] != time.Second || gaps[2] != 2*time.Second || gaps[3] != 4*time.Second || gaps[4] != 4*time.Second) {
			t.Errorf("gaps %v", gaps)
		}
		<-ac.Done()
		synctest.Wait()
		if bobRec.count(Out, sip.MethodBye, 0) != 1 || bobRec.count(In, sip.MethodBye, 200) != 1 {
			t.Errorf("no BYE after the ACK timeout")
		}
	})
}

// TestReAck: the first ACK is lost; the retransmitted 2xx is ACKed again
// with the same ACK (RFC 3261 §13.2.2.4).
func TestReAck(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		calls := make(chan *Call, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: answerer(calls)})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		lost := false
		n.setDrop(func(_, _ netip.AddrPort, m sip.Message) bool {
			if isMethod(m, sip.MethodAck) && !lost {
				lost = true
				return true
			}
			return false
		})
		if _, err := alice.Invite(context.Background(), bob.Contact(), nil); err != nil {
			t.Fatal(err)
		}
		bc := <-calls
		synctest.Wait()
		acks := aliceRec.find(Out, sip.MethodAck, 0)
		if len(acks) != 2 || bobRec.count(Out, sip.MethodInvite, 200) != 2 {
			t.Fatalf("ACKs %d, 200s %d", len(acks), bobRec.count(Out, sip.MethodInvite, 200))
		}
		v1, _ := acks[0].msg.(*sip.Request).TopVia()
		v2, _ := acks[1].msg.(*sip.Request).TopVia()
		if v1.Params != v2.Params {
			t.Errorf("re-ACK differs: %v %v", v1.Params, v2.Params)
		}
		if bc.State() != dialog.Confirmed {
			t.Errorf("bob %v", bc.State())
		}
	})
}

// TestCancel: the caller gives up while the callee rings: CANCEL, 200 to
// it, 487 to the INVITE (RFC 3261 §9).
func TestCancel(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		rang := make(chan *IncomingCall, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: func(ic *IncomingCall) {
			ic.Ring()
			rang <- ic
		}})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := alice.Invite(ctx, bob.Contact(), nil)
			done <- err
		}()
		ic := <-rang
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Invite: %v", err)
		}
		<-ic.Cancelled()
		<-ic.Call().Done()
		// The 200 to the CANCEL and the 487 go out from different
		// goroutines: let both finish before counting.
		synctest.Wait()
		if bobRec.count(Out, sip.MethodCancel, 200) != 1 || aliceRec.count(In, sip.MethodInvite, 487) != 1 {
			t.Errorf("flow:\n%s", aliceRec)
		}
		if len(alice.Calls()) != 0 || len(bob.Calls()) != 0 {
			t.Errorf("calls left")
		}
	})
}

// TestForkedInvite: the INVITE reaches two phones (as through a forking
// proxy); both answer; the first 2xx makes the call, the second dialog is
// ACKed and ended with BYE (RFC 3261 §13.2.2.4). Early dialogs came from
// each 180.
func TestForkedInvite(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		first := make(chan *Call, 1)
		second := make(chan *Call, 1)
		bob, _ := n.add(t, 2, Config{User: "bob", OnInvite: answerer(first)})
		_, bob2Rec := n.add(t, 3, Config{User: "bob", OnInvite: func(ic *IncomingCall) {
			ic.Ring()
			time.Sleep(time.Second) // answers later than the first
			c, err := ic.Answer(context.Background())
			if err == nil {
				second <- c
			}
		}})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		// Copy every INVITE to bob at .2 to bob at .3 too.
		b1, b2 := bob.Addr(), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 3}), 5060)
		n.setDrop(func(from, to netip.AddrPort, m sip.Message) bool {
			if r, ok := m.(*sip.Request); ok && to == b1 && r.Method == sip.MethodInvite && r.ToTag() == "" {
				n.deliver(from, b2, r, r.Bytes())
			}
			return false
		})
		ac, err := alice.Invite(context.Background(), bob.Contact(), nil)
		if err != nil {
			t.Fatal(err)
		}
		bc := <-first
		c2 := <-second
		<-c2.Done()
		synctest.Wait()
		if ac.ID().RemoteTag != bc.ID().LocalTag {
			t.Errorf("call is not with the first phone")
		}
		if aliceRec.count(Out, sip.MethodAck, 0) != 2 || bob2Rec.count(In, sip.MethodBye, 0) != 1 {
			t.Errorf("flow:\n%s", aliceRec)
		}
		if ac.State() != dialog.Confirmed {
			t.Errorf("call %v", ac.State())
		}
	})
}

var _ = transaction.ErrTimeout
