package proxy

import (
	"strings"
	"sync"
	"testing"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/storage/memory"
	"github.com/sipd/sipd/transport"
)

// slHarness drives a Stateless proxy: what it sends goes to tp, what it
// passes up to the transaction layer to up.
type slHarness struct {
	*harness // for its store, transport and registerBob
	sl       *Stateless

	mu sync.Mutex
	up []sip.Message
}

func newSLHarness(t *testing.T, cfg Config) *slHarness {
	t.Helper()
	if cfg.Domains == nil {
		cfg.Domains = []string{testDomain}
	}
	h := &slHarness{harness: &harness{
		t:     t,
		store: memory.New(),
		tp:    &recTransport{},
		src:   transport.Source{Transport: transport.TCP, Remote: callerAddr, Local: proxyAddr},
	}}
	next := transport.HandlerFunc(func(in *transport.Inbound) {
		h.mu.Lock()
		h.up = append(h.up, in.Msg)
		h.mu.Unlock()
	})
	sl, err := NewStateless(cfg, h.tp, h.store, nil, next)
	if err != nil {
		t.Fatalf("NewStateless: %v", err)
	}
	h.sl = sl
	return h
}

// in gives m to the proxy as received from the caller, reparsed so that
// each delivery is a message of its own, as off the wire.
func (h *slHarness) in(m sip.Message) {
	h.t.Helper()
	var parsed sip.Message
	var err error
	switch m := m.(type) {
	case *sip.Request:
		parsed, err = sip.ParseRequest(m.Bytes())
	case *sip.Response:
		parsed, err = sip.ParseResponse(m.Bytes())
	}
	if err != nil {
		h.t.Fatal(err)
	}
	h.sl.HandleInbound(&transport.Inbound{Msg: parsed, Source: h.src})
}

func (h *slHarness) passedUp() []sip.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sip.Message(nil), h.up...)
}

func topBranch(t *testing.T, r *sip.Request) string {
	t.Helper()
	v, err := r.TopVia()
	if err != nil {
		t.Fatal(err)
	}
	return v.Branch()
}

// TestStatelessBranch: the branch of a forwarded request is the same for
// a retransmission, for the INVITE's CANCEL and for its ACK for a non-2xx
// (RFC 3261 §16.11), and differs for any other transaction.
func TestStatelessBranch(t *testing.T) {
	h := newSLHarness(t, Config{})
	h.registerBob(1000)
	inv := request{branch: "z9hG4bK-inv-1", callID: "sl-1@192.0.2.20"}.build(t)
	h.in(inv)
	h.in(inv) // a retransmission
	h.in(cancelOf(t, inv))
	h.in(request{method: sip.MethodAck, branch: "z9hG4bK-inv-1", callID: "sl-1@192.0.2.20", toTag: "b1"}.build(t))
	h.in(request{method: sip.MethodAck, branch: "z9hG4bK-ack2xx-1", callID: "sl-1@192.0.2.20", toTag: "b1"}.build(t))
	h.in(request{branch: "z9hG4bK-inv-2", callID: "sl-2@192.0.2.20"}.build(t))
	h.in(request{branch: "z9hG4bK-inv-1", callID: "sl-1@192.0.2.20", cseq: 2}.build(t)) // same branch, new CSeq: a new loop hash

	reqs := h.tp.requests()
	if len(reqs) != 7 {
		t.Fatalf("sent %q, want 7 requests", downLog(reqs))
	}
	var branches []string
	for _, s := range reqs {
		b := topBranch(t, s.req)
		if !h.sl.p.ours(b) || !strings.HasPrefix(b, sip.MagicCookie) {
			t.Errorf("%s branch %q is not ours", s.req.Method, b)
		}
		branches = append(branches, b)
	}
	for i, name := range []string{"retransmission", "CANCEL", "ACK for a non-2xx"} {
		if branches[i+1] != branches[0] {
			t.Errorf("%s: branch %q, want the INVITE's %q", name, branches[i+1], branches[0])
		}
	}
	seen := map[string]string{branches[0]: "INVITE"}
	for i, name := range []string{"ACK for a 2xx", "another INVITE", "the INVITE with another CSeq"} {
		b := branches[i+4]
		if prev, ok := seen[b]; ok {
			t.Errorf("%s: branch %q is %s's", name, b, prev)
		}
		seen[b] = name
	}
	if got := h.tp.responses(); len(got) != 0 {
		t.Errorf("answered %q", upLog(got))
	}
}

// TestStatelessForward: one target only, the first contact of the highest
// q (§16.11: no forking), with Max-Forwards decremented, Record-Route and
// our Via on top of the caller's.
func TestStatelessForward(t *testing.T) {
	h := newSLHarness(t, Config{})
	h.registerBob(500, 1000, 1000)
	h.in(request{}.build(t))
	reqs := h.tp.requests()
	if len(reqs) != 1 {
		t.Fatalf("sent %q, want one INVITE", downLog(reqs))
	}
	r := reqs[0].req
	if c := calleeOf(reqs[0].dst); c != 1 {
		t.Errorf("sent to callee %d (%s), want 1", c, reqs[0].dst.Addr)
	}
	if r.URI.String() != "sip:bob@198.51.100.11:5060;transport=tcp" {
		t.Errorf("Request-URI %s", r.URI.String())
	}
	if mf, _, _ := r.MaxForwards(); mf != 69 {
		t.Errorf("Max-Forwards %d", mf)
	}
	if rr := r.Get("Record-Route"); rr != "<sip:192.0.2.1:5060;transport=tcp;lr>" {
		t.Errorf("Record-Route %q", rr)
	}
	vias, err := r.Vias()
	if err != nil || len(vias) != 2 || !h.sl.p.ours(vias[0].Branch()) || vias[1].Branch() == "" || h.sl.p.ours(vias[1].Branch()) {
		t.Errorf("Vias %v %v", vias, err)
	}
}

