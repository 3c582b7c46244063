package redirect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
)

const (
	aliceAOR = "sip:alice@example.com"
	u1       = "sip:alice@192.0.2.10:5062"
	u2       = "sip:alice@198.51.100.7:5060;transport=tcp"
	u3       = "sip:alice@203.0.113.9"
	u4       = "sips:alice@[2001:db8::4]:5061"
)

type redirectCase struct {
	name     string
	cfg      func(*Config)
	noUsers  bool // the server gets a nil UserStore
	bindings func(h *harness) []location.Binding
	advance  time.Duration // the server's clock moves on this much first
	req      request
	code     int
	reason   string   // checked when not ""
	contacts []string // the Contact lines of a 302, in order
	check    func(req *sip.Request, resp *sip.Response) error
}

func runCases(t *testing.T, cases []redirectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Domains: []string{testDomain}}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			h := newHarness(t, cfg, !tc.noUsers)
			if tc.bindings != nil {
				h.put(tc.bindings(h)...)
			}
			h.clock.Advance(tc.advance)
			req := tc.req.build(t)
			resp, herr := h.send(t, req)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d %q, want %d (ServeSIP: %v)\n%s", resp.StatusCode, resp.Reason, tc.code, herr, resp)
			}
			if tc.reason != "" && resp.Reason != tc.reason {
				t.Errorf("reason %q, want %q", resp.Reason, tc.reason)
			}
			if err := checkCommon(resp); err != nil {
				t.Error(err)
			}
			if tc.code == sip.StatusMovedTemporarily || tc.contacts != nil {
				if got := contactLines(resp); !slices.Equal(got, tc.contacts) {
					t.Errorf("Contacts\n got %q\nwant %q", got, tc.contacts)
				}
			}
			switch code, _ := sip.StatusOf(herr); {
			case tc.code == sip.StatusMovedTemporarily || tc.code == sip.StatusBadExtension:
				if herr != nil {
					t.Errorf("ServeSIP = %v after sending %d itself", herr, tc.code)
				}
			case code != tc.code:
				t.Errorf("ServeSIP = %v, want an error carrying %d", herr, tc.code)
			}
			if tc.check != nil {
				if err := tc.check(req, resp); err != nil {
					t.Errorf("%v\n%s", err, resp)
				}
			}
		})
	}
}

// alice returns bindings of alice's AOR: specs are triples of contact
// (string), q times 1000 (int) and lifetime from the harness's start
// (time.Duration).
func alice(specs ...any) func(h *harness) []location.Binding {
	return func(h *harness) []location.Binding {
		var bs []location.Binding
		for i := 0; i < len(specs); i += 3 {
			bs = append(bs, h.binding(aliceAOR, specs[i].(string), specs[i+1].(int), specs[i+2].(time.Duration)))
		}
		return bs
	}
}

