package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

const testRURI = "sip:example.com"

type prepareFunc func(t *testing.T, f *fixture, c *client) *sip.Request

// register sends the next credentials on a REGISTER.
func register(t *testing.T, f *fixture, c *client) *sip.Request {
	return c.authorize(t, sip.MethodRegister, testRURI, false)
}

// mutate answers with credentials changed by fn; resign recomputes the
// response afterwards, as a client that means it would.
func mutate(resign bool, fn func(c *sip.Credentials)) prepareFunc {
	return func(t *testing.T, f *fixture, c *client) *sip.Request {
		req := newRequest(t, sip.MethodRegister, testRURI)
		cred := c.credentials(sip.MethodRegister, testRURI)
		fn(&cred)
		if resign {
			sign(c, &cred, sip.MethodRegister)
		}
		req.Add("Authorization", cred.String())
		return req
	}
}

// sign computes the response of cred with c's password.
func sign(c *client, cred *sip.Credentials, method string) {
	alg := cred.Algorithm
	if alg == "" {
		alg = AlgorithmMD5
	}
	ha1 := HA1(alg, cred.Username, cred.Realm, c.password)
	a := parseAlgorithm(alg)
	cred.Response = string(a.appendResponse(nil, ha1, cred.Nonce, cred.NC, cred.CNonce, cred.QOP, method, cred.URI))
}

// twice checks a first request, which must be accepted, then returns the
// second for the test to check.
func twice(first, second prepareFunc) prepareFunc {
	return func(t *testing.T, f *fixture, c *client) *sip.Request {
		t.Helper()
		res, err := f.a.Check(t.Context(), first(t, f, c), "", false)
		if err != nil || !res.OK {
			t.Fatalf("first Check = %+v, %v; want OK", res, err)
		}
		return second(t, f, c)
	}
}

