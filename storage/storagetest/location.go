package storagetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/location"
)

// Location runs the conformance suite for location.Store engines. newStore
// returns a new, empty store for each subtest (subtests run in parallel);
// it should register its own cleanup with t.Cleanup.
func Location(t *testing.T, newStore func(t *testing.T) location.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s location.Store)
	}{
		{"ApplyAdd", testApplyAdd},
		{"ApplyReplace", testApplyReplace},
		{"ApplyRemove", testApplyRemove},
		{"ApplyError", testApplyError},
		{"ApplySeesUnexpired", testApplySeesUnexpired},
		{"ApplySetsAOR", testApplySetsAOR},
		{"ApplySameContact", testApplySameContact},
		{"Copies", testCopies},
		{"LookupOrder", testLookupOrder},
		{"LookupUnknown", testLookupUnknown},
		{"Expired", testExpired},
		{"ExpireBoundary", testExpireBoundary},
		{"List", testList},
		{"Count", testCount},
		{"ConcurrentApplySameAOR", testConcurrentApplySameAOR},
		{"ConcurrentApplyManyAORs", testConcurrentApplyManyAORs},
		{"RoundTrip", testRoundTrip},
		{"Cancelled", testCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// hour is far enough from now that no test run crosses it.
const hour = time.Hour

func binding(aor, contact string, q int, expires time.Time) location.Binding {
	return location.Binding{
		AOR:       aor,
		Contact:   contact,
		Q:         q,
		Expires:   expires,
		CallID:    "call-" + contact,
		CSeq:      1,
		Transport: "UDP",
		Source:    netip.MustParseAddrPort("192.0.2.10:5060"),
		Local:     netip.MustParseAddrPort("192.0.2.1:5060"),
		Updated:   time.Now(),
	}
}

// set returns an Apply fn that ignores the current bindings and stores bs.
func set(bs ...location.Binding) func([]location.Binding) ([]location.Binding, error) {
	return func([]location.Binding) ([]location.Binding, error) { return bs, nil }
}

func mustApply(t *testing.T, s location.Store, aor string, fn func([]location.Binding) ([]location.Binding, error)) []location.Binding {
	t.Helper()
	got, err := s.Apply(context.Background(), aor, fn)
	if err != nil {
		t.Fatalf("Apply(%q): %v", aor, err)
	}
	return got
}

func mustLookup(t *testing.T, s location.Store, aor string) []location.Binding {
	t.Helper()
	got, err := s.Lookup(context.Background(), aor)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", aor, err)
	}
	return got
}

func mustList(t *testing.T, s location.Store, offset, limit int) []location.Binding {
	t.Helper()
	got, err := s.List(context.Background(), offset, limit)
	if err != nil {
		t.Fatalf("List(%d, %d): %v", offset, limit, err)
	}
	return got
}

func mustCount(t *testing.T, s location.Store, wantBindings, wantAORs int) {
	t.Helper()
	b, a, err := s.Count(context.Background())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	if b != wantBindings || a != wantAORs {
		t.Errorf("Count = %d bindings, %d AORs; want %d, %d", b, a, wantBindings, wantAORs)
	}
}

func mustExpire(t *testing.T, s location.Store, now time.Time, want int) {
	t.Helper()
	n, err := s.Expire(context.Background(), now)
	if err != nil {
		t.Fatalf("Expire: %v", err)
	}
	if n != want {
		t.Errorf("Expire(%v) = %d; want %d", now, n, want)
	}
}

// check fails the test with err's message.
func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// equalBindings reports how got differs from want, in order.
func equalBindings(want, got []location.Binding) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d bindings %v; want %d %v", len(got), contacts(got), len(want), contacts(want))
	}
	for i := range want {
		if err := equalBinding(want[i], got[i]); err != nil {
			return fmt.Errorf("binding %d: %w", i, err)
		}
	}
	return nil
}

func contacts(bs []location.Binding) []string {
	var cs []string
	for _, b := range bs {
		cs = append(cs, b.Contact)
	}
	return cs
}

