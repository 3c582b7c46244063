package ua

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// recorder is a Config.Trace that keeps the call flow.
type recorder struct {
	mu    sync.Mutex
	lines []traceLine
}

type traceLine struct {
	dir    Direction
	msg    sip.Message
	at     time.Time
	method string // request method, or CSeq method of a response
	code   int
}

func (r *recorder) trace(dir Direction, msg sip.Message, _ netip.AddrPort) {
	l := traceLine{dir: dir, at: time.Now()}
	switch m := msg.(type) {
	case *sip.Request:
		l.msg, l.method = m.Clone(), m.Method
	case *sip.Response:
		l.msg, l.code = m.Clone(), m.StatusCode
		if cs, err := m.CSeq(); err == nil {
			l.method = cs.Method
		}
	}
	r.mu.Lock()
	r.lines = append(r.lines, l)
	r.mu.Unlock()
}

// count counts messages: requests of method (code 0) or responses with
// code to method.
func (r *recorder) count(dir Direction, method string, code int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if l.dir == dir && l.method == method && l.code == code {
			n++
		}
	}
	return n
}

// find returns the messages count would count.
func (r *recorder) find(dir Direction, method string, code int) []traceLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []traceLine
	for _, l := range r.lines {
		if l.dir == dir && l.method == method && l.code == code {
			out = append(out, l)
		}
	}
	return out
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, l := range r.lines {
		first, _, _ := strings.Cut(stringOf(l.msg), "\r\n")
		b.WriteString(l.dir.String() + " " + first + "\n")
	}
	return b.String()
}

func stringOf(m sip.Message) string {
	switch m := m.(type) {
	case *sip.Request:
		return m.String()
	case *sip.Response:
		return m.String()
	}
	return ""
}

// events collects Config.OnEvent.
type events struct {
	ch chan Event
}

func newEvents() *events { return &events{ch: make(chan Event, 64)} }

func (e *events) on(ev Event) {
	select {
	case e.ch <- ev:
	default:
	}
}

// wait returns the next event of kind, failing after d.
func (e *events) wait(t *testing.T, kind EventKind, d time.Duration) Event {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %v event within %v", kind, d)
			return Event{}
		}
	}
}

// fastTimers keep loopback tests short.
var fastTimers = transaction.Config{T1: 50 * time.Millisecond, T2: 400 * time.Millisecond, T4: 500 * time.Millisecond}

// loopUA starts a UA on loopback UDP; Close runs at the test's end.
func loopUA(t *testing.T, cfg Config) (*UA, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg.Trace = rec.trace
	if cfg.Timers.T1 == 0 {
		cfg.Timers = fastTimers
	}
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		u.Close()
		if t.Failed() {
			t.Logf("%s flow:\n%s", cfg.User, rec)
		}
	})
	return u, rec
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// memNet is an in-memory UDP-like network for tests under synctest: each
// node has an ordered inbox delivered by one goroutine; drop decides
// which messages are lost.
type memNet struct {
	mu     sync.Mutex
	nodes  map[netip.AddrPort]*memNode
	drop   func(from, to netip.AddrPort, msg sip.Message) bool
	paused bool
	held   []func()
	wg     sync.WaitGroup
	done   chan struct{}
}

type memNode struct {
	n    *memNet
	addr netip.AddrPort
	ua   *UA
	// handle, when set, takes the node's messages instead of a UA.
	handle func(*transport.Inbound)
	inbox  chan func()
}

func newMemNet() *memNet {
	return &memNet{nodes: map[netip.AddrPort]*memNode{}, done: make(chan struct{})}
}

// addNode puts a node without a UA on the network, its messages going to
// handle.
func (n *memNet) addNode(i int, handle func(*memNode, *transport.Inbound)) *memNode {
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 5060)
	node := &memNode{n: n, addr: addr, inbox: make(chan func(), 4096)}
	node.handle = func(in *transport.Inbound) { handle(node, in) }
	n.mu.Lock()
	n.nodes[addr] = node
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			select {
			case f := <-node.inbox:
				f()
			case <-n.done:
				return
			}
		}
	}()
	return node
}

