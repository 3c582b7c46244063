package proxy

import (
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

	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/siptest"
	"github.com/sipd/sipd/storage/memory"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// sentRequest is a request the proxy (or one of its client transactions)
// sent downstream, parsed again from the wire, with where it went and when.
type sentRequest struct {
	req *sip.Request
	dst transport.Target
	at  time.Time
}

// sentResponse is a response sent upstream, parsed again, and when.
type sentResponse struct {
	resp *sip.Response
	at   time.Time
}

// recTransport is the transaction.Transport and the proxy's Sender of the
// tests: a siptest.Transport, whose records requests and responses give
// in the shape the tests use.
type recTransport struct{ siptest.Transport }

// requests returns the requests sent downstream so far.
func (f *recTransport) requests() []sentRequest {
	var out []sentRequest
	for _, r := range f.Requests() {
		out = append(out, sentRequest{r.Msg, r.Target, r.At})
	}
	return out
}

// responses returns the responses sent upstream so far.
func (f *recTransport) responses() []sentResponse {
	var out []sentResponse
	for _, r := range f.Responses() {
		out = append(out, sentResponse{r.Msg, r.At})
	}
	return out
}

// core is the transaction.Core of the tests: it runs ServeSIP inline and,
// as server.Server.finish does, sends the status of a returned error when
// no final response went out and the proxy did not take the request with
// server.ErrAnswerLater (599 for nil, so a test sees the bug). Stray
// messages go to the proxy's HandleStray. With hold set, INVITEs wait in
// held until a test serves them, as they would in a busy server's queue.
type core struct {
	px   *Proxy
	ctx  context.Context // the server's context ServeSIP gets
	hold bool

	mu   sync.Mutex
	errs map[string]error // what ServeSIP returned, by Call-ID and method
	held []func()
}

func (c *core) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	serve := func() { c.serve(tx, req) }
	c.mu.Lock()
	if c.hold && req.Method == sip.MethodInvite {
		c.held = append(c.held, serve)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	serve()
}

func (c *core) serve(tx *transaction.ServerTx, req *sip.Request) {
	err := c.px.ServeSIP(c.ctx, tx, req)
	c.mu.Lock()
	c.errs[req.CallID()+" "+req.Method] = err
	c.mu.Unlock()
	switch tx.State() {
	case transaction.StateTrying, transaction.StateProceeding:
	default:
		return // answered
	}
	if errors.Is(err, server.ErrAnswerLater) {
		return
	}
	code, reason := sip.StatusOf(err)
	if err == nil {
		code, reason = 599, "Handler Returned Nil Without Answering"
	}
	resp := response(req, code)
	if reason != "" {
		resp.Reason = reason
	}
	tx.Respond(resp)
}

// release serves the held INVITEs.
func (c *core) release() {
	c.mu.Lock()
	held := c.held
	c.held, c.hold = nil, false
	c.mu.Unlock()
	for _, f := range held {
		f()
	}
}

func (c *core) result(callID, method string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errs[callID+" "+method]
}

func (c *core) HandleStray(in *transport.Inbound) { c.px.HandleStray(in) }

// harness is a proxy for example.com over a storage/memory store, behind
// a transaction layer over a recording transport. Upstream, the caller
// reaches it over TCP at 192.0.2.1:5060 from 192.0.2.20:5060; over TCP
// nothing is retransmitted, so the tests see each message once.
type harness struct {
	t     testing.TB
	store *memory.Store
	px    *Proxy
	core  *core
	tl    *transaction.Layer
	tp    *recTransport
	src   transport.Source
}

const testDomain = "example.com"

var (
	proxyAddr  = netip.MustParseAddrPort("192.0.2.1:5060")
	callerAddr = netip.MustParseAddrPort("192.0.2.20:5060")
)

// newHarness builds the proxy; cfg's Domains default to example.com.
// Inside a synctest bubble, call it in the bubble.
func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	if cfg.Domains == nil {
		cfg.Domains = []string{testDomain}
	}
	h := &harness{
		t:     t,
		store: memory.New(),
		tp:    &recTransport{},
		src:   transport.Source{Transport: transport.TCP, Remote: callerAddr, Local: proxyAddr},
	}
	h.tl = transaction.New(h.tp, transaction.Config{})
	px, err := New(cfg, h.tl, h.tp, h.store, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.px = px
	h.core = &core{px: px, ctx: context.Background(), errs: make(map[string]error)}
	h.tl.SetCore(h.core)
	t.Cleanup(h.tl.Close)
	return h
}

// calleeAddr is where callee i of bob is reached (over TCP).
func calleeAddr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}), 5060)
}

// calleeOf returns the index of the callee a request went to, or -1.
func calleeOf(dst transport.Target) int {
	for i := range 16 {
		if dst.Addr == calleeAddr(i) {
			return i
		}
	}
	return -1
}

