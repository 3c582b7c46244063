package ua

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sipd/sipd/sip"
)

// ErrSessionExpired: the session timer ran out without a refresh (RFC
// 4028 §10), or a refresh failed; the call was ended with BYE.
var ErrSessionExpired = errors.New("ua: session expired")

// sessionTimer is the session timer of a call (RFC 4028).
type sessionTimer struct {
	mu        sync.Mutex
	want      uint32 // the interval we ask for in our INVITE
	useUpdate bool
	interval  uint32 // negotiated; 0: no session timer
	refresher bool   // we refresh
	timer     *time.Timer
	stopped   bool
}

func (s *sessionTimer) init(want uint32, useUpdate bool) {
	s.mu.Lock()
	s.want, s.useUpdate = want, useUpdate
	s.mu.Unlock()
}

// raise takes the Min-SE of a 422 (RFC 4028 §8.1).
func (s *sessionTimer) raise(min uint32) {
	s.mu.Lock()
	s.want = max(s.want, min)
	s.mu.Unlock()
}

// SessionInterval returns the negotiated session interval and whether we are the
// refresher; 0 when the call has no session timer.
func (c *Call) SessionInterval() (time.Duration, bool) {
	c.se.mu.Lock()
	defer c.se.mu.Unlock()
	return time.Duration(c.se.interval) * time.Second, c.se.refresher
}

// addToRequest writes Session-Expires and Min-SE into an INVITE or UPDATE
// of ours (RFC 4028 §7.1, §7.4): the interval we want in the initial
// INVITE, the negotiated one in a refresh, naming ourselves refresher when
// we are.
func (s *sessionTimer) addToRequest(r *sip.Request, u *UA) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delta, who := s.want, "uac"
	if s.interval > 0 {
		delta = s.interval
		if !s.refresher {
			who = "uas"
		}
	}
	if delta == 0 {
		return
	}
	r.Set("Session-Expires", strconv.FormatUint(uint64(delta), 10)+";refresher="+who)
	r.Set("Min-SE", strconv.FormatUint(uint64(u.cfg.MinSE), 10))
}

// check refuses a Session-Expires below our Min-SE with 422 (RFC 4028
// §8.1) and a malformed one with 400.
func (s *sessionTimer) check(u *UA, req *sip.Request) (int, func(*sip.Response)) {
	if !req.Has("Session-Expires") {
		return 0, nil
	}
	se, err := req.SessionExpires()
	if err != nil {
		return sip.StatusBadRequest, func(*sip.Response) {}
	}
	if se.Delta < u.cfg.MinSE {
		return sip.StatusSessionIntervalTooSmall, func(r *sip.Response) {
			r.Add("Min-SE", strconv.FormatUint(uint64(u.cfg.MinSE), 10))
		}
	}
	return 0, nil
}

// refresherOf says who refreshes for a request that asked for a session
// timer: its refresher parameter, else the UAC when it supports timer and
// the UAS otherwise (RFC 4028 §9).
func refresherOf(req *sip.Request, se sip.SessionExpires) string {
	if r := strings.ToLower(se.Refresher); r == "uac" || r == "uas" {
		return r
	}
	if hasTag(req, "Supported", "timer") {
		return "uac"
	}
	return "uas"
}

// addToResponse writes Session-Expires (and Require: timer) into our 2xx
// to an INVITE or UPDATE that asked for a session timer (RFC 4028 §9).
func (s *sessionTimer) addToResponse(c *Call, req *sip.Request, resp *sip.Response) {
	if !req.Has("Session-Expires") {
		return
	}
	se, err := req.SessionExpires()
	if err != nil {
		return
	}
	resp.Set("Session-Expires", strconv.FormatUint(uint64(se.Delta), 10)+";refresher="+refresherOf(req, se))
	if hasTag(req, "Supported", "timer") {
		resp.Add("Require", "timer")
	}
}

// fromRequest starts the timer as the UAS of an accepted INVITE or UPDATE.
func (s *sessionTimer) fromRequest(c *Call, req *sip.Request) {
	if !req.Has("Session-Expires") {
		s.set(c, 0, false)
		return
	}
	se, err := req.SessionExpires()
	if err != nil {
		return
	}
	s.set(c, se.Delta, refresherOf(req, se) == "uas")
}

// fromResponse starts the timer as the UAC of a 2xx (RFC 4028 §7.2).
func (s *sessionTimer) fromResponse(c *Call, resp *sip.Response) {
	if !resp.Has("Session-Expires") {
		s.set(c, 0, false)
		return
	}
	se, err := resp.SessionExpires()
	if err != nil {
		return
	}
	s.set(c, se.Delta, !strings.EqualFold(se.Refresher, "uas"))
}

// set (re)starts the timer: the refresher refreshes at half the interval
// (RFC 4028 §10); the other side sends BYE when the session expires, the
// smaller of 32 s and a third of the interval before the end.
func (s *sessionTimer) set(c *Call, interval uint32, refresher bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.interval, s.refresher = interval, refresher
	if interval == 0 || s.stopped {
		return
	}
	iv := time.Duration(interval) * time.Second
	if refresher {
		s.timer = time.AfterFunc(iv/2, func() { c.u.goAsync(c.refreshSession) })
		return
	}
	s.timer = time.AfterFunc(iv-min(32*time.Second, iv/3), func() { c.u.goAsync(c.expire) })
}

func (s *sessionTimer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

// refreshSession sends the session refresh: a re-INVITE with our last SDP,
// or an UPDATE without a body. A refresh that fails ends the call with BYE
// (RFC 4028 §10).
func (c *Call) refreshSession() {
	ctx, cancel := context.WithTimeout(c.u.ctx, 128*c.u.t1)
	defer cancel()
	var err error
	if c.se.useUpdate {
		var resp *sip.Response
		resp, err = c.request(ctx, sip.MethodUpdate, func(r *sip.Request) { c.se.addToRequest(r, c.u) })
		if err == nil {
			c.se.fromResponse(c, resp)
		}
	} else {
		err = c.Reinvite(ctx, nil)
	}
	if err != nil && !errors.Is(err, ErrCallEnded) {
		c.expire()
	}
}

// expire ends a call whose session expired with BYE.
func (c *Call) expire() { c.byeAndEnd(ErrSessionExpired) }