// withNC answers with the given nonce-count.
func withNC(nc uint32) prepareFunc {
	return func(t *testing.T, f *fixture, c *client) *sip.Request {
		c.nc = nc - 1
		return register(t, f, c)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		username string // "alice" when empty
		password string // testPassword when empty
		alg      string // the challenge answered; the topmost when empty
		proxy    bool
		method   string // REGISTER when empty
		ruri     string // testRURI when empty
		prepare  prepareFunc
		ok       bool
		stale    bool
		reason   Reason
	}{
		{name: "SHA-256", alg: "SHA-256", ok: true},
		{name: "MD5", alg: "MD5", ok: true},
		{name: "topmost is SHA-256", ok: true},
		{name: "algorithm absent means MD5", alg: "MD5", ok: true,
			prepare: mutate(true, func(c *sip.Credentials) { c.Algorithm = "" })},
		{name: "algorithm any case", alg: "SHA-256", ok: true,
			prepare: mutate(false, func(c *sip.Credentials) { c.Algorithm = "sha-256" })},
		{name: "upper-case hex response", ok: true,
			prepare: mutate(false, func(c *sip.Credentials) { c.Response = strings.ToUpper(c.Response) })},
		{name: "INVITE with From realm", method: sip.MethodInvite, ruri: "sip:bob@example.com", ok: true,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				return c.authorize(t, sip.MethodInvite, "sip:bob@example.com", false)
			}},

		{name: "wrong password", password: "guess", reason: ReasonBadResponse},
		{name: "wrong password MD5", password: "guess", alg: "MD5", reason: ReasonBadResponse},
		{name: "unknown user", username: "mallory", reason: ReasonUnknownUser},
		{name: "unknown user right looking", username: "mallory", alg: "MD5", reason: ReasonUnknownUser},
		{name: "no SHA-256 hash stored", username: "carol", alg: "SHA-256", reason: ReasonBadResponse},
		{name: "MD5 hash stored", username: "carol", alg: "MD5", ok: true},
		{name: "wrong realm", reason: ReasonNoCredentials,
			prepare: mutate(true, func(c *sip.Credentials) { c.Realm = "evil.example" })},
		{name: "realm case differs", reason: ReasonNoCredentials,
			prepare: mutate(true, func(c *sip.Credentials) { c.Realm = "Example.com" })},
		{name: "tampered nonce", reason: ReasonBadNonce,
			prepare: mutate(true, func(c *sip.Credentials) { c.Nonce = flip(c.Nonce, 5) })},
		{name: "tampered nonce time", reason: ReasonBadNonce,
			prepare: mutate(true, func(c *sip.Credentials) { c.Nonce = flip(c.Nonce, 0) })},
		{name: "truncated nonce", reason: ReasonBadNonce,
			prepare: mutate(true, func(c *sip.Credentials) { c.Nonce = c.Nonce[:len(c.Nonce)-1] })},
		{name: "foreign nonce", reason: ReasonBadNonce,
			prepare: mutate(true, func(c *sip.Credentials) { c.Nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093" })},
		{name: "nonce of another realm", reason: ReasonBadNonce,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				req := newRequest(t, sip.MethodRegister, testRURI)
				other := f.a.Challenge(req, "other.example.net", false, false)
				ch, _ := sip.ParseChallenge(other.Get("WWW-Authenticate"))
				c.challenge.Nonce = ch.Nonce
				return register(t, f, c)
			}},
		{name: "nonce of another server", reason: ReasonBadNonce,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				other := New(Config{Clock: f.clock.Now}, f.users)
				req := newRequest(t, sip.MethodRegister, testRURI)
				c.read(t, other.Challenge(req, "", false, false))
				return register(t, f, c)
			}},
		{name: "missing response", reason: ReasonMalformed,
			prepare: mutate(false, func(c *sip.Credentials) { c.Response = "" })},
		{name: "short response", reason: ReasonBadResponse,
			prepare: mutate(false, func(c *sip.Credentials) { c.Response = c.Response[:32] })},
		{name: "missing cnonce", reason: ReasonMalformed,
			prepare: mutate(true, func(c *sip.Credentials) { c.CNonce = "" })},
		{name: "missing nc", reason: ReasonMalformed,
			prepare: mutate(true, func(c *sip.Credentials) { c.NC = "" })},
		{name: "nc zero", reason: ReasonMalformed,
			prepare: mutate(true, func(c *sip.Credentials) { c.NC = "00000000" })},
		{name: "qop auth-int", reason: ReasonUnsupported,
			prepare: mutate(false, func(c *sip.Credentials) { c.QOP = "auth-int" })},
		{name: "userhash", reason: ReasonUnsupported,
			prepare: mutate(true, func(c *sip.Credentials) { c.Userhash = true })},
		{name: "MD5-sess", reason: ReasonUnsupported,
			prepare: mutate(false, func(c *sip.Credentials) { c.Algorithm = "MD5-sess" })},
		{name: "algorithm not offered", cfg: Config{Algorithms: []string{"SHA-256"}}, reason: ReasonUnsupported,
			prepare: mutate(true, func(c *sip.Credentials) { c.Algorithm = "MD5" })},
		{name: "only MD5 offered", cfg: Config{Algorithms: []string{"MD5"}}, ok: true},
		{name: "malformed credentials", reason: ReasonMalformed,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				req := newRequest(t, sip.MethodRegister, testRURI)
				req.Add("Authorization", `Digest username="alice", realm=`)
				return req
			}},
		{name: "other scheme of our realm ignored", reason: ReasonNoCredentials,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				req := newRequest(t, sip.MethodRegister, testRURI)
				req.Add("Authorization", `NTLM realm="example.com", targetname="x"`)
				return req
			}},
		{name: "Basic is malformed in SIP", reason: ReasonMalformed,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				// RFC 3261 §22.4: never Basic; its token68 is not even
				// SIP's credentials grammar (§25.1 other-response).
				req := newRequest(t, sip.MethodRegister, testRURI)
				req.Add("Authorization", "Basic YWxpY2U6c2VjcmV0")
				return req
			}},

		{name: "uri mismatch", reason: ReasonURIMismatch,
			prepare: mutate(true, func(c *sip.Credentials) { c.URI = "sip:other.example.com" })},
		{name: "uri equivalent form", method: sip.MethodInvite, ruri: "sip:bob@example.com:5060;transport=udp;lr", ok: true,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				const ruri = "sip:bob@example.com:5060;transport=udp;lr"
				const digestURI = "sip:bob@EXAMPLE.COM:5060;lr;transport=UDP"
				req := newRequest(t, sip.MethodInvite, ruri)
				cred := c.credentials(sip.MethodInvite, digestURI)
				req.Add("Authorization", cred.String())
				return req
			}},
		{name: "uri differs in user", method: sip.MethodInvite, ruri: "sip:bob@example.com", reason: ReasonURIMismatch,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				req := newRequest(t, sip.MethodInvite, "sip:bob@example.com")
				req.Add("Authorization", c.credentials(sip.MethodInvite, "sip:BOB@example.com").String())
				return req
			}},
		{name: "wrong method", reason: ReasonBadResponse,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				req := newRequest(t, sip.MethodRegister, testRURI)
				req.Add("Authorization", c.credentials(sip.MethodInvite, testRURI).String())
				return req
			}},

		{name: "expired nonce is stale", stale: true, reason: ReasonStale,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				f.clock.Advance(DefaultNonceTTL + time.Second)
				return register(t, f, c)
			}},
		{name: "nonce at its TTL is fresh", ok: true,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				f.clock.Advance(DefaultNonceTTL)
				return register(t, f, c)
			}},
		{name: "configured TTL", cfg: Config{NonceTTL: 30 * time.Second}, stale: true, reason: ReasonStale,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				f.clock.Advance(31 * time.Second)
				return register(t, f, c)
			}},
		{name: "expired nonce wrong password is not stale", password: "guess", reason: ReasonBadResponse,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				f.clock.Advance(time.Hour)
				return register(t, f, c)
			}},
		{name: "expired nonce unknown user is not stale", username: "mallory", reason: ReasonUnknownUser,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				f.clock.Advance(time.Hour)
				return register(t, f, c)
			}},
		{name: "nonce from the future is stale", stale: true, reason: ReasonStale,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				f.clock.Advance(-time.Hour) // the clock went back
				return register(t, f, c)
			}},

		{name: "replayed nc", reason: ReasonReplay,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				req := register(t, f, c)
				if res, err := f.a.Check(t.Context(), req, "", false); err != nil || !res.OK {
					t.Fatalf("first Check = %+v, %v", res, err)
				}
				again := newRequest(t, sip.MethodRegister, testRURI)
				again.Add("Authorization", req.Get("Authorization"))
				return again
			}},
		{name: "nc reused with a new cnonce", reason: ReasonReplay,
			prepare: twice(register, withNC(1))},
		{name: "nc increasing", ok: true,
			prepare: twice(register, twice(register, register))},
		{name: "nc skipping ahead", ok: true, prepare: twice(register, withNC(1000))},
		{name: "nc out of order within the window", ok: true,
			prepare: twice(withNC(5), twice(withNC(3), withNC(4)))},
		{name: "nc going backwards to a used count", reason: ReasonReplay,
			prepare: twice(withNC(5), twice(withNC(3), withNC(5)))},
		{name: "nc behind the window", reason: ReasonReplay,
			prepare: twice(withNC(100), withNC(100-ncWindow))},
		{name: "nc at the window's edge", ok: true,
			prepare: twice(withNC(100), withNC(100-ncWindow+1))},
		{name: "replay tracking off", cfg: Config{MaxNonces: -1}, ok: true,
			prepare: twice(withNC(1), withNC(1))},
		{name: "forgotten nonce is stale", cfg: Config{MaxNonces: 1}, stale: true, reason: ReasonStale,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				// alice uses a nonce; bob's later nonce pushes it out.
				first := register(t, f, c)
				if res, _ := f.a.Check(t.Context(), first, "", false); !res.OK {
					t.Fatalf("first Check = %+v", res)
				}
				f.clock.Advance(time.Second)
				other := &client{username: "alice", password: testPassword}
				login(t, f.a, other, sip.MethodRegister, testRURI, false)
				if res, _ := f.a.Check(t.Context(), register(t, f, other), "", false); !res.OK {
					t.Fatalf("other Check = %+v", res)
				}
				if n := f.a.nc.len(); n != 1 {
					t.Fatalf("tracker holds %d nonces, want 1", n)
				}
				return register(t, f, c)
			}},

		{name: "no qop (RFC 2069) first use", ok: true,
			prepare: mutate(true, func(c *sip.Credentials) { c.QOP, c.NC, c.CNonce = "", "", "" })},
		{name: "no qop (RFC 2069) reuse is stale", stale: true, reason: ReasonStale,
			prepare: twice(
				mutate(true, func(c *sip.Credentials) { c.QOP, c.NC, c.CNonce = "", "", "" }),
				mutate(true, func(c *sip.Credentials) { c.QOP, c.NC, c.CNonce = "", "", "" }))},
		{name: "no qop after qop on one nonce", ok: true,
			prepare: twice(register,
				mutate(true, func(c *sip.Credentials) { c.QOP, c.NC, c.CNonce = "", "", "" }))},

		{name: "credentials for another realm ignored", ok: true,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				req := newRequest(t, sip.MethodRegister, testRURI)
				req.Add("Authorization", `Digest username="alice", realm="other.example.net", `+
					`nonce="abc", uri="sip:example.com", response="0123456789abcdef0123456789abcdef"`)
				req.Add("Authorization", `NTLM foo=bar`)
				req.Add("Authorization", c.credentials(sip.MethodRegister, testRURI).String())
				return req
			}},
		{name: "only another realm's credentials", reason: ReasonNoCredentials,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				other := &client{username: "alice", password: "other-secret"}
				req := newRequest(t, sip.MethodRegister, testRURI)
				ch := f.a.Challenge(req, "other.example.net", false, false)
				other.read(t, ch)
				req.Add("Authorization", other.credentials(sip.MethodRegister, testRURI).String())
				return req
			}},
		{name: "first supported credentials of the realm win", ok: true,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				req := newRequest(t, sip.MethodRegister, testRURI)
				bad := c.credentials(sip.MethodRegister, testRURI)
				bad.Algorithm = "SHA-1"
				req.Add("Authorization", bad.String())
				req.Add("Authorization", c.credentials(sip.MethodRegister, testRURI).String())
				return req
			}},

		{name: "proxy", proxy: true, ok: true,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				return c.authorize(t, sip.MethodInvite, "sip:bob@example.com", true)
			}},
		{name: "proxy MD5", proxy: true, alg: "MD5", ok: true,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				return c.authorize(t, sip.MethodInvite, "sip:bob@example.com", true)
			}},
		{name: "proxy ignores Authorization", proxy: true, reason: ReasonNoCredentials,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				return c.authorize(t, sip.MethodInvite, "sip:bob@example.com", false)
			}},
		{name: "UAS ignores Proxy-Authorization", reason: ReasonNoCredentials,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				return c.authorize(t, sip.MethodRegister, testRURI, true)
			}},
		{name: "configured realm", cfg: Config{Realm: "sipd.test"}, reason: ReasonNoCredentials,
			prepare: func(t *testing.T, f *fixture, c *client) *sip.Request {
				if c.challenge.Realm != "sipd.test" {
					t.Fatalf("challenge realm %q, want sipd.test", c.challenge.Realm)
				}
				// Right realm, but alice is stored under example.com.
				c.challenge.Realm = testRealm
				return register(t, f, c)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.cfg)
			c := &client{username: cmpOr(tt.username, "alice"), password: cmpOr(tt.password, testPassword), alg: tt.alg}
			method, ruri := cmpOr(tt.method, sip.MethodRegister), cmpOr(tt.ruri, testRURI)
			login(t, f.a, c, method, ruri, tt.proxy)
			prepare := tt.prepare
			if prepare == nil {
				prepare = register
			}
			req := prepare(t, f, c)
			res, err := f.a.Check(t.Context(), req, "", tt.proxy)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if err := checkResult(res, tt.ok, tt.stale, tt.reason); err != nil {
				t.Fatal(err)
			}
			if res.Realm == "" {
				t.Error("Result.Realm empty")
			}
			if res.OK && (res.Username != c.username || res.Algorithm == "") {
				t.Errorf("Result = %+v; want Username %q and an Algorithm", res, c.username)
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// flip changes the character at i of a base64url string to another one.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestRoundTrip runs the whole exchange for each algorithm and side:
// challenge, a client answering it, Check accepting, a stale challenge
// after expiry, and the retry on the new nonce.
func TestRoundTrip(t *testing.T) {
	for _, proxy := range []bool{false, true} {
		for _, alg := range []string{"SHA-256", "MD5"} {
			name := alg + "/uas"
			if proxy {
				name = alg + "/proxy"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, Config{})
				const ruri = "sip:bob@example.com"
				req := newRequest(t, sip.MethodInvite, ruri)
				res, err := f.a.Check(t.Context(), req, "", proxy)
				if err != nil {
					t.Fatal(err)
				}
				if err := checkResult(res, false, false, ReasonNoCredentials); err != nil {
					t.Fatal(err)
				}
				resp := f.a.Challenge(req, "", proxy, res.Stale)
				wantCode := sip.StatusUnauthorized
				if proxy {
					wantCode = sip.StatusProxyAuthRequired
				}
				if resp.StatusCode != wantCode {
					t.Fatalf("challenge code %d, want %d", resp.StatusCode, wantCode)
				}
				c := &client{username: "alice", password: testPassword, alg: alg}
				c.read(t, resp)
				for i := range 3 {
					res, err := f.a.Check(t.Context(), c.authorize(t, sip.MethodInvite, ruri, proxy), "", proxy)
					if err != nil || !res.OK || res.Username != "alice" || res.Algorithm != alg || res.Realm != testRealm {
						t.Fatalf("request %d: Check = %+v, %v", i+1, res, err)
					}
				}
				f.clock.Advance(DefaultNonceTTL + time.Second)
				req = c.authorize(t, sip.MethodInvite, ruri, proxy)
				res, err = f.a.Check(t.Context(), req, "", proxy)
				if err != nil {
					t.Fatal(err)
				}
				if err := checkResult(res, false, true, ReasonStale); err != nil {
					t.Fatal(err)
				}
				resp = f.a.Challenge(req, "", proxy, res.Stale)
				c.read(t, resp)
				if !c.challenge.Stale {
					t.Fatal("challenge after expiry lacks stale=true")
				}
				res, err = f.a.Check(t.Context(), c.authorize(t, sip.MethodInvite, ruri, proxy), "", proxy)
				if err != nil || !res.OK {
					t.Fatalf("retry on the new nonce: Check = %+v, %v", res, err)
				}
			})
		}
	}
}