// TestStatelessRefused: the checks of §16.3 and the target choice answer
// statelessly (an ACK never), with the same To tag for a retransmission.
func TestStatelessRefused(t *testing.T) {
	tests := []struct {
		name string
		req  request
		code int
	}{
		{name: "Max-Forwards 0", req: request{maxFwd: "0"}, code: sip.StatusTooManyHops},
		{name: "OPTIONS with Max-Forwards 0", req: request{method: sip.MethodOptions, maxFwd: "0"}, code: sip.StatusOK},
		{name: "Proxy-Require", req: request{headers: []string{"Proxy-Require: foo"}}, code: sip.StatusBadExtension},
		{name: "tel URI", req: request{ruri: "tel:+15551234"}, code: sip.StatusUnsupportedURIScheme},
		{name: "unknown user", req: request{ruri: "sip:nobody@example.com"}, code: sip.StatusNotFound},
		{name: "host name", req: request{ruri: "sip:carol@example.net"}, code: sip.StatusNotFound},
		{name: "ACK with Max-Forwards 0", req: request{method: sip.MethodAck, toTag: "x", maxFwd: "0"}},
		{name: "ACK for an unknown user", req: request{method: sip.MethodAck, toTag: "x", ruri: "sip:nobody@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newSLHarness(t, Config{})
			req := tc.req.build(t)
			h.in(req)
			h.in(req)
			if reqs := h.tp.requests(); len(reqs) != 0 {
				t.Errorf("forwarded %q", downLog(reqs))
			}
			resps := h.tp.responses()
			if tc.code == 0 {
				if len(resps) != 0 {
					t.Errorf("answered %q", upLog(resps))
				}
				return
			}
			if len(resps) != 2 || resps[0].resp.StatusCode != tc.code || resps[1].resp.StatusCode != tc.code {
				t.Fatalf("answered %q, want %d twice", upLog(resps), tc.code)
			}
			if a, b := resps[0].resp.ToTag(), resps[1].resp.ToTag(); a == "" || a != b {
				t.Errorf("To tags %q and %q, want one, the same", a, b)
			}
			if tc.code == sip.StatusBadExtension && resps[0].resp.Get("Unsupported") != "foo" {
				t.Errorf("Unsupported %q", resps[0].resp.Get("Unsupported"))
			}
		})
	}
}

// TestStatelessLoop: a request that comes back unchanged with our Via is a
// loop (482); one whose Request-URI changed is a spiral and goes on.
func TestStatelessLoop(t *testing.T) {
	h := newSLHarness(t, Config{})
	h.in(request{ruri: "sip:carol@203.0.113.9"}.build(t)) // From is ours: no open relay
	reqs := h.tp.requests()
	if len(reqs) != 1 {
		t.Fatalf("sent %q", downLog(reqs))
	}
	back := reqs[0].req
	h.in(back)
	if resps := h.tp.responses(); len(resps) != 1 || resps[0].resp.StatusCode != sip.StatusLoopDetected {
		t.Fatalf("answered %q, want 482", upLog(resps))
	}
	spiral := back.Clone()
	spiral.URI, _ = sip.ParseURI("sip:dave@203.0.113.10")
	h.in(spiral)
	if reqs := h.tp.requests(); len(reqs) != 2 {
		t.Errorf("spiral not forwarded: %q", downLog(reqs))
	}
}

// TestStatelessResponse: a response with our Via on top goes upstream
// with exactly that Via removed; one with no Via left after it is dropped;
// others go up to the transaction layer, as do requests to the server.
func TestStatelessResponse(t *testing.T) {
	h := newSLHarness(t, Config{})
	h.registerBob(1000)
	inv := request{}.build(t)
	h.in(inv)
	fwd := h.tp.requests()[0].req
	resp := sip.NewResponse(fwd, sip.StatusRinging, "")
	resp.SetToTag("b1")
	h.in(resp)
	h.in(resp) // a retransmission goes too
	resps := h.tp.responses()
	if len(resps) != 2 {
		t.Fatalf("upstream %q, want the 180 twice", upLog(resps))
	}
	for _, s := range resps {
		got, _ := s.resp.Vias()
		want, _ := inv.Vias()
		if len(got) != 1 || got[0].String() != want[0].String() {
			t.Errorf("Vias %v, want the caller's %v", got, want)
		}
	}

	// Only our Via: it was for us.
	only := resp.Clone()
	only.Del("Via")
	only.Add("Via", fwd.Get("Via"))
	h.in(only)
	if n := len(h.tp.responses()); n != 2 {
		t.Errorf("a response with only our Via was forwarded")
	}

	// Not our branch, and a REGISTER to the server: up.
	other := resp.Clone()
	other.Del("Via")
	other.Add("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-client-1")
	h.in(other)
	h.in(request{method: sip.MethodRegister, ruri: "sip:example.com"}.build(t))
	h.in(request{method: sip.MethodOptions, ruri: "sip:192.0.2.1:5060", headers: []string{"Route: <sip:example.com;lr>"}}.build(t))
	up := h.passedUp()
	if len(up) != 3 {
		t.Fatalf("passed up %d messages, want 3", len(up))
	}
	if r, ok := up[1].(*sip.Request); !ok || r.Method != sip.MethodRegister {
		t.Errorf("passed up %v, want the REGISTER", up[1])
	}
	if n := len(h.tp.requests()); n != 1 {
		t.Errorf("forwarded %d requests, want only the INVITE", n)
	}
}