// registerBob gives sip:bob@example.com one binding per q, callee i's
// contact reached over TCP at calleeAddr(i), as the registrar would.
func (h *harness) registerBob(qs ...int) {
	h.t.Helper()
	var bs []location.Binding
	now := time.Now()
	for i, q := range qs {
		a := calleeAddr(i)
		bs = append(bs, location.Binding{
			AOR:       "sip:bob@example.com",
			Contact:   fmt.Sprintf("sip:bob@%s;transport=tcp", a),
			Q:         q,
			Expires:   now.Add(time.Hour),
			CallID:    fmt.Sprintf("reg-%d", i),
			CSeq:      1,
			Transport: transport.TCP,
			Source:    a,
			Local:     proxyAddr,
			Updated:   now,
		})
	}
	_, err := h.store.Apply(context.Background(), "sip:bob@example.com", func([]location.Binding) ([]location.Binding, error) {
		return bs, nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

var seq atomic.Uint64

// request describes a request from upstream; zero fields take defaults.
type request struct {
	method  string   // default INVITE
	ruri    string   // default sip:bob@example.com
	toTag   string   // none when ""
	branch  string   // default a fresh one
	callID  string   // default a fresh one
	cseq    int      // default 1
	maxFwd  string   // the Max-Forwards value, default 70; "-" for none
	headers []string // more header lines, "Name: value"
}

func (r request) build(t testing.TB) *sip.Request {
	t.Helper()
	n := seq.Add(1)
	method := cmpOr(r.method, sip.MethodInvite)
	ruri := cmpOr(r.ruri, "sip:bob@example.com")
	branch := cmpOr(r.branch, fmt.Sprintf("z9hG4bK-up-%d", n))
	callID := cmpOr(r.callID, fmt.Sprintf("px-%d@192.0.2.20", n))
	cseq := r.cseq
	if cseq == 0 {
		cseq = 1
	}
	to := "<sip:bob@example.com>"
	if r.toTag != "" {
		to += ";tag=" + r.toTag
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/TCP %s;branch=%s\r\n", callerAddr, branch)
	if mf := cmpOr(r.maxFwd, "70"); mf != "-" {
		fmt.Fprintf(&b, "Max-Forwards: %s\r\n", mf)
	}
	b.WriteString("From: \"Alice\" <sip:alice@example.com>;tag=fa1\r\n")
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:alice@%s;transport=tcp>\r\n", callerAddr)
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

// cancelOf builds the CANCEL of an upstream request (RFC 3261 §9.1).
func cancelOf(t testing.TB, req *sip.Request) *sip.Request {
	t.Helper()
	c, err := sip.NewCancel(req)
	if err != nil {
		t.Fatal(err)
	}
	return reparse(t, c)
}

func reparse(t testing.TB, req *sip.Request) *sip.Request {
	t.Helper()
	r, err := sip.ParseRequest(req.Bytes())
	if err != nil {
		t.Fatalf("reparse: %v\n%s", err, req)
	}
	return r
}

// fromCaller hands req to the transaction layer as the transport would.
func (h *harness) fromCaller(req *sip.Request) {
	siptest.Deliver(h.tl, req, h.src)
}

// answer makes callee i, which received fwd, answer it with code; a To
// tag per callee is added to responses above 100.
func (h *harness) answer(fwd sentRequest, code int) {
	h.t.Helper()
	resp := sip.NewResponse(fwd.req, code, "")
	if code > 100 && fwd.req.ToTag() == "" {
		resp.SetToTag(fmt.Sprintf("callee%d", calleeOf(fwd.dst)))
	}
	parsed, err := sip.ParseResponse(resp.Bytes())
	if err != nil {
		h.t.Fatalf("parse response: %v\n%s", err, resp)
	}
	siptest.Deliver(h.tl, parsed, transport.Source{Transport: transport.TCP, Remote: fwd.dst.Addr, Local: proxyAddr})
}

// invite returns the INVITE callee i received, failing the test if there
// is none.
func (h *harness) invite(i int) sentRequest {
	h.t.Helper()
	for _, s := range h.tp.requests() {
		if s.req.Method == sip.MethodInvite && calleeOf(s.dst) == i {
			return s
		}
	}
	h.t.Fatalf("callee %d got no INVITE; sent: %q", i, downLog(h.tp.requests()))
	return sentRequest{}
}

// downLog names each request sent downstream "METHOD i", i the callee (or
// the destination when it is none of them). Runs of INVITEs, which a
// parallel group sends in the store's order, are sorted.
func downLog(reqs []sentRequest) []string {
	var out []string
	for _, s := range reqs {
		who := fmt.Sprint(calleeOf(s.dst))
		if who == "-1" {
			who = s.dst.Addr.String()
		}
		out = append(out, s.req.Method+" "+who)
	}
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && strings.HasPrefix(out[j], "INVITE ") {
			j++
		}
		slices.Sort(out[i:j])
		i = max(j, i+1)
	}
	return out
}

// upLog names each response sent upstream "CODE METHOD".
func upLog(resps []sentResponse) []string {
	var out []string
	for _, s := range resps {
		cs, _ := s.resp.CSeq()
		out = append(out, fmt.Sprintf("%d %s", s.resp.StatusCode, cs.Method))
	}
	return out
}

// finals returns the final responses sent upstream to method.
func finals(resps []sentResponse, method string) []sentResponse {
	var out []sentResponse
	for _, s := range resps {
		if cs, _ := s.resp.CSeq(); cs.Method == method && s.resp.StatusCode >= 200 {
			out = append(out, s)
		}
	}
	return out
}