func TestChallenge(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		method   string
		proxy    bool
		stale    bool
		wantCode int
		wantHdr  string
		wantAlgs []string
		wantRlm  string
	}{
		{name: "401 default", method: sip.MethodRegister, wantCode: 401, wantHdr: "WWW-Authenticate",
			wantAlgs: []string{"SHA-256", "MD5"}, wantRlm: "example.com"},
		{name: "407 proxy", method: sip.MethodInvite, proxy: true, wantCode: 407, wantHdr: "Proxy-Authenticate",
			wantAlgs: []string{"SHA-256", "MD5"}, wantRlm: "example.com"},
		{name: "stale", method: sip.MethodRegister, stale: true, wantCode: 401, wantHdr: "WWW-Authenticate",
			wantAlgs: []string{"SHA-256", "MD5"}, wantRlm: "example.com"},
		{name: "configured order", cfg: Config{Algorithms: []string{"md5", "sha-256"}, Realm: "sipd.test"},
			method: sip.MethodRegister, wantCode: 401, wantHdr: "WWW-Authenticate",
			wantAlgs: []string{"MD5", "SHA-256"}, wantRlm: "sipd.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.cfg)
			req := newRequest(t, tt.method, "sip:bob@example.com")
			resp := f.a.Challenge(req, "", tt.proxy, tt.stale)
			if resp.StatusCode != tt.wantCode {
				t.Errorf("code %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if resp.ToTag() == "" {
				t.Error("no To tag")
			}
			if resp.CallID() != req.CallID() {
				t.Error("Call-ID not copied")
			}
			other := "WWW-Authenticate"
			if !tt.proxy {
				other = "Proxy-Authenticate"
			}
			if resp.Has(other) {
				t.Errorf("has %s", other)
			}
			var algs []string
			var nonce string
			for v := range resp.Lines(tt.wantHdr) {
				ch, err := sip.ParseChallenge(v)
				if err != nil {
					t.Fatalf("%s %q: %v", tt.wantHdr, v, err)
				}
				algs = append(algs, ch.Algorithm)
				if ch.Realm != tt.wantRlm || !slices.Equal(ch.QOP, []string{"auth"}) || ch.Stale != tt.stale ||
					ch.Opaque != "" || ch.Userhash || len(ch.Nonce) != nonceTextLen {
					t.Errorf("challenge %+v", ch)
				}
				if nonce != "" && ch.Nonce != nonce {
					t.Error("challenges carry different nonces")
				}
				nonce = ch.Nonce
			}
			if !slices.Equal(algs, tt.wantAlgs) {
				t.Errorf("algorithms %q, want %q", algs, tt.wantAlgs)
			}
		})
	}
}

