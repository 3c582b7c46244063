package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/sipd/sipd/sip"
)

// ErrNoChallenge is returned by Check for ACK and CANCEL, which a server
// must not challenge (RFC 3261 §22.1): an ACK is accepted with the
// credentials its INVITE was, and a CANCEL is judged by the hop it comes
// from. The caller lets them through by transaction matching instead.
var ErrNoChallenge = errors.New("auth: ACK and CANCEL cannot be challenged")

// Authenticator checks digest credentials (RFC 3261 §22, RFC 7616,
// RFC 8760) against a UserStore and builds the 401 and 407 challenges. It
// keeps no state per challenge, only the nonce-counts of nonces in use
// (see Config.MaxNonces). It is safe for concurrent use.
type Authenticator struct {
	realm string
	algs  []algo
	ttl   time.Duration
	clock func() time.Time
	users UserStore
	mac   *macPool
	nc    *ncTracker // nil when replay tracking is off
	qop   []string   // ["auth"], shared read-only by every Challenge
	// dummy is a random H(A1) per algorithm, hashed in place of an
	// unknown user's so that a miss costs what a hit does.
	dummy [algSHA512256 + 1]string
}

// New returns an Authenticator for users configured by cfg, whose zero
// fields take their defaults. It panics if cfg.Validate fails: the config
// loader validates first and reports the error with its position.
func New(cfg Config, users UserStore) *Authenticator {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	a := &Authenticator{
		realm: cfg.Realm,
		ttl:   cfg.NonceTTL,
		clock: cfg.Clock,
		users: users,
		qop:   []string{qopAuth},
	}
	names := cfg.Algorithms
	if len(names) == 0 {
		names = DefaultAlgorithms()
	}
	for _, n := range names {
		a.algs = append(a.algs, parseAlgorithm(n))
	}
	if a.ttl == 0 {
		a.ttl = DefaultNonceTTL
	}
	if a.clock == nil {
		a.clock = time.Now
	}
	secret := cfg.Secret
	if secret == nil {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	a.mac = newMACPool(secret)
	switch {
	case cfg.MaxNonces == 0:
		a.nc = newNCTracker(DefaultMaxNonces, int64(a.ttl))
	case cfg.MaxNonces > 0:
		a.nc = newNCTracker(cfg.MaxNonces, int64(a.ttl))
	}
	for _, alg := range []algo{algMD5, algSHA256, algSHA512256} {
		a.dummy[alg] = string(alg.appendHA1(nil, rand.Text(), rand.Text(), rand.Text()))
	}
	return a
}

// Reason says why Check did not accept a request. It is for logs and
// metrics, and for choosing between a new challenge and 403 or 400; it
// must not reach the client beyond that choice: telling an unknown user
// from a wrong password would let anyone list the users.
type Reason uint8

// Reasons of a Result.
const (
	ReasonNone          Reason = iota // accepted
	ReasonNoCredentials               // no Digest credentials for the realm
	ReasonMalformed                   // credentials that do not parse or lack a parameter
	ReasonUnsupported                 // an algorithm or qop not offered, or userhash
	ReasonBadNonce                    // a nonce we did not issue for this realm
	ReasonURIMismatch                 // digest uri is not the Request-URI
	ReasonUnknownUser                 // no such user in the realm
	ReasonBadResponse                 // wrong response: wrong password, or no H(A1) for the algorithm
	ReasonStale                       // right response, nonce expired or to be renewed
	ReasonReplay                      // right response, nonce-count already used
)

var reasonText = [...]string{
	ReasonNone:          "ok",
	ReasonNoCredentials: "no credentials",
	ReasonMalformed:     "malformed credentials",
	ReasonUnsupported:   "unsupported algorithm or qop",
	ReasonBadNonce:      "bad nonce",
	ReasonURIMismatch:   "digest uri does not match request-uri",
	ReasonUnknownUser:   "unknown user",
	ReasonBadResponse:   "wrong response",
	ReasonStale:         "stale nonce",
	ReasonReplay:        "replayed nonce count",
}

// String returns a short lowercase phrase.
func (r Reason) String() string {
	if int(r) < len(reasonText) {
		return reasonText[r]
	}
	return "unknown reason"
}

// Result is the outcome of Check.
type Result struct {
	// OK reports that the request carries valid, fresh credentials of
	// Username in Realm.
	OK bool
	// Username is the user name the credentials claim; it is
	// authenticated only when OK. "" when no credentials were found.
	// Whether that user may act for the request's AOR (a registrar's
	// §10.3 step 3, a proxy's check of From) is the caller's policy.
	Username string
	// Realm is the realm checked.
	Realm string
	// Algorithm is the algorithm of the credentials, in its registry
	// spelling ("MD5", "SHA-256"), when a supported one was found.
	Algorithm string
	// Stale reports that the credentials were right but their nonce is no
	// longer accepted; the challenge then carries stale=true so that the
	// client retries without asking its user (RFC 7616 §3.3).
	Stale bool
	// Reason says why the request was not accepted; ReasonNone when OK.
	Reason Reason
}

// Realm returns the realm Check and Challenge use for req when given "":
// Config.Realm, or else the request's domain in lower case: the To URI's
// host for REGISTER, which names the AOR being registered, the From URI's
// host for other requests (as Kamailio's auth module does), and the
// Request-URI's host when that header does not parse.
func (a *Authenticator) Realm(req *sip.Request) string {
	if a.realm != "" {
		return a.realm
	}
	var host string
	var addr sip.Address
	var err error
	if req.Method == sip.MethodRegister {
		addr, err = req.To()
	} else {
		addr, err = req.From()
	}
	if err == nil {
		host = addr.URI.Host
	}
	if host == "" {
		host = req.URI.Host
	}
	return strings.ToLower(host)
}

// credentialsHeader returns the header field carrying credentials and the
// one carrying challenges: Authorization and WWW-Authenticate for a UAS or
// registrar, Proxy-Authorization and Proxy-Authenticate for a proxy
// (RFC 3261 §22.2, §22.3).
func credentialsHeader(proxy bool) (credentials, challenge string, code int) {
	if proxy {
		return "Proxy-Authorization", "Proxy-Authenticate", sip.StatusProxyAuthRequired
	}
	return "Authorization", "WWW-Authenticate", sip.StatusUnauthorized
}

// Check verifies the request's digest credentials for realm ("" for
// Realm(req)): those of Authorization when proxy is false, as a UAS or
// registrar does, of Proxy-Authorization when it is true, as a proxy does
// (RFC 3261 §22.2, §22.3). A request may carry credentials for several
// realms (§22.3); the first Digest credentials with this realm and an
// algorithm we offer are checked, the others are ignored. When several
// share the realm the topmost supported one wins, as RFC 8760 §2.4 has the
// client order them.
//
// The credentials are accepted when all of these hold:
//   - username, realm, nonce, uri and response are present; qop is absent
//     or "auth", and with "auth" nc and cnonce are present (RFC 7616 §3.4);
//   - the algorithm is one of Config.Algorithms ("" means MD5), so no
//     downgrade to one we did not offer (RFC 8760 §3);
//   - the nonce was issued by this Authenticator (or one sharing its
//     Secret) for this realm;
//   - the digest uri is the Request-URI (RFC 7616 §3.4.6; RFC 3261 §22.4
//     item 6 lets a server be lenient): both are parsed and compared as
//     URIs (RFC 3261 §19.1.4), so differences of case, escaping or
//     parameter order do not matter, and a uri that does not parse must
//     equal the Request-URI's text;
//   - the response is the one computed from the user's stored H(A1);
//   - the nonce has not expired (else Stale);
//   - the nonce-count was not used before (see Config.MaxNonces).
//     Credentials without qop (RFC 2069, which RFC 3261 §22.4 keeps) are
//     accepted once per nonce; later uses get Stale.
//
// An unknown user takes the same path as a known one, hashing a dummy
// H(A1), and gets the same Result but for Reason. Stale is set only when
// the response was right (RFC 2617 §3.2.1), so it says nothing about who
// exists.
//
// Check must see the Request-URI and credentials as received: run it
// before the request is retargeted. It counts each use of a nonce-count,
// so it must not see retransmissions (the transaction layer absorbs them)
// nor the same request twice: a proxy that may see its own request again
// (a spiral) removes the credentials it accepted with ConsumeCredentials
// before forwarding. ACK and CANCEL give ErrNoChallenge (RFC 3261 §22.1).
// The only other error is the UserStore's, but ErrNoUser.
func (a *Authenticator) Check(ctx context.Context, req *sip.Request, realm string, proxy bool) (Result, error) {
	if req.Method == sip.MethodAck || req.Method == sip.MethodCancel {
		return Result{}, ErrNoChallenge
	}
	if realm == "" {
		realm = a.Realm(req)
	}
	res := Result{Realm: realm, Reason: ReasonNoCredentials}
	hname, _, _ := credentialsHeader(proxy)

	var cred sip.Credentials
	var alg algo
	switch req.Count(hname) {
	case 0:
		// A first request, to be challenged.
		return res, nil
	case 1:
		// The common case, without the iterator's allocations.
		cred, alg = a.consider(req.Get(hname), realm, &res)
	default:
		cred, alg, res = a.scan(req, hname, realm, res)
	}
	if alg == algNone {
		return res, nil
	}
	res.Username, res.Algorithm = cred.Username, alg.name()

	qop := cred.QOP != ""
	var nc uint32
	switch {
	case cred.Username == "" || cred.Nonce == "" || cred.URI == "" || cred.Response == "":
		res.Reason = ReasonMalformed
		return res, nil
	case cred.Userhash:
		// RFC 7616 §3.4.4: we never offer userhash, so the name cannot
		// be looked up.
		res.Reason = ReasonUnsupported
		return res, nil
	case qop && !strings.EqualFold(cred.QOP, qopAuth):
		// RFC 2617 §3.2.2: qop must be one of those offered; auth-int
		// is not.
		res.Reason = ReasonUnsupported
		return res, nil
	case qop:
		var ok bool
		nc, ok = cred.NonceCount()
		if !ok || nc == 0 || cred.CNonce == "" {
			res.Reason = ReasonMalformed
			return res, nil
		}
	}

	id, issued, ok := a.openNonce(cred.Nonce, realm)
	if !ok {
		res.Reason = ReasonBadNonce
		return res, nil
	}
	if !uriMatches(cred.URI, &req.URI) {
		res.Reason = ReasonURIMismatch
		return res, nil
	}
	if len(cred.Response) != alg.hexLen() {
		res.Reason = ReasonBadResponse
		return res, nil
	}

	u, err := a.users.Get(ctx, cred.Username, realm)
	known := true
	switch {
	case errors.Is(err, ErrNoUser):
		known = false
	case err != nil:
		res.Reason = ReasonNone // no verdict: the caller answers 500
		return res, err
	}
	ha1 := ha1Of(&u, alg)
	usable := known && ha1 != ""
	if !usable {
		ha1 = a.dummy[alg]
	}
	// qop, nc and cnonce enter the hash as the client wrote them.
	var want [2 * sha256.Size]byte
	got := alg.appendResponse(want[:0], ha1, cred.Nonce, cred.NC, cred.CNonce, cred.QOP, req.Method, cred.URI)
	var have [2 * sha256.Size]byte
	for i := 0; i < len(cred.Response); i++ {
		c := cred.Response[i]
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A' // LHEX, but be liberal (RFC 8760 §2.2)
		}
		have[i] = c
	}
	match := subtle.ConstantTimeCompare(got, have[:len(cred.Response)]) == 1
	if !known {
		res.Reason = ReasonUnknownUser
		return res, nil
	}
	if !match || !usable {
		res.Reason = ReasonBadResponse
		return res, nil
	}

	// The client knows the password; is the nonce still good?
	now := a.clock().UnixNano()
	if age := now - issued; age > int64(a.ttl) || age < -int64(a.ttl) {
		res.Reason, res.Stale = ReasonStale, true
		return res, nil
	}
	if a.nc != nil {
		switch a.nc.use(id, issued, nc, qop, now) {
		case ncReplay:
			res.Reason = ReasonReplay
			return res, nil
		case ncReused, ncForgotten:
			res.Reason, res.Stale = ReasonStale, true
			return res, nil
		}
	}
	res.OK, res.Reason = true, ReasonNone
	return res, nil
}

