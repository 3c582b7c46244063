package transaction

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// errNet is the failure the fake transport returns.
var errNet = errors.New("fake: network unreachable")

// sentMsg is one message the fake transport was given.
type sentMsg struct {
	at     time.Duration // since the transport was made
	wire   string        // the message as it was when sent
	method string        // request method, or "" for a response
	code   int           // response status, or 0 for a request
	dst    transport.Target
	src    transport.Source
	failed bool
}

// fakeTransport records every message sent, with the fake clock's time,
// and fails sends on demand. It never calls back into the layer.
type fakeTransport struct {
	mu    sync.Mutex
	start time.Time
	sent  []sentMsg
	fail  int // the next fail sends fail; -1: all fail
}

func newFakeTransport() *fakeTransport { return &fakeTransport{start: time.Now()} }

func (f *fakeTransport) record(m sentMsg) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m.at = time.Since(f.start)
	if f.fail != 0 {
		if f.fail > 0 {
			f.fail--
		}
		m.failed = true
		f.sent = append(f.sent, m)
		return errNet
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeTransport) SendRequest(req *sip.Request, dst transport.Target) error {
	return f.record(sentMsg{wire: req.String(), method: req.Method, dst: dst})
}

func (f *fakeTransport) SendResponse(resp *sip.Response, src transport.Source) error {
	return f.record(sentMsg{wire: resp.String(), code: resp.StatusCode, src: src})
}

func (f *fakeTransport) failNext(n int) {
	f.mu.Lock()
	f.fail = n
	f.mu.Unlock()
}

func (f *fakeTransport) all() []sentMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// times returns when the messages that pass keep were sent (and did not fail).
func (f *fakeTransport) times(keep func(m sentMsg) bool) []time.Duration {
	var ts []time.Duration
	for _, m := range f.all() {
		if !m.failed && keep(m) {
			ts = append(ts, m.at)
		}
	}
	return ts
}

func (f *fakeTransport) requestTimes(method string) []time.Duration {
	return f.times(func(m sentMsg) bool { return m.method == method })
}

func (f *fakeTransport) responseTimes(code int) []time.Duration {
	return f.times(func(m sentMsg) bool { return m.code == code })
}

// last returns the last message sent with the method (or status code).
func (f *fakeTransport) last(t *testing.T, method string, code int) sentMsg {
	t.Helper()
	all := f.all()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].method == method && all[i].code == code {
			return all[i]
		}
	}
	t.Fatalf("nothing sent with method %q code %d", method, code)
	return sentMsg{}
}

// event is something the TU was told, with the time.
type event struct {
	at   time.Duration
	code int   // a response's status
	err  error // an error
}

// recHandler is a ClientHandler that records what it hears.
type recHandler struct {
	mu         sync.Mutex
	start      time.Time
	events     []event
	onResponse func(tx *ClientTx, resp *sip.Response)
}

func (h *recHandler) HandleResponse(tx *ClientTx, resp *sip.Response) {
	h.mu.Lock()
	h.events = append(h.events, event{at: time.Since(h.start), code: resp.StatusCode})
	f := h.onResponse
	h.mu.Unlock()
	if f != nil {
		f(tx, resp)
	}
}

func (h *recHandler) HandleError(tx *ClientTx, err error) {
	h.mu.Lock()
	h.events = append(h.events, event{at: time.Since(h.start), err: err})
	h.mu.Unlock()
}

func (h *recHandler) all() []event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// recCore is a Core and ServerErrorHandler that records what it hears and
// can answer new requests at once.
type recCore struct {
	mu        sync.Mutex
	start     time.Time
	txs       []*ServerTx
	reqs      []*sip.Request // the request of each of txs, kept by the TU
	strays    []*transport.Inbound
	errs      []event
	onRequest func(tx *ServerTx, req *sip.Request)
}

func (c *recCore) HandleRequest(tx *ServerTx, req *sip.Request) {
	c.mu.Lock()
	c.txs = append(c.txs, tx)
	c.reqs = append(c.reqs, req)
	f := c.onRequest
	c.mu.Unlock()
	if f != nil {
		f(tx, req)
	}
}

func (c *recCore) HandleStray(in *transport.Inbound) {
	c.mu.Lock()
	c.strays = append(c.strays, in)
	c.mu.Unlock()
}

func (c *recCore) HandleServerError(tx *ServerTx, err error) {
	c.mu.Lock()
	c.errs = append(c.errs, event{at: time.Since(c.start), err: err})
	c.mu.Unlock()
}

func (c *recCore) requests() []*ServerTx {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.txs)
}

// reqOf returns the request the TU got with tx: tx.Request is nil once a
// final response was sent.
func (c *recCore) reqOf(tx *ServerTx) *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs[slices.Index(c.txs, tx)]
}

func (c *recCore) strayMsgs() []*transport.Inbound {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.strays)
}

func (c *recCore) serverErrs() []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errs)
}

// harness is a layer over a fake transport with a recording core, made
// inside a synctest bubble so that its clock is fake.
type harness struct {
	t     *testing.T
	start time.Time
	tp    *fakeTransport
	l     *Layer
	core  *recCore
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, start: time.Now(), tp: newFakeTransport()}
	h.core = &recCore{start: h.start}
	h.l = New(h.tp, Config{})
	h.l.SetCore(h.core)
	return h
}