// TestChallengeSameForUnknownUser checks that nothing in a challenge
// depends on the user name (no user enumeration): a known and an unknown
// user get the same response but for the nonce and To tag.
func TestChallengeSameForUnknownUser(t *testing.T) {
	f := newFixture(t, Config{})
	shape := func(user string) string {
		t.Helper()
		req := newRequest(t, sip.MethodRegister, "sip:example.com")
		req.Set("From", "<sip:"+user+"@example.com>;tag=x")
		req.Set("To", "<sip:"+user+"@example.com>")
		req.Set("Call-ID", "same")
		req.Set("Via", "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsame")
		// A failed attempt first, so Check has looked the user up.
		c := &client{username: user, password: "guess"}
		c.read(t, f.a.Challenge(req, "", false, false))
		req.Add("Authorization", c.credentials(sip.MethodRegister, "sip:example.com").String())
		res, err := f.a.Check(t.Context(), req, "", false)
		if err != nil || res.OK || res.Stale {
			t.Fatalf("Check = %+v, %v", res, err)
		}
		resp := f.a.Challenge(req, "", false, res.Stale)
		s := resp.String()
		for v := range resp.Lines("WWW-Authenticate") {
			ch, _ := sip.ParseChallenge(v)
			s = strings.ReplaceAll(s, ch.Nonce, "NONCE")
		}
		s = strings.ReplaceAll(s, resp.ToTag(), "TAG")
		return strings.ReplaceAll(s, user, "USER")
	}
	if known, unknown := shape("alice"), shape("mallory"); known != unknown {
		t.Errorf("challenges differ:\n%s\n%s", known, unknown)
	}
}

