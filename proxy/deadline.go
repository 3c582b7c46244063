package proxy

import (
	"context"
	"sync"
	"time"
)

// deadlineCtx is context.WithTimeout(context.Background(), d) for the
// lookups a stateless forward makes on the transport's read loop, with its
// timer armed only once Done is called: a location store that only checks
// Err, as the in-memory one does, costs no timer and one allocation rather
// than four per request. Err reports the deadline as soon as it has
// passed; Done is closed then too, or at once when asked after it.
type deadlineCtx struct {
	deadline time.Time

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	timer *time.Timer   // closes done at the deadline
	err   error
}

// withDeadline returns a deadlineCtx ending after d and the function that
// releases it, as context.WithTimeout does.
func withDeadline(d time.Duration) (*deadlineCtx, func()) {
	c := &deadlineCtx{deadline: time.Now().Add(d)}
	return c, c.cancel
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineCtx) Value(any) any { return nil }

func (c *deadlineCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.expireLocked()
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done) // ended before anyone asked
		} else {
			c.timer = time.AfterFunc(time.Until(c.deadline), c.expire)
		}
	}
	return c.done
}

func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked()
	return c.err
}

func (c *deadlineCtx) String() string { return "proxy.deadlineCtx" }

// expire ends the context at its deadline.
func (c *deadlineCtx) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked()
}

// expireLocked ends the context if its deadline has passed; c.mu is held.
func (c *deadlineCtx) expireLocked() {
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.end(context.DeadlineExceeded)
	}
}

// end sets the error and closes done, if made; c.mu is held.
func (c *deadlineCtx) end(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
}

func (c *deadlineCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.end(context.Canceled)
}

var _ context.Context = (*deadlineCtx)(nil)
