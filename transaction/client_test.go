package transaction

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipd/sipd/sip"
)

// step is one thing a test does at a moment of fake time.
type step struct {
	at     time.Duration
	resp   int    // inject a response with this status to the last request sent ...
	respTo string // ... with this method (default: the transaction's)
	tag    string // To tag of the response (default "srv1"; "-" none)
	cancel bool   // call tx.Cancel
	fail   int    // make the next fail sends fail
	state  State  // then check the transaction's state
}

// clientCase drives one client transaction through a script.
type clientCase struct {
	name       string
	method     string
	tr         string
	steps      []step
	wantSends  []time.Duration // transmissions of the request
	wantAcks   []time.Duration
	wantCancel []time.Duration
	wantEvents []event       // what the TU heard
	wantEnd    time.Duration // the transaction is Terminated exactly then
	wantStrays int           // responses given to Core.HandleStray
}

func runClientCase(t *testing.T, tc clientCase) {
	inBubble(t, func(h *harness) {
		rh := &recHandler{start: h.start}
		req := request(t, tc.method, tc.tr, NewBranch(), msgOpts{})
		tx, err := h.l.Request(req, target(tc.tr), rh)
		if err != nil {
			t.Fatalf("Request: %v", err)
		}
		synctest.Wait()
		want := StateTrying
		if tc.method == sip.MethodInvite {
			want = StateCalling
		}
		if tc.wantEnd > 0 {
			if got := tx.State(); got != want {
				t.Errorf("state at start = %v, want %v", got, want)
			}
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
		}
		for _, st := range tc.steps {
			if st.at > tc.wantEnd {
				checkEnd()
			}
			h.until(st.at)
			if st.fail != 0 {
				h.tp.failNext(st.fail)
			}
			if st.cancel {
				if err := tx.Cancel(); err != nil {
					t.Errorf("Cancel at %v: %v", st.at, err)
				}
				synctest.Wait()
			}
			if st.resp != 0 {
				m := tc.method
				if st.respTo != "" {
					m = st.respTo
				}
				tag := "srv1"
				if st.tag == "-" || st.resp == 100 {
					tag = ""
				}
				h.inject(response(t, h.tp.last(t, m, 0).wire, st.resp, tag), tc.tr)
			}
			if st.state != 0 {
				if got := tx.State(); got != st.state {
					t.Errorf("state at %v = %v, want %v", st.at, got, st.state)
				}
			}
		}
		checkEnd()
		h.until(100 * time.Second)

		for _, err := range []error{
			equal("request sent at", h.tp.requestTimes(tc.method), tc.wantSends),
			equal("ACK sent at", h.tp.requestTimes(sip.MethodAck), tc.wantAcks),
			equal("CANCEL sent at", h.tp.requestTimes(sip.MethodCancel), tc.wantCancel),
			checkEvents(rh.all(), tc.wantEvents),
			equal("strays", []int{len(h.core.strayMsgs())}, []int{tc.wantStrays}),
		} {
			if err != nil {
				t.Error(err)
			}
		}
		h.checkEmpty()
	})
}

