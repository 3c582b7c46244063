package storagetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipd/sipd/location"
)

// BenchApplyParallel measures Apply from 64 goroutines per GOMAXPROCS
// (b.RunParallel), standing for REGISTERs in flight at once; each call is
// on a distinct AOR and stores one contact, as a burst of first REGISTERs
// does. It reports applies/s.
func BenchApplyParallel(b *testing.B, s location.Store) {
	b.Helper()
	b.SetParallelism(64)
	var next atomic.Int64
	exp := time.Now().Add(time.Hour)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			aor := fmt.Sprintf("sip:bench%d@example.com", i)
			bd := benchBinding(aor, i, exp)
			_, err := s.Apply(ctx, aor, func([]location.Binding) ([]location.Binding, error) {
				return []location.Binding{bd}, nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "applies/s")
}

// BenchLookup measures Lookup from b.RunParallel goroutines over a store
// of 10,000 AORs with two contacts each. It reports lookups/s.
func BenchLookup(b *testing.B, s location.Store) {
	b.Helper()
	const aors = 10000
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	names := make([]string, aors)
	for i := range names {
		aor := fmt.Sprintf("sip:lookup%d@example.com", i)
		names[i] = aor
		bs := []location.Binding{benchBinding(aor, int64(2*i), exp), benchBinding(aor, int64(2*i+1), exp)}
		if _, err := s.Apply(ctx, aor, func([]location.Binding) ([]location.Binding, error) { return bs, nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			bs, err := s.Lookup(ctx, names[r.IntN(aors)])
			if err != nil || len(bs) != 2 {
				b.Errorf("Lookup = %d bindings, %v; want 2", len(bs), err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

func benchBinding(aor string, i int64, exp time.Time) location.Binding {
	return location.Binding{
		AOR:       aor,
		Contact:   fmt.Sprintf("sip:u%d@198.51.100.%d:%d;transport=udp", i, i%250+1, 5060+i%1000),
		Params:    `;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";reg-id=1`,
		Q:         1000,
		Expires:   exp,
		CallID:    fmt.Sprintf("%d@bench.example.com", i),
		CSeq:      1,
		Transport: "UDP",
		Source:    netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i%250 + 1)}), uint16(5060+i%1000)),
		Local:     netip.MustParseAddrPort("192.0.2.1:5060"),
		UserAgent: "bench/1.0",
		Updated:   time.Now(),
	}
}
