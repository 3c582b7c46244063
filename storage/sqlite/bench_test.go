package sqlite

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sipd/sipd/location"

	"github.com/sipd/sipd/storage/storagetest"
)

func BenchmarkApplyParallel(b *testing.B) {
	s, _ := openTemp(b, Options{})
	storagetest.BenchApplyParallel(b, s)
}

func BenchmarkApplyParallelFull(b *testing.B) {
	s, _ := openTemp(b, Options{Synchronous: SyncFull})
	storagetest.BenchApplyParallel(b, s)
}

func BenchmarkLookup(b *testing.B) {
	s, _ := openTemp(b, Options{})
	storagetest.BenchLookup(b, s)
}

// BenchmarkApplySerial is one caller at a time: every Apply waits for its
// own commit, which is what a registrar that calls Apply on its read loop
// gets.
func BenchmarkApplySerial(b *testing.B) {
	s, _ := openTemp(b, Options{})
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		aor := "sip:serial" + strconv.Itoa(i) + "@example.com"
		_, err := s.Apply(ctx, aor, func([]location.Binding) ([]location.Binding, error) {
			return []location.Binding{{Contact: "sip:serial@192.0.2.1", Expires: exp}}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "applies/s")
}
