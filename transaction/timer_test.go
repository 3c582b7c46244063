package transaction

import (
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// checkHeap fails unless the heap is in order, each entry knows its place
// and holds its timer's deadline, and the heap holds exactly the timers
// with a deadline set.
func checkHeap(t *testing.T, th *timerHeap, tms []txTimer) {
	t.Helper()
	th.mu.Lock()
	defer th.mu.Unlock()
	for i, e := range th.h {
		if i > 0 && th.h[(i-1)/4].at > e.at {
			t.Fatalf("heap out of order at %d: parent %v > %v", i, th.h[(i-1)/4].at, e.at)
		}
		if e.tm.idx != i || e.tm.at != e.at || e.at != e.tm.next() {
			t.Fatalf("entry %d: idx %d, at %v, timer at %v, next %v", i, e.tm.idx, e.at, e.tm.at, e.tm.next())
		}
	}
	n := 0
	for i := range tms {
		if tms[i].next() != 0 {
			n++
		}
	}
	if n != len(th.h) {
		t.Fatalf("heap holds %d timers, %d have a deadline", len(th.h), n)
	}
}

// TestTimerHeapOrder moves timers at random — set, moved earlier and
// later, stopped — and checks the heap after each move.
func TestTimerHeapOrder(t *testing.T) {
	l := New(nopTransport{}, Config{})
	defer l.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	tms := make([]txTimer, 300)
	for i := range tms {
		tms[i].owner = nopTimed{}
	}
	now := l.now()
	for range 5000 {
		tm := &tms[rng.IntN(len(tms))]
		switch rng.IntN(4) {
		case 0:
			l.timers.stop(tm)
		case 1:
			tm.rtx = 0
		default:
			tm.rtx = now + time.Hour + time.Duration(rng.IntN(1000))*time.Second
		}
		tm.end = now + time.Hour + time.Duration(rng.IntN(1000))*time.Second
		if rng.IntN(5) == 0 {
			tm.end = 0
		}
		l.timers.reset(tm, now)
		checkHeap(t, &l.timers, tms)
	}
	for i := range tms {
		l.timers.stop(&tms[i])
	}
	checkHeap(t, &l.timers, tms)
}

// firedAt records when its timer fired.
type firedAt struct {
	mu    sync.Mutex
	start time.Time
	at    []time.Duration
}

func (f *firedAt) onTimer() {
	f.mu.Lock()
	f.at = append(f.at, time.Since(f.start))
	f.mu.Unlock()
}

// TestTimerHeapFiresOnTime: each timer fires once, at its deadline to the
// nanosecond of the fake clock, whatever the order the deadlines were set
// in, several at the same instant included; a stopped timer or one moved
// later does not fire at its old deadline.
func TestTimerHeapFiresOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(nopTransport{}, Config{})
		defer l.Close()
		start := time.Now()
		now := l.now()
		rng := rand.New(rand.NewPCG(3, 4))
		const n = 200
		tms := make([]txTimer, n)
		fs := make([]firedAt, n)
		want := make([]time.Duration, n)
		for i := range tms {
			fs[i].start = start
			tms[i].owner = &fs[i]
			want[i] = time.Duration(1+rng.IntN(50)) * 100 * time.Millisecond
			tms[i].rtx = now + want[i]
			l.timers.reset(&tms[i], now)
		}
		// Move some later, stop some: under tx.mu, as transactions do.
		for i := 0; i < n; i += 7 {
			tms[i].rtx = 0
			tms[i].end = now + 10*time.Second
			want[i] = 10 * time.Second
			l.timers.reset(&tms[i], now)
		}
		for i := 3; i < n; i += 11 {
			l.timers.stop(&tms[i])
			want[i] = 0
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		for i := range fs {
			got := fs[i].at
			if want[i] == 0 && len(got) != 0 || want[i] != 0 && (len(got) != 1 || got[0] != want[i]) {
				t.Errorf("timer %d fired at %v, want %v", i, got, want[i])
			}
		}
		// Fired timers left the heap (a transaction's onTimer would set
		// them again if it needed to).
		if n := len(l.timers.h); n != 0 {
			t.Errorf("%d timers left in the heap", n)
		}
	})
}