// checkEvents compares what a TU heard: times and codes exactly, errors
// with errors.Is.
func checkEvents(got, want []event) error {
	if len(got) != len(want) {
		return fmt.Errorf("TU heard %v, want %v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.at != w.at || g.code != w.code || (w.err == nil) != (g.err == nil) ||
			w.err != nil && !errors.Is(g.err, w.err) {
			return fmt.Errorf("TU heard %v, want %v", got, want)
		}
	}
	return nil
}

func resp(at time.Duration, code int) event   { return event{at: at, code: code} }
func failure(at time.Duration, e error) event { return event{at: at, err: e} }

// TestInviteClient drives the INVITE client transaction through every
// transition of RFC 3261 Figure 5 as RFC 6026 §8.4 redraws it.
func TestInviteClient(t *testing.T) {
	inviteUDP := durs(0, ms(500), s(1.5), s(3.5), s(7.5), s(15.5), s(31.5))
	tests := []clientCase{{
		name: "Calling: Timer A doubles, Timer B times out (UDP)",
		tr:   "UDP",
		// §17.1.1.2: A at T1, 2*T1, 4*T1, ...; B at 64*T1 = 32 s.
		wantSends:  inviteUDP,
		wantEvents: []event{failure(s(32), ErrTimeout)},
		wantEnd:    s(32),
	}, {
		name:       "Calling: no Timer A over TCP, Timer B still",
		tr:         "TCP",
		wantSends:  durs(0),
		wantEvents: []event{failure(s(32), ErrTimeout)},
		wantEnd:    s(32),
	}, {
		name: "Calling→Proceeding→Completed, retransmitted final gets the ACK again, Timer D (UDP)",
		tr:   "UDP",
		steps: []step{
			{at: s(1), resp: 100, state: StateProceeding},
			{at: s(2), resp: 180, state: StateProceeding},
			{at: s(40), resp: 486, state: StateCompleted}, // no Timer B in Proceeding
			{at: s(41), resp: 486, state: StateCompleted},
		},
		wantSends:  durs(0, ms(500)),
		wantAcks:   durs(s(40), s(41)),
		wantEvents: []event{resp(s(1), 100), resp(s(2), 180), resp(s(40), 486)},
		wantEnd:    s(72), // Timer D: 32 s
	}, {
		name:       "Calling→Completed, Timer D 32 s (UDP)",
		tr:         "UDP",
		steps:      []step{{at: ms(700), resp: 503, state: StateCompleted}},
		wantSends:  durs(0, ms(500)),
		wantAcks:   durs(ms(700)),
		wantEvents: []event{resp(ms(700), 503)},
		wantEnd:    ms(32700),
	}, {
		name:       "Completed over TCP: ACK sent, Timer D is zero",
		tr:         "TCP",
		steps:      []step{{at: s(1), resp: 404, state: StateTerminated}},
		wantSends:  durs(0),
		wantAcks:   durs(s(1)),
		wantEvents: []event{resp(s(1), 404)},
		wantEnd:    s(1),
	}, {
		name: "Calling→Accepted, further 2xx passed up, Timer M, then stray",
		tr:   "UDP",
		steps: []step{
			{at: s(1), resp: 200, state: StateAccepted},
			{at: s(2), resp: 200, state: StateAccepted},
			{at: s(3), resp: 200, tag: "srv2", state: StateAccepted}, // another fork
			{at: s(3), resp: 486, state: StateAccepted},              // not passed up
			{at: s(40), resp: 200},                                   // after Timer M: stray
		},
		wantSends:  durs(0, ms(500)),
		wantEvents: []event{resp(s(1), 200), resp(s(2), 200), resp(s(3), 200)},
		wantEnd:    s(33), // Timer M: 64*T1
		wantStrays: 1,
	}, {
		name: "Proceeding→Accepted over TCP",
		tr:   "TCP",
		steps: []step{
			{at: s(1), resp: 180, state: StateProceeding},
			{at: s(5), resp: 200, state: StateAccepted},
		},
		wantSends:  durs(0),
		wantEvents: []event{resp(s(1), 180), resp(s(5), 200)},
		wantEnd:    s(37),
	}, {
		name:       "Calling: transport error on a Timer A retransmission",
		tr:         "UDP",
		steps:      []step{{at: ms(100), fail: 1}},
		wantSends:  durs(0),
		wantEvents: []event{failure(ms(500), ErrTransport)},
		wantEnd:    ms(500),
	}, {
		name:       "Completed: transport error on the ACK",
		tr:         "UDP",
		steps:      []step{{at: s(1), fail: 1}, {at: s(1), resp: 486, state: StateTerminated}},
		wantSends:  durs(0, ms(500)),
		wantEvents: []event{resp(s(1), 486), failure(s(1), ErrTransport)},
		wantEnd:    s(1),
	}, {
		name: "Cancel in Calling waits for a provisional response (§9.1)",
		tr:   "UDP",
		steps: []step{
			{at: ms(200), cancel: true, state: StateCalling},
			{at: s(1), resp: 180, state: StateProceeding},
			{at: ms(1100), resp: 200, respTo: sip.MethodCancel},
			{at: s(2), resp: 487, state: StateCompleted},
		},
		wantSends:  durs(0, ms(500)),
		wantCancel: durs(s(1)),
		wantAcks:   durs(s(2)),
		wantEvents: []event{resp(s(1), 180), resp(s(2), 487)},
		wantEnd:    s(34),
	}, {
		name: "Cancel in Proceeding, no final response within 64*T1 (§9.1)",
		tr:   "UDP",
		steps: []step{
			{at: s(1), resp: 180},
			{at: s(2), cancel: true},
			{at: ms(2200), resp: 200, respTo: sip.MethodCancel},
		},
		wantSends:  durs(0, ms(500)),
		wantCancel: durs(s(2)),
		wantEvents: []event{resp(s(1), 180), failure(s(34), ErrTimeout)},
		wantEnd:    s(34),
	}}
	for _, tc := range tests {
		tc.method = sip.MethodInvite
		t.Run(tc.name, func(t *testing.T) { runClientCase(t, tc) })
	}
}

// TestNonInviteClient drives the non-INVITE client transaction through
// every transition of RFC 3261 Figure 6.
func TestNonInviteClient(t *testing.T) {
	tests := []clientCase{{
		name: "Trying: Timer E doubles up to T2, Timer F times out (UDP)",
		tr:   "UDP",
		// §17.1.2.2: intervals 500 ms, 1 s, 2 s, 4 s, 4 s, ...; F at 32 s.
		wantSends: durs(0, ms(500), s(1.5), s(3.5), s(7.5), s(11.5), s(15.5),
			s(19.5), s(23.5), s(27.5), s(31.5)),
		wantEvents: []event{failure(s(32), ErrTimeout)},
		wantEnd:    s(32),
	}, {
		name:       "Trying: no Timer E over TCP, Timer F still",
		tr:         "TCP",
		wantSends:  durs(0),
		wantEvents: []event{failure(s(32), ErrTimeout)},
		wantEnd:    s(32),
	}, {
		name: "Trying→Proceeding, Timer E at T2, Timer F in Proceeding (UDP)",
		tr:   "UDP",
		steps: []step{
			{at: ms(700), resp: 100, state: StateProceeding},
			{at: s(3), resp: 100, state: StateProceeding},
		},
		// E pending at 1.5 s fires, then every T2.
		wantSends: durs(0, ms(500), s(1.5), s(5.5), s(9.5), s(13.5), s(17.5),
			s(21.5), s(25.5), s(29.5)),
		wantEvents: []event{resp(ms(700), 100), resp(s(3), 100), failure(s(32), ErrTimeout)},
		wantEnd:    s(32),
	}, {
		name: "Trying→Completed, retransmission absorbed, Timer K at T4 (UDP)",
		tr:   "UDP",
		steps: []step{
			{at: ms(700), resp: 200, state: StateCompleted},
			{at: s(1), resp: 200, state: StateCompleted},
			{at: s(2), resp: 100, state: StateCompleted},
		},
		wantSends:  durs(0, ms(500)),
		wantEvents: []event{resp(ms(700), 200)},
		wantEnd:    ms(5700),
	}, {
		name: "Proceeding→Completed (UDP)",
		tr:   "UDP",
		steps: []step{
			{at: ms(700), resp: 100, state: StateProceeding},
			{at: s(3), resp: 404, state: StateCompleted},
		},
		wantSends:  durs(0, ms(500), s(1.5)),
		wantEvents: []event{resp(ms(700), 100), resp(s(3), 404)},
		wantEnd:    s(8),
	}, {
		name:       "Completed over TCP: Timer K is zero",
		tr:         "TCP",
		steps:      []step{{at: s(1), resp: 200, state: StateTerminated}},
		wantSends:  durs(0),
		wantEvents: []event{resp(s(1), 200)},
		wantEnd:    s(1),
	}, {
		name:       "Trying: transport error on a Timer E retransmission",
		tr:         "UDP",
		steps:      []step{{at: ms(600), fail: 1}},
		wantSends:  durs(0, ms(500)),
		wantEvents: []event{failure(s(1.5), ErrTransport)},
		wantEnd:    s(1.5),
	}, {
		name: "Proceeding: transport error on a Timer E retransmission",
		tr:   "UDP",
		steps: []step{
			{at: ms(700), resp: 100, state: StateProceeding},
			{at: s(2), fail: 1},
		},
		wantSends:  durs(0, ms(500), s(1.5)),
		wantEvents: []event{resp(ms(700), 100), failure(s(5.5), ErrTransport)},
		wantEnd:    s(5.5),
	}}
	for _, tc := range tests {
		tc.method = sip.MethodOptions
		t.Run(tc.name, func(t *testing.T) { runClientCase(t, tc) })
	}
}

// TestClientFirstSendFails checks §17.1.4 for the first transmission:
// Request returns the transport error and the transaction is gone.
func TestClientFirstSendFails(t *testing.T) {
	for _, m := range []string{sip.MethodInvite, sip.MethodRegister} {
		t.Run(m, func(t *testing.T) {
			inBubble(t, func(h *harness) {
				h.tp.failNext(1)
				rh := &recHandler{start: h.start}
				tx, err := h.l.Request(request(t, m, "UDP", NewBranch(), msgOpts{}), target("UDP"), rh)
				if !errors.Is(err, ErrTransport) || !errors.Is(err, errNet) || tx != nil {
					t.Fatalf("Request = %v, %v; want nil, ErrTransport wrapping the cause", tx, err)
				}
				h.until(s(40))
				if ev := rh.all(); len(ev) != 0 {
					t.Errorf("TU heard %v, want nothing", ev)
				}
				if n := len(h.tp.all()); n != 1 {
					t.Errorf("%d sends, want 1", n)
				}
				h.checkEmpty()
			})
		})
	}
}

// TestClientMisuse checks what Request and Cancel refuse.
func TestClientMisuse(t *testing.T) {
	inBubble(t, func(h *harness) {
		rh := &recHandler{start: h.start}
		cases := []struct {
			name string
			req  *sip.Request
		}{
			{"ACK", request(t, sip.MethodAck, "UDP", NewBranch(), msgOpts{})},
			{"RFC 2543 branch", request(t, sip.MethodInvite, "UDP", "12345", msgOpts{})},
			{"no branch", request(t, sip.MethodInvite, "UDP", "", msgOpts{})},
			{"bare cookie", request(t, sip.MethodInvite, "UDP", sip.MagicCookie, msgOpts{})},
		}
		for _, c := range cases {
			if _, err := h.l.Request(c.req, target("UDP"), rh); err == nil {
				t.Errorf("%s: Request succeeded", c.name)
			}
		}
		b := NewBranch()
		tx, err := h.l.Request(request(t, sip.MethodMessage, "TCP", b, msgOpts{}), target("TCP"), rh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.l.Request(request(t, sip.MethodMessage, "TCP", b, msgOpts{}), target("TCP"), rh); err == nil {
			t.Error("second transaction with the same branch and method accepted")
		}
		if err := tx.Cancel(); err == nil {
			t.Error("Cancel of a MESSAGE succeeded")
		}
		inv, err := h.l.Request(request(t, sip.MethodInvite, "TCP", NewBranch(), msgOpts{}), target("TCP"), rh)
		if err != nil {
			t.Fatal(err)
		}
		h.inject(response(t, h.tp.last(t, sip.MethodInvite, 0).wire, 200, "x"), "TCP")
		if err := inv.Cancel(); !errors.Is(err, ErrFinal) {
			t.Errorf("Cancel after 200 = %v, want ErrFinal", err)
		}
		h.until(s(40))
		if err := inv.Cancel(); !errors.Is(err, ErrTerminated) {
			t.Errorf("Cancel after Timer M = %v, want ErrTerminated", err)
		}
		h.checkEmpty()
	})
}

// TestClientReentrancy checks that the TU may call into the transaction
// and the layer from its callbacks.
func TestClientReentrancy(t *testing.T) {
	inBubble(t, func(h *harness) {
		rh := &recHandler{start: h.start}
		var states []State
		rh.onResponse = func(tx *ClientTx, resp *sip.Response) {
			states = append(states, tx.State())
			if resp.StatusCode == 180 {
				if err := tx.Cancel(); err != nil {
					t.Errorf("Cancel from HandleResponse: %v", err)
				}
			}
		}
		_, err := h.l.Request(request(t, sip.MethodInvite, "TCP", NewBranch(), msgOpts{}), target("TCP"), rh)
		if err != nil {
			t.Fatal(err)
		}
		wire := h.tp.last(t, sip.MethodInvite, 0).wire
		h.inject(response(t, wire, 180, "a"), "TCP")
		if got := h.tp.requestTimes(sip.MethodCancel); len(got) != 1 {
			t.Fatalf("CANCEL sent %d times, want 1", len(got))
		}
		h.inject(response(t, h.tp.last(t, sip.MethodCancel, 0).wire, 200, "a"), "TCP")
		h.inject(response(t, wire, 487, "a"), "TCP")
		if err := equal("states seen", states, []State{StateProceeding, StateTerminated}); err != nil {
			t.Error(err)
		}
		h.checkEmpty()
	})
}
