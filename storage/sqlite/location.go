package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/storage/internal/cache"
)

// A request is one Apply or Expire waiting for the writer.
type request struct {
	ctx context.Context
	aor string
	fn  func([]location.Binding) ([]location.Binding, error)

	expire bool // an Expire: remove bindings expired at or before now
	now    time.Time
	aors   []string // for Expire: the AORs that had expired bindings

	// state moves from queued to taken (by the writer) or to abandoned
	// (by Apply, when ctx ends first); the writer skips abandoned requests.
	state atomic.Int32

	// Results, written by the writer before it closes done.
	out      []location.Binding // stored set, owned by the index
	n        int                // bindings expired
	err      error
	panicked any // a panic value recovered from fn, re-raised in Apply
	done     chan struct{}
}

const (
	queued int32 = iota
	taken
	abandoned
)

// Lookup returns the unexpired bindings of aor from memory, highest q
// first, then the most recently updated first.
func (s *Store) Lookup(ctx context.Context, aor string) ([]location.Binding, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s.bindings.Lookup(aor, time.Now()), nil
}

// List returns unexpired bindings from memory ordered by AOR then contact,
// skipping offset (a negative offset counts as 0) and returning at most
// limit (none when limit <= 0).
func (s *Store) List(ctx context.Context, offset, limit int) ([]location.Binding, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s.bindings.List(time.Now(), offset, limit), nil
}

// Count returns the number of unexpired bindings and of AORs having one.
func (s *Store) Count(ctx context.Context) (bindings, aors int, err error) {
	if err := s.check(ctx); err != nil {
		return 0, 0, err
	}
	bindings, aors = s.bindings.Count(time.Now())
	return bindings, aors, nil
}

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Apply atomically replaces the bindings of aor with what fn returns; fn
// gets a copy of the unexpired bindings. Each stored binding's AOR field is
// set to aor. Apply returns a copy of the stored set in Lookup order once
// the transaction that wrote it has committed (see the package
// documentation for what that survives).
//
// fn runs on the writer goroutine, between other callers' fns, so it must
// be quick and must not call Apply or Expire (which would wait for the
// writer forever). A panic in fn is raised again in Apply's goroutine. If
// ctx ends while the request is still queued, Apply returns ctx.Err() and
// fn is never called; once fn has run, Apply waits for the commit.
func (s *Store) Apply(ctx context.Context, aor string, fn func(cur []location.Binding) ([]location.Binding, error)) ([]location.Binding, error) {
	r := &request{ctx: ctx, aor: aor, fn: fn, done: make(chan struct{})}
	if err := s.submit(r); err != nil {
		return nil, err
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	if r.err != nil {
		return nil, r.err
	}
	return cache.Clone(r.out), nil
}

// Expire deletes the bindings that expired at or before now and returns
// how many.
func (s *Store) Expire(ctx context.Context, now time.Time) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	// Find the candidates here rather than on the writer goroutine, which
	// then only rechecks them. A binding written after this scan with an
	// Expires at or before now is left for the next Expire.
	aors := s.bindings.ExpiredAORs(now)
	// In chunks, so that clearing a backlog (after downtime, say) does not
	// hold up REGISTERs behind one long transaction.
	const chunk = 512
	n := 0
	for len(aors) > 0 {
		c := aors[:min(chunk, len(aors))]
		aors = aors[len(c):]
		r := &request{ctx: ctx, expire: true, now: now, aors: c, done: make(chan struct{})}
		if err := s.submit(r); err != nil {
			return n, err
		}
		if r.err != nil {
			return n, r.err
		}
		n += r.n
	}
	return n, nil
}

// submit queues r and waits until it was committed (or failed), or until
// ctx ends while r is still queued.
//
// A caller that finds the store idle (nothing queued, no one committing)
// commits r itself, on its own goroutine: a lone REGISTER then costs no
// hand-off to the writer goroutine and back (two goroutine wake-ups, a
// fifth of a lone Apply). Otherwise the writer goroutine takes r in its
// next batch, with whatever else has queued by then (group commit). A
// caller that committed leaves what queued meanwhile to the writer.
func (s *Store) submit(r *request) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	s.pending = append(s.pending, r)
	alone := len(s.pending) == 1
	s.mu.Unlock()
	if alone && s.wmu.TryLock() {
		// Let the goroutines that are ready run first: under load they
		// are REGISTERs on their way here, which then share our commit
		// (it costs about as much as the rest of a REGISTER); on an idle
		// server there are none, and this costs nothing. With a commit
		// delay, wait that long for more to join (gather).
		if s.delay == 0 {
			runtime.Gosched()
		}
		s.gather()
		s.commitPending()
		s.wmu.Unlock()
		// A request queued while we committed found wmu held: its
		// caller waits for us to see it.
		if s.hasPending() {
			s.kickWriter()
		}
	} else {
		s.kickWriter()
	}
	select {
	case <-r.done:
	case <-r.ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return r.ctx.Err()
		}
		<-r.done
	}
	return nil
}

