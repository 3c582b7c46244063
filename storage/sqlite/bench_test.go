package sqlite

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
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

// BenchmarkUsersGet is the user lookup of every digest check: the same
// user, as a UA that refreshes its registration asks for it.
func BenchmarkUsersGet(b *testing.B) {
	s, _ := openTemp(b, Options{})
	ctx := context.Background()
	alice := auth.NewUser("alice", "example.com", "secret")
	if err := s.Users().Put(ctx, alice); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if u, err := s.Users().Get(ctx, "alice", "example.com"); err != nil || u != alice {
			b.Fatalf("Get = %+v, %v", u, err)
		}
	}
}
