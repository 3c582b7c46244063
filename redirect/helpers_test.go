package redirect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/siptest"
	"github.com/sipd/sipd/storage/memory"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// testClock is a settable clock for Config.Clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// recTransport is the recording transport of the tests; take is its
// Take, the name the tests use.
type recTransport struct{ siptest.Transport }

func (f *recTransport) take(branch string) []*sip.Response { return f.Take(branch) }

// adapter is the transaction.Core the tests put over the redirect server:
// it runs ServeSIP and, as the server does, sends the status of a returned
// error when no final response went out (501 for ErrNotHandled, so a test
// sees it). It keeps what ServeSIP returned for each Call-ID. ACKs and
// CANCELs the layer gives to HandleStray go to ServeSIP without a
// transaction, as a core that passed them on would.
type adapter struct {
	h server.Handler

	mu   sync.Mutex
	errs map[string]error // by Call-ID and method
}

func (a *adapter) record(req *sip.Request, err error) {
	a.mu.Lock()
	a.errs[req.CallID()+" "+req.Method] = err
	a.mu.Unlock()
}

// result returns what ServeSIP returned for the request of callID and
// method, and whether it was called.
func (a *adapter) result(callID, method string) (error, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	err, ok := a.errs[callID+" "+method]
	return err, ok
}

func (a *adapter) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	err := a.h.ServeSIP(context.Background(), tx, req)
	a.record(req, err)
	switch tx.State() {
	case transaction.StateTrying, transaction.StateProceeding:
	default:
		return // answered
	}
	code, reason := sip.StatusOf(err)
	switch {
	case err == nil:
		code, reason = 599, "Handler Returned Nil Without Answering"
	case errors.Is(err, server.ErrNotHandled):
		code, reason = sip.StatusNotImplemented, ""
	}
	resp := sip.NewResponse(req, code, reason)
	if req.ToTag() == "" {
		resp.SetToTag(server.NewTag())
	}
	tx.Respond(resp)
}

func (a *adapter) HandleStray(in *transport.Inbound) {
	if req, ok := in.Msg.(*sip.Request); ok {
		a.record(req, a.h.ServeSIP(context.Background(), nil, req))
	}
}

// harness is a redirect server over a storage/memory store, behind a
// transaction layer over a recording transport.
type harness struct {
	t     testing.TB
	clock *testClock
	store *memory.Store
	red   *Redirect
	core  *adapter
	layer *transaction.Layer
	tp    *recTransport
	src   transport.Source
}

const testDomain = "example.com"

// newHarness builds a redirect server from cfg, whose Clock is set to the
// harness's when nil. With withUsers the server gets the store's users,
// where alice and carol of example.com are known; without, it gets nil.
//
// The memory store drops expired bindings by the wall clock, so the
// harness's clock starts at the wall clock's current second: a binding
// expiring a few seconds after it is live for both.
func newHarness(t testing.TB, cfg Config, withUsers bool) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		clock: &testClock{now: time.Now().Truncate(time.Second)},
		store: memory.New(),
		tp:    &recTransport{},
		src: transport.Source{
			Transport: "UDP",
			Remote:    netip.MustParseAddrPort("192.0.2.20:5060"),
			Local:     netip.MustParseAddrPort("192.0.2.1:5060"),
		},
	}
	ctx := context.Background()
	for _, u := range []auth.User{
		auth.NewUser("alice", testDomain, "secret"),
		auth.NewUser("carol", testDomain, "secret"),
	} {
		if err := h.store.Users().Put(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = h.clock.Now
	}
	var users auth.UserStore
	if withUsers {
		users = h.store.Users()
	}
	red, err := New(cfg, h.store, users)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if reqs := h.tp.Requests(); len(reqs) != 0 {
			t.Errorf("the redirect server sent %d requests; it sends none", len(reqs))
		}
	})
	h.start(red)
	return h
}

// start puts red behind the harness's transaction layer.
func (h *harness) start(red *Redirect) {
	h.red = red
	h.core = &adapter{h: red, errs: make(map[string]error)}
	h.layer = transaction.New(h.tp, transaction.Config{})
	h.layer.SetCore(h.core)
	h.t.Cleanup(h.layer.Close)
}

// put stores bindings, grouped by their AOR, as the registrar would.
func (h *harness) put(bs ...location.Binding) {
	h.t.Helper()
	byAOR := make(map[string][]location.Binding)
	for _, b := range bs {
		byAOR[b.AOR] = append(byAOR[b.AOR], b)
	}
	for aor, set := range byAOR {
		_, err := h.store.Apply(context.Background(), aor, func(cur []location.Binding) ([]location.Binding, error) {
			return append(cur, set...), nil
		})
		if err != nil {
			h.t.Fatalf("put %s: %v", aor, err)
		}
	}
}

