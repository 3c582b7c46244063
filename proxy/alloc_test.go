package proxy

import "testing"

// Allocation budgets of the forwarding hot path, from the bytes of a
// request to the bytes sent on (see bench_test.go). They are today's
// counts: a change that allocates more fails here, and one that allocates
// less should lower the budget. The race detector allocates on its own, so
// the budgets hold without it only (test.sh runs ./proxy once without
// -race).
const (
	statelessForwardAllocs = 9  // parse + §16.11 forward of an INVITE
	statefulForwardAllocs  = 19 // parse + server tx + §16.6 forward with a client tx
)

func TestAllocBudgetStatelessForward(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
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
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
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