// RFC 3261 §8.3, §21.3.3: the 302 lists the live bindings, highest q first.
func TestMovedTemporarily(t *testing.T) {
	runCases(t, []redirectCase{
		{
			name:     "one binding",
			bindings: alice(u1, 1000, time.Hour),
			code:     302,
			reason:   "Moved Temporarily",
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name: "highest q first, q shown when not 1",
			bindings: alice(
				u3, 125, time.Minute,
				u1, 0, 2*time.Hour,
				u2, 500, 30*time.Minute,
				u4, 1000, time.Hour,
			),
			code: 302,
			contacts: []string{
				"<" + u4 + ">;expires=3600",
				"<" + u2 + ">;q=0.5;expires=1800",
				"<" + u3 + ">;q=0.125;expires=60",
				"<" + u1 + ">;q=0;expires=7200",
			},
		},
		{
			name:     "expires counts down with the clock and rounds up",
			bindings: alice(u1, 1000, time.Hour),
			advance:  10*time.Minute + 500*time.Millisecond,
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3000"},
		},
		{
			name: "the binding's other parameters are not shown",
			bindings: func(h *harness) []location.Binding {
				b := h.binding(aliceAOR, u2, 700, time.Hour)
				b.Params = `;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1`
				b.Path = []string{"<sip:edge.example.com;lr>"}
				return []location.Binding{b}
			},
			code:     302,
			contacts: []string{"<" + u2 + ">;q=0.7;expires=3600"},
		},
		{
			name: "expired bindings are ignored",
			bindings: alice(
				u1, 1000, -time.Second, // expired for the store
				u2, 1000, time.Minute, // expired for the server's clock
				u3, 500, time.Hour,
			),
			advance:  2 * time.Minute,
			code:     302,
			contacts: []string{"<" + u3 + ">;q=0.5;expires=3480"},
		},
		{
			name: "only the Request-URI's AOR",
			bindings: func(h *harness) []location.Binding {
				return []location.Binding{
					h.binding(aliceAOR, u1, 1000, time.Hour),
					h.binding("sip:carol@example.com", u3, 1000, time.Hour),
					h.binding("sip:alice@example.org", u2, 1000, time.Hour),
				}
			},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name:     "sips Request-URI finds the sip AOR's bindings",
			bindings: alice(u1, 1000, time.Hour, u4, 900, time.Hour),
			req:      request{ruri: "sips:alice@example.com"},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600", "<" + u4 + ">;q=0.9;expires=3600"},
		},
		{
			name:     "escaped user",
			bindings: alice(u1, 1000, time.Hour),
			req:      request{ruri: "sip:%61lic%65@example.com"},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name: "user needing an escape",
			bindings: func(h *harness) []location.Binding {
				return []location.Binding{h.binding("sip:a%40b@example.com", u1, 1000, time.Hour)}
			},
			req:      request{ruri: "sip:a%40b@example.com"},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name:     "domain in another case, port and parameters ignored",
			bindings: alice(u1, 1000, time.Hour),
			req:      request{ruri: "sip:alice@EXAMPLE.Com:5060;transport=udp;user=phone"},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name: "another served domain",
			cfg:  func(c *Config) { c.Domains = []string{"example.com", "Example.ORG"} },
			bindings: func(h *harness) []location.Binding {
				return []location.Binding{h.binding("sip:alice@example.org", u1, 1000, time.Hour)}
			},
			req:      request{ruri: "sip:alice@example.org"},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name: "no Domains: any domain",
			cfg:  func(c *Config) { c.Domains = nil },
			bindings: func(h *harness) []location.Binding {
				return []location.Binding{h.binding("sip:alice@anything.test", u1, 1000, time.Hour)}
			},
			req:      request{ruri: "sip:alice@Anything.TEST"},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name:     "a contact equal to the Request-URI is left out",
			bindings: alice("sip:alice@example.com", 1000, time.Hour, u1, 500, time.Hour),
			code:     302,
			contacts: []string{"<" + u1 + ">;q=0.5;expires=3600"},
		},
		{
			name:     "Max-Forwards 0 is no matter",
			bindings: alice(u1, 1000, time.Hour),
			req:      request{headers: []string{"Max-Forwards: 0"}},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name:     "Proxy-Require is for proxies",
			bindings: alice(u1, 1000, time.Hour),
			req:      request{headers: []string{"Proxy-Require: foo"}},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name:     "no Record-Route in a 3xx",
			bindings: alice(u1, 1000, time.Hour),
			req:      request{headers: []string{"Record-Route: <sip:p1.example.net;lr>"}},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
		{
			name:     "a To tag is kept",
			bindings: alice(u1, 1000, time.Hour),
			req:      request{toTag: "t-existing"},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
			check: func(_ *sip.Request, resp *sip.Response) error {
				if got := resp.ToTag(); got != "t-existing" {
					return fmt.Errorf("To tag %q, want t-existing", got)
				}
				return nil
			},
		},
		{
			name:     "without a UserStore as with one",
			noUsers:  true,
			bindings: alice(u1, 1000, time.Hour),
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		},
	})
}

// Every method but REGISTER, ACK and CANCEL is redirected.
func TestMethods(t *testing.T) {
	var cases []redirectCase
	for _, m := range []string{
		sip.MethodInvite, sip.MethodOptions, sip.MethodMessage, sip.MethodSubscribe,
		sip.MethodBye, sip.MethodInfo, sip.MethodRefer, sip.MethodPublish, "FOO",
	} {
		cases = append(cases, redirectCase{
			name:     m,
			bindings: alice(u1, 1000, time.Hour),
			req:      request{method: m},
			code:     302,
			contacts: []string{"<" + u1 + ">;expires=3600"},
		})
	}
	runCases(t, cases)
}

// No bindings: 480 for a known user, 404 otherwise.
func TestNoBinding(t *testing.T) {
	runCases(t, []redirectCase{
		{
			name:   "known user is 480",
			code:   480,
			reason: "Temporarily Unavailable",
		},
		{
			name:     "known user with expired bindings only is 480",
			bindings: alice(u1, 1000, -time.Second, u2, 1000, time.Minute),
			advance:  time.Minute,
			code:     480,
		},
		{
			name: "known user, others' bindings do not count",
			bindings: func(h *harness) []location.Binding {
				return []location.Binding{h.binding("sip:alice@example.org", u1, 1000, time.Hour)}
			},
			code: 480,
		},
		{
			name:   "unknown user is 404",
			req:    request{ruri: "sip:dave@example.com"},
			code:   404,
			reason: "Not Found",
		},
		{
			name: "user names are case-sensitive",
			req:  request{ruri: "sip:Alice@example.com"},
			code: 404,
		},
		{
			name: "escaped known user is 480",
			req:  request{ruri: "sip:%61lice@example.com"},
			code: 480,
		},
		{
			name: "known user, domain in another case and sips: realm is the domain in lower case",
			req:  request{ruri: "sips:carol@Example.COM"},
			code: 480,
		},
		{
			name: "user known in another realm only is 404",
			cfg:  func(c *Config) { c.Domains = []string{"example.com", "example.org"} },
			req:  request{ruri: "sip:alice@example.org"},
			code: 404,
		},
		{
			name:    "without a UserStore a known user is 404",
			noUsers: true,
			code:    404,
		},
		{
			name:     "the only contact is the Request-URI: 404 (§8.3)",
			bindings: alice("sip:alice@example.com", 1000, time.Hour),
			code:     404,
			reason:   "Not Found - redirect loop",
		},
	})
}

// RFC 3261 §8.2.2.3: the redirect server supports no extension.
func TestRequire(t *testing.T) {
	wantUnsupported := func(tags ...string) func(*sip.Request, *sip.Response) error {
		return func(_ *sip.Request, resp *sip.Response) error {
			if got := resp.OptionTags("Unsupported"); !slices.Equal(got, tags) {
				return fmt.Errorf("Unsupported %q, want %q", got, tags)
			}
			return nil
		}
	}
	runCases(t, []redirectCase{
		{
			name:     "any option tag is 420",
			bindings: alice(u1, 1000, time.Hour),
			req:      request{headers: []string{"Require: 100rel"}},
			code:     420,
			reason:   "Bad Extension",
			check:    wantUnsupported("100rel"),
		},
		{
			name:     "every tag is listed",
			bindings: alice(u1, 1000, time.Hour),
			req:      request{method: sip.MethodMessage, headers: []string{"Require: foo, timer", "Require: bar"}},
			code:     420,
			check:    wantUnsupported("foo", "timer", "bar"),
		},
		{
			name:  "before the lookup: unknown user is 420 too",
			req:   request{ruri: "sip:dave@example.com", headers: []string{"Require: foo"}},
			code:  420,
			check: wantUnsupported("foo"),
		},
	})
}

// Requests that are not the redirect server's go to the next handler.
func TestNotHandled(t *testing.T) {
	h := newHarness(t, Config{Domains: []string{testDomain}}, true)
	h.put(h.binding(aliceAOR, u1, 1000, time.Hour))
	for _, tc := range []struct {
		name string
		req  request
	}{
		{"other domain", request{ruri: "sip:alice@other.net"}},
		{"subdomain", request{ruri: "sip:alice@sub.example.com"}},
		{"no user part", request{method: sip.MethodOptions, ruri: "sip:example.com"}},
		{"empty user with host served", request{ruri: "sip:example.com;user=phone"}},
		{"tel URI", request{ruri: "tel:+15551234567"}},
		{"other scheme", request{ruri: "urn:service:sos"}},
		{"REGISTER", request{method: sip.MethodRegister}},
		{"REGISTER for the domain", request{method: sip.MethodRegister, ruri: "sip:example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.send(t, tc.req.build(t))
			if !errors.Is(err, server.ErrNotHandled) {
				t.Fatalf("ServeSIP = %v, want ErrNotHandled", err)
			}
			if resp.StatusCode != sip.StatusNotImplemented {
				t.Errorf("status %d: the redirect server answered\n%s", resp.StatusCode, resp)
			}
		})
	}
}

// ACK and CANCEL are never answered by the redirect server.
func TestAckCancel(t *testing.T) {
	h := newHarness(t, Config{Domains: []string{testDomain}}, true)
	h.put(h.binding(aliceAOR, u1, 1000, time.Hour))

	t.Run("CANCEL of a redirected INVITE", func(t *testing.T) {
		inv := request{branch: "z9hG4bK-cancel-1", callID: "cancel-1@192.0.2.20"}
		resp, err := h.send(t, inv.build(t))
		if err != nil || resp.StatusCode != sip.StatusMovedTemporarily {
			t.Fatalf("INVITE: %d, %v", resp.StatusCode, err)
		}
		cancel := inv
		cancel.method = sip.MethodCancel
		resp, err = h.send(t, cancel.build(t))
		if !errors.Is(err, server.ErrNotHandled) {
			t.Fatalf("ServeSIP(CANCEL) = %v, want ErrNotHandled", err)
		}
		if resp.StatusCode != sip.StatusNotImplemented {
			t.Errorf("CANCEL answered %d by the redirect server", resp.StatusCode)
		}
	})

	t.Run("ACK of the 302 is absorbed", func(t *testing.T) {
		inv := request{branch: "z9hG4bK-ack-1", callID: "ack-1@192.0.2.20"}
		resp, _ := h.send(t, inv.build(t))
		ack := inv
		ack.method = sip.MethodAck
		ack.toTag = resp.ToTag()
		h.inbound(ack.build(t))
		if rs := h.tp.take(inv.branch); len(rs) != 0 {
			t.Errorf("ACK answered: %v", rs)
		}
		if _, called := h.core.result(inv.callID, sip.MethodAck); called {
			t.Error("the ACK of a 302 reached ServeSIP")
		}
	})

	t.Run("stray ACK", func(t *testing.T) {
		ack := request{method: sip.MethodAck, toTag: "t1", branch: "z9hG4bK-ack-2", callID: "ack-2@192.0.2.20"}
		h.inbound(ack.build(t))
		if rs := h.tp.take(ack.branch); len(rs) != 0 {
			t.Errorf("ACK answered: %v", rs)
		}
		err, called := h.core.result(ack.callID, sip.MethodAck)
		if !called || !errors.Is(err, server.ErrNotHandled) {
			t.Errorf("ServeSIP(ACK) = %v (called %v), want ErrNotHandled", err, called)
		}
	})

	// Without a transaction: ServeSIP must not touch tx for these.
	for _, m := range []string{sip.MethodAck, sip.MethodCancel, sip.MethodRegister} {
		t.Run(m+" without transaction", func(t *testing.T) {
			err := h.red.ServeSIP(context.Background(), nil, request{method: m}.build(t))
			if !errors.Is(err, server.ErrNotHandled) {
				t.Errorf("ServeSIP(%s) = %v, want ErrNotHandled", m, err)
			}
		})
	}
}

// A Request-URI set by code with a malformed escape (the parser refuses
// one) is a bad request, not a lookup.
func TestBadEscape(t *testing.T) {
	h := newHarness(t, Config{Domains: []string{testDomain}}, true)
	req := request{}.build(t)
	req.URI.User = "%zz"
	code, _ := sip.StatusOf(h.red.ServeSIP(context.Background(), nil, req))
	if code != sip.StatusBadRequest {
		t.Errorf("status %d, want 400", code)
	}
}

// Store failures are errors that the server answers 500, with the cause kept.
func TestStoreFailure(t *testing.T) {
	errStore := errors.New("store down")
	for _, tc := range []struct {
		name  string
		loc   func(h *harness) location.Store
		users func(h *harness) auth.UserStore
		ruri  string
	}{
		{
			name:  "location lookup",
			loc:   func(h *harness) location.Store { return failingStore{h.store, errStore} },
			users: func(h *harness) auth.UserStore { return h.store.Users() },
		},
		{
			name:  "user lookup",
			loc:   func(h *harness) location.Store { return h.store },
			users: func(h *harness) auth.UserStore { return failingUsers{h.store.Users(), errStore} },
			ruri:  "sip:dave@example.com",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, true)
			red, err := New(Config{Domains: []string{testDomain}, Clock: h.clock.Now}, tc.loc(h), tc.users(h))
			if err != nil {
				t.Fatal(err)
			}
			h.start(red)
			resp, herr := h.send(t, request{ruri: tc.ruri}.build(t))
			if !errors.Is(herr, errStore) {
				t.Errorf("ServeSIP = %v, want it to wrap %v", herr, errStore)
			}
			if resp.StatusCode != sip.StatusInternalServerError {
				t.Errorf("status %d, want 500", resp.StatusCode)
			}
		})
	}
}

