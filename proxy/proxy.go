package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/dns"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// Config configures a Proxy.
type Config struct {
	// Domains are the domains the proxy is responsible for: a request
	// whose Request-URI names a user in one of them is sent to the user's
	// registered contacts (RFC 3261 §16.5). Required.
	Domains []string
	// TimerC bounds how long an INVITE branch may stay without a final
	// response; every provisional response restarts it (RFC 3261 §16.6
	// step 11, §16.8). Default 3 minutes, the RFC's lower bound.
	TimerC time.Duration
	// NoRecordRoute keeps the proxy out of the dialogs it helps to set up.
	// By default it adds Record-Route to INVITE, SUBSCRIBE and REFER
	// (RFC 3261 §16.6 step 4), so that in-dialog requests come back through it.
	NoRecordRoute bool
	// Allow is what the proxy names in the Allow header of its answer to
	// an OPTIONS whose Max-Forwards is 0 (RFC 3261 §16.3 step 3, §11).
	Allow []string
	// Resolver finds the targets of a next hop that is a host name (RFC
	// 3263): a Request-URI for another domain, a Route, a static route's
	// next hop. nil: only IP literals are reached, and host names get
	// 404 "no route".
	Resolver Resolver
	// Routes are static routes, tried in order before the location
	// lookup (a Prefix) or DNS (a Domain); the first that matches sends
	// the request to its next hop. See Route.
	Routes []Route
	// Recurse makes the proxy try the contacts of a 3xx response itself,
	// rather than pass the redirect upstream (RFC 3261 §16.5, §16.7 step
	// 4): they join the target set, highest q first, before the groups not
	// tried yet. Off by default, as in Kamailio, where a script asks for it
	// (get_redirects).
	Recurse bool
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
}

// Resolver resolves a SIP URI into the targets to try, in order (RFC
// 3263 §4); *dns.Resolver is one. A name that does not exist gives an
// error that Is dns.ErrNotFound.
type Resolver interface {
	Resolve(ctx context.Context, u sip.URI) ([]transport.Target, error)
}

// Route is a static route: requests whose Request-URI matches go to Next,
// their Request-URI unchanged, as to an outbound proxy (RFC 3261 §16.6
// step 7: the proxy's local policy names the next hop's address).
type Route struct {
	// Domain matches a Request-URI whose host is this domain (without
	// regard to case), or a subdomain of it when it starts with "*.".
	Domain string
	// Prefix matches a Request-URI whose user part starts with it, such
	// as "+49" or "00" for a PSTN gateway; "" with a Domain matches any.
	Prefix string
	// Next is the next hop, a SIP URI such as sip:gw.example.net:5080;
	// transport=tcp, resolved by RFC 3263.
	Next sip.URI
}

func (rt *Route) matches(u sip.URI) bool {
	if rt.Domain != "" {
		d := strings.ToLower(rt.Domain)
		h := strings.ToLower(u.Host)
		if rest, ok := strings.CutPrefix(d, "*."); ok {
			if !strings.HasSuffix(h, "."+rest) {
				return false
			}
		} else if h != d {
			return false
		}
	}
	return strings.HasPrefix(u.UserUnescaped(), rt.Prefix)
}

// Validate reports a configuration the proxy cannot run with.
func (c *Config) Validate() error {
	if len(c.Domains) == 0 {
		return errors.New("proxy: no domains")
	}
	if c.TimerC < 0 {
		return errors.New("proxy: negative TimerC")
	}
	for i, r := range c.Routes {
		if r.Domain == "" && r.Prefix == "" {
			return fmt.Errorf("proxy: route %d matches nothing: no domain or prefix", i)
		}
		if !r.Next.IsSIP() || r.Next.Host == "" {
			return fmt.Errorf("proxy: route %d: next hop %q is not a SIP URI", i, r.Next.String())
		}
	}
	return nil
}

// Sender sends messages outside any transaction: ACKs for 2xx, stray 2xx
// responses and extra 2xx responses to a forked INVITE. package transport's
// *Layer satisfies it (server.Server.Transport).
type Sender interface {
	SendRequest(req *sip.Request, dst transport.Target) error
	SendResponse(resp *sip.Response, src transport.Source) error
}

