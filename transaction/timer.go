package transaction

import (
	"sync"
	"time"
)

// txTimer holds the two timers a transaction has running at any moment:
// rtx, the retransmission timer (A, E, G, or the one that sends 100
// Trying), and end, the lifetime timer (B, D, F, H, I, J, K, L, M, or the
// 64*T1 after a CANCEL). Deadlines are offsets from the layer's epoch on
// the monotonic clock; 0 means not set. The transaction sits in its
// layer's timerHeap at the earlier of the two while either is set (reset
// puts it there); when that deadline comes, the heap calls its onTimer,
// which runs what is due and resets. A callback that finds nothing due
// just resets, so a stale or early callback does no harm. tx.mu guards
// rtx and end.
type txTimer struct {
	rtx time.Duration
	end time.Duration

	owner timed // the transaction
	// at and idx are the deadline and the index the heap holds the timer
	// at (at 0: not in the heap); timerHeap.mu guards them.
	at  time.Duration
	idx int
}

// timed is a transaction as its timer calls it.
type timed interface{ onTimer() }

// due reports whether deadline at is set and has come.
func due(at, now time.Duration) bool { return at != 0 && now >= at }

// next returns the earliest deadline set, or 0.
func (tm *txTimer) next() time.Duration {
	switch {
	case tm.rtx == 0:
		return tm.end
	case tm.end == 0 || tm.rtx < tm.end:
		return tm.rtx
	}
	return tm.end
}

// timerHeap runs the timers of a layer's transactions on one runtime
// timer: a 4-ary min-heap of deadlines, its root the next to come, and the
// runtime timer set to fire then. A transaction costs no allocation and no
// runtime timer of its own, and the runtime's heap of timers stays small.
// Its lock is a leaf, taken under tx.mu, Layer.mu or a Timer's.
type timerHeap struct {
	l  *Layer
	mu sync.Mutex
	t  *time.Timer   // fires fire at armed
	at time.Duration // when t fires; 0 when it is not set
	h  []heapEntry
}

// heapEntry keeps the deadline next to the timer, so that sifting reads
// the heap's own memory.
type heapEntry struct {
	at time.Duration
	tm *txTimer
}

func (th *timerHeap) init(l *Layer) {
	th.l = l
	th.t = time.AfterFunc(time.Hour, th.fire)
	th.t.Stop()
}

// reset puts tm in the heap at its earliest deadline, moves it there, or
// takes it out when no deadline is set; now is the caller's clock. tx.mu
// is held.
func (th *timerHeap) reset(tm *txTimer, now time.Duration) {
	at := tm.next()
	th.mu.Lock()
	switch {
	case at == 0:
		if tm.at != 0 {
			th.removeLocked(tm.idx)
		}
	case tm.at == 0:
		tm.at, tm.idx = at, len(th.h)
		th.h = append(th.h, heapEntry{at, tm})
		th.up(tm.idx)
	case at != tm.at:
		tm.at = at
		th.h[tm.idx].at = at
		th.fix(tm.idx)
	}
	// The runtime timer is moved only when the root comes earlier than
	// it is set for; when the root went later, it fires early, finds
	// nothing due and is set anew.
	if at != 0 && (th.at == 0 || th.h[0].at < th.at) {
		th.at = th.h[0].at
		th.t.Reset(th.at - now)
	}
	th.mu.Unlock()
}

// stop clears both deadlines of tm and takes it out of the heap. tx.mu is
// held.
func (th *timerHeap) stop(tm *txTimer) {
	tm.rtx, tm.end = 0, 0
	th.reset(tm, 0) // now is not read when nothing is set
}

// fire runs on the runtime timer: it takes the timers that are due out of
// the heap, sets the runtime timer for the next, and calls the
// transactions, each in a goroutine of its own as time.AfterFunc would,
// the last in this one.
func (th *timerHeap) fire() {
	now := th.l.now()
	var buf [8]timed
	due := buf[:0]
	th.mu.Lock()
	for len(th.h) > 0 && th.h[0].at <= now {
		due = append(due, th.h[0].tm.owner)
		th.removeLocked(0)
	}
	th.at = 0
	if len(th.h) > 0 {
		th.at = th.h[0].at
		th.t.Reset(th.at - now)
	}
	th.mu.Unlock()
	for i, tx := range due {
		if i == len(due)-1 {
			tx.onTimer()
		} else {
			go tx.onTimer()
		}
	}
}

