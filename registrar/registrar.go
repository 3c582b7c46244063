package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// Registrar is the REGISTER handler: it authenticates the request, checks
// that its user may register the AOR, and applies its Contacts to the
// location.Store in one atomic step (RFC 3261 §10.3). It is safe for
// concurrent use.
type Registrar struct {
	store    location.Store
	domains  map[string]struct{} // lower case; nil: any domain
	def      uint64              // DefaultExpires in seconds
	min      uint64              // MinExpires in seconds
	max      uint64              // MaxExpires in seconds
	maxBinds int
	auth     *auth.Authenticator
	allowed  func(authUser string, aor sip.URI) bool
	clock    func() time.Time
	log      *slog.Logger
}

// New returns a registrar that keeps bindings in store. It returns
// cfg.Validate's error when the configuration is not valid.
func New(cfg Config, store location.Store) (*Registrar, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("registrar: nil location store")
	}
	def, lo, hi := cfg.expiries()
	r := &Registrar{
		store:    store,
		def:      uint64(def / time.Second),
		min:      uint64(lo / time.Second),
		max:      uint64(hi / time.Second),
		maxBinds: cfg.MaxContacts,
		auth:     cfg.Auth,
		allowed:  cfg.AllowedRegistrant,
		clock:    cfg.Clock,
	}
	if len(cfg.Domains) > 0 {
		r.domains = make(map[string]struct{}, len(cfg.Domains))
		for _, d := range cfg.Domains {
			r.domains[strings.ToLower(d)] = struct{}{}
		}
	}
	if r.allowed == nil {
		r.allowed = OwnAOR
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	if cfg.Logger != nil {
		r.log = cfg.Logger.With("component", "registrar")
	} else {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// OwnAOR is the default Config.AllowedRegistrant: a user may register only
// the AOR whose user part, unescaped, is its user name (RFC 3261 §10.3 step
// 4). The domain needs no check of its own: the user was authenticated in
// the realm of the To domain, the AOR's, unless auth.Config.Realm fixes
// one realm for every domain.
func OwnAOR(authUser string, aor sip.URI) bool {
	return authUser != "" && authUser == aor.UserUnescaped()
}

// The answers the registrar returns for the server to send. They are
// shared and never changed.
var (
	errURIScheme       = &sip.StatusError{Code: sip.StatusUnsupportedURIScheme}
	errDomainNotServed = &sip.StatusError{Code: sip.StatusForbidden, Reason: "Forbidden - domain not served"}
	errToNotSIP        = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad To: not a SIP or SIPS URI", Err: location.ErrNotSIP}
	errToNoUser        = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad To: no user part", Err: location.ErrNoUser}
	errToNoHost        = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad To: no host", Err: location.ErrNoHost}
	errToEscape        = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad To: malformed escape", Err: location.ErrBadEscape}
	errNoCallID        = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad Call-ID: missing"}
	errCredentials     = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad Authorization: malformed credentials"}
	errNotAllowed      = &sip.StatusError{Code: sip.StatusForbidden, Reason: "Forbidden - not allowed to register this AOR"}
	errAORNotServed    = &sip.StatusError{Code: sip.StatusNotFound, Reason: "Not Found - AOR domain not served"}
	errStarMixed       = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad Contact: * with other contacts"}
	errStarExpires     = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad Contact: * without Expires: 0"}
	errBadQ            = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad Contact: malformed q"}
	errOutOfOrder      = &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad CSeq: not above the binding's"}
	errTooMany         = &sip.StatusError{Code: sip.StatusForbidden, Reason: "Too Many Registered Contacts"}
)

// ServeSIP processes a REGISTER as RFC 3261 §10.3 says, step by step, and
// answers it: 200 (OK) with the AOR's bindings, or an error. It passes
// every other method on with server.ErrNotHandled.
//
// Answers that need header fields of their own (401 with its challenge,
// 420 with Unsupported, 423 with Min-Expires, the 200) are sent through
// tx; the others are returned as a *sip.StatusError (or the *sip.ParseError
// of a header that does not parse) for the server to send. An error of the
// location store is returned as it is, and the server answers 500 (§10.3
// step 7); nothing was changed then.
func (r *Registrar) ServeSIP(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
	if req.Method != sip.MethodRegister {
		return server.ErrNotHandled
	}
	err := r.serve(ctx, tx, req)
	if err != nil && r.log.Enabled(ctx, slog.LevelDebug) {
		code, reason := sip.StatusOf(err)
		r.log.Debug("register failed", "call_id", req.CallID(), "to", req.Get("To"),
			"status", code, "reason", reason, "err", err)
	}
	return err
}

func (r *Registrar) serve(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
	now := r.clock()

	// Step 1: the Request-URI names a domain whose bindings we keep. We
	// do not forward others' registrations: 403, as Kamailio's default
	// script refuses to relay a request for no domain of its own.
	if !req.URI.IsSIP() {
		return errURIScheme
	}
	if !r.serves(req.URI.Host) {
		return errDomainNotServed
	}

	// Step 2: Require as a UAS processes it (§8.2.2.3).
	if bad := unsupported(req); len(bad) > 0 {
		resp := response(req, sip.StatusBadExtension, "")
		resp.Add("Unsupported", strings.Join(bad, ", "))
		return tx.Respond(resp)
	}

	// The AOR is needed by steps 3 and 4; a To that cannot name one makes
	// the request malformed whatever its credentials.
	to, err := req.To()
	if err != nil {
		return err
	}
	user, host, err := location.CanonicalParts(to.URI)
	if err != nil {
		return toError(err)
	}
	aorURI := sip.URI{Scheme: "sip", User: user, Host: host}
	aor := "sip:" + user + "@" + host
	callID := req.CallID()
	if callID == "" {
		return errNoCallID
	}
	cseq, err := req.CSeq()
	if err != nil {
		return err
	}

	// Steps 3 and 4: authenticate, then authorize the user for the AOR.
	if r.auth != nil {
		// The realm is Auth's choice for a REGISTER: the To domain,
		// unless its Config fixes one.
		res, err := r.auth.Check(ctx, req, "", false)
		if err != nil {
			return err
		}
		if !res.OK {
			if res.Reason == auth.ReasonMalformed {
				return errCredentials
			}
			if r.log.Enabled(ctx, slog.LevelDebug) {
				r.log.Debug("register challenged", "call_id", callID, "aor", aor,
					"realm", res.Realm, "reason", res.Reason.String(), "stale", res.Stale)
			}
			return tx.Respond(r.auth.Challenge(req, res.Realm, false, res.Stale))
		}
		if !r.allowed(res.Username, aorURI) {
			return errNotAllowed
		}
	}

	// Step 5: the AOR belongs to a domain we serve. With Domains set, any
	// of them (one location service keeps them all); without, the
	// Request-URI's.
	if !r.aorServed(host, req.URI.Host) {
		return errAORNotServed
	}

	// Steps 6 and 7.
	contacts, err := req.Contacts()
	if err != nil {
		return err
	}
	pathAddrs, err := req.Paths()
	if err != nil {
		return err
	}
	if len(contacts) == 0 {
		// §10.2.3: a fetch; the bindings stay as they are.
		bs, err := r.store.Lookup(ctx, aor)
		if err != nil {
			return fmt.Errorf("registrar: lookup %s: %w", aor, err)
		}
		return r.ok(tx, req, bs, now)
	}
	hdrExp, hasExp, err := req.Expires()
	if err != nil {
		return err
	}

	var paths []string
	for _, p := range pathAddrs {
		paths = append(paths, p.String())
	}
	src := tx.Source()
	tmpl := location.Binding{
		AOR:       aor,
		CallID:    callID,
		CSeq:      cseq.Seq,
		Path:      paths,
		Transport: src.Transport,
		Source:    src.Remote,
		Local:     src.Local,
		UserAgent: req.Get("User-Agent"),
		Updated:   now,
	}

	// Step 6: "*" alone, with Expires: 0.
	star := slices.ContainsFunc(contacts, func(c sip.Address) bool { return c.Wildcard })
	switch {
	case star && len(contacts) != 1:
		return errStarMixed
	case star && (!hasExp || hdrExp != 0):
		return errStarExpires
	}
	var ups []update
	for i := range contacts {
		c := &contacts[i]
		if c.Wildcard {
			break
		}
		u, err := r.contactUpdate(c, hdrExp, hasExp)
		if err != nil {
			return err
		}
		if u.expires > 0 && u.expires < r.min {
			// Step 7: the whole request is refused, nothing changes.
			// Validate keeps MinExpires at or below one hour, as the
			// RFC's "smaller than one hour" requires.
			resp := response(req, sip.StatusIntervalTooBrief, "")
			resp.Add("Min-Expires", strconv.FormatUint(r.min, 10))
			return tx.Respond(resp)
		}
		u.expires = min(u.expires, r.max)
		ups = append(ups, u)
	}

	stored, err := r.store.Apply(ctx, aor, func(cur []location.Binding) ([]location.Binding, error) {
		return merge(cur, ups, star, &tmpl, now, r.maxBinds)
	})
	if err != nil {
		var se *sip.StatusError
		if errors.As(err, &se) {
			return err
		}
		return fmt.Errorf("registrar: apply %s: %w", aor, err)
	}
	return r.ok(tx, req, stored, now)
}

// serves reports whether host is one of our domains.
func (r *Registrar) serves(host string) bool {
	if r.domains == nil {
		return host != ""
	}
	_, ok := r.domains[strings.ToLower(host)]
	return ok
}

// aorServed reports whether an AOR in domain host is valid for a REGISTER
// to ruriHost (§10.3 step 5). host is in lower case.
func (r *Registrar) aorServed(host, ruriHost string) bool {
	if r.domains == nil {
		return strings.EqualFold(host, ruriHost)
	}
	_, ok := r.domains[host]
	return ok
}

// toError maps an error of canonical to the answer.
func toError(err error) error {
	switch err {
	case location.ErrNotSIP:
		// RFC 4475 §3.3.4 (unksm2): a registrar answers 400.
		return errToNotSIP
	case location.ErrNoUser:
		return errToNoUser
	case location.ErrNoHost:
		return errToNoHost
	}
	return errToEscape
}

// supportedTags are the option tags the registrar supports (RFC 3327).
var supportedTags = [...]string{"path"}

// unsupported returns the option tags of Require that the registrar does
// not support.
func unsupported(req *sip.Request) []string {
	if !req.Has("Require") {
		return nil // the common case, without parsing the option tags
	}
	var bad []string
	for _, tag := range req.OptionTags("Require") {
		known := false
		for _, s := range supportedTags {
			if strings.EqualFold(tag, s) {
				known = true
			}
		}
		if !known {
			bad = append(bad, tag)
		}
	}
	return bad
}

// update is what one Contact of a REGISTER asks for.
type update struct {
	uri     sip.URI
	contact string // uri as written
	params  string // header parameters but expires and q
	q       int    // q times 1000
	expires uint64 // seconds; 0 removes the binding
}

// contactUpdate reads a Contact's URI, parameters, q and requested
// expiration: its expires parameter, else the Expires header field, else
// the default (§10.3 step 7).
func (r *Registrar) contactUpdate(c *sip.Address, hdrExp uint32, hasExp bool) (update, error) {
	u := update{
		uri:     c.URI,
		contact: c.URI.String(),
		params:  string(c.Params.Del("expires").Del("q")),
		q:       1000,
	}
	if c.Params.Has("q") {
		q, ok := c.Q()
		if !ok {
			return u, errBadQ // Kamailio: 400 "Invalid q param in contact"
		}
		u.q = int(q*1000 + 0.5)
	}
	switch v, ok := c.Params.Get("expires"); {
	case ok:
		if n, ok := c.Expires(); ok {
			u.expires = uint64(n)
		} else if isDigits(v) {
			// §10.2: values above 2**32-1 may be taken as 2**32-1.
			u.expires = maxDelta
		} else {
			// §10.2: "Malformed values SHOULD be treated as
			// equivalent to 3600", our default.
			u.expires = r.def
		}
	case hasExp:
		u.expires = uint64(hdrExp)
	default:
		u.expires = r.def
	}
	return u, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// merge computes the AOR's new bindings from the current ones cur and the
// request's updates (§10.3 steps 6 and 7). t carries the fields every
// binding the request writes shares. It does not change cur: a store may
// call it again.
//
// A binding whose Call-ID is the request's and whose CSeq is not below the
// request's makes the whole request fail (errOutOfOrder): it was written
// by a later REGISTER of the same UA, and this one arrived out of order.
// Kamailio answers it the same way (400, "Invalid CSeq number"). A URI
// given twice in one request is written twice, the last one winning, as
// Kamailio does for such buggy clients; the CSeq rule applies only to what
// earlier requests wrote.
func merge(cur []location.Binding, ups []update, star bool, t *location.Binding, now time.Time, maxBinds int) ([]location.Binding, error) {
	next := make([]location.Binding, 0, len(cur)+len(ups))
	for _, b := range cur {
		if b.Expires.After(now) {
			next = append(next, b)
		}
	}
	live := len(next)
	if star {
		// Step 6: remove every binding, unless one was written by a
		// later request of this UA.
		for i := range next {
			if outOfOrder(&next[i], t) {
				return nil, errOutOfOrder
			}
		}
		return next[:0], nil
	}

	type state struct {
		uri     sip.URI
		parsed  bool
		touched bool // written by this request
		removed bool
	}
	// Most AORs have a binding or two: keep their state on the stack.
	var stBuf [4]state
	st := stBuf[:0]
	for i := range next {
		u, err := sip.ParseURI(next[i].Contact)
		st = append(st, state{uri: u, parsed: err == nil})
	}
	for _, u := range ups {
		i := -1
		for j := range st {
			if st[j].parsed && st[j].uri.Equal(u.uri) || !st[j].parsed && next[j].Contact == u.contact {
				i = j
				break
			}
		}
		if i < 0 {
			// Step 7: a new binding is added; removing one that does
			// not exist does nothing.
			if u.expires == 0 {
				continue
			}
			next = append(next, bind(t, &u, now))
			st = append(st, state{uri: u.uri, parsed: true, touched: true})
			continue
		}
		if !st[i].touched && outOfOrder(&next[i], t) {
			return nil, errOutOfOrder
		}
		st[i].touched = true
		if u.expires == 0 {
			st[i].removed = true
			continue
		}
		st[i].removed = false
		st[i].uri, st[i].parsed = u.uri, true
		next[i] = bind(t, &u, now)
	}
	out := next[:0]
	for i := range next {
		if !st[i].removed {
			out = append(out, next[i])
		}
	}
	// More bindings than allowed, and more than before: refused, so that
	// an AOR already above a lowered limit may still refresh and remove.
	if maxBinds > 0 && len(out) > maxBinds && len(out) > live {
		return nil, errTooMany
	}
	return out, nil
}

// outOfOrder reports whether binding b was written by a REGISTER of the
// same Call-ID with a CSeq not below the one of the request t stands for.
func outOfOrder(b, t *location.Binding) bool {
	return b.CallID == t.CallID && t.CSeq <= b.CSeq
}

// bind returns the binding the update u writes.
func bind(t *location.Binding, u *update, now time.Time) location.Binding {
	b := *t
	b.Contact = u.contact
	b.Params = u.params
	b.Q = u.q
	b.Expires = now.Add(time.Duration(u.expires) * time.Second)
	return b
}

// ok answers 200 (OK) with every current binding (§10.3 step 8).
func (r *Registrar) ok(tx *transaction.ServerTx, req *sip.Request, bs []location.Binding, now time.Time) error {
	resp := response(req, sip.StatusOK, "")
	// §10.3: "Registrars MUST NOT include a Record-Route header field in
	// any response to a REGISTER request"; NewResponse copies it to 2xx.
	resp.Del("Record-Route")
	// Stores return the highest q first; sort only a set that is not.
	byQ := func(a, b location.Binding) int { return b.Q - a.Q }
	if !slices.IsSortedFunc(bs, byQ) {
		bs = slices.Clone(bs)
		slices.SortStableFunc(bs, byQ)
	}
	var arr [256]byte // most Contact values fit: no allocation but the string
	buf := arr[:0]
	for i := range bs {
		if !bs[i].Expires.After(now) {
			continue
		}
		buf = bs[i].AppendContact(buf[:0], now, true)
		resp.Add("Contact", string(buf))
	}
	// RFC 3327 §5.3: the Path values go back to a UA that supports Path
	// (Kamailio's path_mode "lazy"); to one that does not, they are
	// stored all the same but not shown.
	if req.Has("Path") && req.HasOptionTag("Supported", "path") {
		for v := range req.Lines("Path") {
			resp.Add("Path", v)
		}
	}
	// §10.3 step 8: "The response SHOULD include a Date header field."
	resp.Add("Date", now.UTC().Format(dateFormat))
	return tx.Respond(resp)
}

// dateFormat is the SIP-date of RFC 3261 §20.17 (RFC 1123, always GMT).
const dateFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// response builds a response with a To tag (RFC 3261 §8.2.6.2).
func response(req *sip.Request, code int, reason string) *sip.Response {
	resp := sip.NewResponse(req, code, reason)
	if req.ToTag() == "" {
		_ = resp.SetToTag(server.NewTag()) // a To that does not parse stays as it is
	}
	return resp
}

var _ server.Handler = (*Registrar)(nil)