// The server orders by q itself, keeping the store's order among equals.
func TestOrderWhateverTheStore(t *testing.T) {
	h := newHarness(t, Config{}, false)
	bs := []location.Binding{
		h.binding(aliceAOR, u1, 100, time.Hour),
		h.binding(aliceAOR, u2, 1000, time.Hour),
		h.binding(aliceAOR, u3, 100, time.Hour),
		h.binding(aliceAOR, u4, 800, time.Hour),
	}
	orig := slices.Clone(bs)
	red, err := New(Config{Clock: h.clock.Now}, fixedStore{h.store, bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.start(red)
	resp, _ := h.send(t, request{}.build(t))
	want := []string{
		"<" + u2 + ">;expires=3600",
		"<" + u4 + ">;q=0.8;expires=3600",
		"<" + u1 + ">;q=0.1;expires=3600",
		"<" + u3 + ">;q=0.1;expires=3600",
	}
	if got := contactLines(resp); !slices.Equal(got, want) {
		t.Errorf("Contacts\n got %q\nwant %q", got, want)
	}
	for i := range bs {
		if bs[i].Contact != orig[i].Contact {
			t.Fatal("ServeSIP reordered the store's slice")
		}
	}
}

// A malformed stored contact is skipped, not sent.
func TestMalformedContact(t *testing.T) {
	h := newHarness(t, Config{}, true)
	h.put(h.binding(aliceAOR, "sip:alice@bad host", 1000, time.Hour), h.binding(aliceAOR, u1, 500, time.Hour))
	resp, _ := h.send(t, request{}.build(t))
	if got, want := contactLines(resp), []string{"<" + u1 + ">;q=0.5;expires=3600"}; !slices.Equal(got, want) {
		t.Errorf("Contacts %q, want %q", got, want)
	}
}

func TestLogger(t *testing.T) {
	var buf safeBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, Config{Domains: []string{testDomain}, Logger: log}, true)
	h.put(h.binding(aliceAOR, u1, 1000, time.Hour))
	h.send(t, request{}.build(t))
	h.send(t, request{ruri: "sip:dave@example.com"}.build(t))
	out := buf.String()
	for _, want := range []string{"component=redirect", "msg=redirected", "aor=sip:alice@example.com", "contacts=1",
		"msg=\"not redirected\"", "aor=sip:dave@example.com", "status=404"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// Concurrent requests through one server, for the race detector.
func TestConcurrent(t *testing.T) {
	h := newHarness(t, Config{Domains: []string{testDomain}}, true)
	h.put(h.binding(aliceAOR, u1, 1000, time.Hour), h.binding(aliceAOR, u2, 500, time.Hour))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				resp, _ := h.send(t, request{}.build(t))
				if resp.StatusCode != sip.StatusMovedTemporarily || len(contactLines(resp)) != 2 {
					t.Errorf("status %d, Contacts %q", resp.StatusCode, contactLines(resp))
					return
				}
			}
		})
	}
	wg.Wait()
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
