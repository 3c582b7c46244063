package redirect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// Redirect is the redirect server: it answers a request for a user of its
// domains with 302 (Moved Temporarily) listing the user's registered
// contacts, or with 480 or 404 when there are none (RFC 3261 §8.3, §21.3).
// It is safe for concurrent use.
type Redirect struct {
	loc     location.Store
	users   auth.UserStore      // nil: whether a user exists is unknown
	domains map[string]struct{} // lower case; nil: any domain
	clock   func() time.Time
	log     *slog.Logger
}

// New returns a redirect server that reads bindings from loc. users, when
// not nil, tells a known user without bindings (480) from an unknown one
// (404); when nil, both get 404. New returns cfg.Validate's error when the
// configuration is not valid.
func New(cfg Config, loc location.Store, users auth.UserStore) (*Redirect, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if loc == nil {
		return nil, errors.New("redirect: nil location store")
	}
	r := &Redirect{
		loc:   loc,
		users: users,
		clock: cfg.Clock,
	}
	if len(cfg.Domains) > 0 {
		r.domains = make(map[string]struct{}, len(cfg.Domains))
		for _, d := range cfg.Domains {
			r.domains[strings.ToLower(d)] = struct{}{}
		}
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	if cfg.Logger != nil {
		r.log = cfg.Logger.With("component", "redirect")
	} else {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// The answers the redirect server returns for the server to send. They are
// shared and never changed.
var (
	errBadEscape   = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad Request-URI: malformed escape", Err: location.ErrBadEscape}
	errNotFound    = &sip.StatusError{Code: sip.StatusNotFound}
	errUnavailable = &sip.StatusError{Code: sip.StatusTemporarilyUnavailable}
	errLoop        = &sip.StatusError{Code: sip.StatusNotFound, Reason: "Not Found - redirect loop"}
)

// ServeSIP answers a request whose Request-URI is a SIP or SIPS URI with a
// user part in one of our domains:
//
//   - 420 (Bad Extension) with Unsupported when Require names any option
//     tag, since the redirect server supports none (§8.2.2.3);
//   - 302 (Moved Temporarily) with one Contact per live binding of the
//     Request-URI's AOR, highest q first, each with q (when not 1) and the
//     seconds it has left as expires (§21.3.3);
//   - 480 (Temporarily Unavailable) when there are none and the user is
//     known to the UserStore, 404 (Not Found) otherwise;
//   - 404 (Not Found - redirect loop) when the only binding is the
//     Request-URI itself, which is never offered (§8.3).
//
// REGISTER (the registrar's), ACK (never answered, §17.1.1.3) and CANCEL
// (the redirect's answer is final at once, so there is nothing left to
// cancel) go to the next handler with server.ErrNotHandled, as do requests
// for other domains and Request-URIs without a user part or of another
// scheme. Max-Forwards is not checked: the redirect server answers itself
// and forwards nothing.
//
// The 302 and the 420 are sent through tx; 404 and 480 are returned as a
// *sip.StatusError for the server to send. An error of a store is returned
// wrapped, and the server answers 500.
func (r *Redirect) ServeSIP(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
	switch req.Method {
	case sip.MethodRegister, sip.MethodAck, sip.MethodCancel:
		return server.ErrNotHandled
	}
	u := req.URI
	if !u.IsSIP() || u.User == "" || !r.serves(u.Host) {
		return server.ErrNotHandled
	}
	// The AOR the registrar stored the bindings under: an escaped user
	// and a sips URI find the same bindings (§10.3 step 5).
	aor, err := location.CanonicalAOR(u)
	if err != nil {
		if errors.Is(err, location.ErrBadEscape) {
			// The parser refuses such a URI; only a Request-URI set
			// by code can get here.
			return errBadEscape
		}
		return server.ErrNotHandled
	}
	err = r.serve(ctx, tx, req, aor)
	if err != nil && r.log.Enabled(ctx, slog.LevelDebug) {
		code, reason := sip.StatusOf(err)
		r.log.Debug("not redirected", "method", req.Method, "call_id", req.CallID(), "aor", aor,
			"status", code, "reason", reason, "err", err)
	}
	return err
}

// serve answers a request for aor.
func (r *Redirect) serve(ctx context.Context, tx *transaction.ServerTx, req *sip.Request, aor string) error {
	// §8.2.2.3: a UAS, and a redirect server is one (§8.3), answers 420
	// to a Require naming an extension it does not support: any.
	if bad := req.OptionTags("Require"); len(bad) > 0 {
		resp := response(req, sip.StatusBadExtension)
		resp.Add("Unsupported", strings.Join(bad, ", "))
		if r.log.Enabled(ctx, slog.LevelDebug) {
			r.log.Debug("not redirected", "method", req.Method, "call_id", req.CallID(), "aor", aor,
				"status", sip.StatusBadExtension, "unsupported", bad)
		}
		return tx.Respond(resp)
	}

	bs, err := r.loc.Lookup(ctx, aor)
	if err != nil {
		return fmt.Errorf("redirect: lookup %s: %w", aor, err)
	}
	now := r.clock()
	live := make([]location.Binding, 0, len(bs))
	loop := false
	for i := range bs {
		b := &bs[i]
		if !b.Expires.After(now) {
			// The store drops expired bindings by its own clock; ours
			// decides the expires we show, so it decides here too.
			continue
		}
		cu, err := sip.ParseURI(b.Contact)
		if err != nil {
			r.log.Warn("binding with a malformed contact", "aor", aor, "contact", b.Contact, "err", err)
			continue
		}
		if cu.Equal(req.URI) {
			// §8.3: "Redirect servers MUST NOT redirect a request to a
			// URI equal to the one in the Request-URI".
			loop = true
			continue
		}
		live = append(live, *b)
	}
	if len(live) == 0 {
		if loop {
			// §8.3 lets the server reject such a request with 404.
			return errLoop
		}
		return r.noBinding(ctx, req.URI, aor)
	}

	// The store returns bindings highest q first; sorting again (stably,
	// so the store's order stays among equal q) costs little and keeps the
	// order right whatever the engine.
	slices.SortStableFunc(live, func(a, b location.Binding) int { return b.Q - a.Q })
	resp := response(req, sip.StatusMovedTemporarily)
	var buf []byte
	for i := range live {
		buf = live[i].AppendContact(buf[:0], now, false)
		resp.Add("Contact", string(buf))
	}
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.Debug("redirected", "method", req.Method, "call_id", req.CallID(), "aor", aor,
			"status", sip.StatusMovedTemporarily, "contacts", len(live))
	}
	return tx.Respond(resp)
}

// noBinding returns the answer for a user without bindings: 480 when the
// UserStore knows the user in the Request-URI's domain, else 404.
func (r *Redirect) noBinding(ctx context.Context, u sip.URI, aor string) error {
	if r.users == nil {
		return errNotFound
	}
	// Users are kept by user name and realm, the realm being the domain in
	// lower case (auth.UserStore); the user name is the unescaped user
	// part, as registrar.OwnAOR compares it.
	_, err := r.users.Get(ctx, u.UserUnescaped(), strings.ToLower(u.Host))
	switch {
	case err == nil:
		// §21.4.18: the callee is known but cannot be reached now.
		// (Kamailio's default config answers 404 either way, as
		// New's users == nil does.)
		return errUnavailable
	case errors.Is(err, auth.ErrNoUser):
		return errNotFound
	}
	return fmt.Errorf("redirect: user of %s: %w", aor, err)
}

// serves reports whether host is one of our domains.
func (r *Redirect) serves(host string) bool {
	if r.domains == nil {
		return host != ""
	}
	_, ok := r.domains[strings.ToLower(host)]
	return ok
}

// response builds a response with a To tag (RFC 3261 §8.2.6.2).
func response(req *sip.Request, code int) *sip.Response {
	resp := sip.NewResponse(req, code, "")
	if req.ToTag() == "" {
		_ = resp.SetToTag(server.NewTag()) // a To that does not parse stays as it is
	}
	return resp
}

var _ server.Handler = (*Redirect)(nil)