// equalBinding compares field by field: times with Equal, a nil and an
// empty Path alike.
func equalBinding(want, got location.Binding) error {
	var diffs []string
	add := func(field string, w, g any) {
		diffs = append(diffs, fmt.Sprintf("%s = %#v, want %#v", field, g, w))
	}
	if got.AOR != want.AOR {
		add("AOR", want.AOR, got.AOR)
	}
	if got.Contact != want.Contact {
		add("Contact", want.Contact, got.Contact)
	}
	if got.Params != want.Params {
		add("Params", want.Params, got.Params)
	}
	if got.Q != want.Q {
		add("Q", want.Q, got.Q)
	}
	if !got.Expires.Equal(want.Expires) {
		add("Expires", want.Expires.String(), got.Expires.String())
	}
	if got.CallID != want.CallID {
		add("CallID", want.CallID, got.CallID)
	}
	if got.CSeq != want.CSeq {
		add("CSeq", want.CSeq, got.CSeq)
	}
	if !slices.Equal(got.Path, want.Path) {
		add("Path", want.Path, got.Path)
	}
	if got.Transport != want.Transport {
		add("Transport", want.Transport, got.Transport)
	}
	if got.Source != want.Source {
		add("Source", want.Source.String(), got.Source.String())
	}
	if got.Local != want.Local {
		add("Local", want.Local.String(), got.Local.String())
	}
	if got.UserAgent != want.UserAgent {
		add("UserAgent", want.UserAgent, got.UserAgent)
	}
	if !got.Updated.Equal(want.Updated) {
		add("Updated", want.Updated.String(), got.Updated.String())
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s: %s", want.Contact, strings.Join(diffs, "; "))
	}
	return nil
}

func testApplyAdd(t *testing.T, s location.Store) {
	const aor = "sip:alice@example.com"
	now := time.Now()
	b1 := binding(aor, "sip:alice@192.0.2.10:5060", 1000, now.Add(hour))
	b2 := binding(aor, "sip:alice@192.0.2.11:5060", 500, now.Add(hour))
	calls := 0
	got := mustApply(t, s, aor, func(cur []location.Binding) ([]location.Binding, error) {
		calls++
		if len(cur) != 0 {
			t.Errorf("fn got %d bindings for a new AOR; want 0", len(cur))
		}
		return []location.Binding{b2, b1}, nil
	})
	if calls != 1 {
		t.Errorf("fn called %d times; want 1", calls)
	}
	want := []location.Binding{b1, b2}
	check(t, "Apply result", equalBindings(want, got))
	check(t, "Lookup", equalBindings(want, mustLookup(t, s, aor)))
	mustCount(t, s, 2, 1)
}

func testApplyReplace(t *testing.T, s location.Store) {
	const aor = "sip:bob@example.com"
	now := time.Now()
	b1 := binding(aor, "sip:bob@192.0.2.20", 1000, now.Add(hour))
	b2 := binding(aor, "sip:bob@192.0.2.21", 1000, now.Add(hour))
	mustApply(t, s, aor, set(b1, b2))

	// Refresh b2, drop b1, add b3: fn sees what the first Apply stored.
	b2r := b2
	b2r.Expires = now.Add(2 * hour)
	b2r.CSeq = 2
	b3 := binding(aor, "sip:bob@192.0.2.22", 300, now.Add(hour))
	got := mustApply(t, s, aor, func(cur []location.Binding) ([]location.Binding, error) {
		slices.SortFunc(cur, func(a, b location.Binding) int { return strings.Compare(a.Contact, b.Contact) })
		if err := equalBindings([]location.Binding{b1, b2}, cur); err != nil {
			t.Errorf("fn got: %v", err)
		}
		return []location.Binding{b3, b2r}, nil
	})
	want := []location.Binding{b2r, b3}
	check(t, "Apply result", equalBindings(want, got))
	check(t, "Lookup", equalBindings(want, mustLookup(t, s, aor)))
	mustCount(t, s, 2, 1)
}