// TestTimerHeapShrinks: the heap gives back the memory of a burst once
// mostly empty, and stays in order meanwhile.
func TestTimerHeapShrinks(t *testing.T) {
	l := New(nopTransport{}, Config{})
	defer l.Close()
	now := l.now()
	tms := make([]txTimer, 20000)
	for i := range tms {
		tms[i].owner = nopTimed{}
		tms[i].end = now + time.Hour + time.Duration(i*7919%20000)*time.Millisecond
		l.timers.reset(&tms[i], now)
	}
	peak := cap(l.timers.h)
	for i := range tms[:len(tms)-100] {
		l.timers.stop(&tms[i])
	}
	checkHeap(t, &l.timers, tms)
	if c := cap(l.timers.h); c > 1024 {
		t.Errorf("heap of %d timers has room for %d (%d at the peak)", len(l.timers.h), c, peak)
	}
}

// timerLog records when a Timer fired.
type timerLog struct {
	start time.Time
	mu    sync.Mutex
	at    []time.Duration
}

func (f *timerLog) TimerFired() {
	f.mu.Lock()
	f.at = append(f.at, time.Since(f.start))
	f.mu.Unlock()
}

func (f *timerLog) times() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.at...)
}

// TestTimer: a Timer fires once at its deadline; Reset moves it, also
// after it fired; Stop keeps it from firing; many share the heap.
func TestTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(nopTransport{}, Config{})
		defer l.Close()
		start := time.Now()
		sleepTo := func(d time.Duration) {
			time.Sleep(d - time.Since(start))
			synctest.Wait()
		}
		var a, b, c Timer
		fa, fb, fc := &timerLog{start: start}, &timerLog{start: start}, &timerLog{start: start}
		a.Start(l, 3*time.Second, fa)
		b.Start(l, time.Second, fb)
		c.Start(l, 2*time.Second, fc)
		sleepTo(500 * time.Millisecond)
		b.Reset(time.Second) // now due at 1.5 s
		c.Stop()
		sleepTo(10 * time.Second)
		if err := equal("a fired at", fa.times(), durs(s(3))); err != nil {
			t.Error(err)
		}
		if err := equal("b fired at", fb.times(), durs(s(1.5))); err != nil {
			t.Error(err)
		}
		if err := equal("c fired at", fc.times(), nil); err != nil {
			t.Error(err)
		}
		a.Reset(time.Second) // after it fired: once more
		var zero Timer
		zero.Stop() // a Timer never started
		zero.Reset(time.Second)
		sleepTo(20 * time.Second)
		if err := equal("a fired at", fa.times(), durs(s(3), s(11))); err != nil {
			t.Error(err)
		}
	})
}

// TestTimerG: Timer G's interval starts at T1 and doubles up to T2
// (§17.2.1), whatever T1 and T2 are.
func TestTimerG(t *testing.T) {
	for _, c := range []struct {
		t1, t2 time.Duration
		want   []time.Duration
	}{
		{500 * time.Millisecond, 4 * time.Second, []time.Duration{s(0.5), s(1), s(2), s(4), s(4), s(4)}},
		{s(1), s(3), []time.Duration{s(1), s(2), s(3), s(3)}},
		{s(5), s(4), []time.Duration{s(5), s(4), s(4)}},
	} {
		l := New(nopTransport{}, Config{T1: c.t1, T2: c.t2})
		var got []time.Duration
		for n := range uint8(len(c.want)) {
			got = append(got, l.timerG(n))
		}
		if err := equal("intervals", got, c.want); err != nil {
			t.Errorf("T1 %v, T2 %v: %v", c.t1, c.t2, err)
		}
		if d := l.timerG(64); d != c.t2 {
			t.Errorf("T1 %v, T2 %v: after 64 doublings %v", c.t1, c.t2, d)
		}
		l.Close()
	}
}
