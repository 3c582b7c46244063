package transaction

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// serverStep is one thing a server test does at a moment of fake time.
type serverStep struct {
	at      time.Duration
	fail    int    // make the next fail sends fail
	req     string // inject: "again" (the request retransmitted), "ACK" (for the final), "ACK2xx" (new branch)
	respond int    // the TU responds with this status (To tag "uas1" above 100)
	wantErr error  // of Respond
	state   State  // then check the state
}

type serverCase struct {
	name       string
	method     string
	tr         string
	steps      []serverStep
	wantSent   map[int][]time.Duration // responses sent, by status
	wantErrs   []event                 // heard by the ServerErrorHandler
	wantStrays int
	wantEnd    time.Duration
}

func runServerCase(t *testing.T, tc serverCase) {
	inBubble(t, func(h *harness) {
		branch := NewBranch()
		wire := request(t, tc.method, tc.tr, branch, msgOpts{}).String()
		parse := func() *sip.Request {
			r, err := sip.ParseRequest([]byte(wire))
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		h.inject(parse(), tc.tr)
		txs := h.core.requests()
		if len(txs) != 1 {
			t.Fatalf("TU got %d requests, want 1", len(txs))
		}
		tx := txs[0]
		want := StateTrying
		if tc.method == sip.MethodInvite {
			want = StateProceeding
		}
		if got := tx.State(); got != want {
			t.Errorf("state at start = %v, want %v", got, want)
		}
		endChecked := false
		checkEnd := func() {
			t.Helper()
			if endChecked || time.Since(h.start) > tc.wantEnd {
				return
			}
			endChecked = true
			if tc.wantEnd > time.Since(h.start) {
				h.until(tc.wantEnd - time.Nanosecond)
				if tx.State() == StateTerminated {
					t.Errorf("Terminated before %v", tc.wantEnd)
				}
				h.until(tc.wantEnd)
			}
			if got := tx.State(); got != StateTerminated {
				t.Errorf("state at %v = %v, want Terminated", tc.wantEnd, got)
			}
			select {
			case <-tx.Done():
			default:
				t.Error("Done not closed when Terminated")
			}
		}
		for _, st := range tc.steps {
			if st.at > tc.wantEnd {
				checkEnd()
			}
			h.until(st.at)
			if st.fail != 0 {
				h.tp.failNext(st.fail)
			}
			switch st.req {
			case "":
			case "again":
				h.inject(parse(), tc.tr)
			case "ACK":
				h.inject(request(t, sip.MethodAck, tc.tr, branch, msgOpts{toTag: "uas1"}), tc.tr)
			case "ACK2xx":
				h.inject(request(t, sip.MethodAck, tc.tr, NewBranch(), msgOpts{toTag: "uas1"}), tc.tr)
			default:
				t.Fatalf("unknown step %q", st.req)
			}
			if st.respond != 0 {
				tag := "uas1"
				if st.respond == 100 {
					tag = ""
				}
				err := tx.Respond(answer(t, h.core.reqOf(tx), st.respond, tag))
				if st.wantErr == nil && err != nil || st.wantErr != nil && !errors.Is(err, st.wantErr) {
					t.Errorf("Respond(%d) at %v = %v, want %v", st.respond, st.at, err, st.wantErr)
				}
			}
			if st.state != 0 {
				if got := tx.State(); got != st.state {
					t.Errorf("state at %v = %v, want %v", st.at, got, st.state)
				}
			}
		}
		checkEnd()
		h.until(100 * time.Second)

		if n := len(h.core.requests()); n != 1 {
			t.Errorf("TU got %d requests, want 1", n)
		}
		codes := map[int]bool{}
		for _, m := range h.tp.all() {
			codes[m.code] = true
		}
		for c := range maps.Keys(tc.wantSent) {
			codes[c] = true
		}
		for _, c := range slices.Sorted(maps.Keys(codes)) {
			if err := equal(sip.StatusText(c)+" sent at", h.tp.responseTimes(c), tc.wantSent[c]); err != nil {
				t.Error(err)
			}
		}
		if err := checkEvents(h.core.serverErrs(), tc.wantErrs); err != nil {
			t.Error(err)
		}
		if n := len(h.core.strayMsgs()); n != tc.wantStrays {
			t.Errorf("%d strays, want %d", n, tc.wantStrays)
		}
		h.checkEmpty()
	})
}

// TestInviteServer drives the INVITE server transaction through every
// transition of RFC 3261 Figure 7 as RFC 6026 §8.6 redraws it.
func TestInviteServer(t *testing.T) {
	tests := []serverCase{{
		name: "Proceeding: 100 Trying at 200 ms, provisional resent, Completed, ACK, Confirmed, Timer I (UDP)",
		tr:   "UDP",
		steps: []serverStep{
			{at: ms(199), state: StateProceeding},
			{at: s(1), req: "again", state: StateProceeding},
			{at: s(2), respond: 180, state: StateProceeding},
			{at: s(3), req: "again", state: StateProceeding},
			{at: s(4), respond: 486, state: StateCompleted},
			{at: s(5), req: "ACK", state: StateConfirmed},
			{at: s(6), req: "ACK", state: StateConfirmed},
			{at: s(7), req: "again", state: StateConfirmed},
		},
		wantSent: map[int][]time.Duration{
			100: durs(ms(200), s(1)),
			180: durs(s(2), s(3)),
			486: durs(s(4), ms(4500)), // Timer G once, then the ACK stops it
		},
		wantEnd: s(10), // Timer I: T4
	}, {
		name: "no 100 Trying when the TU answers within 200 ms; Accepted; Timer L",
		tr:   "UDP",
		steps: []serverStep{
			{at: ms(100), respond: 180},
			{at: ms(150), respond: 200, state: StateAccepted},
		},
		wantSent: map[int][]time.Duration{180: durs(ms(100)), 200: durs(ms(150))},
		wantEnd:  ms(32150),
	}, {
		name:  "Completed: Timer G doubles up to T2, Timer H ends it and tells the TU (UDP)",
		tr:    "UDP",
		steps: []serverStep{{at: s(1), respond: 486, state: StateCompleted}},
		wantSent: map[int][]time.Duration{
			100: durs(ms(200)),
			486: durs(s(1), s(1.5), s(2.5), s(4.5), s(8.5), s(12.5), s(16.5), s(20.5), s(24.5), s(28.5), s(32.5)),
		},
		wantErrs: []event{failure(s(33), ErrTimeout)},
		wantEnd:  s(33),
	}, {
		name: "Completed over TCP: no Timer G, INVITE gets the final again, ACK, Timer I zero",
		tr:   "TCP",
		steps: []serverStep{
			{at: s(1), respond: 486, state: StateCompleted},
			{at: s(2), req: "again", state: StateCompleted},
			{at: s(3), req: "ACK", state: StateTerminated},
		},
		wantSent: map[int][]time.Duration{100: durs(ms(200)), 486: durs(s(1), s(2))},
		wantEnd:  s(3),
	}, {
		name: "Completed over TCP: Timer H",
		tr:   "TCP",
		steps: []serverStep{
			{at: ms(50), respond: 603, state: StateCompleted},
		},
		wantSent: map[int][]time.Duration{603: durs(ms(50))},
		wantErrs: []event{failure(ms(32050), ErrTimeout)},
		wantEnd:  ms(32050),
	}, {
		name: "Accepted: INVITE absorbed, 2xx from the TU sent, ACK to the TU, other finals refused, Timer L",
		tr:   "UDP",
		steps: []serverStep{
			{at: s(1), respond: 200, state: StateAccepted},
			{at: s(1.5), req: "again", state: StateAccepted},
			{at: s(2), respond: 200, state: StateAccepted},
			{at: s(2.5), req: "ACK", state: StateAccepted},    // same branch: matches, goes to the TU
			{at: s(2.6), req: "ACK2xx", state: StateAccepted}, // its own branch: matches nothing
			{at: s(3), respond: 486, wantErr: ErrFinal, state: StateAccepted},
			{at: s(3), respond: 180, wantErr: ErrFinal, state: StateAccepted},
		},
		wantSent:   map[int][]time.Duration{100: durs(ms(200)), 200: durs(s(1), s(2))},
		wantStrays: 2,
		wantEnd:    s(33),
	}, {
		name: "Proceeding: transport error, the transaction stays (RFC 6026 §8.8)",
		tr:   "UDP",
		steps: []serverStep{
			{at: s(1), fail: 1, respond: 180, wantErr: ErrTransport, state: StateProceeding},
			{at: s(2), req: "again", state: StateProceeding}, // absorbed: the 180 goes again
			{at: s(3), respond: 486, state: StateCompleted},
			{at: ms(3100), req: "ACK", state: StateConfirmed},
		},
		wantSent: map[int][]time.Duration{100: durs(ms(200)), 180: durs(s(2)), 486: durs(s(3))},
		wantEnd:  ms(8100),
	}, {
		name: "Proceeding: the 100 Trying fails, the TU is told",
		tr:   "UDP",
		steps: []serverStep{
			{at: ms(100), fail: 1},
			{at: s(1), respond: 486, state: StateCompleted},
			{at: ms(1100), req: "ACK", state: StateConfirmed},
		},
		wantSent: map[int][]time.Duration{486: durs(s(1))},
		wantErrs: []event{failure(ms(200), ErrTransport)},
		wantEnd:  ms(6100),
	}, {
		name: "Completed: transport error on Timer G, the transaction stays, Timer H ends it",
		tr:   "UDP",
		steps: []serverStep{
			{at: s(1), respond: 486, state: StateCompleted},
			{at: ms(1200), fail: 1},
			{at: s(2), state: StateCompleted},
		},
		wantSent: map[int][]time.Duration{
			100: durs(ms(200)),
			486: durs(s(1), s(2.5), s(4.5), s(8.5), s(12.5), s(16.5), s(20.5), s(24.5), s(28.5), s(32.5)),
		},
		wantErrs: []event{failure(s(1.5), ErrTransport), failure(s(33), ErrTimeout)},
		wantEnd:  s(33),
	}, {
		name: "Accepted: transport error on a 2xx, the transaction stays",
		tr:   "TCP",
		steps: []serverStep{
			{at: ms(10), respond: 200, state: StateAccepted},
			{at: s(1), fail: 1, respond: 200, wantErr: ErrTransport, state: StateAccepted},
			{at: s(2), req: "again", state: StateAccepted},
		},
		wantSent: map[int][]time.Duration{200: durs(ms(10))},
		wantEnd:  ms(32010),
	}}
	for _, tc := range tests {
		tc.method = sip.MethodInvite
		t.Run(tc.name, func(t *testing.T) { runServerCase(t, tc) })
	}
}

// TestNonInviteServer drives the non-INVITE server transaction through
// every transition of RFC 3261 Figure 8, with RFC 4320's rules on 100 and
// 408.
func TestNonInviteServer(t *testing.T) {
	tests := []serverCase{{
		name: "Trying absorbs, Completed resends the final, other finals refused, Timer J (UDP)",
		tr:   "UDP",
		steps: []serverStep{
			{at: s(1), req: "again", state: StateTrying},
			{at: s(2), respond: 200, state: StateCompleted},
			{at: s(3), req: "again", state: StateCompleted},
			{at: s(4), respond: 404, wantErr: ErrFinal, state: StateCompleted},
		},
		wantSent: map[int][]time.Duration{200: durs(s(2), s(3))},
		wantEnd:  s(34), // Timer J: 64*T1
	}, {
		name:     "Completed over TCP: Timer J zero",
		tr:       "TCP",
		steps:    []serverStep{{at: s(1), respond: 200, state: StateTerminated}},
		wantSent: map[int][]time.Duration{200: durs(s(1))},
		wantEnd:  s(1),
	}, {
		name: "Trying→Proceeding→Completed over TCP, Proceeding resends the 100",
		tr:   "TCP",
		steps: []serverStep{
			{at: ms(100), respond: 100, state: StateProceeding},
			{at: ms(500), req: "again", state: StateProceeding},
			{at: ms(600), respond: 100, state: StateProceeding},
			{at: s(1), respond: 200, state: StateTerminated},
		},
		wantSent: map[int][]time.Duration{100: durs(ms(100), ms(500), ms(600)), 200: durs(s(1))},
		wantEnd:  s(1),
	}, {
		name: "RFC 4320: a 100 from the TU waits over UDP; the layer sends it when Timer E reaches T2",
		tr:   "UDP",
		steps: []serverStep{
			{at: s(1), respond: 100, state: StateTrying},
			{at: s(3.4), state: StateTrying},
			{at: s(3.5), state: StateProceeding},
			{at: s(4), req: "again", state: StateProceeding},
			{at: s(5), respond: 200, state: StateCompleted},
		},
		wantSent: map[int][]time.Duration{100: durs(s(3.5), s(4)), 200: durs(s(5))},
		wantEnd:  s(37),
	}, {
		name:     "RFC 4320: a silent TU gets a 100 sent at 3.5 s over TCP too",
		tr:       "TCP",
		steps:    []serverStep{{at: s(5), respond: 200, state: StateTerminated}},
		wantSent: map[int][]time.Duration{100: durs(s(3.5)), 200: durs(s(5))},
		wantEnd:  s(5),
	}, {
		name: "RFC 4320: a 408 is not sent, the transaction completes and absorbs",
		tr:   "UDP",
		steps: []serverStep{
			{at: s(1), respond: 408, state: StateCompleted},
			{at: s(2), req: "again", state: StateCompleted},
		},
		wantEnd: s(33),
	}, {
		name: "RFC 4320: a provisional other than 100 is refused",
		tr:   "UDP",
		steps: []serverStep{
			{at: s(1), respond: 180, wantErr: errProvisional, state: StateTrying},
			{at: s(2), respond: 202, state: StateCompleted},
		},
		wantSent: map[int][]time.Duration{202: durs(s(2))},
		wantEnd:  s(34),
	}, {
		name:    "Trying: transport error on the final, Terminated",
		tr:      "UDP",
		steps:   []serverStep{{at: s(1), fail: 1, respond: 200, wantErr: ErrTransport, state: StateTerminated}},
		wantEnd: s(1),
	}, {
		name: "Proceeding: transport error, Terminated",
		tr:   "TCP",
		steps: []serverStep{
			{at: ms(100), respond: 100, state: StateProceeding},
			{at: ms(200), fail: 1, req: "again", state: StateTerminated},
		},
		wantSent: map[int][]time.Duration{100: durs(ms(100))},
		wantErrs: []event{failure(ms(200), ErrTransport)},
		wantEnd:  ms(200),
	}, {
		name: "Completed: transport error on a resent final, Terminated",
		tr:   "UDP",
		steps: []serverStep{
			{at: s(1), respond: 200, state: StateCompleted},
			{at: s(2), fail: 1, req: "again", state: StateTerminated},
		},
		wantSent: map[int][]time.Duration{200: durs(s(1))},
		wantErrs: []event{failure(s(2), ErrTransport)},
		wantEnd:  s(2),
	}}
	for _, tc := range tests {
		tc.method = sip.MethodRegister
		t.Run(tc.name, func(t *testing.T) { runServerCase(t, tc) })
	}
}

// TestServerRespondAfterEnd checks the errors of Respond once the
// transaction is gone, and Done and Err.
func TestServerRespondAfterEnd(t *testing.T) {
	inBubble(t, func(h *harness) {
		h.inject(request(t, sip.MethodOptions, "TCP", NewBranch(), msgOpts{}), "TCP")
		tx := h.core.requests()[0]
		done := tx.Done()
		if err := tx.Respond(answer(t, h.core.reqOf(tx), 200, "x")); err != nil {
			t.Fatal(err)
		}
		<-done
		if err := tx.Respond(answer(t, h.core.reqOf(tx), 200, "x")); !errors.Is(err, ErrTerminated) {
			t.Errorf("Respond after Terminated = %v, want ErrTerminated", err)
		}
		if err := tx.Respond(&sip.Response{StatusCode: 99}); err == nil {
			t.Error("Respond(99) succeeded")
		}
		<-tx.Done() // closed at once when asked after the end
		if tx.Err() != nil {
			t.Errorf("Err = %v, want nil", tx.Err())
		}
		h.checkEmpty()
	})
}

// TestServerRespondInHandler checks that the TU may answer from inside
// HandleRequest, before the layer has armed its timers.
func TestServerRespondInHandler(t *testing.T) {
	for _, tr := range []string{"UDP", "TCP"} {
		t.Run(tr, func(t *testing.T) {
			inBubble(t, func(h *harness) {
				h.core.onRequest = func(tx *ServerTx, req *sip.Request) {
					if err := tx.Respond(answer(t, req, 200, "x")); err != nil {
						t.Error(err)
					}
				}
				h.inject(request(t, sip.MethodOptions, tr, NewBranch(), msgOpts{}), tr)
				h.until(s(40))
				if got := h.tp.responseTimes(200); len(got) != 1 {
					t.Errorf("200 sent %d times, want 1", len(got))
				}
				if got := h.tp.responseTimes(100); len(got) != 0 {
					t.Errorf("100 sent %d times, want none", len(got))
				}
				h.checkEmpty()
			})
		})
	}
}