func testApplyRemove(t *testing.T, s location.Store) {
	const aor = "sip:carol@example.com"
	now := time.Now()
	mustApply(t, s, aor, set(binding(aor, "sip:carol@192.0.2.30", 1000, now.Add(hour))))
	other := binding("sip:dave@example.com", "sip:dave@192.0.2.31", 1000, now.Add(hour))
	mustApply(t, s, other.AOR, set(other))

	if got := mustApply(t, s, aor, set()); len(got) != 0 {
		t.Errorf("Apply removing all returned %d bindings; want 0", len(got))
	}
	if got := mustLookup(t, s, aor); len(got) != 0 {
		t.Errorf("Lookup after removal = %v; want none", contacts(got))
	}
	check(t, "Lookup of the other AOR", equalBindings([]location.Binding{other}, mustLookup(t, s, other.AOR)))
	mustCount(t, s, 1, 1)
	check(t, "List", equalBindings([]location.Binding{other}, mustList(t, s, 0, 100)))
	// Removing from an AOR that has nothing is a no-op, not an error.
	mustApply(t, s, "sip:nobody@example.com", set())
	mustCount(t, s, 1, 1)
}

var errTest = errors.New("storagetest: fn failed")

func testApplyError(t *testing.T, s location.Store) {
	const aor = "sip:erin@example.com"
	now := time.Now()
	b := binding(aor, "sip:erin@192.0.2.40", 1000, now.Add(hour))
	b.Path = []string{"<sip:edge.example.com;lr>"}
	mustApply(t, s, aor, set(b))

	got, err := s.Apply(context.Background(), aor, func(cur []location.Binding) ([]location.Binding, error) {
		// Scribble on what fn got before failing: the store must not see it.
		for i := range cur {
			cur[i].Contact = "sip:scribbled@example.com"
			if len(cur[i].Path) > 0 {
				cur[i].Path[0] = "<sip:scribbled.example.com>"
			}
		}
		return append(cur, binding(aor, "sip:erin@192.0.2.41", 1000, now.Add(hour))), errTest
	})
	if !errors.Is(err, errTest) {
		t.Errorf("Apply error = %v; want one wrapping %v", err, errTest)
	}
	if got != nil {
		t.Errorf("Apply with an error returned %d bindings; want nil", len(got))
	}
	check(t, "Lookup after failed Apply", equalBindings([]location.Binding{b}, mustLookup(t, s, aor)))
	mustCount(t, s, 1, 1)

	// A failing fn on a new AOR creates nothing.
	_, err = s.Apply(context.Background(), "sip:new@example.com", func([]location.Binding) ([]location.Binding, error) {
		return []location.Binding{binding("sip:new@example.com", "sip:new@192.0.2.42", 1000, now.Add(hour))}, errTest
	})
	if !errors.Is(err, errTest) {
		t.Errorf("Apply error = %v; want %v", err, errTest)
	}
	mustCount(t, s, 1, 1)
}

func testApplySeesUnexpired(t *testing.T, s location.Store) {
	const aor = "sip:frank@example.com"
	now := time.Now()
	live := binding(aor, "sip:frank@192.0.2.50", 500, now.Add(hour))
	dead := binding(aor, "sip:frank@192.0.2.51", 1000, now.Add(-time.Minute))
	got := mustApply(t, s, aor, set(dead, live))
	// Apply stores and returns what fn gave, expired or not.
	check(t, "Apply result", equalBindings([]location.Binding{dead, live}, got))
	mustApply(t, s, aor, func(cur []location.Binding) ([]location.Binding, error) {
		if err := equalBindings([]location.Binding{live}, cur); err != nil {
			t.Errorf("fn got: %v", err)
		}
		return cur, nil
	})
	// The expired binding was replaced away with the rest of the set.
	mustExpire(t, s, now, 0)
	check(t, "Lookup", equalBindings([]location.Binding{live}, mustLookup(t, s, aor)))
}