func TestCheckACKAndCANCEL(t *testing.T) {
	f := newFixture(t, Config{})
	for _, m := range []string{sip.MethodAck, sip.MethodCancel} {
		_, err := f.a.Check(t.Context(), newRequest(t, m, "sip:bob@example.com"), "", false)
		if !errors.Is(err, ErrNoChallenge) {
			t.Errorf("%s: err = %v, want ErrNoChallenge", m, err)
		}
	}
}

func TestCheckStoreError(t *testing.T) {
	f := newFixture(t, Config{})
	c := &client{username: "alice", password: testPassword}
	login(t, f.a, c, sip.MethodRegister, testRURI, false)
	boom := errors.New("store down")
	f.users.err = boom
	res, err := f.a.Check(t.Context(), c.authorize(t, sip.MethodRegister, testRURI, false), "", false)
	if !errors.Is(err, boom) || res.OK {
		t.Fatalf("Check = %+v, %v; want the store's error", res, err)
	}
}

// TestCheckLooksUpUnknownUsers checks that an unknown user costs a store
// lookup and a hash, as a known one does, rather than an early return.
func TestCheckLooksUpUnknownUsers(t *testing.T) {
	f := newFixture(t, Config{})
	for _, user := range []string{"alice", "mallory"} {
		c := &client{username: user, password: "guess"}
		login(t, f.a, c, sip.MethodRegister, testRURI, false)
		before := f.users.gets
		if _, err := f.a.Check(t.Context(), c.authorize(t, sip.MethodRegister, testRURI, false), "", false); err != nil {
			t.Fatal(err)
		}
		if f.users.gets != before+1 {
			t.Errorf("%s: %d lookups, want 1", user, f.users.gets-before)
		}
	}
}

