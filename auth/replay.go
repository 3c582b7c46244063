package auth

import (
	"math"
	"sync"
)

// Replay protection by nonce-count (RFC 2617 §3.2.2 and RFC 7616 §3.4:
// "if the same nc value is seen twice, then the request is a replay";
// RFC 3261 §26.4.1: "The nonce-count mechanism should be used for replay
// protection").
//
// For each nonce used with a right response the tracker keeps the highest
// nc accepted and a 64-bit window of the counts below it, as IPsec keeps
// sequence numbers (RFC 4303 §3.4.3). A count is accepted once: above the
// highest, or within the window and not yet seen. Counts may arrive out of
// order, as when a client has two requests in flight on one nonce over
// UDP and the first is retransmitted after the second arrives; a strict
// "greater than the last" rule would refuse the first as a replay, which
// is the pipelining problem RFC 3261 §26.4.1 holds against next-nonce. A
// count more than 64 behind the highest is refused.
//
// Credentials without qop (RFC 2069) carry no count; their nonce is
// accepted once, and then answered stale=true so that the client fetches
// a new one without asking its user.
//
// The tracker is bounded. Entries are ordered by their nonce's issue time
// in a heap: the front is dropped once its nonce has expired (it would be
// refused as stale anyway) and, when the tracker is full, dropped early.
// An early drop raises a floor; a nonce issued at or before the floor that
// the tracker does not know may have been dropped, so its history is
// unknown and it is answered stale=true (the client retries with a new
// nonce) rather than trusted. A nonce issued after the floor and unknown
// has never been accepted.

// ncWindow is the number of counts below the highest that are remembered.
const ncWindow = 64

// verdict is the tracker's answer for one use of a nonce.
type verdict uint8

const (
	ncFresh     verdict = iota // first use of this (nonce, nc): accept
	ncReplay                   // this (nonce, nc) was accepted before, or nc is too old
	ncReused                   // a nonce used without qop came back without qop
	ncForgotten                // the nonce's history was dropped: have it renewed
)

// ncEntry is the state of one nonce. Entries are held by value, in a map
// and a heap free of pointers: no allocation per nonce, nothing for the
// garbage collector to scan however many nonces are tracked.
type ncEntry struct {
	top   uint32 // highest nc accepted; 0 before the first
	noQOP bool   // the nonce was used without qop
	seen  uint64 // bit i: nc top-i was accepted
}

// ncItem is a nonce in the heap, ordered by issue time.
type ncItem struct {
	issued int64 // Unix nanoseconds
	id     nonceID
}

// ncTracker is the bounded record of nonce-counts. It is safe for
// concurrent use.
type ncTracker struct {
	mu    sync.Mutex
	max   int
	ttl   int64 // nanoseconds
	byID  map[nonceID]ncEntry
	order ncHeap
	floor int64 // see the comment above; math.MinInt64 until an early drop
}

func newNCTracker(max int, ttl int64) *ncTracker {
	return &ncTracker{
		max:   max,
		ttl:   ttl,
		byID:  make(map[nonceID]ncEntry),
		floor: math.MinInt64,
	}
}

// use records one use of the nonce id, issued at issued, with count nc
// (qop set) or without qop, at time now (Unix nanoseconds), and says
// whether it is fresh. Only uses with a right response may be recorded,
// or anyone could spend a client's counts.
func (t *ncTracker) use(id nonceID, issued int64, nc uint32, qop bool, now int64) verdict {
	if qop && nc == 0 {
		return ncReplay // counts start at 1 (RFC 7616 §3.4 nc)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(now)
	e, ok := t.byID[id]
	if !ok {
		if issued <= t.floor {
			return ncForgotten
		}
		if len(t.order) >= t.max {
			t.evict()
		}
		t.order.push(ncItem{issued: issued, id: id})
	}
	v := e.record(nc, qop)
	t.byID[id] = e
	return v
}

// record applies one use to e.
func (e *ncEntry) record(nc uint32, qop bool) verdict {
	if !qop {
		if e.noQOP {
			return ncReused
		}
		e.noQOP = true
		return ncFresh
	}
	if nc > e.top {
		if d := nc - e.top; d >= ncWindow {
			e.seen = 0
		} else {
			e.seen <<= d
		}
		e.seen |= 1
		e.top = nc
		return ncFresh
	}
	d := e.top - nc
	if d >= ncWindow || e.seen&(1<<d) != 0 {
		return ncReplay
	}
	e.seen |= 1 << d
	return ncFresh
}

// expire drops the entries whose nonces expired before now.
func (t *ncTracker) expire(now int64) {
	for len(t.order) > 0 && now-t.order[0].issued > t.ttl {
		it := t.order.pop()
		delete(t.byID, it.id)
	}
}

// evict drops the entry of the nonce issued earliest, which is the next to
// expire, and raises the floor to its issue time.
func (t *ncTracker) evict() {
	it := t.order.pop()
	delete(t.byID, it.id)
	t.floor = max(t.floor, it.issued)
}

// len is the number of nonces tracked.
func (t *ncTracker) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.order)
}

// ncHeap is a binary min-heap of nonces by issue time. It is written out
// rather than used through container/heap, whose interface would box each
// item pushed and popped.
type ncHeap []ncItem

func (h *ncHeap) push(it ncItem) {
	*h = append(*h, it)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if q[p].issued <= q[i].issued {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

// pop removes and returns the earliest item; h must not be empty.
func (h *ncHeap) pop() ncItem {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && q[l].issued < q[m].issued {
			m = l
		}
		if r < n && q[r].issued < q[m].issued {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}