func testApplySetsAOR(t *testing.T, s location.Store) {
	const aor = "sip:grace@example.com"
	b := binding("", "sip:grace@192.0.2.60", 1000, time.Now().Add(hour))
	got := mustApply(t, s, aor, set(b))
	b.AOR = aor
	check(t, "Apply result", equalBindings([]location.Binding{b}, got))
	check(t, "Lookup", equalBindings([]location.Binding{b}, mustLookup(t, s, aor)))
}

func testApplySameContact(t *testing.T, s location.Store) {
	// RFC 5626 §6: one instance registers the same Contact over two flows
	// with different reg-id; the registrar keeps two bindings.
	const aor = "sip:heidi@example.com"
	now := time.Now()
	b1 := binding(aor, "sip:heidi@192.0.2.70;ob", 1000, now.Add(hour))
	b1.Params = `;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1`
	b1.Updated = now.Add(-time.Second)
	b2 := b1
	b2.Params = `;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=2`
	b2.Source = netip.MustParseAddrPort("198.51.100.7:40000")
	b2.Transport = "TCP"
	b2.Updated = now
	mustApply(t, s, aor, set(b1, b2))
	check(t, "Lookup", equalBindings([]location.Binding{b2, b1}, mustLookup(t, s, aor)))
	mustCount(t, s, 2, 1)
}

