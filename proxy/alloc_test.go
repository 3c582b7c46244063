//go:build !race

package proxy

import (
	"testing"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// Allocation budgets of the forwarding hot path, from the bytes of a
// request to the bytes sent on (see bench_test.go). They are today's
// counts: a change that allocates more fails here, and one that allocates
// less should lower the budget. The race detector allocates on its own, so
// the budgets hold without it only (test.sh runs ./proxy once without
// -race).
const (
	statelessForwardAllocs  = 8  // parse + §16.11 forward of an INVITE
	statefulForwardAllocs   = 12 // parse + server tx + §16.6 forward with a client tx
	statefulResponseAllocs  = 6  // parse + §16.7 of a 180 and a 200, upstream; the server tx keeps the 180 as it is
	statefulInDialogAllocs  = 14 // ACK (stray, §16.11) and BYE (§16.6) of a call
	statelessInDialogAllocs = 8  // ACK and BYE through the stateless proxy
)

func TestAllocBudgetStatelessForward(t *testing.T) {
	sl, tp := newBenchStateless(t)
	wire, _ := benchWire()
	statelessForward(t, sl, wire) // warm up lazily built state
	got := testing.AllocsPerRun(200, func() { statelessForward(t, sl, wire) })
	if tp.requests != 202 {
		t.Fatalf("%d requests forwarded, want 202", tp.requests)
	}
	if got > statelessForwardAllocs {
		t.Errorf("stateless forward: %.0f allocations per request, budget %d", got, statelessForwardAllocs)
	}
	t.Logf("stateless forward: %.0f allocations per request (budget %d)", got, statelessForwardAllocs)
}

func TestAllocBudgetStatefulForward(t *testing.T) {
	tl, tp := newBenchStateful(t)
	wire, number := benchWire()
	n := 0
	next := func() {
		n++
		number(n)
		statefulForward(t, tl, wire)
	}
	next()
	got := testing.AllocsPerRun(200, next)
	if tp.requests != 202 {
		t.Fatalf("%d requests forwarded, want 202", tp.requests)
	}
	if got > statefulForwardAllocs {
		t.Errorf("stateful INVITE forward: %.0f allocations per request, budget %d", got, statefulForwardAllocs)
	}
	t.Logf("stateful INVITE forward: %.0f allocations per request (budget %d)", got, statefulForwardAllocs)
}

func TestAllocBudgetStatefulResponse(t *testing.T) {
	tl, tp := newBenchStateful(t)
	wire, number := benchWire()
	// Few, so that all is done well within the 200 ms after which the
	// INVITE server transactions would send 100 (Trying) on their own.
	var answers [][2][]byte
	for i := range 51 {
		number(i + 1)
		statefulForward(t, tl, wire)
		r, ok := calleeAnswers(t, tp.buf)
		answers = append(answers, [2][]byte{r, ok})
	}
	src := transport.Source{Transport: transport.UDP, Remote: benchCalleeAddr, Local: benchProxyAddr}
	before := tp.responses
	got := testing.AllocsPerRun(50, func() {
		for _, w := range answers[0] {
			resp, err := sip.ParseResponse(w)
			if err != nil {
				t.Fatal(err)
			}
			tl.HandleInbound(&transport.Inbound{Msg: resp, Source: src})
		}
		answers = answers[1:]
	})
	if n := tp.responses - before; n != 102 {
		t.Fatalf("%d responses sent upstream, want 102", n)
	}
	if got > statefulResponseAllocs {
		t.Errorf("stateful 180 and 200: %.0f allocations, budget %d", got, statefulResponseAllocs)
	}
	t.Logf("stateful 180 and 200: %.0f allocations (budget %d)", got, statefulResponseAllocs)
}

func TestAllocBudgetInDialog(t *testing.T) {
	tl, ftp := newBenchStateful(t)
	sl, stp := newBenchStateless(t)
	ack, numberAck := benchWireOf(benchAck)
	bye, numberBye := benchWireOf(benchBye)
	n := 0
	stateful := testing.AllocsPerRun(200, func() {
		n++
		numberAck(n)
		numberBye(n)
		statefulForward(t, tl, ack)
		statefulForward(t, tl, bye)
	})
	stateless := testing.AllocsPerRun(200, func() {
		statelessForward(t, sl, ack)
		statelessForward(t, sl, bye)
	})
	if ftp.requests != 402 || stp.requests != 402 {
		t.Fatalf("%d and %d requests forwarded, want 402 each", ftp.requests, stp.requests)
	}
	if stateful > statefulInDialogAllocs {
		t.Errorf("stateful ACK and BYE: %.0f allocations, budget %d", stateful, statefulInDialogAllocs)
	}
	if stateless > statelessInDialogAllocs {
		t.Errorf("stateless ACK and BYE: %.0f allocations, budget %d", stateless, statelessInDialogAllocs)
	}
	t.Logf("ACK and BYE: %.0f allocations stateful (budget %d), %.0f stateless (budget %d)",
		stateful, statefulInDialogAllocs, stateless, statelessInDialogAllocs)
}