// gather waits Options.CommitDelay when one request is queued, so that
// others arriving meanwhile share its commit; with more queued, the batch
// is already shared and goes at once. s.wmu must be held.
func (s *Store) gather() {
	if s.delay <= 0 {
		return
	}
	s.mu.Lock()
	lone := len(s.pending) == 1
	s.mu.Unlock()
	if lone {
		time.Sleep(s.delay)
	}
}

func (s *Store) hasPending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) > 0
}

// kickWriter wakes the writer goroutine.
func (s *Store) kickWriter() {
	select {
	case s.kick <- struct{}{}:
	default: // already kicked
	}
}

// commitPending commits one batch of the queued requests, the oldest up to
// Options.MaxBatch, and reports whether there was one. s.wmu must be held.
func (s *Store) commitPending() bool {
	if s.stopped {
		return false
	}
	s.mu.Lock()
	n := min(len(s.pending), s.maxBatch)
	s.batch = append(s.batch[:0], s.pending[:n]...)
	rest := copy(s.pending, s.pending[n:])
	clear(s.pending[rest:])
	s.pending = s.pending[:rest]
	s.mu.Unlock()
	if n == 0 {
		return false
	}
	s.commit(s.batch)
	clear(s.batch) // let the requests go
	return true
}

// A stmt is a prepared statement of the writer's driver connection.
type stmt interface {
	driver.Stmt
	driver.StmtExecContext
}

type writerStmts struct {
	begin, commit, rollback stmt
	put                     stmt // (aor, expires, bindings, data)
	del                     stmt // (aor)
}

// run is the writer goroutine. It holds the writer connection at the
// driver level (database/sql's per-call work is a fair part of an insert)
// until Close, and commits the batches that callers leave queued (see
// submit); callers use the connection under s.wmu too. It reports on
// ready whether it started.
func (s *Store) run(ready chan<- error) {
	defer close(s.exited)
	started := false
	err := s.w.Raw(func(dc any) error {
		if err := s.prepareWriter(dc); err != nil {
			return err
		}
		defer s.closeWriter()
		started = true
		ready <- nil
		s.loop()
		return nil
	})
	if !started {
		ready <- err
	}
}

func (s *Store) prepareWriter(dc any) error {
	c, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
	}
	var err error
	prep := func(dst *stmt, query string) {
		if err != nil {
			return
		}
		var st driver.Stmt
		if st, err = c.PrepareContext(context.Background(), query); err != nil {
			return
		}
		var ok bool
		if *dst, ok = st.(stmt); !ok {
			st.Close()
			err = fmt.Errorf("driver statement %T cannot execute with a context", st)
		}
	}
	prep(&s.stmts.begin, `BEGIN IMMEDIATE`)
	prep(&s.stmts.commit, `COMMIT`)
	prep(&s.stmts.rollback, `ROLLBACK`)
	prep(&s.stmts.put, `INSERT OR REPLACE INTO bindings (aor, expires, bindings, data) VALUES (?, ?, ?, ?)`)
	prep(&s.stmts.del, `DELETE FROM bindings WHERE aor = ?`)
	if err != nil {
		s.closeWriter()
	}
	return err
}

func (s *Store) closeWriter() {
	for _, st := range []stmt{s.stmts.begin, s.stmts.commit, s.stmts.rollback, s.stmts.put, s.stmts.del} {
		if st != nil {
			st.Close()
		}
	}
}

func execStmt(st stmt, args []driver.NamedValue) error {
	_, err := st.ExecContext(context.Background(), args)
	return err
}

func (s *Store) loop() {
	for range s.kick {
		s.wmu.Lock()
		s.gather()
		for s.commitPending() {
		}
		if s.closed.Load() && !s.hasPending() {
			// Close queues nothing more: stop for good.
			s.stopped = true
			s.wmu.Unlock()
			return
		}
		s.wmu.Unlock()
		if s.hasPending() {
			s.kickWriter() // queued after our last batch, its caller saw wmu held
		}
	}
}

