package registrar

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/sip"
)

// Rule 3, RFC 3261 §10.3 steps 3 and 4: authentication and authorization.
func TestAuth(t *testing.T) {
	type authCase struct {
		name string
		cfg  func(*Config)
		run  func(t *testing.T, h *harness)
	}
	const ruri = "sip:example.com"
	// login sends a REGISTER without credentials and reads its challenge.
	login := func(t *testing.T, h *harness, c *digestClient) {
		t.Helper()
		resp := h.do(regReq{contacts: []string{c1}})
		c.read(t, resp)
	}
	cases := []authCase{
		{
			name: "no credentials: 401 with a challenge per algorithm",
			run: func(t *testing.T, h *harness) {
				resp := h.do(regReq{contacts: []string{c1}})
				if err := checkStatus(resp, 401); err != nil {
					t.Fatal(err)
				}
				var algs []string
				for v := range resp.Lines("WWW-Authenticate") {
					ch, err := sip.ParseChallenge(v)
					if err != nil {
						t.Fatal(err)
					}
					if ch.Realm != testDomain || ch.Stale || !slices.Contains(ch.QOP, "auth") {
						t.Errorf("challenge %q", v)
					}
					algs = append(algs, ch.Algorithm)
				}
				if !slices.Equal(algs, []string{"SHA-256", "MD5"}) {
					t.Errorf("algorithms %q", algs)
				}
				if resp.ToTag() == "" {
					t.Error("401 without To tag")
				}
				if err := wantStored(aliceAOR)(h); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "right credentials register",
			run: func(t *testing.T, h *harness) {
				c := &digestClient{user: "alice", password: testPassword}
				login(t, h, c)
				resp := h.do(regReq{cseq: 2, contacts: []string{c1}, headers: []string{"Authorization: " + c.authorization(ruri)}})
				if err := checkStatus(resp, 200); err != nil {
					t.Fatal(err)
				}
				if err := wantStored(aliceAOR, u1)(h); err != nil {
					t.Error(err)
				}
				// The nonce serves again with the next nonce-count.
				resp = h.do(regReq{cseq: 3, contacts: []string{c2}, headers: []string{"Authorization: " + c.authorization(ruri)}})
				if err := checkStatus(resp, 200); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "MD5 credentials register",
			run: func(t *testing.T, h *harness) {
				resp := h.do(regReq{contacts: []string{c1}})
				c := &digestClient{user: "alice", password: testPassword}
				for v := range resp.Lines("WWW-Authenticate") {
					if ch, _ := sip.ParseChallenge(v); ch.Algorithm == "MD5" {
						c.ch = ch
					}
				}
				resp = h.do(regReq{cseq: 2, contacts: []string{c1}, headers: []string{"Authorization: " + c.authorization(ruri)}})
				if err := checkStatus(resp, 200); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "wrong password: challenged again",
			run: func(t *testing.T, h *harness) {
				c := &digestClient{user: "alice", password: "wrong"}
				login(t, h, c)
				resp := h.do(regReq{cseq: 2, contacts: []string{c1}, headers: []string{"Authorization: " + c.authorization(ruri)}})
				if err := checkStatus(resp, 401); err != nil {
					t.Fatal(err)
				}
				if err := wantStored(aliceAOR)(h); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "unknown user: challenged again",
			run: func(t *testing.T, h *harness) {
				c := &digestClient{user: "mallory", password: testPassword}
				login(t, h, c)
				resp := h.do(regReq{to: "<sip:mallory@example.com>", cseq: 2, contacts: []string{c1}, headers: []string{"Authorization: " + c.authorization(ruri)}})
				if err := checkStatus(resp, 401); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "malformed credentials are 400",
			run: func(t *testing.T, h *harness) {
				resp := h.do(regReq{contacts: []string{c1}, headers: []string{`Authorization: Digest realm="example.com", nonce="abc", algorithm=MD5`}})
				if err := checkStatus(resp, 400); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "stale nonce: 401 with stale=true",
			run: func(t *testing.T, h *harness) {
				c := &digestClient{user: "alice", password: testPassword}
				login(t, h, c)
				h.clock.Advance(auth.DefaultNonceTTL + time.Second)
				resp := h.do(regReq{cseq: 2, contacts: []string{c1}, headers: []string{"Authorization: " + c.authorization(ruri)}})
				if err := checkStatus(resp, 401); err != nil {
					t.Fatal(err)
				}
				ch, err := sip.ParseChallenge(resp.Get("WWW-Authenticate"))
				if err != nil || !ch.Stale {
					t.Fatalf("challenge %q: stale=%v, %v; want stale=true", resp.Get("WWW-Authenticate"), ch.Stale, err)
				}
			},
		},
		{
			name: "a user may not register another's AOR",
			run: func(t *testing.T, h *harness) {
				c := &digestClient{user: "bob", password: testPassword}
				login(t, h, c)
				resp := h.do(regReq{cseq: 2, contacts: []string{c1}, headers: []string{"Authorization: " + c.authorization(ruri)}})
				if err := checkStatus(resp, 403); err != nil {
					t.Fatal(err)
				}
				if err := wantStored(aliceAOR)(h); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "AllowedRegistrant allows third-party registration",
			cfg: func(c *Config) {
				c.AllowedRegistrant = func(user string, aor sip.URI) bool {
					return user == "bob" && aor.String() == aliceAOR
				}
			},
			run: func(t *testing.T, h *harness) {
				c := &digestClient{user: "bob", password: testPassword}
				login(t, h, c)
				resp := h.do(regReq{cseq: 2, contacts: []string{c1}, headers: []string{"Authorization: " + c.authorization(ruri)}})
				if err := checkStatus(resp, 200); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "the AOR's escaped user is the user name",
			run: func(t *testing.T, h *harness) {
				c := &digestClient{user: "alice", password: testPassword}
				login(t, h, c)
				resp := h.do(regReq{to: "<sip:%61lice@example.com>", cseq: 2, contacts: []string{c1}, headers: []string{"Authorization: " + c.authorization(ruri)}})
				if err := checkStatus(resp, 200); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "authentication before the AOR's domain",
			run: func(t *testing.T, h *harness) {
				resp := h.do(regReq{to: "<sip:alice@other.net>", contacts: []string{c1}})
				if err := checkStatus(resp, 401); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Domains: []string{testDomain}}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			tc.run(t, newHarness(t, cfg, true))
		})
	}
	t.Run("auth off: no challenge", func(t *testing.T) {
		h := newHarness(t, Config{Domains: []string{testDomain}}, false)
		resp := h.do(regReq{contacts: []string{c1}, headers: []string{`Authorization: Digest username="bob", realm="example.com", nonce="x", uri="sip:example.com", response="00"`}})
		if err := checkStatus(resp, 200); err != nil {
			t.Fatal(err)
		}
		if resp.Has("WWW-Authenticate") {
			t.Error("WWW-Authenticate with auth off")
		}
	})
	t.Run("user store failure is 500", func(t *testing.T) {
		h := newHarness(t, Config{Domains: []string{testDomain}}, false)
		cfg := Config{Domains: []string{testDomain}, Clock: h.clock.Now,
			Auth: auth.New(auth.Config{Clock: h.clock.Now}, failingUsers{newUserStore()})}
		reg, err := New(cfg, h.store)
		if err != nil {
			t.Fatal(err)
		}
		h.layer.SetCore(adapter{reg})
		// A challenge needs no user; credentials do.
		c := &digestClient{user: "alice", password: testPassword}
		c.read(t, h.do(regReq{contacts: []string{c1}}))
		resp := h.do(regReq{cseq: 2, contacts: []string{c1}, headers: []string{"Authorization: " + c.authorization(ruri)}})
		if err := checkStatus(resp, 500); err != nil {
			t.Fatal(err)
		}
	})
}

type failingUsers struct{ *userStore }

func (failingUsers) Get(context.Context, string, string) (auth.User, error) {
	return auth.User{}, errors.New("user store down")
}

func TestOwnAOR(t *testing.T) {
	for _, tc := range []struct {
		user, aor string
		want      bool
	}{
		{"alice", "sip:alice@example.com", true},
		{"alice", "sip:%61lice@example.com", true},
		{"Alice", "sip:alice@example.com", false},
		{"bob", "sip:alice@example.com", false},
		{"", "sip:example.com", false},
		{"j@s0n", "sip:j%40s0n@example.com", true},
	} {
		u, err := sip.ParseURI(tc.aor)
		if err != nil {
			t.Fatal(err)
		}
		if got := OwnAOR(tc.user, u); got != tc.want {
			t.Errorf("OwnAOR(%q, %s) = %v, want %v", tc.user, tc.aor, got, tc.want)
		}
	}
}
