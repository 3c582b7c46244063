package transaction

import (
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/sipd/sipd/sip"
)

// TestCompletedRecordFreesServerTx: once a non-INVITE server transaction
// has sent its final response over UDP, the layer keeps only its record:
// the ServerTx is collected when the TU lets go of it, while a
// retransmitted request still gets the same response (RFC 3261 §17.2.2)
// until Timer J, 64*T1 after the response; then the layer holds nothing,
// and the same request is a new transaction.
func TestCompletedRecordFreesServerTx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tp := newFakeTransport()
		l := New(tp, Config{})
		defer l.Close()
		var weakTx weak.Pointer[ServerTx]
		served := 0
		l.SetCore(coreFunc(func(tx *ServerTx, req *sip.Request) {
			served++
			weakTx = weak.Make(tx)
			if err := tx.Respond(memAnswer(req, sip.StatusOK)); err != nil {
				t.Error(err)
			}
		}))
		h := &harness{t: t, start: tp.start, tp: tp, l: l}
		branch := NewBranch()
		reg := func() *sip.Request { return request(t, sip.MethodRegister, "UDP", branch, msgOpts{}) }
		h.inject(reg(), "UDP")
		runtime.GC()
		runtime.GC()
		if weakTx.Value() != nil {
			t.Error("the completed transaction's ServerTx is kept after the TU let go of it")
		}
		h.until(s(10))
		h.inject(reg(), "UDP")
		h.until(s(32) - 1)
		h.inject(reg(), "UDP")
		if served != 1 {
			t.Fatalf("TU got %d requests, want 1", served)
		}
		if err := equal("200 sent at", tp.responseTimes(200), durs(0, s(10), s(32)-1)); err != nil {
			t.Error(err)
		}
		wires := map[string]bool{}
		for _, m := range tp.all() {
			wires[m.wire] = true
		}
		if len(wires) != 1 {
			t.Errorf("retransmissions differ from the first 200: %d forms", len(wires))
		}
		h.until(s(32)) // Timer J
		h.checkEmpty()
		h.inject(reg(), "UDP")
		if served != 2 {
			t.Errorf("TU got %d requests after Timer J, want 2", served)
		}
	})
}

// TestCompletedRecordState: a ServerTx the TU keeps follows its record —
// Completed, with Respond refused (ErrFinal) and Done open, until Timer J,
// then Terminated with Done closed, whether Done was asked for before or
// after the final response; and Close ends records at once.
func TestCompletedRecordState(t *testing.T) {
	inBubble(t, func(h *harness) {
		h.inject(request(t, sip.MethodOptions, "UDP", NewBranch(), msgOpts{}), "UDP")
		h.inject(request(t, sip.MethodOptions, "UDP", NewBranch(), msgOpts{}), "UDP")
		txs := h.core.requests()
		early := txs[0].Done()
		if err := txs[0].Respond(answer(t, h.core.reqOf(txs[0]), 200, "x")); err != nil {
			t.Fatal(err)
		}
		h.until(s(1))
		if err := txs[1].Respond(answer(t, h.core.reqOf(txs[1]), 200, "x")); err != nil {
			t.Fatal(err)
		}
		late := txs[1].Done()
		h.until(s(32) - 1)
		for i, tx := range txs {
			if st := tx.State(); st != StateCompleted {
				t.Errorf("tx %d: %v before Timer J, want Completed", i, st)
			}
			if err := tx.Respond(answer(t, h.core.reqOf(tx), 404, "x")); !errors.Is(err, ErrFinal) {
				t.Errorf("tx %d: Respond in Completed = %v, want ErrFinal", i, err)
			}
		}
		select {
		case <-early:
			t.Fatal("Done closed before Timer J")
		case <-late:
			t.Fatal("Done closed before Timer J")
		default:
		}
		h.until(s(32))
		select {
		case <-early:
		default:
			t.Error("Done asked for in Trying not closed at Timer J")
		}
		if st := txs[0].State(); st != StateTerminated {
			t.Errorf("%v after Timer J, want Terminated", st)
		}
		if err := txs[0].Respond(answer(t, h.core.reqOf(txs[0]), 404, "x")); !errors.Is(err, ErrTerminated) {
			t.Errorf("Respond after Timer J = %v, want ErrTerminated", err)
		}
		if st := txs[1].State(); st != StateCompleted {
			t.Errorf("the later one is %v at 32 s, want Completed until 33 s", st)
		}
		h.l.Close()
		select {
		case <-late:
		default:
			t.Error("Done of a record not closed by Close")
		}
		if st := txs[1].State(); st != StateTerminated || txs[1].Err() != nil {
			t.Errorf("after Close: %v, %v; want Terminated, no error", st, txs[1].Err())
		}
		h.checkEmpty()
	})
}

// TestCompletedQueueOrder: records end in the order they were queued,
// Timer J after their final response; one whose response was read on the
// clock a moment before the record queued ahead of it waits for that one.
func TestCompletedQueueOrder(t *testing.T) {
	inBubble(t, func(h *harness) {
		for range 3 {
			h.inject(request(t, sip.MethodOptions, "UDP", NewBranch(), msgOpts{}), "UDP")
		}
		txs := h.core.requests()
		now := h.l.now()
		for i, at := range []time.Duration{now + 2, now + 3, now + 1} {
			tx := txs[i]
			tx.mu.Lock()
			tx.state = StateCompleted
			h.l.timers.stop(&tx.tm)
			h.l.complete(tx, nil, at)
			tx.mu.Unlock()
		}
		h.l.mu.Lock()
		var exp []time.Duration
		for _, rec := range h.l.completed.q {
			exp = append(exp, rec.expiry-64*h.l.t1-now)
		}
		h.l.mu.Unlock()
		if err := equal("expiries", exp, durs(2, 3, 3)); err != nil {
			t.Error(err)
		}
		h.until(64*h.l.t1 + 2)
		if st := [3]State{txs[0].State(), txs[1].State(), txs[2].State()}; st != [3]State{StateTerminated, StateCompleted, StateCompleted} {
			t.Errorf("states at Timer J of the first: %v", st)
		}
		h.until(64*h.l.t1 + 3)
		h.checkEmpty()
	})
}
