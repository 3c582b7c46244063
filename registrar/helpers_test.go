package registrar

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
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
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// testClock is a settable clock for Config.Clock and the test store.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
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

// memStore is a map-and-mutex location.Store, as simple as can be: the
// real engines pass storagetest; this one only has to be right.
type memStore struct {
	clock func() time.Time

	mu      sync.Mutex
	m       map[string][]location.Binding
	err     error // returned by Apply and Lookup when set
	applies int
}

func newMemStore(clock func() time.Time) *memStore {
	return &memStore{clock: clock, m: make(map[string][]location.Binding)}
}

func (s *memStore) live(aor string) []location.Binding {
	now := s.clock()
	var out []location.Binding
	for _, b := range s.m[aor] {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out
}

func byQ(bs []location.Binding) []location.Binding {
	slices.SortStableFunc(bs, func(a, b location.Binding) int { return b.Q - a.Q })
	return bs
}

func (s *memStore) Lookup(_ context.Context, aor string) ([]location.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return byQ(s.live(aor)), nil
}

func (s *memStore) Apply(_ context.Context, aor string, fn func(cur []location.Binding) ([]location.Binding, error)) ([]location.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applies++
	if s.err != nil {
		return nil, s.err
	}
	next, err := fn(s.live(aor))
	if err != nil {
		return nil, err
	}
	for _, b := range next {
		if b.AOR != aor {
			return nil, fmt.Errorf("memstore: binding of %q applied to %q", b.AOR, aor)
		}
	}
	s.m[aor] = slices.Clone(next)
	return byQ(slices.Clone(next)), nil
}

func (s *memStore) Expire(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for aor, bs := range s.m {
		keep := bs[:0]
		for _, b := range bs {
			if b.Expires.After(now) {
				keep = append(keep, b)
			} else {
				n++
			}
		}
		s.m[aor] = keep
	}
	return n, nil
}

func (s *memStore) List(_ context.Context, offset, limit int) ([]location.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []location.Binding
	for aor := range s.m {
		all = append(all, s.live(aor)...)
	}
	slices.SortFunc(all, func(a, b location.Binding) int {
		return cmp.Or(strings.Compare(a.AOR, b.AOR), strings.Compare(a.Contact, b.Contact))
	})
	if offset > len(all) {
		return nil, nil
	}
	all = all[offset:]
	return all[:min(limit, len(all))], nil
}

func (s *memStore) Count(_ context.Context) (bindings, aors int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for aor := range s.m {
		if n := len(s.live(aor)); n > 0 {
			bindings += n
			aors++
		}
	}
	return bindings, aors, nil
}

// bindings returns the live bindings of aor ordered by contact.
func (s *memStore) bindings(aor string) []location.Binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	bs := s.live(aor)
	slices.SortFunc(bs, func(a, b location.Binding) int { return strings.Compare(a.Contact, b.Contact) })
	return bs
}

// put stores bindings as they are, for a test's starting state.
func (s *memStore) put(bs ...location.Binding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bs {
		s.m[b.AOR] = append(s.m[b.AOR], b)
	}
}

func (s *memStore) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// userStore is a map-based auth.UserStore.
type userStore struct {
	mu sync.Mutex
	m  map[[2]string]auth.User
}

func newUserStore(us ...auth.User) *userStore {
	s := &userStore{m: make(map[[2]string]auth.User)}
	for _, u := range us {
		s.m[[2]string{u.Username, u.Realm}] = u
	}
	return s
}

func (s *userStore) Get(_ context.Context, username, realm string) (auth.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.m[[2]string{username, realm}]
	if !ok {
		return auth.User{}, auth.ErrNoUser
	}
	return u, nil
}

func (s *userStore) Put(_ context.Context, u auth.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[[2]string{u.Username, u.Realm}] = u
	return nil
}

func (s *userStore) Delete(_ context.Context, username, realm string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[[2]string{username, realm}]; !ok {
		return auth.ErrNoUser
	}
	delete(s.m, [2]string{username, realm})
	return nil
}

func (s *userStore) List(_ context.Context, offset, limit int) ([]auth.User, error) {
	return nil, errors.New("userstore: List not needed")
}

// adapter is the transaction.Core the tests put over the registrar: it
// runs ServeSIP and, as the server does, sends the status of a returned
// error when no final response went out.
type adapter struct {
	h server.Handler
}

func (a adapter) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	err := a.h.ServeSIP(context.Background(), tx, req)
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
	resp.SetToTag(server.NewTag())
	tx.Respond(resp)
}

func (adapter) HandleStray(*transport.Inbound) {}

// harness is a registrar over a memStore, behind a transaction layer over
// a recording transport.
type harness struct {
	t     testing.TB
	clock *testClock
	store *memStore
	users *userStore
	reg   *Registrar
	layer *transaction.Layer
	tp    *siptest.Transport
	src   transport.Source
}

const (
	testDomain   = "example.com"
	testPassword = "secret"
)