// commit runs batch in one transaction and then releases its callers.
func (s *Store) commit(batch []*request) {
	live := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(queued, taken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	defer func() {
		for _, r := range live {
			close(r.done)
		}
	}()
	// The statements run without a context: one caller's cancellation must
	// not abort the others' writes.
	if err := execStmt(s.stmts.begin, nil); err != nil {
		// A transaction left open by a failed ROLLBACK would make every
		// later BEGIN fail: end it and try once more.
		_ = execStmt(s.stmts.rollback, nil)
		if err := execStmt(s.stmts.begin, nil); err != nil {
			s.fail(live, err)
			return
		}
	}
	clear(s.overlay)
	var err error
	for _, r := range live {
		if err = r.ctx.Err(); err != nil {
			r.err = err // not run: nothing changes for it
			err = nil
			continue
		}
		if r.expire {
			err = s.expire(r)
		} else {
			err = s.apply(r)
		}
		if err != nil {
			break
		}
	}
	if err == nil {
		err = execStmt(s.stmts.commit, nil)
	}
	if err != nil {
		_ = execStmt(s.stmts.rollback, nil) // may fail if COMMIT already rolled back
		s.fail(live, err)
		return
	}
	s.commits.Add(1)
	for aor, w := range s.overlay {
		s.bindings.SetRecord(aor, w.rec, w.bs)
	}
}

// fail reports a failed transaction to every request of it that had not
// failed on its own.
func (s *Store) fail(live []*request, err error) {
	err = fmt.Errorf("sqlite: write bindings: %w", err)
	for _, r := range live {
		if r.err == nil && r.panicked == nil {
			r.err = err
			r.out, r.n = nil, 0
		}
	}
}

// written is what the batch wrote for an AOR: its bindings and their
// record, the row's data, which the index takes as it is after the commit.
type written struct {
	bs  []location.Binding
	rec string
}

// stored returns all the bindings of aor, expired ones included, as of
// this point of the batch. They may be the overlay's: not to be modified.
func (s *Store) stored(aor string) []location.Binding {
	if w, ok := s.overlay[aor]; ok {
		return w.bs
	}
	return s.bindings.Stored(aor)
}

// apply runs one Apply inside the batch's transaction. It returns only the
// errors that fail the whole transaction; fn's own error or panic is kept
// in r.
func (s *Store) apply(r *request) error {
	// The bindings fn gets, unexpired, decoded once from the index when
	// the batch has not written the AOR yet, and whether it has a row.
	var cur []location.Binding
	var had bool
	if w, ok := s.overlay[r.aor]; ok {
		cur, had = cache.Unexpired(w.bs, time.Now()), len(w.bs) > 0
	} else {
		cur, had = s.bindings.LookupStored(r.aor, time.Now())
	}
	next, err := callFn(r, cur)
	if err != nil || r.panicked != nil {
		r.err = err
		return nil
	}
	stored := normalized(cache.Prepare(r.aor, next))
	rec, err := s.write(r.aor, had, stored)
	if err != nil {
		return err
	}
	s.overlay[r.aor] = written{bs: stored, rec: rec}
	r.out = stored
	return nil
}

func callFn(r *request, cur []location.Binding) (next []location.Binding, err error) {
	defer func() {
		if v := recover(); v != nil {
			r.panicked = v
		}
	}()
	return r.fn(cur)
}

// expire removes the bindings of r.aors expired at or before r.now.
func (s *Store) expire(r *request) error {
	for _, aor := range r.aors {
		old := s.stored(aor)
		keep := make([]location.Binding, 0, len(old))
		for _, b := range old {
			if b.Expires.After(r.now) {
				keep = append(keep, b)
			}
		}
		if len(keep) == len(old) {
			continue
		}
		rec, err := s.write(aor, true, keep)
		if err != nil {
			return err
		}
		r.n += len(old) - len(keep)
		if len(keep) == 0 {
			keep = nil
		}
		s.overlay[aor] = written{bs: keep, rec: rec}
	}
	return nil
}

// write makes the row of aor, which exists if had, hold bs, and returns
// the row's record ("" when bs is empty and the row is gone).
func (s *Store) write(aor string, had bool, bs []location.Binding) (string, error) {
	if len(bs) == 0 {
		if !had {
			return "", nil
		}
		s.delArgs[0].Value = aor
		return "", execStmt(s.stmts.del, s.delArgs[:])
	}
	s.buf = cache.AppendBindings(s.buf[:0], bs)
	s.putArgs[0].Value = aor
	s.putArgs[1].Value = latest(bs)
	s.putArgs[2].Value = int64(len(bs))
	s.putArgs[3].Value = s.buf
	if err := execStmt(s.stmts.put, s.putArgs[:]); err != nil {
		return "", err
	}
	return string(s.buf), nil
}