// until sleeps until d after the start and lets every timer due by then run.
func (h *harness) until(d time.Duration) {
	h.t.Helper()
	now := time.Since(h.start)
	if d < now {
		h.t.Fatalf("until(%v): it is already %v", d, now)
	}
	time.Sleep(d - now)
	synctest.Wait()
}

// inject hands a message to the layer as the transport would.
func (h *harness) inject(m sip.Message, tr string) {
	h.l.HandleInbound(&transport.Inbound{Msg: m, Source: source(tr)})
	synctest.Wait()
}

// checkEmpty fails unless every map of the layer is empty.
func (h *harness) checkEmpty() {
	h.t.Helper()
	if err := checkEmpty(h.l); err != nil {
		h.t.Error(err)
	}
}

func checkEmpty(l *Layer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, m, k := len(l.clients), len(l.servers), len(l.legacy); n+m+k != 0 {
		return fmt.Errorf("layer holds %d client, %d server and %d RFC 2543 server transactions, want none", n, m, k)
	}
	return nil
}

func source(tr string) transport.Source {
	return transport.Source{
		Transport: tr,
		Remote:    netip.MustParseAddrPort("192.0.2.10:5060"),
		Local:     netip.MustParseAddrPort("192.0.2.1:5060"),
	}
}

func target(tr string) transport.Target {
	return transport.Target{Transport: tr, Addr: netip.MustParseAddrPort("192.0.2.20:5060")}
}

// msgOpts shapes a test request.
type msgOpts struct {
	toTag   string
	sentBy  string // default pc33.atlanta.example:5060
	uri     string // default sip:bob@biloxi.example
	cseq    int    // default 314159
	csMeth  string // CSeq method, default the method
	callID  string
	noVia   bool
	branch2 string // a second Via's branch, to check that only the top one counts
	routes  []string
}

// request builds and parses a request as it would come off the wire.
func request(t *testing.T, method, tr, branch string, o msgOpts) *sip.Request {
	t.Helper()
	if o.sentBy == "" {
		o.sentBy = "pc33.atlanta.example:5060"
	}
	if o.uri == "" {
		o.uri = "sip:bob@biloxi.example"
	}
	if o.cseq == 0 {
		o.cseq = 314159
	}
	if o.csMeth == "" {
		o.csMeth = method
	}
	if o.callID == "" {
		o.callID = "a84b4c76e66710@pc33.atlanta.example"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, o.uri)
	if !o.noVia {
		via := "SIP/2.0/" + tr + " " + o.sentBy
		if branch != "" {
			via += ";branch=" + branch
		}
		fmt.Fprintf(&b, "Via: %s\r\n", via)
		if o.branch2 != "" {
			fmt.Fprintf(&b, "Via: SIP/2.0/%s proxy.example;branch=%s\r\n", tr, o.branch2)
		}
	}
	for _, r := range o.routes {
		fmt.Fprintf(&b, "Route: %s\r\n", r)
	}
	b.WriteString("Max-Forwards: 70\r\n")
	to := "Bob <sip:bob@biloxi.example>"
	if o.toTag != "" {
		to += ";tag=" + o.toTag
	}
	fmt.Fprintf(&b, "To: %s\r\n", to)
	b.WriteString("From: Alice <sip:alice@atlanta.example>;tag=1928301774\r\n")
	fmt.Fprintf(&b, "Call-ID: %s\r\n", o.callID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", o.cseq, o.csMeth)
	b.WriteString("Contact: <sip:alice@pc33.atlanta.example>\r\n")
	b.WriteString("Content-Length: 0\r\n\r\n")
	req, err := sip.ParseRequest([]byte(b.String()))
	if err != nil {
		t.Fatalf("parse test request: %v", err)
	}
	return req
}

// response builds the response to a request in wire form (as a peer
// would) and parses it, so that it shares nothing with the request.
func response(t *testing.T, wire string, code int, toTag string) *sip.Response {
	t.Helper()
	req, err := sip.ParseRequest([]byte(wire))
	if err != nil {
		t.Fatalf("parse sent request: %v", err)
	}
	resp := sip.NewResponse(req, code, "")
	if toTag != "" {
		if err := resp.SetToTag(toTag); err != nil {
			t.Fatal(err)
		}
	}
	return reparse(t, resp)
}

func reparse(t *testing.T, resp *sip.Response) *sip.Response {
	t.Helper()
	r, err := sip.ParseResponse([]byte(resp.String()))
	if err != nil {
		t.Fatalf("parse response: %v", err)
	}
	return r
}

// answer returns a response of the TU to a server transaction's request.
func answer(t *testing.T, req *sip.Request, code int, toTag string) *sip.Response {
	t.Helper()
	resp := sip.NewResponse(req, code, "")
	if toTag != "" {
		if err := resp.SetToTag(toTag); err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

// ms and s make durations readable in tables.
func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
func s(n float64) time.Duration  { return time.Duration(n * float64(time.Second)) }

func durs(ds ...time.Duration) []time.Duration { return ds }

// equal reports a mismatch of two comparable slices.
func equal[T comparable](what string, got, want []T) error {
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s = %v, want %v", what, got, want)
	}
	return nil
}

// inBubble runs f in a synctest bubble with a fresh harness.
func inBubble(t *testing.T, f func(h *harness)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		f(h)
		h.l.Close()
	})
}
