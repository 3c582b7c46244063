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
)

// sim runs f in a synctest bubble with a memNet, closing UAs and the net
// at the end so that every goroutine ends (the bubble checks that).
func sim(t *testing.T, f func(t *testing.T, n *memNet)) {
	synctest.Test(t, func(t *testing.T) {
		n := newMemNet()
		defer n.shutdown()
		f(t, n)
	})
}

// shutdown closes the UAs and the network.
func (n *memNet) shutdown() {
	n.mu.Lock()
	var uas []*UA
	for _, node := range n.nodes {
		if node.ua != nil {
			uas = append(uas, node.ua)
		}
	}
	n.mu.Unlock()
	for _, u := range uas {
		u.Close()
	}
	n.close()
}

// isMethod matches requests of a method.
func isMethod(msg sip.Message, method string) bool {
	r, ok := msg.(*sip.Request)
	return ok && r.Method == method
}

// TestPRACK: a reliable 183 (Require: 100rel, RSeq) is retransmitted until
// the PRACK, which carries RAck; then no more copies (RFC 3262 §3).
func TestPRACK(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		progressErr := make(chan error, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: func(ic *IncomingCall) {
			err := ic.Progress(context.Background(), 0, true)
			progressErr <- err
			if err == nil {
				ic.Answer(context.Background())
			}
		}})
		alice, aliceRec := n.add(t, 1, Config{User: "alice"})
		// The first PRACK is lost, so the 183 goes again after T1.
		dropped := 0
		n.setDrop(func(_, _ netip.AddrPort, m sip.Message) bool {
			if isMethod(m, sip.MethodPrack) && dropped == 0 {
				dropped++
				return true
			}
			return false
		})
		c, err := alice.Invite(context.Background(), bob.Contact(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-progressErr; err != nil {
			t.Fatal(err)
		}
		sent := bobRec.find(Out, sip.MethodInvite, 183)
		if len(sent) != 2 {
			t.Fatalf("bob sent %d 183s, want 2 (one retransmission)", len(sent))
		}
		r183 := sent[0].msg.(*sip.Response)
		if !hasTag(r183, "Require", "100rel") || r183.Get("RSeq") == "" || len(r183.Body) == 0 {
			t.Errorf("183 lacks Require/RSeq/SDP:\n%s", r183)
		}
		if gap := sent[1].at.Sub(sent[0].at); gap != 500*time.Millisecond {
			t.Errorf("retransmitted after %v, want T1", gap)
		}
		pracks := aliceRec.find(Out, sip.MethodPrack, 0)
		if len(pracks) == 0 {
			t.Fatal("no PRACK")
		}
		rack, err := pracks[0].msg.(*sip.Request).RAck()
		rseq, _ := r183.RSeq()
		if err != nil || rack.RSeq != rseq || rack.CSeq != 1 || rack.Method != sip.MethodInvite {
			t.Errorf("RAck %+v %v, RSeq %d", rack, err, rseq)
		}
		if aliceRec.count(In, sip.MethodPrack, 200) != 1 {
			t.Errorf("PRACK not answered 200")
		}
		// No more 183s after the PRACK.
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if n := bobRec.count(Out, sip.MethodInvite, 183); n != 2 {
			t.Errorf("bob sent %d 183s in all", n)
		}
		if c.State() != dialog.Confirmed || c.Negotiated().Codec.Name != "PCMU" {
			t.Errorf("call %v %v", c.State(), c.Negotiated())
		}
	})
}

// TestPRACKTimeout: without any PRACK the INVITE is rejected 5xx after
// 64*T1 (RFC 3262 §3).
func TestPRACKTimeout(t *testing.T) {
	sim(t, func(t *testing.T, n *memNet) {
		progressErr := make(chan error, 1)
		bob, bobRec := n.add(t, 2, Config{User: "bob", OnInvite: func(ic *IncomingCall) {
			progressErr <- ic.Progress(context.Background(), 180, true)
		}})
		alice, _ := n.add(t, 1, Config{User: "alice"})
		n.setDrop(func(_, _ netip.AddrPort, m sip.Message) bool { return isMethod(m, sip.MethodPrack) })
		start := time.Now()
		_, err := alice.Invite(context.Background(), bob.Contact(), nil)
		if StatusCode(err) != 500 {
			t.Fatalf("got %v", err)
		}
		if e := <-progressErr; !errors.Is(e, ErrNoPRACK) {
			t.Errorf("Progress: %v", e)
		}
		if d := time.Since(start); d != 32*time.Second {
			t.Errorf("rejected after %v, want 64*T1", d)
		}
		// T1, 2T1, 4T1, ... 16 s: 6 retransmissions after the first.
		if n := bobRec.count(Out, sip.MethodInvite, 180); n != 7 {
			t.Errorf("bob sent %d 180s", n)
		}
	})
}

// TestGlare: both sides re-INVITE at once; both get 491 and retry after
// the back-off of RFC 3261 §14.1: the Call-ID's owner (the caller) after
// 2.1-4 s, the other after 0-2 s, so the callee's retry goes first.
func TestGlare(t *testing.T) {
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
		go func() { errs <- bc.Hold(context.Background()) }()
		synctest.Wait()
		start := time.Now()
		n.resume()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if aliceRec.count(In, sip.MethodInvite, 491) != 1 || bobRec.count(In, sip.MethodInvite, 491) != 1 {
			t.Fatalf("491s: alice %d bob %d", aliceRec.count(In, sip.MethodInvite, 491), bobRec.count(In, sip.MethodInvite, 491))
		}
		ai := aliceRec.find(Out, sip.MethodInvite, 0)
		bi := bobRec.find(Out, sip.MethodInvite, 0)
		if len(ai) != 3 || len(bi) != 2 {
			t.Fatalf("INVITEs: alice %d bob %d", len(ai), len(bi))
		}
		aRetry, bRetry := ai[2].at.Sub(start), bi[1].at.Sub(start)
		if aRetry < 2100*time.Millisecond || aRetry > 4*time.Second+time.Millisecond {
			t.Errorf("owner retried after %v", aRetry)
		}
		if bRetry > 2*time.Second {
			t.Errorf("non-owner retried after %v", bRetry)
		}
		cs1, _ := ai[1].msg.(*sip.Request).CSeq()
		cs2, _ := ai[2].msg.(*sip.Request).CSeq()
		if cs2.Seq != cs1.Seq+1 {
			t.Errorf("retry CSeq %d after %d", cs2.Seq, cs1.Seq)
		}
	})
}