// Proxy is a transaction-stateful proxy (RFC 3261 §16): as a server.Handler
// it forwards the requests no earlier handler answered, forking to every
// registered contact of the callee; its HandleStray forwards ACKs for 2xx
// and stray 2xx responses statelessly. It is safe for concurrent use.
type Proxy struct {
	tl      *transaction.Layer
	tp      Sender
	loc     location.Store
	users   auth.UserStore
	domains map[string]struct{}
	timerC  time.Duration
	rr      bool
	allow   string
	prefix  string // the start of every branch this proxy makes: ours
	log     *slog.Logger
	res     Resolver
	routes  []Route
	recurse bool
	ls      atomic.Pointer[[]listener] // see AddListener

	rrValues atomic.Pointer[[]rrValue] // see recordRouteValue

	watchMu sync.Mutex
	watches map[context.Context]*ctxWatch // see watch

	// calls holds the response context of each INVITE whose final
	// response has not gone upstream, by its server transaction, for the
	// CANCEL that cancels it (serveCancel).
	// A map under a mutex rather than a sync.Map, which allocates an
	// entry per store.
	callsMu sync.Mutex
	calls   map[*transaction.ServerTx]*respContext
}

// New returns a proxy that opens client transactions on tl, sends
// stateless messages through tp and finds users' contacts in loc. users,
// when not nil, tells a known user without bindings (480) from an unknown
// one (404).
func New(cfg Config, tl *transaction.Layer, tp Sender, loc location.Store, users auth.UserStore) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tl == nil || tp == nil || loc == nil {
		return nil, errors.New("proxy: nil transaction layer, sender or location store")
	}
	p := &Proxy{
		tl:      tl,
		tp:      tp,
		loc:     loc,
		users:   users,
		domains: make(map[string]struct{}, len(cfg.Domains)),
		timerC:  cfg.TimerC,
		rr:      !cfg.NoRecordRoute,
		recurse: cfg.Recurse,
		allow:   strings.Join(cfg.Allow, ", "),
		prefix:  newPrefix(),
		res:     cfg.Resolver,
		routes:  cfg.Routes,
	}
	for _, d := range cfg.Domains {
		p.domains[strings.ToLower(d)] = struct{}{}
	}
	if p.timerC == 0 {
		p.timerC = 3 * time.Minute
	}
	if cfg.Logger != nil {
		p.log = cfg.Logger.With("component", "proxy")
	} else {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// The answers the proxy returns for the server to send; shared, never changed.
var (
	errTooManyHops = &sip.StatusError{Code: sip.StatusTooManyHops}
	errLoop        = &sip.StatusError{Code: sip.StatusLoopDetected}
	errScheme      = &sip.StatusError{Code: sip.StatusUnsupportedURIScheme}
	errNotFound    = &sip.StatusError{Code: sip.StatusNotFound}
	errUnavailable = &sip.StatusError{Code: sip.StatusTemporarilyUnavailable}
	errNoTarget    = &sip.StatusError{Code: sip.StatusTemporarilyUnavailable, Reason: "Temporarily Unavailable - no usable contact"}
	// errNoRoute: the next hop is a host name, and the proxy has no
	// Resolver; only IP literals are reached.
	errNoRoute = &sip.StatusError{Code: sip.StatusNotFound, Reason: "Not Found - no route"}
	// errUnresolvable: the next hop's name does not exist in DNS or has
	// no usable records (RFC 3263): the domain cannot be reached, which
	// 404 says (RFC 3261 §21.4.5).
	errUnresolvable = &sip.StatusError{Code: sip.StatusNotFound, Reason: "Not Found - unresolvable destination"}
	errRelay        = &sip.StatusError{Code: sip.StatusForbidden, Reason: "Forbidden - relaying denied"}
	errNoCancelled  = &sip.StatusError{Code: sip.StatusCallTransactionDoesNotExist}
)

// ServeSIP proxies req (RFC 3261 §16). After the checks of §16.3 —
// Max-Forwards (483; an OPTIONS with Max-Forwards 0 is answered 200 by the
// proxy itself, §11), loops (482, by the branch of RFC 5393 §4.2) and
// Proxy-Require (420, as the proxy supports no extension) — and the Route
// processing of §16.4, it forwards a copy of req to each target (§16.5,
// §16.6): the next hop of a remaining Route header; else the next hop of
// the first static route that matches; else, for a Request-URI with a user
// in our domains, the registered contacts (480 or 404 when there are none),
// all of the highest q at once and lower q groups one after the other; else
// the Request-URI itself. A next hop that is a host name is resolved by the
// Resolver (RFC 3263; 404 when it does not exist, 404 "no route" without a
// Resolver), and a destination that fails — a transport error, a timeout
// without a response, a 503 — gives way to the next one DNS returned (RFC
// 3263 §4.3). A request to a foreign Request-URI that does not come through
// our Route and whose From is not in our domains gets 403 (no open relay).
//
// Once the first branches are started, ServeSIP returns
// server.ErrAnswerLater, freeing the server's worker while the callee rings:
// the response context then sends the final response upstream on its own
// (§16.7) — every 2xx at once, else the best final response of all
// branches — driven by the branches' client transactions and Timer C, so
// that a final response always comes: Timer C (or Timer B of a branch that
// never answered) ends every INVITE branch with a 408. ServeSIP answers a
// CANCEL with 200 (or 481) itself and cancels the pending branches of the
// INVITE it matches, which then ends with 487 (§16.10); for that the proxy
// must get CANCEL requests as well as INVITEs. ACK and REGISTER go to the
// next handler. Requests refused before forwarding get the error carrying
// their status, for the server to send.
func (p *Proxy) ServeSIP(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
	switch req.Method {
	case sip.MethodAck, sip.MethodRegister:
		return server.ErrNotHandled
	case sip.MethodCancel:
		return p.serveCancel(tx, req)
	}
	// §16.3 step 2: the Request-URI scheme.
	if !req.URI.IsSIP() {
		return errScheme
	}
	// §16.3 step 3: Max-Forwards.
	mf, ok, err := req.MaxForwards()
	if err != nil {
		return err
	}
	if ok && mf == 0 {
		if req.Method == sip.MethodOptions {
			resp := response(req, sip.StatusOK)
			if p.allow != "" {
				resp.Add("Allow", p.allow)
			}
			return tx.Respond(resp)
		}
		return errTooManyHops
	}
	// §16.3 step 4 and RFC 5393 §4.2.1: loop detection.
	hash := loopHash(req)
	if p.looped(req, hash) {
		return errLoop
	}
	// §16.3 step 5: Proxy-Require; no extension is supported.
	if tags := req.OptionTags("Proxy-Require"); len(tags) > 0 {
		resp := response(req, sip.StatusBadExtension)
		resp.Add("Unsupported", strings.Join(tags, ", "))
		return tx.Respond(resp)
	}

	src := tx.Source()
	ro, err := p.route(req, src)
	var tbuf [1]target // room for one target, the common case
	ts := tbuf[:0]
	if err == nil {
		ts, err = p.targets(ctx, req, &ro, src, ts)
	}
	if err != nil {
		if p.log.Enabled(ctx, slog.LevelDebug) {
			code, reason := sip.StatusOf(err)
			p.log.Debug("not forwarded", "method", req.Method, "call_id", req.CallID(), "uri", req.URI.String(),
				"status", code, "reason", reason, "err", err)
		}
		return err
	}
	rc := newRespContext(p, tx, req, &ro, hash, ts)
	if p.rr && recordRoutes(req) {
		rc.recordRoute = true
	}
	rc.begin(ctx)
	return server.ErrAnswerLater
}

// Shutdown ends every INVITE the proxy has not answered yet, for a server
// that is closing (server.Server.OnClose runs it while the transport is
// still open): the pending branches are cancelled (§16.10; the CANCEL of a
// branch with no provisional response goes out only once one comes, §9.1,
// so maybe never), and the caller gets 503 at once — the server is going
// away for maintenance (RFC 3261 §21.5.4) — rather than nothing. Requests
// other than INVITE end by their own timers.
func (p *Proxy) Shutdown() {
	p.callsMu.Lock()
	rcs := make([]*respContext, 0, len(p.calls))
	for _, rc := range p.calls {
		rcs = append(rcs, rc)
	}
	p.callsMu.Unlock()
	for _, rc := range rcs {
		rc.shutdown()
	}
}

// serveCancel answers a CANCEL (§16.10): 200 when it matches an INVITE
// server transaction, else 481; then the INVITE's response context, if it
// has one still waiting for its final response, cancels its branches. An
// INVITE whose handler has not run yet sees the CANCEL through its
// transaction's IsCancelled (respContext.begin).
func (p *Proxy) serveCancel(tx *transaction.ServerTx, req *sip.Request) error {
	inv, ok := p.tl.MatchCancel(req)
	if !ok {
		return errNoCancelled
	}
	err := tx.Respond(response(req, sip.StatusOK))
	if rc := p.call(inv); rc != nil {
		rc.cancel()
	}
	return err
}

// call returns the response context of the INVITE of tx, or nil.
func (p *Proxy) call(tx *transaction.ServerTx) *respContext {
	p.callsMu.Lock()
	defer p.callsMu.Unlock()
	return p.calls[tx]
}

// addCall enters rc in p.calls.
func (p *Proxy) addCall(rc *respContext) {
	p.callsMu.Lock()
	if p.calls == nil {
		p.calls = make(map[*transaction.ServerTx]*respContext)
	}
	p.calls[rc.tx] = rc
	p.callsMu.Unlock()
}

// removeCall takes rc out of p.calls, if it is there.
func (p *Proxy) removeCall(rc *respContext) {
	p.callsMu.Lock()
	if p.calls[rc.tx] == rc {
		delete(p.calls, rc.tx)
	}
	p.callsMu.Unlock()
}

// recordRoutes reports whether the proxy record-routes req: a request
// that may create a dialog (RFC 3261 §16.6 step 4) — an INVITE, SUBSCRIBE
// or REFER (§12, RFC 6665, RFC 3515) without a To tag. Whether it came by
// a Route does not matter: an initial request with a preloaded Route (or
// one restored from a strict router's Request-URI, §16.4) creates a dialog
// like any other. An in-dialog request is not record-routed, as its route
// set is fixed (§12.2).
func recordRoutes(req *sip.Request) bool {
	switch req.Method {
	case sip.MethodInvite, sip.MethodSubscribe, sip.MethodRefer:
		return req.ToTag() == ""
	}
	return false
}

func hostString(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

func (p *Proxy) firstDomain() string {
	for d := range p.domains {
		return d
	}
	return "invalid"
}

// serves reports whether host is one of our domains.
func (p *Proxy) serves(host string) bool {
	_, ok := p.domains[strings.ToLower(host)]
	return ok
}

// isUs reports whether u names this proxy as it was reached through src:
// its address and port, or one of our domains at that port or none.
func (p *Proxy) isUs(u sip.URI, src transport.Source) bool {
	port := uint16(u.Port)
	if port == 0 {
		port = 5060
		if tp, _ := u.Params.Get("transport"); strings.EqualFold(u.Scheme, "sips") || strings.EqualFold(tp, "tls") {
			port = 5061
		}
	}
	if ip, ok := hostIP(u.Host); ok {
		local := src.Local.Addr().Unmap()
		if local.IsValid() && !local.IsUnspecified() && ip == local && port == src.Local.Port() {
			return true
		}
		// Any other listener of ours: after double record-routing
		// (RFC 5658) the Route names the listener on the far side too.
		for _, l := range p.listeners() {
			if l.addr.Port() == port && (ip == l.addr.Addr() || l.addr.Addr().IsUnspecified() && ip == local) {
				return true
			}
		}
	}
	return p.serves(u.Host) && (u.Port == 0 || uint16(u.Port) == src.Local.Port())
}

// routing is what the Route processing of RFC 3261 §16.4 makes of a
// received request, worked out without changing it: the fix-up for a
// strict router upstream, which put our Record-Route in the Request-URI,
// and the removal of the Route values naming us. apply makes the changes
// on a copy to forward.
type routing struct {
	routeEdit
	next    sip.Address // the first Route value left, when hasNext
	hasNext bool
	routed  bool // a Route value or the Request-URI named us
}

// routeEdit is what a copy to forward needs of a routing: the changes to
// make and whether the next hop is a strict router.
type routeEdit struct {
	uri        sip.URI       // the Request-URI after the fix-up
	fixed      bool          // the strict-router fix-up was made:
	rest       []sip.Address // then the Route values left before the removal
	pop        int           // the Route values naming us, removed from the top
	strictNext bool          // the first Route value left has no lr
}

// route applies §16.4 to r as it arrived through src, without changing
// it. A Route value that does not parse is an error (400).
func (p *Proxy) route(r *sip.Request, src transport.Source) (routing, error) {
	ro := routing{routeEdit: routeEdit{uri: r.URI}}
	take := func(a sip.Address) {
		if ro.hasNext {
			return
		}
		if p.isUs(a.URI, src) {
			ro.pop++
			ro.routed = true
			return
		}
		ro.next, ro.hasNext = a, true
		ro.strictNext = !a.URI.Params.Has("lr")
	}
	if r.URI.User == "" && r.URI.Params.Has("lr") && p.isUs(r.URI, src) {
		routes, err := r.Routes()
		if err != nil {
			return ro, err
		}
		if len(routes) > 0 {
			ro.uri, ro.fixed, ro.rest, ro.routed = routes[len(routes)-1].URI, true, routes[:len(routes)-1], true
			for _, a := range ro.rest {
				take(a)
			}
			return ro, nil
		}
	}
	bad := false
	r.EachValue("Route", func(v string) bool {
		a, err := sip.ParseAddress(v)
		if err != nil {
			bad = true
			return false
		}
		take(a)
		return true
	})
	if bad {
		_, err := r.Routes() // the error, naming its header
		return ro, err
	}
	return ro, nil
}

// apply makes the changes of the Route processing on r, a copy of the
// request it was worked out for.
func (ro *routeEdit) apply(r *sip.Request) {
	r.URI = ro.uri
	if ro.fixed {
		r.Del("Route")
		for _, a := range ro.rest {
			r.Add("Route", a.String())
		}
	}
	for range ro.pop {
		r.PopFirst("Route")
	}
}

// forward makes r, a copy of the received request with ro applied, the
// request for target t (§16.6 steps 2-8): its Request-URI and Route set,
// Max-Forwards lowered, the proxy's Record-Route when rr (the request came
// in through src), a strict next hop's Route rewriting, and via, the
// proxy's Via, on top.
func (p *Proxy) forward(r *sip.Request, ro *routeEdit, t *target, src transport.Source, rr bool, via string) {
	r.URI = t.uri // step 2
	for i := len(t.route) - 1; i >= 0; i-- {
		r.Prepend("Route", t.route[i])
	}
	r.DecMaxForwards() // step 3
	if rr {
		p.recordRoute(r, src, t.dst) // step 4
	}
	// Step 7: a next hop that is a strict router gets the Request-URI
	// at the end of the Route, and its own URI as the Request-URI.
	strict := ro.strictNext
	if len(t.route) > 0 {
		a, err := sip.ParseAddress(t.route[0])
		strict = err == nil && !a.URI.Params.Has("lr")
	}
	if strict {
		if first, err := r.Routes(); err == nil && len(first) > 0 {
			r.Add("Route", "<"+r.URI.String()+">")
			r.URI = first[0].URI
			r.PopFirst("Route")
		}
	}
	r.Prepend("Via", via) // step 8
}

// target is one destination of a request: its Request-URI, the Route
// values to put on top (a binding's Path, RFC 3327) and where to send it.
// Targets come in groups of equal q, highest first: those of a group are
// tried at once, the groups one after the other (§16.6).
type target struct {
	uri   sip.URI
	route []string
	dst   transport.Target
	alts  []transport.Target // where to try next when dst fails (RFC 3263 §4.3)
	q     int
}

// group returns the length of the first group of ts: the targets of its
// first target's q.
func group(ts []target) int {
	n := 1
	for n < len(ts) && ts[n].q == ts[0].q {
		n++
	}
	return n
}

// targets determines where r goes (§16.5), once ro, the Route
// processing, is applied; see target for the order. It appends them to ts.
func (p *Proxy) targets(ctx context.Context, r *sip.Request, ro *routing, src transport.Source, ts []target) ([]target, error) {
	// §16.6 step 6-7 via §16.5: a Route left names the next hop.
	if ro.hasNext {
		return p.hop(ctx, ro.uri, ro.next.URI, ts)
	}
	u := ro.uri
	ours := p.serves(u.Host) && (u.Port == 0 || uint16(u.Port) == src.Local.Port())
	if !ours && !ro.routed && !p.fromUs(r) {
		return nil, errRelay
	}
	// Static routes: local policy before the location service and DNS.
	for i := range p.routes {
		if rt := &p.routes[i]; rt.matches(u) {
			return p.hop(ctx, u, rt.Next, ts)
		}
	}
	if ours {
		if u.User == "" {
			return nil, errNotFound // addressed to us, and nothing here answers it
		}
		return p.lookup(ctx, u, ts)
	}
	return p.hop(ctx, u, u, ts)
}

// literalHop reports whether targets finds the next hop after ro without
// a lookup: a Route left, or else a Request-URI outside our domains with
// no static routes to consider, that names an IP address (RFC 3263 §4.2),
// as in-dialog requests mostly do. The stateless forwards need no timeout
// for those.
func (p *Proxy) literalHop(ro *routing) bool {
	next := ro.next.URI
	if !ro.hasNext {
		if len(p.routes) > 0 || p.serves(ro.uri.Host) {
			return false
		}
		next = ro.uri
	}
	_, err := resolve(next)
	return err == nil
}

// hop returns the one target of a request with Request-URI u sent to the
// next hop next: its resolved destinations, the first to try and the
// others for failover (RFC 3263 §4.3).
func (p *Proxy) hop(ctx context.Context, u, next sip.URI, ts []target) ([]target, error) {
	dst, alts, err := p.resolve(ctx, next)
	if err != nil {
		return nil, err
	}
	return append(ts, target{uri: u, dst: dst, alts: alts}), nil
}

// resolve returns where a request for u goes, in the order to try (RFC
// 3263 §4): an IP literal as it is, a host name through the Resolver; the
// first destination and the others.
func (p *Proxy) resolve(ctx context.Context, u sip.URI) (transport.Target, []transport.Target, error) {
	dst, err := resolve(u)
	if err == nil {
		return dst, nil, nil
	}
	if err != errNoRoute || p.res == nil {
		return dst, nil, err
	}
	dsts, err := p.res.Resolve(ctx, u)
	switch {
	case errors.Is(err, dns.ErrNotFound):
		return dst, nil, errUnresolvable
	case err != nil:
		// The next hop could not be looked up: as a transport error
		// would, it ends as a 500 upstream (§16.7 step 6, §16.9).
		return dst, nil, &sip.StatusError{Code: sip.StatusInternalServerError, Reason: "Server Internal Error - DNS failure", Err: err}
	case len(dsts) == 0:
		return dst, nil, errUnresolvable
	}
	return dsts[0], dsts[1:], nil
}

// fromUs reports whether r's From names one of our domains.
func (p *Proxy) fromUs(r *sip.Request) bool {
	from, err := r.From()
	return err == nil && from.URI.IsSIP() && p.serves(from.URI.Host)
}

// lookup returns the contacts of the user u names, grouped by q, highest
// first (§16.5, §16.6: parallel within a q, serial across).
func (p *Proxy) lookup(ctx context.Context, u sip.URI, ts []target) ([]target, error) {
	aor, err := location.CanonicalAOR(u)
	if err != nil {
		return nil, &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad Request-URI", Err: err}
	}
	bs, err := p.loc.Lookup(ctx, aor)
	if err != nil {
		return nil, fmt.Errorf("proxy: lookup %s: %w", aor, err)
	}
	if len(bs) == 0 {
		return nil, p.noBinding(ctx, u, aor)
	}
	slices.SortStableFunc(bs, func(a, b location.Binding) int { return b.Q - a.Q })
	ts = slices.Grow(ts, len(bs))
	for i := range bs {
		b := &bs[i]
		t, ok := bindingTarget(b)
		if !ok || t.uri.Equal(u) {
			// A contact equal to the Request-URI would loop (§16.5).
			p.log.Debug("binding skipped", "aor", aor, "contact", b.Contact)
			continue
		}
		t.q = b.Q
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return nil, errNoTarget
	}
	return ts, nil
}

// bindingTarget makes the target of a binding: its contact as the
// Request-URI, its Path as Route; sent to the first Path hop, else back on
// the flow of the REGISTER for connection-oriented transports (RFC 5626's
// spirit: a UA behind NAT takes requests only there), else to the contact.
func bindingTarget(b *location.Binding) (target, bool) {
	cu, err := sip.ParseURI(b.Contact)
	if err != nil || !cu.IsSIP() {
		return target{}, false
	}
	t := target{uri: cu, route: b.Path}
	if len(b.Path) > 0 {
		pa, err := sip.ParseAddress(b.Path[0])
		if err != nil {
			return target{}, false
		}
		if t.dst, err = resolve(pa.URI); err != nil {
			return target{}, false
		}
		return t, true
	}
	stream := b.Transport != "" && b.Transport != transport.UDP
	if stream && b.Source.IsValid() {
		t.dst = transport.Target{Transport: b.Transport, Addr: b.Source}
		return t, true
	}
	if t.dst, err = resolve(cu); err == nil {
		return t, true
	}
	if b.Source.IsValid() {
		// A contact with a host name: the REGISTER's source is a better
		// guess than DNS for a device, which is often behind NAT and
		// names itself by a host name no DNS knows.
		t.dst = transport.Target{Transport: cmpOr(b.Transport, transport.UDP), Addr: b.Source}
		return t, true
	}
	return target{}, false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// noBinding returns the answer for a user without bindings: 480 when the
// UserStore knows the user, else 404.
func (p *Proxy) noBinding(ctx context.Context, u sip.URI, aor string) error {
	if p.users == nil {
		return errNotFound
	}
	_, err := p.users.Get(ctx, u.UserUnescaped(), strings.ToLower(u.Host))
	switch {
	case err == nil:
		return errUnavailable
	case errors.Is(err, auth.ErrNoUser):
		return errNotFound
	}
	return fmt.Errorf("proxy: user of %s: %w", aor, err)
}

// resolve returns where a request for u goes when u's host (or maddr) is
// an IP literal (RFC 3263 §4.1, §4.2): the transport parameter (TLS for
// sips), the address, the port or the transport's default. A host name
// gives errNoRoute; Proxy.resolve then asks the Resolver.
func resolve(u sip.URI) (transport.Target, error) {
	host := u.Host
	if m, ok := u.Params.Get("maddr"); ok && m != "" {
		host = m
	}
	ip, ok := hostIP(host)
	if !ok {
		return transport.Target{}, errNoRoute
	}
	t := transport.UDP
	if tp, ok := u.Params.Get("transport"); ok && tp != "" {
		t = strings.ToUpper(tp)
	}
	if strings.EqualFold(u.Scheme, "sips") {
		t = transport.TLS
	}
	port := uint16(u.Port)
	if port == 0 {
		port = 5060
		if t == transport.TLS || t == transport.WSS {
			port = 5061
		}
	}
	return transport.Target{Transport: t, Addr: netip.AddrPortFrom(ip, port)}, nil
}

func hostIP(h string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// loopHash is the second part of our branches (RFC 3261 §16.6 step 8,
// RFC 5393 §4.2): a hash of the fields that decide how the received
// request is processed — Request-URI, From and To tags, Call-ID, CSeq
// number, Route, Proxy-Require and Proxy-Authorization. The top Via the RFC
// also names is left out: a looped request comes back with our own Via on
// top, so including it would never see a loop.
func loopHash(r *sip.Request) hashHex {
	h := newFNV64a()
	h.fieldURI(&r.URI)
	h.field(r.FromTag())
	h.field(r.ToTag())
	h.field(r.CallID())
	if cs, err := r.CSeq(); err == nil {
		h.fieldUint(cs.Seq)
	}
	for _, name := range [...]string{"Route", "Proxy-Require", "Proxy-Authorization"} {
		r.EachLine(name, func(v string) bool { h.field(v); return true })
	}
	return h.hex()
}

// looped reports whether a Via of ours carries the same loop hash: the
// request came back unchanged, a loop rather than a spiral (§16.3 step 4).
// A Via that does not parse is no loop (Validate has refused it before).
func (p *Proxy) looped(r *sip.Request, hash hashHex) bool {
	found := false
	r.EachValue("Via", func(s string) bool {
		if !strings.Contains(s, p.prefix) {
			return true // not ours: no need to parse it
		}
		v, err := sip.ParseVia(s)
		found = err == nil && p.hasLoopHash(v.Branch(), &hash)
		return !found
	})
	return found
}

// newPrefix returns the start of a proxy's branches: the magic cookie and
// a random instance ID, so that the proxy knows its own (§16.3 step 4,
// §16.7 step 3).
func newPrefix() string {
	var id [4]byte
	rand.Read(id[:])
	return sip.MagicCookie + "-sd" + hex.EncodeToString(id[:]) + "-"
}

// ours reports whether a branch is one this proxy made.
func (p *Proxy) ours(branch string) bool { return strings.HasPrefix(branch, p.prefix) }

// response builds a response with a To tag (RFC 3261 §8.2.6.2).
func response(req *sip.Request, code int) *sip.Response {
	resp := sip.NewResponse(req, code, "")
	if code > 100 && req.ToTag() == "" {
		_ = resp.SetToTag(server.NewTag())
	}
	return resp
}

var _ server.Handler = (*Proxy)(nil)
var _ transaction.ClientHandler = (*branch)(nil)