func testCopies(t *testing.T, s location.Store) {
	const aor = "sip:ivan@example.com"
	b := binding(aor, "sip:ivan@192.0.2.80", 1000, time.Now().Add(hour))
	b.Path = []string{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"}
	want := b
	want.Path = slices.Clone(b.Path)

	given := []location.Binding{b}
	got := mustApply(t, s, aor, set(given...))
	// Change what was given to Apply and what it and Lookup returned.
	given[0].Contact = "sip:given@example.com"
	given[0].Path[0] = "<sip:given.example.com>"
	got[0].Contact = "sip:returned@example.com"
	got[0].Path[1] = "<sip:returned.example.com>"
	l := mustLookup(t, s, aor)
	l[0].Path[0] = "<sip:looked-up.example.com>"
	l[0].Contact = "sip:looked-up@example.com"
	ls := mustList(t, s, 0, 10)
	ls[0].Path[0] = "<sip:listed.example.com>"
	_, err := s.Apply(context.Background(), aor, func(cur []location.Binding) ([]location.Binding, error) {
		cur[0].Path[1] = "<sip:fn.example.com>"
		return nil, errTest
	})
	if !errors.Is(err, errTest) {
		t.Errorf("Apply error = %v; want %v", err, errTest)
	}
	check(t, "Lookup", equalBindings([]location.Binding{want}, mustLookup(t, s, aor)))
	check(t, "List", equalBindings([]location.Binding{want}, mustList(t, s, 0, 10)))
}

func testLookupOrder(t *testing.T, s location.Store) {
	const aor = "sip:judy@example.com"
	now := time.Now()
	exp := now.Add(hour)
	mk := func(contact string, q int, updated time.Time) location.Binding {
		b := binding(aor, contact, q, exp)
		b.Updated = updated
		return b
	}
	older, newer := now.Add(-time.Minute), now
	want := []location.Binding{
		mk("sip:a@192.0.2.1", 1000, newer),
		mk("sip:b@192.0.2.1", 1000, older),
		mk("sip:c@192.0.2.1", 1000, older), // same q and Updated as b: by contact
		mk("sip:d@192.0.2.1", 700, newer),
		mk("sip:e@192.0.2.1", 500, newer.Add(time.Hour)),
		mk("sip:f@192.0.2.1", 0, newer),
	}
	given := slices.Clone(want)
	// A fixed shuffle, so that insertion order cannot pass for sorting.
	given[0], given[5], given[2], given[4] = given[5], given[0], given[4], given[2]
	got := mustApply(t, s, aor, set(given...))
	check(t, "Apply result", equalBindings(want, got))
	check(t, "Lookup", equalBindings(want, mustLookup(t, s, aor)))
}

func testLookupUnknown(t *testing.T, s location.Store) {
	if got := mustLookup(t, s, "sip:unknown@example.com"); len(got) != 0 {
		t.Errorf("Lookup of an unknown AOR = %v; want none", contacts(got))
	}
	mustCount(t, s, 0, 0)
	if got := mustList(t, s, 0, 10); len(got) != 0 {
		t.Errorf("List of an empty store = %v; want none", contacts(got))
	}
	mustExpire(t, s, time.Now(), 0)
}

func testExpired(t *testing.T, s location.Store) {
	now := time.Now()
	const a, b, c = "sip:a@example.com", "sip:b@example.com", "sip:c@example.com"
	aLive := binding(a, "sip:a@192.0.2.1", 1000, now.Add(hour))
	aDead := binding(a, "sip:a@192.0.2.2", 1000, now.Add(-time.Second))
	bDead := binding(b, "sip:b@192.0.2.1", 1000, now.Add(-hour))
	cLater := binding(c, "sip:c@192.0.2.1", 1000, now.Add(3*hour))
	mustApply(t, s, a, set(aLive, aDead))
	mustApply(t, s, b, set(bDead))
	mustApply(t, s, c, set(cLater))

	check(t, "Lookup a", equalBindings([]location.Binding{aLive}, mustLookup(t, s, a)))
	check(t, "Lookup b", equalBindings(nil, mustLookup(t, s, b)))
	mustCount(t, s, 2, 2)
	check(t, "List", equalBindings([]location.Binding{aLive, cLater}, mustList(t, s, 0, 10)))

	mustExpire(t, s, time.Now(), 2)
	mustExpire(t, s, time.Now(), 0)
	check(t, "Lookup a after Expire", equalBindings([]location.Binding{aLive}, mustLookup(t, s, a)))
	mustCount(t, s, 2, 2)

	// Expire with a later now removes what will have expired by then.
	mustExpire(t, s, now.Add(2*hour), 1)
	check(t, "Lookup a", equalBindings(nil, mustLookup(t, s, a)))
	check(t, "Lookup c", equalBindings([]location.Binding{cLater}, mustLookup(t, s, c)))
	mustCount(t, s, 1, 1)
	check(t, "List", equalBindings([]location.Binding{cLater}, mustList(t, s, 0, 10)))
}

func testExpireBoundary(t *testing.T, s location.Store) {
	const aor = "sip:kim@example.com"
	at := time.Now().Add(hour).Truncate(time.Second).Add(123456789) // odd nanoseconds
	b := binding(aor, "sip:kim@192.0.2.90", 1000, at)
	mustApply(t, s, aor, set(b))
	mustExpire(t, s, at.Add(-time.Nanosecond), 0)
	check(t, "Lookup", equalBindings([]location.Binding{b}, mustLookup(t, s, aor)))
	mustExpire(t, s, at, 1) // expired at or before now
	check(t, "Lookup", equalBindings(nil, mustLookup(t, s, aor)))
	mustCount(t, s, 0, 0)
}

func testList(t *testing.T, s location.Store) {
	now := time.Now()
	var want []location.Binding
	for _, user := range []string{"amy", "ben", "cat", "dan", "eve"} {
		aor := "sip:" + user + "@example.com"
		var bs []location.Binding
		for _, host := range []string{"192.0.2.1", "192.0.2.2"} {
			// Higher q on the later contact, so Lookup order is not List order.
			q := 500
			if host == "192.0.2.2" {
				q = 1000
			}
			bs = append(bs, binding(aor, "sip:"+user+"@"+host, q, now.Add(hour)))
		}
		want = append(want, bs...)
		dead := binding(aor, "sip:"+user+"@192.0.2.0", 1000, now.Add(-hour))
		bs = append(bs, dead) // an expired binding List skips
		mustApply(t, s, aor, set(bs...))
	}
	// An AOR in another domain: List orders by the AOR string, not by domain.
	first := binding("sip:zed@a.example.org", "sip:zed@192.0.2.9", 1000, now.Add(hour))
	mustApply(t, s, first.AOR, set(first))
	want = append(want, first)
	slices.SortStableFunc(want, func(a, b location.Binding) int {
		if c := strings.Compare(a.AOR, b.AOR); c != 0 {
			return c
		}
		return strings.Compare(a.Contact, b.Contact)
	})

	tests := []struct {
		name          string
		offset, limit int
		want          []location.Binding
	}{
		{"all", 0, 100, want},
		{"exact", 0, len(want), want},
		{"first page", 0, 4, want[:4]},
		{"middle page across AORs", 3, 4, want[3:7]},
		{"last page short", 8, 4, want[8:]},
		{"offset at end", len(want), 4, nil},
		{"offset past end", len(want) + 5, 4, nil},
		{"limit zero", 0, 0, nil},
		{"limit negative", 0, -1, nil},
		{"offset negative", -3, 2, want[:2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, "List", equalBindings(tc.want, mustList(t, s, tc.offset, tc.limit)))
		})
	}

	// Paging one at a time visits every binding once.
	var paged []location.Binding
	for off := 0; ; off++ {
		page := mustList(t, s, off, 1)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
	}
	check(t, "paged List", equalBindings(want, paged))
}