func TestRealm(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		method string
		from   string
		to     string
		want   string
	}{
		{name: "REGISTER uses To", method: sip.MethodRegister,
			from: "<sip:alice@other.example>;tag=1", to: "<sip:alice@Example.COM>", want: "example.com"},
		{name: "INVITE uses From", method: sip.MethodInvite,
			from: "<sip:alice@Atlanta.Example>;tag=1", to: "<sip:bob@biloxi.example>", want: "atlanta.example"},
		{name: "bad From uses Request-URI", method: sip.MethodInvite,
			from: "<<<", to: "<sip:bob@biloxi.example>", want: "example.com"},
		{name: "configured", cfg: Config{Realm: "sipd.test"}, method: sip.MethodInvite,
			from: "<sip:alice@atlanta.example>;tag=1", to: "<sip:bob@biloxi.example>", want: "sipd.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.cfg)
			req := newRequest(t, tt.method, "sip:bob@Example.com")
			req.Set("From", tt.from)
			req.Set("To", tt.to)
			if got := f.a.Realm(req); got != tt.want {
				t.Errorf("Realm = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConsumeCredentials(t *testing.T) {
	f := newFixture(t, Config{})
	c := &client{username: "alice", password: testPassword}
	login(t, f.a, c, sip.MethodInvite, "sip:bob@example.com", true)
	req := newRequest(t, sip.MethodInvite, "sip:bob@example.com")
	otherCred := `Digest username="alice", realm="other.example.net", nonce="n", uri="sip:bob@example.com", response=""`
	req.Add("Proxy-Authorization", otherCred)
	req.Add("Proxy-Authorization", c.credentials(sip.MethodInvite, "sip:bob@example.com").String())
	req.Add("Authorization", c.credentials(sip.MethodInvite, "sip:bob@example.com").String())
	res, err := f.a.Check(t.Context(), req, "", true)
	if err != nil || !res.OK {
		t.Fatalf("Check = %+v, %v", res, err)
	}
	f.a.ConsumeCredentials(req, "", true)
	if got := slices.Collect(req.Lines("Proxy-Authorization")); !slices.Equal(got, []string{otherCred}) {
		t.Errorf("Proxy-Authorization left: %q", got)
	}
	if req.Count("Authorization") != 1 {
		t.Error("Authorization was touched")
	}
	// A spiral back to us now carries no credentials of ours.
	res, err = f.a.Check(t.Context(), req, "", true)
	if err != nil || res.Reason != ReasonNoCredentials {
		t.Fatalf("Check after consume = %+v, %v", res, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none for valid
	}{
		{name: "zero", cfg: Config{}},
		{name: "full", cfg: Config{Realm: "example.com", Algorithms: []string{"MD5"}, NonceTTL: time.Minute,
			Secret: make([]byte, 16), MaxNonces: -1}},
		{name: "bad", cfg: Config{Algorithms: []string{"SHA-256", "sha-256", "SHA-512-256", "MD5-sess"},
			NonceTTL: -1, Secret: []byte("short"), Realm: "a\nb"},
			want: []string{"listed twice", `"SHA-512-256" not supported`, `"MD5-sess" not supported`,
				"negative nonce TTL", "secret shorter", "control character"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("New with a bad config did not panic")
		}
	}()
	New(Config{Algorithms: []string{"SHA-1"}}, newMemStore())
}

func TestReasonString(t *testing.T) {
	for r := ReasonNone; r <= ReasonReplay; r++ {
		if s := r.String(); s == "" || s == "unknown reason" {
			t.Errorf("Reason(%d).String() = %q", r, s)
		}
	}
}

// TestCheckConcurrentReplay sends the same credentials from many
// goroutines at once: exactly one is accepted. Distinct counts on the
// same nonce are all accepted.
func TestCheckConcurrentReplay(t *testing.T) {
	f := newFixture(t, Config{})
	c := &client{username: "alice", password: testPassword}
	login(t, f.a, c, sip.MethodRegister, testRURI, false)
	const n = 16
	same := c.credentials(sip.MethodRegister, testRURI).String()
	distinct := make([]string, n)
	for i := range distinct {
		distinct[i] = c.credentials(sip.MethodRegister, testRURI).String()
	}
	reqs := make([][2]*sip.Request, n)
	for i := range reqs {
		for j, v := range []string{same, distinct[i]} {
			reqs[i][j] = newRequest(t, sip.MethodRegister, testRURI)
			reqs[i][j].Add("Authorization", v)
		}
	}
	type outcome struct{ sameOK, distinctOK bool }
	out := make(chan outcome, n)
	for i := range n {
		go func() {
			r1, _ := f.a.Check(context.Background(), reqs[i][0], "", false)
			r2, _ := f.a.Check(context.Background(), reqs[i][1], "", false)
			out <- outcome{r1.OK, r2.OK}
		}()
	}
	sameOK := 0
	for range n {
		o := <-out
		if o.sameOK {
			sameOK++
		}
		if !o.distinctOK {
			t.Error("a distinct nonce-count was refused")
		}
	}
	if sameOK != 1 {
		t.Errorf("the same credentials were accepted %d times, want 1", sameOK)
	}
}