// close stops the runtime timer.
func (th *timerHeap) close() {
	th.mu.Lock()
	th.t.Stop()
	th.at = 0
	th.mu.Unlock()
}

// removeLocked takes the entry at i out of the heap.
func (th *timerHeap) removeLocked(i int) {
	h := th.h
	h[i].tm.at = 0
	last := len(h) - 1
	if i != last {
		h[i] = h[last]
		h[i].tm.idx = i
	}
	h[last] = heapEntry{}
	th.h = h[:last]
	if i != last {
		th.fix(i)
	}
	// A heap that grew under a burst of load gives the memory back once
	// it is mostly empty.
	if c := cap(th.h); c > 1024 && len(th.h) < c/4 {
		th.h = append(make([]heapEntry, 0, 2*len(th.h)), th.h...)
	}
}

// fix restores the heap order around i after its deadline changed.
func (th *timerHeap) fix(i int) {
	if i > 0 && th.h[i].at < th.h[(i-1)/4].at {
		th.up(i)
	} else {
		th.down(i)
	}
}

func (th *timerHeap) up(i int) {
	h := th.h
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if h[p].at <= e.at {
			break
		}
		h[i] = h[p]
		h[i].tm.idx = i
		i = p
	}
	h[i] = e
	e.tm.idx = i
}

func (th *timerHeap) down(i int) {
	h := th.h
	n := len(h)
	e := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		// The earliest of up to four children.
		m := c
		for j := c + 1; j < c+4 && j < n; j++ {
			if h[j].at < h[m].at {
				m = j
			}
		}
		if e.at <= h[m].at {
			break
		}
		h[i] = h[m]
		h[i].tm.idx = i
		i = m
	}
	h[i] = e
	e.tm.idx = i
}

// Timer is a one-shot timer on a layer's timer heap, for the timers a TU
// keeps beside its transactions, such as a proxy's Timer C (RFC 3261
// §16.8): it costs no allocation and no runtime timer of its own, where
// time.AfterFunc costs both. Its function runs in a goroutine of the
// heap's, as with time.AfterFunc. The zero Timer is stopped; Start sets it
// going. Its methods are safe for concurrent use, but f must not expect to
// run only once per Start: a Reset or Stop racing with the expiry may
// leave one late call (as with time.Timer, whose Stop reports that).
type Timer struct {
	l  *Layer
	f  TimerFunc
	mu sync.Mutex // guards tm.end; taken before the heap's lock
	tm txTimer
}

// TimerFunc is what a Timer calls when it fires.
type TimerFunc interface{ TimerFired() }

// Start arms t to call f.TimerFired after d on l's timer heap. t must
// not be running; it must not be copied once started.
func (t *Timer) Start(l *Layer, d time.Duration, f TimerFunc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.l, t.f = l, f
	t.tm.owner = t
	now := l.now()
	t.tm.end = now + d
	l.timers.reset(&t.tm, now)
}

// Reset moves the expiry of a started timer to d from now, whether it
// fired or not.
func (t *Timer) Reset(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.l == nil {
		return
	}
	now := t.l.now()
	t.tm.end = now + d
	t.l.timers.reset(&t.tm, now)
}

// Stop keeps the timer from firing, if it has not yet.
func (t *Timer) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.l != nil {
		t.l.timers.stop(&t.tm)
	}
}

func (t *Timer) onTimer() {
	t.mu.Lock()
	now := t.l.now()
	if !due(t.tm.end, now) {
		t.l.timers.reset(&t.tm, now) // early or stale: wait for the deadline
		t.mu.Unlock()
		return
	}
	t.tm.end = 0
	f := t.f
	t.mu.Unlock()
	f.TimerFired()
}