func testCount(t *testing.T, s location.Store) {
	now := time.Now()
	mustCount(t, s, 0, 0)
	for i := range 5 {
		aor := fmt.Sprintf("sip:u%d@example.com", i)
		var bs []location.Binding
		for j := range i + 1 {
			bs = append(bs, binding(aor, fmt.Sprintf("sip:u%d@192.0.2.%d", i, j), 1000, now.Add(hour)))
		}
		mustApply(t, s, aor, set(bs...))
	}
	mustCount(t, s, 1+2+3+4+5, 5)
	mustApply(t, s, "sip:u4@example.com", set())
	mustCount(t, s, 1+2+3+4, 4)
	// An AOR whose every binding expired counts for nothing.
	mustApply(t, s, "sip:u3@example.com", set(binding("sip:u3@example.com", "sip:u3@192.0.2.1", 1000, now.Add(-time.Second))))
	mustCount(t, s, 1+2+3, 3)
}

func testConcurrentApplySameAOR(t *testing.T, s location.Store) {
	const aor = "sip:crowd@example.com"
	const n = 50
	exp := time.Now().Add(hour)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.Apply(context.Background(), aor, func(cur []location.Binding) ([]location.Binding, error) {
				return append(cur, binding(aor, fmt.Sprintf("sip:crowd@192.0.2.1:%d", 10000+i), 1000, exp)), nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	got := mustLookup(t, s, aor)
	if len(got) != n {
		t.Fatalf("after %d concurrent Applies each adding one contact, Lookup has %d; want %d", n, len(got), n)
	}
	seen := make(map[string]bool)
	for _, b := range got {
		if seen[b.Contact] {
			t.Errorf("contact %s stored twice", b.Contact)
		}
		seen[b.Contact] = true
	}
	mustCount(t, s, n, 1)
}

func testConcurrentApplyManyAORs(t *testing.T, s location.Store) {
	const workers, perWorker = 8, 25
	exp := time.Now().Add(hour)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				aor := fmt.Sprintf("sip:w%d-%d@example.com", w, i)
				for _, port := range []int{5060, 5062} { // two Applies per AOR
					_, err := s.Apply(context.Background(), aor, func(cur []location.Binding) ([]location.Binding, error) {
						return append(cur, binding(aor, fmt.Sprintf("sip:w@192.0.2.1:%d", port), 1000, exp)), nil
					})
					if err != nil {
						errs <- err
						return
					}
				}
				// Interleave reads with the writes.
				if _, err := s.Lookup(context.Background(), aor); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Apply or Lookup: %v", err)
	}
	mustCount(t, s, 2*workers*perWorker, workers*perWorker)
	if got := mustLookup(t, s, "sip:w3-7@example.com"); len(got) != 2 {
		t.Errorf("Lookup = %v; want 2 bindings", contacts(got))
	}
}

func testRoundTrip(t *testing.T, s location.Store) {
	const aor = "sip:roundtrip@example.com"
	now := time.Now()
	full := location.Binding{
		AOR:       aor,
		Contact:   "sip:rt@[2001:db8::1]:5061;transport=tls",
		Params:    `;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";reg-id=1;methods="INVITE,BYE"`,
		Q:         700,
		Expires:   time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC), // the last int64 nanosecond
		CallID:    "a84b4c76e66710@pc33.atlanta.example.com",
		CSeq:      math.MaxUint32,
		Path:      []string{`<sip:edge1.example.com;lr;ob>`, `"Édge, two" <sip:[2001:db8::9]:5070;lr>`},
		Transport: "TLS",
		Source:    netip.MustParseAddrPort("[fe80::1%eth0]:49152"),
		Local:     netip.MustParseAddrPort("[2001:db8::53]:5061"),
		UserAgent: "Lïnphone/5.2 (ünïcode; 'quotes'; \"double\"; invalid UTF-8 \xff\xfe; NUL \x00)",
		Updated:   now.Add(-123456789 * time.Nanosecond),
	}
	// The zero value of every field but those that make it visible.
	zero := location.Binding{AOR: aor, Contact: "sip:zero@192.0.2.1", Expires: now.Add(hour)}
	mapped := binding(aor, "sip:mapped@192.0.2.7", 1, now.Add(hour).Add(987654321))
	mapped.Source = netip.MustParseAddrPort("[::ffff:192.0.2.7]:5060") // stays IPv6
	mapped.Local = netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), 0)
	mapped.Path = []string{}
	mapped.Updated = time.Date(1970, 1, 1, 0, 0, 0, 1, time.UTC)
	old := binding(aor, "sip:old@192.0.2.8", 2, now.Add(hour))
	old.Updated = time.Date(1700, 1, 1, 0, 0, 0, 5, time.FixedZone("X", 3600))

	want := []location.Binding{full, old, mapped, zero}
	got := mustApply(t, s, aor, set(zero, old, mapped, full))
	check(t, "Apply result", equalBindings(want, got))
	check(t, "Lookup", equalBindings(want, mustLookup(t, s, aor)))
	l := mustList(t, s, 0, 10)
	slices.SortStableFunc(l, func(a, b location.Binding) int { return b.Q - a.Q })
	check(t, "List", equalBindings(want, l))
}

func testCancelled(t *testing.T, s location.Store) {
	const aor = "sip:cancel@example.com"
	b := binding(aor, "sip:cancel@192.0.2.1", 1000, time.Now().Add(hour))
	mustApply(t, s, aor, set(b))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wantErr := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error = %v; want context.Canceled", what, err)
		}
	}
	_, err := s.Lookup(ctx, aor)
	wantErr("Lookup", err)
	called := false
	_, err = s.Apply(ctx, aor, func([]location.Binding) ([]location.Binding, error) {
		called = true
		return nil, nil
	})
	wantErr("Apply", err)
	if called {
		t.Error("Apply with a cancelled context called fn")
	}
	_, err = s.Expire(ctx, time.Now().Add(2*hour))
	wantErr("Expire", err)
	_, err = s.List(ctx, 0, 10)
	wantErr("List", err)
	_, _, err = s.Count(ctx)
	wantErr("Count", err)

	// Nothing changed.
	check(t, "Lookup", equalBindings([]location.Binding{b}, mustLookup(t, s, aor)))

	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	if _, err := s.Lookup(dctx, aor); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lookup past the deadline: error = %v; want context.DeadlineExceeded", err)
	}
}