// binding returns a binding of aor to contact with q (times 1000) that
// expires in the given time after the harness's start.
func (h *harness) binding(aor, contact string, q int, expires time.Duration) location.Binding {
	start := h.clock.Now()
	return location.Binding{
		AOR:       aor,
		Contact:   contact,
		Q:         q,
		Expires:   start.Add(expires),
		CallID:    "reg-" + contact,
		CSeq:      1,
		Transport: "UDP",
		Updated:   start,
	}
}

// inbound hands req to the transaction layer as the transport would.
func (h *harness) inbound(req *sip.Request) {
	siptest.Deliver(h.layer, req, h.src)
}

// send hands req to the transaction layer and returns the one response it
// got and what ServeSIP returned. t is the calling (sub)test.
func (h *harness) send(t testing.TB, req *sip.Request) (*sip.Response, error) {
	t.Helper()
	resp := h.tp.RoundTrip(t, h.layer, req, h.src)
	herr, ok := h.core.result(req.CallID(), req.Method)
	if !ok {
		t.Fatalf("ServeSIP not called for %s %s", req.Method, req.URI)
	}
	return resp, herr
}

var seq atomic.Uint64

// request describes a request; zero fields take the defaults of build.
type request struct {
	method  string   // default INVITE
	ruri    string   // default sip:alice@example.com
	toTag   string   // none when ""
	branch  string   // default a fresh one
	callID  string   // default a fresh one
	headers []string // more header lines, "Name: value"
}

func (r request) build(t testing.TB) *sip.Request {
	t.Helper()
	n := seq.Add(1)
	method := cmp.Or(r.method, sip.MethodInvite)
	ruri := cmp.Or(r.ruri, "sip:alice@example.com")
	branch := cmp.Or(r.branch, fmt.Sprintf("z9hG4bK-rd-%d", n))
	callID := cmp.Or(r.callID, fmt.Sprintf("rd-%d@192.0.2.20", n))
	to := "<" + ruri + ">"
	if r.toTag != "" {
		to += ";tag=" + r.toTag
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP 192.0.2.20:5060;branch=%s;rport\r\n", branch)
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("From: \"Bob\" <sip:bob@example.net>;tag=fb1\r\n")
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	fmt.Fprintf(&b, "CSeq: 1 %s\r\n", method)
	b.WriteString("Contact: <sip:bob@192.0.2.20:5060>\r\n")
	for _, hl := range r.headers {
		b.WriteString(hl + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	req, err := sip.ParseRequest([]byte(b.String()))
	if err != nil {
		t.Fatalf("parse request: %v\n%s", err, b.String())
	}
	return req
}

// contactLines returns the Contact header field values of a response, one
// per line, as sent.
func contactLines(resp *sip.Response) []string {
	var out []string
	for v := range resp.Lines("Contact") {
		out = append(out, v)
	}
	return out
}

// checkCommon checks what every answer carries: a To tag (RFC 3261
// §8.2.6.2), Contacts only in a 302, and no Record-Route (a 3xx creates no
// dialog).
func checkCommon(resp *sip.Response) error {
	if resp.ToTag() == "" {
		return fmt.Errorf("response without To tag\n%s", resp)
	}
	if resp.StatusCode != sip.StatusMovedTemporarily && resp.Has("Contact") {
		return fmt.Errorf("%d with Contact\n%s", resp.StatusCode, resp)
	}
	if resp.Has("Record-Route") {
		return fmt.Errorf("%d with Record-Route\n%s", resp.StatusCode, resp)
	}
	return nil
}

// failingStore is a location.Store whose Lookup fails.
type failingStore struct {
	location.Store
	err error
}

func (s failingStore) Lookup(context.Context, string) ([]location.Binding, error) {
	return nil, s.err
}

// fixedStore is a location.Store whose Lookup returns bs as they are, in
// whatever order, for every AOR.
type fixedStore struct {
	location.Store
	bs []location.Binding
}

func (s fixedStore) Lookup(context.Context, string) ([]location.Binding, error) {
	return s.bs, nil
}

// failingUsers is an auth.UserStore whose Get fails.
type failingUsers struct {
	auth.UserStore
	err error
}

func (u failingUsers) Get(context.Context, string, string) (auth.User, error) {
	return auth.User{}, u.err
}
