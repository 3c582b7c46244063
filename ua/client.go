package ua

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// queue is a ClientHandler that queues what the transaction reports for a
// goroutine that waits on it; it never blocks the transport.
type queue struct {
	mu     sync.Mutex
	items  []*sip.Response
	err    error
	notify chan struct{}
	// on, when set, sees each response first, inline.
	on func(tx *transaction.ClientTx, r *sip.Response)
	// closed ends waits when the UA closes: its transactions end then
	// without a word to us.
	closed <-chan struct{}
}

func (u *UA) newQueue() *queue { return &queue{notify: make(chan struct{}, 1), closed: u.ctx.Done()} }

func (q *queue) HandleResponse(tx *transaction.ClientTx, r *sip.Response) {
	if q.on != nil {
		q.on(tx, r)
	}
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	q.signal()
}

func (q *queue) HandleError(tx *transaction.ClientTx, err error) {
	q.mu.Lock()
	q.err = err
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// next returns the next response, or the transaction's error, or ctx's.
func (q *queue) next(ctx context.Context) (*sip.Response, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			r := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			return r, nil
		}
		err := q.err
		q.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-q.notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-q.closed:
			return nil, ErrClosed
		}
	}
}

// final skips provisional responses.
func (q *queue) final(ctx context.Context) (*sip.Response, error) {
	for {
		r, err := q.next(ctx)
		if err != nil || r.StatusCode >= 200 {
			return r, err
		}
	}
}

// authState answers the challenges of one request's retries (RFC 3261
// §22.2, §22.3): each realm is answered once, again only when the server
// says the nonce was stale.
type authState struct {
	tried map[string]string // realm -> nonce answered
	nc    map[string]uint32 // nonce -> count
}

// authorize adds credentials for the challenges of resp to req (a copy of
// the request the challenge answered, with a new CSeq and branch). It
// reports false when the challenge cannot or should not be answered.
func (u *UA) authorize(st *authState, req *sip.Request, resp *sip.Response) bool {
	if u.cfg.Password == "" {
		return false
	}
	if st.tried == nil {
		st.tried, st.nc = map[string]string{}, map[string]uint32{}
	}
	answered := false
	for _, pair := range [...][2]string{{"WWW-Authenticate", "Authorization"}, {"Proxy-Authenticate", "Proxy-Authorization"}} {
		byRealm := map[string][]sip.Challenge{}
		var realms []string
		for v := range resp.Lines(pair[0]) {
			ch, err := sip.ParseChallenge(v)
			if err != nil {
				continue
			}
			if _, ok := byRealm[ch.Realm]; !ok {
				realms = append(realms, ch.Realm)
			}
			byRealm[ch.Realm] = append(byRealm[ch.Realm], ch)
		}
		for _, realm := range realms {
			ch, ok := auth.PickChallenge(byRealm[realm])
			if !ok {
				return false
			}
			if prev, done := st.tried[realm]; done && (!ch.Stale || prev == ch.Nonce) {
				// Refused with credentials of ours: the password is
				// wrong; only stale=true asks for a retry (RFC 7616 §3.3).
				return false
			}
			st.tried[realm] = ch.Nonce
			st.nc[ch.Nonce]++
			cr, err := auth.Authorize(ch, req.Method, req.URI.String(), u.cfg.Username, u.cfg.Password, st.nc[ch.Nonce], "")
			if err != nil {
				return false
			}
			// Replace earlier credentials for this realm.
			var keep []string
			for v := range req.Lines(pair[1]) {
				if c, err := sip.ParseCredentials(v); err == nil && c.Realm == realm {
					continue
				}
				keep = append(keep, v)
			}
			req.Del(pair[1])
			for _, v := range keep {
				req.Add(pair[1], v)
			}
			req.Add(pair[1], cr.String())
			answered = true
		}
	}
	return answered
}

// challenged reports whether resp asks for credentials.
func challenged(resp *sip.Response) bool {
	return resp.StatusCode == sip.StatusUnauthorized || resp.StatusCode == sip.StatusProxyAuthRequired
}

// retryCopy returns a copy of req for a new transaction: a new branch and
// the CSeq number seq.
func retryCopy(req *sip.Request, seq uint32) *sip.Request {
	r := req.Clone()
	if v, err := r.TopVia(); err == nil {
		v.Params = v.Params.Set("branch", transaction.NewBranch())
		r.SetTopVia(v)
	}
	r.Set("CSeq", strconv.FormatUint(uint64(seq), 10)+" "+r.Method)
	return r
}

// Do sends a request outside a dialog other than INVITE (and ACK or
// CANCEL) in a client transaction and returns its final response, whatever
// the code. A 401 or 407 is answered with credentials and the request sent
// again with CSeq+1 (RFC 3261 §22.2), once per challenge, again when the
// server says stale=true. The error is the transaction's (a timeout, a
// transport failure), ErrNoTarget, or ctx's.
func (u *UA) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	if req.Method == sip.MethodInvite || req.Method == sip.MethodAck || req.Method == sip.MethodCancel {
		return nil, fmt.Errorf("ua: Do cannot send %s", req.Method)
	}
	decorate(req)
	cs, err := req.CSeq()
	if err != nil {
		return nil, err
	}
	tmpl := req.Clone()
	seq := cs.Seq
	return u.doAuth(ctx, nil, func(attempt int, prev *sip.Request) (*sip.Request, error) {
		if attempt == 0 {
			return req, nil
		}
		seq++
		r := retryCopy(prev, seq)
		return r, nil
	}, tmpl)
}

// doAuth runs a non-INVITE request through the auth retry loop: build
// returns the request of each attempt from the previous one's copy
// (credentials are added to it after build).
func (u *UA) doAuth(ctx context.Context, d *dialog.Dialog, build func(attempt int, prev *sip.Request) (*sip.Request, error), prev *sip.Request) (*sip.Response, error) {
	var st authState
	var resp *sip.Response
	for attempt := 0; attempt < 4; attempt++ {
		req, err := build(attempt, prev)
		if err != nil {
			return nil, err
		}
		if attempt > 0 && !u.authorize(&st, req, resp) {
			return resp, nil
		}
		dst, err := u.dialogTarget(d, req)
		if err != nil {
			return nil, err
		}
		keep := req.Clone()
		q := u.newQueue()
		if _, err := u.tl.Request(req, dst, q); err != nil {
			return nil, err
		}
		resp, err = q.final(ctx)
		if err != nil {
			return nil, err
		}
		if !challenged(resp) {
			return resp, nil
		}
		prev = keep
	}
	return resp, nil
}

// Options sends OPTIONS to uri (RFC 3261 §11), a ping, and returns the
// final response.
func (u *UA) Options(ctx context.Context, uri sip.URI) (*sip.Response, error) {
	req := u.NewRequest(sip.MethodOptions, uri)
	req.Add("Accept", "application/sdp")
	return u.Do(ctx, req)
}

// Message sends a MESSAGE with body of content type ctype to uri (RFC
// 3428) and returns the final response; a non-2xx one is a *ResponseError.
func (u *UA) Message(ctx context.Context, uri sip.URI, ctype string, body []byte) (*sip.Response, error) {
	req := u.NewRequest(sip.MethodMessage, uri)
	if ctype == "" {
		ctype = "text/plain"
	}
	req.Add("Content-Type", ctype)
	req.Body = body
	resp, err := u.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if !resp.IsSuccess() {
		return resp, &ResponseError{resp}
	}
	return resp, nil
}

// hasTag reports whether a list header holds an option tag.
func hasTag(h interface{ OptionTags(string) []string }, name, tag string) bool {
	for _, t := range h.OptionTags(name) {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}