// newHarness builds a registrar from cfg, whose Clock is set to the
// harness's when nil. withAuth adds an Authenticator knowing alice and bob
// of example.com.
func newHarness(t testing.TB, cfg Config, withAuth bool) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		clock: newTestClock(),
		tp:    &siptest.Transport{},
		src: transport.Source{
			Transport: "UDP",
			Remote:    netip.MustParseAddrPort("192.0.2.10:5062"),
			Local:     netip.MustParseAddrPort("192.0.2.1:5060"),
		},
	}
	h.store = newMemStore(h.clock.Now)
	if cfg.Clock == nil {
		cfg.Clock = h.clock.Now
	}
	if withAuth {
		h.users = newUserStore(
			auth.NewUser("alice", testDomain, testPassword),
			auth.NewUser("bob", testDomain, testPassword),
		)
		cfg.Auth = auth.New(auth.Config{Clock: h.clock.Now}, h.users)
	}
	reg, err := New(cfg, h.store)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.reg = reg
	t.Cleanup(func() {
		if reqs := h.tp.Requests(); len(reqs) != 0 {
			t.Errorf("the registrar sent %d requests; it sends none", len(reqs))
		}
	})
	h.layer = transaction.New(h.tp, transaction.Config{})
	h.layer.SetCore(adapter{reg})
	t.Cleanup(h.layer.Close)
	return h
}

// send hands req to the transaction layer as the transport would and
// returns the one response it got.
func (h *harness) send(req *sip.Request) *sip.Response {
	h.t.Helper()
	return h.tp.RoundTrip(h.t, h.layer, req, h.src)
}

// do builds and sends a REGISTER.
func (h *harness) do(r regReq) *sip.Response {
	h.t.Helper()
	return h.send(r.build(h.t))
}

var branchSeq atomic.Uint64

// regReq describes a REGISTER; zero fields take the defaults of build.
type regReq struct {
	ruri     string   // default sip:example.com
	to       string   // default <sip:alice@example.com>
	callID   string   // default reg-1@192.0.2.10
	cseq     uint32   // default 1
	contacts []string // Contact values, one line each
	expires  string   // Expires value; none when ""
	headers  []string // more header lines, "Name: value"
}

func (r regReq) build(t testing.TB) *sip.Request {
	t.Helper()
	ruri := cmp.Or(r.ruri, "sip:example.com")
	to := cmp.Or(r.to, "<sip:alice@example.com>")
	callID := cmp.Or(r.callID, "reg-1@192.0.2.10")
	cseq := cmp.Or(r.cseq, 1)
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER %s SIP/2.0\r\n", ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-reg-%d;rport\r\n", branchSeq.Add(1))
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: %s;tag=f%d\r\n", to, cseq)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	fmt.Fprintf(&b, "CSeq: %d REGISTER\r\n", cseq)
	for _, c := range r.contacts {
		fmt.Fprintf(&b, "Contact: %s\r\n", c)
	}
	if r.expires != "" {
		fmt.Fprintf(&b, "Expires: %s\r\n", r.expires)
	}
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

// contactsOf returns the Contact values of a response.
func contactsOf(t testing.TB, resp *sip.Response) []sip.Address {
	t.Helper()
	cs, err := resp.Contacts()
	if err != nil {
		t.Fatalf("response Contacts: %v\n%s", err, resp)
	}
	return cs
}

// expiresOf returns, by contact URI, the expires parameter of each Contact
// of a response; it fails the test for a Contact without one.
func expiresOf(t testing.TB, resp *sip.Response) map[string]int {
	t.Helper()
	m := make(map[string]int)
	for _, c := range contactsOf(t, resp) {
		n, ok := c.Expires()
		if !ok {
			t.Fatalf("Contact %s without expires parameter", c)
		}
		m[c.URI.String()] = n
	}
	return m
}

// checkStatus compares a response's status code with want.
func checkStatus(resp *sip.Response, want int) error {
	if resp.StatusCode != want {
		return fmt.Errorf("status %d %q, want %d\n%s", resp.StatusCode, resp.Reason, want, resp)
	}
	return nil
}

// digestClient answers 401 challenges for one user, as a UA does.
type digestClient struct {
	user, password string
	ch             sip.Challenge
	nc             uint32
}

// read takes the first challenge of a 401.
func (c *digestClient) read(t testing.TB, resp *sip.Response) {
	t.Helper()
	if resp.StatusCode != sip.StatusUnauthorized {
		t.Fatalf("status %d, want 401\n%s", resp.StatusCode, resp)
	}
	ch, err := sip.ParseChallenge(resp.Get("WWW-Authenticate"))
	if err != nil {
		t.Fatalf("parse challenge: %v", err)
	}
	c.ch, c.nc = ch, 0
}

// authorization returns an Authorization value for a REGISTER to ruri.
func (c *digestClient) authorization(ruri string) string {
	c.nc++
	nc := fmt.Sprintf("%08x", c.nc)
	cnonce := fmt.Sprintf("cn%d", c.nc)
	ha1 := auth.HA1(c.ch.Algorithm, c.user, c.ch.Realm, c.password)
	cred := sip.Credentials{
		Scheme:    "Digest",
		Username:  c.user,
		Realm:     c.ch.Realm,
		Nonce:     c.ch.Nonce,
		URI:       ruri,
		Algorithm: c.ch.Algorithm,
		CNonce:    cnonce,
		QOP:       "auth",
		NC:        nc,
		Response:  auth.Response(c.ch.Algorithm, ha1, c.ch.Nonce, nc, cnonce, "auth", sip.MethodRegister, ruri),
	}
	return cred.String()
}