// consider parses one credentials value and returns it with its algorithm
// when it is Digest, for realm, with an algorithm we offer; otherwise alg
// is algNone, and res.Reason and res.Username say why when nothing better
// was seen.
func (a *Authenticator) consider(v, realm string, res *Result) (cred sip.Credentials, alg algo) {
	c, err := sip.ParseCredentials(v)
	if err != nil {
		// It may have been for another realm; say so only if nothing
		// better is found.
		if res.Reason == ReasonNoCredentials {
			res.Reason = ReasonMalformed
		}
		return cred, algNone
	}
	if !c.IsDigest() || c.Realm != realm {
		return cred, algNone
	}
	name := c.Algorithm
	if name == "" {
		name = AlgorithmMD5 // RFC 7616 §3.3: absent means MD5
	}
	if x := parseAlgorithm(name); a.offers(x) {
		return c, x
	}
	res.Reason, res.Username = ReasonUnsupported, c.Username
	return cred, algNone
}

// scan considers every value of the header field hname in order and
// returns the first that fits (see consider). res is taken and returned
// by value so that the caller's stays on its stack.
func (a *Authenticator) scan(req *sip.Request, hname, realm string, res Result) (cred sip.Credentials, alg algo, _ Result) {
	for v := range req.Lines(hname) {
		if cred, alg = a.consider(v, realm, &res); alg != algNone {
			break
		}
	}
	return cred, alg, res
}

