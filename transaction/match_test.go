package transaction

import (
	"testing"

	"github.com/sipd/sipd/sip"
)

// TestMatchInviteRetransmission: §17.2.3 — the retransmitted INVITE is
// absorbed, the TU sees one request and the peer gets the last provisional
// response again.
func TestMatchInviteRetransmission(t *testing.T) {
	inBubble(t, func(h *harness) {
		b := NewBranch()
		h.inject(request(t, sip.MethodInvite, "UDP", b, msgOpts{}), "UDP")
		tx := h.core.requests()[0]
		if err := tx.Respond(answer(t, tx.Request(), 180, "uas1")); err != nil {
			t.Fatal(err)
		}
		if err := tx.Respond(answer(t, tx.Request(), 183, "uas1")); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			h.inject(request(t, sip.MethodInvite, "UDP", b, msgOpts{}), "UDP")
		}
		if n := len(h.core.requests()); n != 1 {
			t.Errorf("TU got %d requests, want 1", n)
		}
		if err := equal("sent", codes(h.tp.all()), []int{180, 183, 183, 183, 183}); err != nil {
			t.Error(err)
		}
	})
}

// TestMatchAck: the ACK for a non-2xx final response shares the INVITE's
// branch and is absorbed (§17.1.1.3, §17.2.3); the ACK for a 2xx has a
// branch of its own and is passed to the core (§17.1.1.2).
func TestMatchAck(t *testing.T) {
	inBubble(t, func(h *harness) {
		b1, b2 := NewBranch(), NewBranch()
		h.inject(request(t, sip.MethodInvite, "UDP", b1, msgOpts{callID: "c1"}), "UDP")
		h.inject(request(t, sip.MethodInvite, "UDP", b2, msgOpts{callID: "c2"}), "UDP")
		txs := h.core.requests()
		if err := txs[0].Respond(answer(t, txs[0].Request(), 486, "t1")); err != nil {
			t.Fatal(err)
		}
		if err := txs[1].Respond(answer(t, txs[1].Request(), 200, "t2")); err != nil {
			t.Fatal(err)
		}
		h.inject(request(t, sip.MethodAck, "UDP", b1, msgOpts{callID: "c1", toTag: "t1"}), "UDP")
		if len(h.core.strayMsgs()) != 0 || txs[0].State() != StateConfirmed {
			t.Errorf("ACK to 486: %d strays, state %v; want absorbed, Confirmed", len(h.core.strayMsgs()), txs[0].State())
		}
		ack := request(t, sip.MethodAck, "UDP", NewBranch(), msgOpts{callID: "c2", toTag: "t2"})
		h.inject(ack, "UDP")
		if s := h.core.strayMsgs(); len(s) != 1 || s[0].Msg != ack {
			t.Errorf("ACK to 200 not passed to the core: %v", s)
		}
		if txs[1].State() != StateAccepted {
			t.Errorf("INVITE answered 200 is %v, want Accepted", txs[1].State())
		}
		// An ACK with no INVITE at all is stray too.
		h.inject(request(t, sip.MethodAck, "UDP", NewBranch(), msgOpts{callID: "c3"}), "UDP")
		if n := len(h.core.strayMsgs()); n != 2 {
			t.Errorf("%d strays, want 2", n)
		}
	})
}

