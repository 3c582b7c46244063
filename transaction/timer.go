package transaction

import "time"

// txTimer multiplexes the two timers a transaction has running at any
// moment over one runtime timer: rtx, the retransmission timer (A, E, G,
// or the one that sends 100 Trying), and end, the lifetime timer (B, D, F,
// H, I, J, K, L, M, or the 64*T1 after a CANCEL). Deadlines are offsets
// from the layer's epoch on the monotonic clock; 0 means not set. The
// runtime timer is made on first use and reset to the earliest deadline
// whenever one changes; a callback that finds nothing due just re-arms, so
// a stale or early callback does no harm.
type txTimer struct {
	t   *time.Timer
	rtx time.Duration
	end time.Duration
}

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

// reset points the runtime timer at the earliest deadline, or stops it
// when none is set. When there is no runtime timer yet it returns the delay
// to make one with (need true); the caller makes it, so that the callback
// closure is allocated only then.
func (tm *txTimer) reset(now time.Duration) (d time.Duration, need bool) {
	at := tm.next()
	switch {
	case at == 0:
		if tm.t != nil {
			tm.t.Stop()
		}
		return 0, false
	case tm.t == nil:
		return at - now, true
	}
	tm.t.Reset(at - now)
	return 0, false
}

// stop clears both deadlines and stops the runtime timer.
func (tm *txTimer) stop() {
	tm.rtx, tm.end = 0, 0
	if tm.t != nil {
		tm.t.Stop()
	}
}
