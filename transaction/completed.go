package transaction

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// completedTx is what a non-INVITE server transaction keeps once it has
// sent its final response over an unreliable transport: for the 64*T1 of
// Timer J it only answers retransmissions of its request with that
// response again (RFC 3261 §17.2.2). A registrar's or a proxy's busiest
// transactions spend nearly all their life there, so it is kept small —
// the match key, where responses go, when it ends and the response in
// wire form — in place of the ServerTx, which is freed once the TU lets go
// of it. A ServerTx the TU still holds learns its state from it
// (ServerTx.rec).
//
// Every record lives exactly 64*T1, so they end in the order they were
// made: the layer keeps them in a queue (completedQueue) under one timer,
// rather than one heap entry each.
type completedTx struct {
	key    serverKey        // its entry in Layer.servers
	src    transport.SourceRef // where the response goes
	last   string           // the final response, packed (pack); "" for the unsent 408 (RFC 4320 §4.2)
	expiry time.Duration    // Timer J, since the layer's epoch
	ended  atomic.Bool      // Terminated: set under Layer.mu, read without it
	ext    *completedExt    // made on demand; Layer.mu guards it
}

// completedExt is what few records need: the channel of ServerTx.Done
// and the failure that ended the transaction.
type completedExt struct {
	done chan struct{}
	err  error
}

// completedQueue holds the records of a layer in the order they end, and
// the timer set for the first. Layer.mu guards it; the timer heap's lock
// is taken under Layer.mu to rearm it.
type completedQueue struct {
	l    *Layer
	q    []*completedTx // q[head:] are waiting, the first to end first
	head int
	tm   txTimer // end is the expiry of q[head]
}

// complete moves tx, a non-INVITE server transaction over an unreliable
// transport that has just sent (or, for a 408, decided on) its final
// response, packed in last, into a completed record: its entry in the map now holds
// the record, and Timer J runs in the queue. tx.mu is held; tx has left the
// timer heap.
func (l *Layer) complete(tx *ServerTx, last []byte, now time.Duration) {
	// The key and the response share one allocation; the map entry takes
	// the record's key below (the runtime updates a string key on
	// assignment), so that the ServerTx's own key goes with it.
	var b strings.Builder
	b.Grow(len(tx.key) + len(last))
	b.WriteString(string(tx.key))
	b.Write(last)
	all := b.String()
	rec := &completedTx{key: serverKey(all[:len(tx.key)]), src: tx.src.Ref(), last: all[len(tx.key):]}
	tx.rec = rec
	l.mu.Lock()
	defer l.mu.Unlock()
	if tx.done != nil {
		rec.ext = &completedExt{done: tx.done}
		tx.done = nil
	}
	if l.closed || l.servers[tx.key].tx != tx {
		// The layer closed meanwhile.
		l.endLocked(rec, nil)
		return
	}
	l.servers[rec.key] = serverEntry{rec: rec}
	// §17.2.2: Timer J, 64*T1 from the final response — or, should
	// another transaction that responded a moment later have queued its
	// record first, when that one's fires, so that the queue stays in
	// order.
	rec.expiry = now + 64*l.t1
	if cq := &l.completed; cq.head < len(cq.q) {
		rec.expiry = max(rec.expiry, cq.q[len(cq.q)-1].expiry)
	}
	l.completed.push(rec)
}

func (cq *completedQueue) push(rec *completedTx) {
	if cq.head > 0 && cq.head >= len(cq.q)/2 {
		// Reuse the room of the records gone, rather than grow.
		n := copy(cq.q, cq.q[cq.head:])
		clear(cq.q[n:])
		cq.q, cq.head = cq.q[:n], 0
	}
	cq.q = append(cq.q, rec)
	if len(cq.q)-cq.head == 1 {
		cq.tm.end = rec.expiry
		cq.l.timers.reset(&cq.tm, cq.l.now())
	}
	// A queue that grew under a burst of load gives the memory back once
	// it is mostly empty.
	if c := cap(cq.q); c > 1024 && len(cq.q)-cq.head < c/4 {
		cq.q = append(make([]*completedTx, 0, 2*(len(cq.q)-cq.head)), cq.q[cq.head:]...)
		cq.head = 0
	}
}

// onTimer ends the records whose Timer J has come (§17.2.2: Completed →
// Terminated).
func (cq *completedQueue) onTimer() {
	l := cq.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for cq.head < len(cq.q) && cq.q[cq.head].expiry <= now {
		rec := cq.q[cq.head]
		cq.q[cq.head] = nil
		cq.head++
		l.endLocked(rec, nil)
	}
	if cq.head == len(cq.q) {
		cq.q, cq.head = cq.q[:0], 0
		cq.tm.end = 0
	} else {
		cq.tm.end = cq.q[cq.head].expiry
	}
	l.timers.reset(&cq.tm, now)
}

// endLocked terminates a record: it leaves the map, and a ServerTx still
// held sees Terminated, err from Err and Done closed. The record stays in
// the queue until its time comes. l.mu is held.
func (l *Layer) endLocked(rec *completedTx, err error) {
	if rec.ended.Load() {
		return
	}
	if l.servers[rec.key].rec == rec {
		delete(l.servers, rec.key)
		l.servers = shrunk(l.servers, &l.peaks.servers)
	}
	if rec.ext != nil {
		rec.ext.err = err
		if rec.ext.done != nil {
			close(rec.ext.done)
		}
	} else if err != nil {
		rec.ext = &completedExt{err: err}
	}
	rec.ended.Store(true)
}

// retransmit answers a retransmission of the request with the final
// response again (§17.2.2); a 408 that was not sent is not sent now
// either. It reports false if the record already ended. A transport error
// ends it (Figure 8) and goes to the ServerErrorHandler.
func (rec *completedTx) retransmit(l *Layer) bool {
	if rec.ended.Load() {
		return false
	}
	if rec.last == "" {
		return true
	}
	resp, err := sip.ParseResponse(unpack(make([]byte, 0, 2*len(rec.last)), rec.last))
	if err != nil {
		// The TU's response does not parse back: a peer could not
		// parse it either.
		l.log.Debug("response not retransmitted", "error", err)
		return true
	}
	src := rec.src.Source()
	if err := l.tp.SendResponse(resp, src); err != nil {
		terr := &transportError{err}
		l.mu.Lock()
		running := !rec.ended.Load()
		l.endLocked(rec, terr)
		l.mu.Unlock()
		if running {
			// The TU's ServerTx, if it still has one, is not known here:
			// the handler hears of a ServerTx that stands for the same
			// transaction.
			(&ServerTx{l: l, src: src, key: rec.key, state: StateTerminated, err: terr, rec: rec}).report(terr)
		}
	}
	return true
}

// doneChan returns the channel ServerTx.Done returns for a record.
func (l *Layer) doneChan(rec *completedTx) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rec.ended.Load() {
		return closedChan
	}
	if rec.ext == nil {
		rec.ext = &completedExt{}
	}
	if rec.ext.done == nil {
		rec.ext.done = make(chan struct{})
	}
	return rec.ext.done
}

// closeCompletedLocked ends every record, for Layer.Close. l.mu is held.
func (l *Layer) closeCompletedLocked() {
	cq := &l.completed
	for _, rec := range cq.q[cq.head:] {
		l.endLocked(rec, nil)
	}
	cq.q, cq.head = nil, 0
	l.timers.stop(&cq.tm)
}
