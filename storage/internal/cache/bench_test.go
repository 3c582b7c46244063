package cache

import (
	"strconv"
	"testing"
	"time"

	"github.com/sipd/sipd/location"
)

// BenchmarkLookup is the location lookup of a proxied call as both stores
// make it: one AOR among 10,000 with one binding each, from one goroutine
// (sqlite's and memory's Lookup benchmarks run it in parallel, through
// the store).
func BenchmarkLookup(b *testing.B) {
	c := New(0)
	now := time.Now()
	const aors = 10000
	names := make([]string, aors)
	for i := range names {
		aor := "sip:user" + strconv.Itoa(i) + "@example.com"
		names[i] = aor
		c.Set(aor, Prepare(aor, []location.Binding{{
			AOR: aor, Contact: "sip:user" + strconv.Itoa(i) + "@198.51.100.1:5060", Q: 1000,
			Expires: now.Add(time.Hour), CallID: "c" + strconv.Itoa(i), CSeq: 1, Updated: now,
		}}))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if bs := c.Lookup(names[i%aors], now); len(bs) != 1 {
			b.Fatalf("Lookup = %d bindings, want 1", len(bs))
		}
	}
}