// offers reports whether alg is one of the configured algorithms.
func (a *Authenticator) offers(alg algo) bool {
	for _, x := range a.algs {
		if x == alg {
			return true
		}
	}
	return false
}

// uriMatches reports whether the digest uri names the Request-URI:
// equivalent as URIs (RFC 3261 §19.1.4), or, when the digest uri does not
// parse, the same text.
func uriMatches(digestURI string, reqURI *sip.URI) bool {
	if u, err := sip.ParseURI(digestURI); err == nil && u.Equal(*reqURI) {
		return true
	}
	var buf [256]byte
	return string(reqURI.AppendTo(buf[:0])) == digestURI
}

// Challenge builds the response that asks for credentials in realm ("" for
// Realm(req)): 401 (Unauthorized) with WWW-Authenticate when proxy is
// false, 407 (Proxy Authentication Required) with Proxy-Authenticate when
// it is true (RFC 3261 §22.2, §22.3; a proxy must not send 401, §22.1).
// It carries one challenge per configured algorithm, most preferred first
// (RFC 8760 §2.3), all with the same fresh nonce, qop="auth" (RFC 3261
// §22.4 item 8: a server always sends qop), and stale=true when stale is
// set, as Result.Stale asks. No opaque is sent: the nonce carries all the
// state there is. The response gets a To tag when the request has none
// (§8.2.6.2).
//
// Unknown users get the same challenge as known ones: it depends on the
// realm alone. Callers must not challenge ACK or CANCEL (§22.1).
func (a *Authenticator) Challenge(req *sip.Request, realm string, proxy, stale bool) *sip.Response {
	if realm == "" {
		realm = a.Realm(req)
	}
	_, hname, code := credentialsHeader(proxy)
	resp := sip.NewResponse(req, code, "")
	if resp.ToTag() == "" {
		_ = resp.SetToTag(rand.Text()[:16]) // a To that does not parse stays as it is
	}
	nonce := a.newNonce(realm, a.clock())
	b := make([]byte, 0, 160)
	for _, alg := range a.algs {
		c := sip.Challenge{
			Scheme:    "Digest",
			Realm:     realm,
			Nonce:     nonce,
			Algorithm: alg.name(),
			QOP:       a.qop,
			Stale:     stale,
		}
		b = c.AppendTo(b[:0])
		resp.Add(hname, string(b))
	}
	return resp
}

// ConsumeCredentials removes from req the Authorization (proxy false) or
// Proxy-Authorization (proxy true) values of realm ("" for Realm(req)), as
// Kamailio's consume_credentials does. A proxy calls it after Check
// accepted a request and before forwarding it, so that the next hop does
// not see credentials meant for us and a spiral back to us is not taken
// for a replay. Values of other realms stay, in order (RFC 3261 §22.3:
// they are for other proxies), after the other header fields.
func (a *Authenticator) ConsumeCredentials(req *sip.Request, realm string, proxy bool) {
	if realm == "" {
		realm = a.Realm(req)
	}
	hname, _, _ := credentialsHeader(proxy)
	var keep []string
	removed := false
	for v := range req.Lines(hname) {
		if c, err := sip.ParseCredentials(v); err == nil && c.IsDigest() && c.Realm == realm {
			removed = true
			continue
		}
		keep = append(keep, v)
	}
	if !removed {
		return
	}
	req.Del(hname)
	for _, v := range keep {
		req.Add(hname, v)
	}
}