// TestMatchCancel: §9.2 — a CANCEL that matches an INVITE server
// transaction gets one of its own; MatchCancel finds the INVITE; the
// CANCEL's retransmission is absorbed; a CANCEL matching nothing is stray.
func TestMatchCancel(t *testing.T) {
	inBubble(t, func(h *harness) {
		b := NewBranch()
		inv := request(t, sip.MethodInvite, "UDP", b, msgOpts{})
		h.inject(inv, "UDP")
		invTx := h.core.requests()[0]
		cancelled := invTx.Cancelled()
		select {
		case <-cancelled:
			t.Fatal("Cancelled closed before any CANCEL")
		default:
		}
		if invTx.IsCancelled() {
			t.Fatal("IsCancelled before any CANCEL")
		}
		cancelReq, err := sip.NewCancel(inv)
		if err != nil {
			t.Fatal(err)
		}
		cancel, err := sip.ParseRequest(cancelReq.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		var matched *ServerTx
		h.core.onRequest = func(tx *ServerTx, req *sip.Request) {
			if req.Method != sip.MethodCancel {
				return
			}
			m, ok := h.l.MatchCancel(req)
			if !ok {
				t.Error("MatchCancel found nothing")
				return
			}
			matched = m
			if err := tx.Respond(answer(t, req, 200, "uas1")); err != nil {
				t.Error(err)
			}
			if err := m.Respond(answer(t, m.Request(), 487, "uas1")); err != nil {
				t.Error(err)
			}
		}
		h.inject(cancel, "UDP")
		if matched != invTx {
			t.Fatalf("MatchCancel = %p, want the INVITE's transaction %p", matched, invTx)
		}
		select {
		case <-cancelled:
		default:
			t.Error("Cancelled not closed")
		}
		if !invTx.IsCancelled() {
			t.Error("IsCancelled false after the CANCEL")
		}
		txs := h.core.requests()
		if len(txs) != 2 || txs[1].Method() != sip.MethodCancel || txs[1].State() != StateCompleted {
			t.Fatalf("CANCEL did not get a server transaction of its own: %v", txs)
		}
		again, _ := sip.ParseRequest(cancelReq.Bytes())
		h.inject(again, "UDP")
		if n := len(h.core.requests()); n != 2 {
			t.Errorf("retransmitted CANCEL made a transaction: %d", n)
		}
		if err := equal("sent", codes(h.tp.all()), []int{200, 487, 200}); err != nil {
			t.Error(err)
		}
		// A CANCEL for an INVITE we never saw.
		other, _ := sip.NewCancel(request(t, sip.MethodInvite, "UDP", NewBranch(), msgOpts{}))
		stray, _ := sip.ParseRequest(other.Bytes())
		h.inject(stray, "UDP")
		if s := h.core.strayMsgs(); len(s) != 1 || s[0].Msg != stray {
			t.Errorf("unmatched CANCEL not stray: %v", s)
		}
		if _, ok := h.l.MatchCancel(stray); ok {
			t.Error("MatchCancel matched a CANCEL for an unknown INVITE")
		}
		h.inject(request(t, sip.MethodAck, "UDP", b, msgOpts{toTag: "uas1"}), "UDP")
		h.until(s(40))
		h.checkEmpty()
	})
}

// TestMatchRFC2543: without the magic cookie, requests are matched on
// Request-URI, tags, Call-ID, CSeq and top Via (§17.2.3).
func TestMatchRFC2543(t *testing.T) {
	for _, branch := range []string{"", "1234abc"} {
		t.Run("branch="+branch, func(t *testing.T) {
			inBubble(t, func(h *harness) {
				inv := func() *sip.Request { return request(t, sip.MethodInvite, "UDP", branch, msgOpts{}) }
				h.inject(inv(), "UDP")
				h.inject(inv(), "UDP")
				txs := h.core.requests()
				if len(txs) != 1 {
					t.Fatalf("TU got %d INVITEs, want 1", len(txs))
				}
				tx := txs[0]
				// Another CSeq, or another Request-URI: a new transaction.
				h.inject(request(t, sip.MethodInvite, "UDP", branch, msgOpts{cseq: 2}), "UDP")
				h.inject(request(t, sip.MethodInvite, "UDP", branch, msgOpts{uri: "sip:carol@biloxi.example"}), "UDP")
				if n := len(h.core.requests()); n != 3 {
					t.Errorf("TU got %d requests, want 3", n)
				}
				// CANCEL: matched to the INVITE as if it were one (§9.2).
				cancel := request(t, sip.MethodCancel, "UDP", branch, msgOpts{})
				if m, ok := h.l.MatchCancel(cancel); !ok || m != tx {
					t.Errorf("MatchCancel = %v, %v", m, ok)
				}
				if err := tx.Respond(answer(t, tx.Request(), 486, "uas9")); err != nil {
					t.Fatal(err)
				}
				// An ACK with another To tag is not for our 486.
				h.inject(request(t, sip.MethodAck, "UDP", branch, msgOpts{toTag: "other"}), "UDP")
				if tx.State() != StateCompleted || len(h.core.strayMsgs()) != 1 {
					t.Errorf("ACK with a foreign tag: state %v, %d strays", tx.State(), len(h.core.strayMsgs()))
				}
				h.inject(request(t, sip.MethodAck, "UDP", branch, msgOpts{toTag: "uas9"}), "UDP")
				if tx.State() != StateConfirmed || len(h.core.strayMsgs()) != 1 {
					t.Errorf("ACK with the 486's tag: state %v, %d strays", tx.State(), len(h.core.strayMsgs()))
				}
				h.inject(request(t, sip.MethodAck, "UDP", branch, msgOpts{toTag: "uas9"}), "UDP")
				if len(h.core.strayMsgs()) != 1 {
					t.Error("retransmitted ACK not absorbed in Confirmed")
				}
				// Non-INVITE: the whole CSeq and the To tag count.
				bye := func(tag string) *sip.Request {
					return request(t, sip.MethodBye, "UDP", branch, msgOpts{toTag: tag, cseq: 7})
				}
				h.inject(bye("d1"), "UDP")
				h.inject(bye("d1"), "UDP")
				h.inject(bye("d2"), "UDP")
				if n := len(h.core.requests()); n != 5 {
					t.Errorf("TU got %d requests, want 5", n)
				}
			})
		})
	}
}

// TestMatchRFC2543Accepted: RFC 6026 §6 — an RFC 2543 ACK that matches an
// INVITE server transaction in Accepted goes to the TU.
func TestMatchRFC2543Accepted(t *testing.T) {
	inBubble(t, func(h *harness) {
		h.inject(request(t, sip.MethodInvite, "UDP", "", msgOpts{}), "UDP")
		tx := h.core.requests()[0]
		if err := tx.Respond(answer(t, tx.Request(), 200, "uas7")); err != nil {
			t.Fatal(err)
		}
		h.inject(request(t, sip.MethodAck, "UDP", "", msgOpts{toTag: "uas7"}), "UDP")
		if len(h.core.strayMsgs()) != 1 || tx.State() != StateAccepted {
			t.Errorf("ACK in Accepted: %d strays, state %v", len(h.core.strayMsgs()), tx.State())
		}
		h.inject(request(t, sip.MethodInvite, "UDP", "", msgOpts{}), "UDP")
		if len(h.core.requests()) != 1 {
			t.Error("retransmitted INVITE in Accepted not absorbed")
		}
		h.until(s(33))
		h.checkEmpty()
	})
}

// TestMatchServerKey: §17.2.3 — branch, sent-by and method all count; a
// second Via does not.
func TestMatchServerKey(t *testing.T) {
	inBubble(t, func(h *harness) {
		b := NewBranch()
		h.inject(request(t, sip.MethodOptions, "UDP", b, msgOpts{branch2: "z9hG4bKa"}), "UDP")
		h.inject(request(t, sip.MethodOptions, "UDP", b, msgOpts{branch2: "z9hG4bKb"}), "UDP")
		if n := len(h.core.requests()); n != 1 {
			t.Errorf("second Via changed the match: %d transactions", n)
		}
		h.inject(request(t, sip.MethodOptions, "UDP", b, msgOpts{sentBy: "evil.example:5060"}), "UDP")
		if n := len(h.core.requests()); n != 2 {
			t.Errorf("same branch from another sent-by matched: %d transactions", n)
		}
		h.inject(request(t, sip.MethodInfo, "UDP", b, msgOpts{}), "UDP")
		if n := len(h.core.requests()); n != 3 {
			t.Errorf("same branch with another method matched: %d transactions", n)
		}
		// Requests without a Via or CSeq cannot be matched and are dropped.
		h.inject(request(t, sip.MethodOptions, "UDP", b, msgOpts{noVia: true}), "UDP")
		if n := len(h.core.requests()); n != 3 || len(h.core.strayMsgs()) != 0 {
			t.Errorf("request without Via reached the TU")
		}
	})
}

// TestMatchResponses: §17.1.3 — branch and CSeq method pick the client
// transaction; anything else is stray.
func TestMatchResponses(t *testing.T) {
	inBubble(t, func(h *harness) {
		rh := &recHandler{start: h.start}
		inv, err := h.l.Request(request(t, sip.MethodInvite, "TCP", NewBranch(), msgOpts{}), target("TCP"), rh)
		if err != nil {
			t.Fatal(err)
		}
		invWire := h.tp.last(t, sip.MethodInvite, 0).wire
		h.inject(response(t, invWire, 180, "a"), "TCP")
		if err := inv.Cancel(); err != nil {
			t.Fatal(err)
		}
		cancelWire := h.tp.last(t, sip.MethodCancel, 0).wire
		// The 200 to the CANCEL shares the INVITE's branch but not its
		// method: it goes to the CANCEL's transaction, not the INVITE's.
		h.inject(response(t, cancelWire, 200, "a"), "TCP")
		if inv.State() != StateProceeding {
			t.Errorf("200 to CANCEL moved the INVITE to %v", inv.State())
		}
		// A response with an unknown branch is stray.
		h.inject(response(t, request(t, sip.MethodInvite, "TCP", NewBranch(), msgOpts{}).String(), 200, "a"), "TCP")
		if n := len(h.core.strayMsgs()); n != 1 {
			t.Errorf("%d strays, want 1", n)
		}
		h.inject(response(t, invWire, 487, "a"), "TCP")
		if err := checkEvents(rh.all(), []event{resp(0, 180), resp(0, 487)}); err != nil {
			t.Error(err)
		}
		h.checkEmpty()
	})
}

func codes(ms []sentMsg) []int {
	var cs []int
	for _, m := range ms {
		if m.code != 0 {
			cs = append(cs, m.code)
		}
	}
	return cs
}