// add starts a UA on the network at 10.0.0.<i>:5060.
func (n *memNet) add(t *testing.T, i int, cfg Config) (*UA, *recorder) {
	t.Helper()
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 5060)
	node := &memNode{n: n, addr: addr, inbox: make(chan func(), 4096)}
	rec := &recorder{}
	cfg.Trace = rec.trace
	cfg.Transport = node
	cfg.LocalAddr = addr
	cfg.MediaAddr = netip.MustParseAddr("127.0.0.1")
	cfg.NoMedia = true // a socket's read would keep the bubble's clock still
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	node.ua = u
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s at %v flow:\n%s", cfg.User, addr, rec)
		}
	})
	n.mu.Lock()
	n.nodes[addr] = node
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			select {
			case f := <-node.inbox:
				f()
			case <-n.done:
				return
			}
		}
	}()
	return u, rec
}

func (n *memNet) setDrop(f func(from, to netip.AddrPort, msg sip.Message) bool) {
	n.mu.Lock()
	n.drop = f
	n.mu.Unlock()
}

// pause holds every message until resume, so that requests cross.
func (n *memNet) pause() {
	n.mu.Lock()
	n.paused = true
	n.mu.Unlock()
}

func (n *memNet) resume() {
	n.mu.Lock()
	n.paused = false
	held := n.held
	n.held = nil
	n.mu.Unlock()
	for _, f := range held {
		f()
	}
}

func (n *memNet) close() {
	close(n.done)
	n.wg.Wait()
}

func (n *memNet) deliver(from, to netip.AddrPort, msg sip.Message, data []byte) {
	n.mu.Lock()
	dst := n.nodes[to]
	drop := n.drop
	n.mu.Unlock()
	if dst == nil || (drop != nil && drop(from, to, msg)) {
		return
	}
	f := func() {
		m, err := sip.Parse(data)
		if err != nil {
			return
		}
		if req, ok := m.(*sip.Request); ok {
			if v, err := req.TopVia(); err == nil {
				v.Params = v.Params.Set("received", from.Addr().String()).Set("rport", itoa(int(from.Port())))
				req.SetTopVia(v)
			}
		}
		in := &transport.Inbound{Msg: m, Source: transport.Source{Transport: transport.UDP, Remote: from, Local: to}}
		if dst.handle != nil {
			dst.handle(in)
			return
		}
		dst.ua.HandleInbound(in)
	}
	push := func() {
		select {
		case dst.inbox <- f:
		default:
		}
	}
	n.mu.Lock()
	if n.paused {
		n.held = append(n.held, push)
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	push()
}

func itoa(i int) string { return strconv.Itoa(i) }

// SendRequest stamps our sent-by, as the transport does (RFC 3261
// §18.1.1), and delivers a copy.
func (node *memNode) SendRequest(req *sip.Request, dst transport.Target) error {
	v, err := req.TopVia()
	if err != nil {
		return err
	}
	v.Transport, v.Host, v.Port = transport.UDP, node.addr.Addr().String(), int(node.addr.Port())
	req.SetTopVia(v)
	node.n.deliver(node.addr, dst.Addr, req, req.Bytes())
	return nil
}

// SendResponse sends to the top Via's received and rport (or sent-by).
func (node *memNode) SendResponse(resp *sip.Response, src transport.Source) error {
	to := src.Remote
	if v, err := resp.TopVia(); err == nil {
		if ip, err := netip.ParseAddr(v.Host); err == nil && v.Port != 0 {
			to = netip.AddrPortFrom(ip, uint16(v.Port))
		}
	}
	node.n.deliver(node.addr, to, resp, resp.Bytes())
	return nil
}

var _ transaction.Transport = (*memNode)(nil)
