package auth

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// testClock is a settable clock for Config.Clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const (
	testRealm    = "example.com"
	testPassword = "secret"
)

// fixture is an Authenticator over a memStore holding alice and carol
// (whose store has only an MD5 hash), with a test clock.
type fixture struct {
	a     *Authenticator
	users *memStore
	clock *testClock
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	f := &fixture{clock: newTestClock()}
	carol := NewUser("carol", testRealm, testPassword)
	carol.HA1SHA256 = ""
	f.users = newMemStore(
		NewUser("alice", testRealm, testPassword),
		carol,
		NewUser("alice", "other.example.net", "other-secret"),
	)
	if cfg.Clock == nil {
		cfg.Clock = f.clock.Now
	}
	f.a = New(cfg, f.users)
	return f
}

// newRequest parses a request of the method to ruri from alice.
func newRequest(t testing.TB, method, ruri string) *sip.Request {
	t.Helper()
	cseqMethod := method
	msg := fmt.Sprintf("%s %s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK%s;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: Alice <sip:alice@Example.COM>;tag=f1\r\n"+
		"To: <sip:alice@example.com>\r\n"+
		"Call-ID: %s@192.0.2.10\r\n"+
		"CSeq: 1 %s\r\n"+
		"Contact: <sip:alice@192.0.2.10:5060>\r\n"+
		"Content-Length: 0\r\n\r\n",
		method, ruri, rand.Text()[:10], rand.Text()[:12], cseqMethod)
	req, err := sip.ParseRequest([]byte(msg))
	if err != nil {
		t.Fatalf("parse request: %v\n%s", err, msg)
	}
	return req
}

// client is a small digest client, as a UA implements RFC 7616 §3.4 and
// RFC 8760 §2.4, built on sip.ParseChallenge and Response.
type client struct {
	username, password string
	// alg, when set, picks that algorithm's challenge; otherwise the
	// topmost supported one is used (RFC 8760 §2.4).
	alg string
	// challenge and nc are the session: the challenge answered and the
	// last nonce-count sent.
	challenge sip.Challenge
	nc        uint32
}

// read takes the challenge to answer from a 401 or 407.
func (c *client) read(t testing.TB, resp *sip.Response) {
	t.Helper()
	name := "WWW-Authenticate"
	if resp.StatusCode == sip.StatusProxyAuthRequired {
		name = "Proxy-Authenticate"
	}
	for v := range resp.Lines(name) {
		ch, err := sip.ParseChallenge(v)
		if err != nil {
			t.Fatalf("parse %s %q: %v", name, v, err)
		}
		if !ch.IsDigest() || !slices.Contains(ch.QOP, "auth") {
			continue
		}
		switch {
		case c.alg != "" && !strings.EqualFold(ch.Algorithm, c.alg):
			continue
		case c.alg == "" && HA1(ch.Algorithm, "", "", "") == "":
			continue // an algorithm we cannot do: ignore it (RFC 8760 §2.4)
		}
		c.challenge, c.nc = ch, 0
		return
	}
	t.Fatalf("no usable challenge in %s", resp)
}

// credentials answers the challenge for a request of method to uri with
// the next nonce-count.
func (c *client) credentials(method, uri string) sip.Credentials {
	c.nc++
	ch := c.challenge
	ha1 := HA1(ch.Algorithm, c.username, ch.Realm, c.password)
	cred := sip.Credentials{
		Scheme:    "Digest",
		Username:  c.username,
		Realm:     ch.Realm,
		Nonce:     ch.Nonce,
		URI:       uri,
		Algorithm: ch.Algorithm,
		CNonce:    rand.Text()[:16],
		Opaque:    ch.Opaque,
		QOP:       "auth",
		NC:        fmt.Sprintf("%08x", c.nc),
	}
	cred.Response = Response(ch.Algorithm, ha1, cred.Nonce, cred.NC, cred.CNonce, cred.QOP, method, uri)
	return cred
}

// authorize returns a new request of method to ruri carrying the next
// credentials in Authorization (or Proxy-Authorization when proxy).
func (c *client) authorize(t testing.TB, method, ruri string, proxy bool) *sip.Request {
	t.Helper()
	req := newRequest(t, method, ruri)
	req.Add(credName(proxy), c.credentials(method, ruri).String())
	return req
}

func credName(proxy bool) string {
	if proxy {
		return "Proxy-Authorization"
	}
	return "Authorization"
}

// login runs the first round: a request without credentials, its
// challenge read by the client.
func login(t testing.TB, a *Authenticator, c *client, method, ruri string, proxy bool) {
	t.Helper()
	req := newRequest(t, method, ruri)
	res, err := a.Check(t.Context(), req, "", proxy)
	if err != nil || res.OK || res.Reason != ReasonNoCredentials {
		t.Fatalf("Check without credentials = %+v, %v; want ReasonNoCredentials", res, err)
	}
	c.read(t, a.Challenge(req, "", proxy, res.Stale))
}

// checkResult compares the fields of Result that a test cares about.
func checkResult(got Result, ok, stale bool, reason Reason) error {
	if got.OK != ok || got.Stale != stale || got.Reason != reason {
		return fmt.Errorf("got OK=%v Stale=%v Reason=%q; want OK=%v Stale=%v Reason=%q",
			got.OK, got.Stale, got.Reason, ok, stale, reason)
	}
	return nil
}
