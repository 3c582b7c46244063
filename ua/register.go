package ua

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/sipd/sipd/sip"
)

// RegisterOptions tune UA.Register.
type RegisterOptions struct {
	// Registrar is the Request-URI of the REGISTER (RFC 3261 §10.2):
	// sip:Domain when zero.
	Registrar sip.URI
	// Expires is the binding lifetime asked for, in seconds; 3600 when 0.
	Expires uint32
	// NoRefresh registers once, without the refresh loop.
	NoRefresh bool
}

// Registration is a binding of our Contact to our address of record,
// refreshed before it expires until Unregister or UA.Close.
type Registration struct {
	u      *UA
	opts   RegisterOptions
	callID string

	mu        sync.Mutex
	seq       uint32
	granted   time.Duration
	err       error
	refreshes int
	stop      chan struct{}
	stopped   bool
	loopDone  chan struct{}
}

// Register binds our Contact to our address of record at the registrar
// (RFC 3261 §10.2) and keeps it refreshed: one Call-ID for every REGISTER,
// CSeq growing, digest challenges answered (MD5 or SHA-256), a 423
// retried with the Min-Expires asked for. The first REGISTER's outcome is
// returned; refreshes happen at half the lifetime the registrar granted
// (the expires of our Contact in its 200, else its Expires).
func (u *UA) Register(ctx context.Context, opts *RegisterOptions) (*Registration, error) {
	var o RegisterOptions
	if opts != nil {
		o = *opts
	}
	if o.Registrar == (sip.URI{}) {
		r, err := sip.ParseURI("sip:" + u.aor.URI.Host + portSuffix(u.aor.URI.Port))
		if err != nil {
			return nil, err
		}
		o.Registrar = r
	}
	if o.Expires == 0 {
		o.Expires = 3600
	}
	r := &Registration{u: u, opts: o, callID: u.newCallID(), stop: make(chan struct{}), loopDone: make(chan struct{})}
	if err := r.send(ctx, o.Expires); err != nil {
		close(r.loopDone)
		return nil, err
	}
	if o.NoRefresh || !u.goAsync(r.loop) {
		close(r.loopDone)
	}
	return r, nil
}

func portSuffix(p int) string {
	if p == 0 {
		return ""
	}
	return ":" + strconv.Itoa(p)
}

// Expires returns the lifetime the registrar granted last.
func (r *Registration) Expires() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.granted
}

// Refreshes returns how many refreshing REGISTERs succeeded.
func (r *Registration) Refreshes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refreshes
}

// Err returns the error of the last REGISTER, nil when it succeeded.
func (r *Registration) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// send sends one REGISTER asking for expires seconds.
func (r *Registration) send(ctx context.Context, expires uint32) error {
	u := r.u
	for attempt := 0; attempt < 2; attempt++ {
		r.mu.Lock()
		r.seq++
		seq := r.seq
		r.mu.Unlock()
		req := u.newRequest(sip.MethodRegister, r.opts.Registrar, sip.Address{URI: u.aor.URI}, r.callID, seq)
		req.Set("Expires", strconv.FormatUint(uint64(expires), 10))
		resp, err := u.Do(ctx, req)
		if err == nil {
			// Do may have retried with higher CSeq numbers.
			if cs, cerr := resp.CSeq(); cerr == nil {
				r.mu.Lock()
				r.seq = max(r.seq, cs.Seq)
				r.mu.Unlock()
			}
		}
		switch {
		case err != nil:
		case resp.StatusCode == sip.StatusIntervalTooBrief && attempt == 0:
			// §10.2.8: ask again for at least Min-Expires.
			if m, ok, _ := resp.MinExpires(); ok && m > expires {
				expires = m
				continue
			}
			err = &ResponseError{resp}
		case !resp.IsSuccess():
			err = &ResponseError{resp}
		default:
			r.mu.Lock()
			r.granted = time.Duration(grantedExpires(resp, u.contact, expires)) * time.Second
			r.opts.Expires = expires
			r.mu.Unlock()
		}
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		return err
	}
	return nil
}

// grantedExpires is the lifetime of our binding in a 200 to REGISTER
// (§10.2.4): our Contact's expires parameter, else Expires, else asked.
func grantedExpires(resp *sip.Response, contact sip.URI, asked uint32) uint32 {
	if cs, err := resp.Contacts(); err == nil {
		for _, c := range cs {
			if c.URI.User == contact.User && c.URI.Host == contact.Host && c.URI.Port == contact.Port {
				if e, ok := c.Expires(); ok {
					return uint32(e)
				}
			}
		}
	}
	if e, ok, err := resp.Expires(); err == nil && ok {
		return e
	}
	return asked
}

// loop refreshes the binding at half the granted lifetime; after a
// failure it tries again after a tenth of the asked lifetime (at least 5
// s).
func (r *Registration) loop() {
	defer close(r.loopDone)
	for {
		r.mu.Lock()
		wait := r.granted / 2
		if r.err != nil {
			wait = max(5*time.Second, time.Duration(r.opts.Expires)*time.Second/10)
		}
		r.mu.Unlock()
		if wait <= 0 {
			wait = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.stop:
			t.Stop()
			return
		case <-r.u.ctx.Done():
			t.Stop()
			return
		}
		ctx, cancel := context.WithTimeout(r.u.ctx, 64*r.u.t1)
		err := r.send(ctx, r.opts.Expires)
		cancel()
		if err == nil {
			r.mu.Lock()
			r.refreshes++
			r.mu.Unlock()
		}
	}
}

// Unregister stops the refreshes and removes the binding with Expires: 0
// (§10.2.2).
func (r *Registration) Unregister(ctx context.Context) error {
	r.mu.Lock()
	if !r.stopped {
		r.stopped = true
		close(r.stop)
	}
	r.mu.Unlock()
	select {
	case <-r.loopDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	return r.send(ctx, 0)
}
