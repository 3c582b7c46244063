package auth

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestNCHeap: the tracker's heap gives nonces back earliest first,
// whatever the order they were pushed in.
func TestNCHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h ncHeap
	var want []int64
	for range 2000 {
		if len(h) > 0 && r.IntN(3) == 0 {
			got := h.pop().issued
			slices.Sort(want)
			if got != want[0] {
				t.Fatalf("pop = %d, want %d", got, want[0])
			}
			want = want[1:]
			continue
		}
		v := r.Int64N(1000)
		h.push(ncItem{issued: v})
		want = append(want, v)
	}
	slices.Sort(want)
	for _, w := range want {
		if got := h.pop().issued; got != w {
			t.Fatalf("pop = %d, want %d", got, w)
		}
	}
}

// bytesPerNonce fills a tracker with n nonces and returns the heap it
// keeps per nonce.
func bytesPerNonce(n int) float64 {
	heapNow := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heapNow()
	tr := newNCTracker(n, int64(time.Hour))
	for i := range n {
		var id nonceID
		binary.BigEndian.PutUint64(id[:], uint64(i))
		tr.use(id, int64(i), 1, true, int64(i))
	}
	after := heapNow()
	runtime.KeepAlive(tr)
	return float64(after-before) / float64(n)
}

// TestNCTrackerMemory bounds the replay tracker's memory per nonce in use
// (DefaultMaxNonces of them at most: about 8 MB).
func TestNCTrackerMemory(t *testing.T) {
	if per := bytesPerNonce(100_000); per > 90 {
		t.Errorf("%.0f bytes per nonce, want at most 90", per)
	}
}

// BenchmarkNCTrackerMemory reports the tracker's heap per nonce.
func BenchmarkNCTrackerMemory(b *testing.B) {
	var per float64
	for b.Loop() {
		per = bytesPerNonce(100_000)
	}
	b.ReportMetric(per, "bytes/nonce")
}
