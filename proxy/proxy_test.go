package proxy

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// step makes callee `to` answer its INVITE with code.
type step struct{ to, code int }

// TestForking drives the response context (RFC 3261 §16.6, §16.7) through
// callees' answers: parallel forking within a q group, serial across, the
// best response, 2xx and 6xx cancelling the rest. down lists every request
// sent downstream ("METHOD callee"): the forked INVITEs, the ACKs the client
// transactions send for non-2xx, the CANCELs; up every response upstream.
func TestForking(t *testing.T) {
	tests := []struct {
		name  string
		qs    []int // the q of each of bob's bindings, times 1000
		steps []step
		up    []string
		down  []string
	}{
		{
			name:  "parallel 486 and 200: the 200 goes up, the 486 is ACKed",
			qs:    []int{1000, 1000},
			steps: []step{{0, 486}, {1, 200}},
			up:    []string{"200 INVITE"},
			down:  []string{"INVITE 0", "INVITE 1", "ACK 0"},
		},
		{
			name:  "parallel 200 first, then the 486 is absorbed",
			qs:    []int{1000, 1000},
			steps: []step{{1, 200}, {0, 486}},
			up:    []string{"200 INVITE"},
			// §9.1: the CANCEL of branch 0 waits for a provisional
			// response, which never comes.
			down: []string{"INVITE 0", "INVITE 1", "ACK 0"},
		},
		{
			name:  "200 while the other rings: the ringing branch is cancelled",
			qs:    []int{1000, 1000},
			steps: []step{{0, 180}, {1, 200}, {0, 487}},
			up:    []string{"180 INVITE", "200 INVITE"},
			down:  []string{"INVITE 0", "INVITE 1", "CANCEL 0", "ACK 0"},
		},
		{
			name:  "serial: 480 from q=1.0, then q=0.5 answers 200",
			qs:    []int{1000, 500},
			steps: []step{{0, 480}, {1, 200}},
			up:    []string{"200 INVITE"},
			down:  []string{"INVITE 0", "ACK 0", "INVITE 1"},
		},
		{
			name:  "serial: ringing, then 486, then the next group",
			qs:    []int{1000, 500},
			steps: []step{{0, 180}, {0, 486}, {1, 180}, {1, 200}},
			up:    []string{"180 INVITE", "180 INVITE", "200 INVITE"},
			down:  []string{"INVITE 0", "ACK 0", "INVITE 1"},
		},
		{
			name:  "all fail 486 and 404: 486 is the best",
			qs:    []int{1000, 1000},
			steps: []step{{0, 486}, {1, 404}},
			up:    []string{"486 INVITE"},
			down:  []string{"INVITE 0", "INVITE 1", "ACK 0", "ACK 1"},
		},
		{
			name:  "all fail 404 and 486, serially: 486 is the best",
			qs:    []int{1000, 500},
			steps: []step{{0, 404}, {1, 486}},
			up:    []string{"486 INVITE"},
			down:  []string{"INVITE 0", "ACK 0", "INVITE 1", "ACK 1"},
		},
		{
			name:  "503 from the only branch goes up as 500",
			qs:    []int{1000},
			steps: []step{{0, 503}},
			up:    []string{"500 INVITE"},
			down:  []string{"INVITE 0", "ACK 0"},
		},
		{
			name:  "6xx stops the serial search and cancels the rest",
			qs:    []int{1000, 1000, 500},
			steps: []step{{0, 180}, {1, 603}, {0, 487}},
			up:    []string{"180 INVITE", "603 INVITE"},
			down:  []string{"INVITE 0", "INVITE 1", "ACK 1", "CANCEL 0", "ACK 0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{})
				h.registerBob(tc.qs...)
				req := request{}.build(t)
				h.fromCaller(req)
				if err := h.core.result(req.CallID(), sip.MethodInvite); !errors.Is(err, server.ErrAnswerLater) {
					t.Fatalf("ServeSIP = %v, want ErrAnswerLater", err)
				}
				for _, s := range tc.steps {
					h.answer(h.invite(s.to), s.code)
				}
				synctest.Wait()
				if got := upLog(h.tp.responses()); !slices.Equal(got, tc.up) {
					t.Errorf("upstream\n got %q\nwant %q", got, tc.up)
				}
				if got := downLog(h.tp.requests()); !slices.Equal(got, tc.down) {
					t.Errorf("downstream\n got %q\nwant %q", got, tc.down)
				}
				if err := checkForwarded(h); err != nil {
					t.Error(err)
				}
			})
		})
	}
}

// checkForwarded checks the forwarded INVITEs (§16.6): the contact as the
// Request-URI, Max-Forwards one less, our Record-Route and our Via on top
// with a branch of ours; and the responses upstream: our Via gone.
func checkForwarded(h *harness) error {
	for _, s := range h.tp.requests() {
		r := s.req
		if r.Method != sip.MethodInvite {
			continue
		}
		if !strings.HasPrefix(r.URI.String(), "sip:bob@"+s.dst.Addr.String()) {
			return errors.New("Request-URI " + r.URI.String() + " is not the contact at " + s.dst.Addr.String())
		}
		if mf, _, _ := r.MaxForwards(); mf != 69 {
			return errors.New("Max-Forwards not decremented: " + r.Get("Max-Forwards"))
		}
		if rr := r.Get("Record-Route"); rr != "<sip:192.0.2.1:5060;transport=tcp;lr>" {
			return errors.New("Record-Route " + rr)
		}
		v, err := r.TopVia()
		if err != nil || !h.px.ours(v.Branch()) {
			return errors.New("top Via is not ours: " + r.Get("Via"))
		}
		if vs, _ := r.Vias(); len(vs) != 2 {
			return errors.New("want 2 Vias: " + r.String())
		}
	}
	for _, s := range h.tp.responses() {
		if vs, _ := s.resp.Vias(); len(vs) != 1 || vs[0].Branch() != mustTopBranch(s.resp) || h.px.ours(vs[0].Branch()) {
			return errors.New("response upstream with our Via: " + s.resp.String())
		}
	}
	return nil
}

func mustTopBranch(r *sip.Response) string {
	v, _ := r.TopVia()
	return v.Branch()
}

// TestTimerC checks §16.8 with exact times: Timer C starts with the branch
// and restarts with each provisional response; when it fires, a branch that
// rang is cancelled and counts as a 408, one that did not counts as a 408
// and is cancelled when its first provisional response comes (§9.1).
func TestTimerC(t *testing.T) {
	const timerC = 3 * time.Minute
	tests := []struct {
		name   string
		timerC time.Duration // Config.TimerC; 0 for the default
		rings  []time.Duration
		fires  time.Duration // when the 408 goes up, after the INVITE
	}{
		{name: "rang once, default Timer C", rings: []time.Duration{0}, fires: timerC},
		{name: "each 180 restarts it", rings: []time.Duration{0, time.Minute, 90 * time.Second}, fires: 90*time.Second + timerC},
		{name: "configured 10s, rang after 2s", timerC: 10 * time.Second, rings: []time.Duration{2 * time.Second}, fires: 12 * time.Second},
		{name: "never rang, 10s, before Timer B", timerC: 10 * time.Second, fires: 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{TimerC: tc.timerC})
				h.registerBob(1000)
				start := time.Now()
				h.fromCaller(request{}.build(t))
				inv := h.invite(0)
				for _, at := range tc.rings {
					time.Sleep(at - time.Since(start))
					h.answer(inv, sip.StatusRinging)
				}
				time.Sleep(tc.fires - time.Since(start) - time.Nanosecond)
				synctest.Wait()
				if f := finals(h.tp.responses(), sip.MethodInvite); len(f) != 0 {
					t.Fatalf("final response %d before Timer C", f[0].resp.StatusCode)
				}
				if got := downLog(h.tp.requests()); !slices.Equal(got, []string{"INVITE 0"}) {
					t.Fatalf("before Timer C, sent %q", got)
				}
				time.Sleep(time.Nanosecond)
				synctest.Wait()
				f := finals(h.tp.responses(), sip.MethodInvite)
				if len(f) != 1 || f[0].resp.StatusCode != sip.StatusRequestTimeout {
					t.Fatalf("upstream %q, want one 408", upLog(h.tp.responses()))
				}
				if d := f[0].at.Sub(start); d != tc.fires {
					t.Errorf("408 after %v, want %v", d, tc.fires)
				}
				if f[0].resp.ToTag() == "" {
					t.Error("408 without To tag")
				}
				wantDown := []string{"INVITE 0", "CANCEL 0"}
				if len(tc.rings) == 0 {
					// §9.1: the CANCEL waits for a provisional response.
					if got := downLog(h.tp.requests()); !slices.Equal(got, []string{"INVITE 0"}) {
						t.Fatalf("CANCEL before any provisional response: %q", got)
					}
					h.answer(inv, sip.StatusRinging)
				}
				got := h.tp.requests()
				if !slices.Equal(downLog(got), wantDown) {
					t.Fatalf("sent %q, want %q", downLog(got), wantDown)
				}
				// The callee's 487 is ACKed and absorbed: nothing more goes up.
				h.answer(inv, sip.StatusRequestTerminated)
				synctest.Wait()
				if got := upLog(h.tp.responses()); got[len(got)-1] != "408 INVITE" {
					t.Errorf("upstream after the 487: %q", got)
				}
				if got := downLog(h.tp.requests()); !slices.Equal(got, append(wantDown, "ACK 0")) {
					t.Errorf("sent %q, want the ACK of the 487 last", got)
				}
			})
		})
	}
}

// TestCancel checks §16.10: a CANCEL from upstream gets 200, each pending
// branch a CANCEL — at once when it rang, on its first provisional response
// otherwise (§9.1) — and the INVITE 487. The proxy's worker is long gone:
// the CANCEL finds the response context without it.
func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		h.registerBob(1000, 1000, 500)
		req := request{}.build(t)
		h.fromCaller(req)
		h.answer(h.invite(0), sip.StatusRinging)
		h.fromCaller(cancelOf(t, req))
		if got := downLog(h.tp.requests()); !slices.Equal(got, []string{"INVITE 0", "INVITE 1", "CANCEL 0"}) {
			t.Fatalf("after the CANCEL, sent %q", got)
		}
		h.answer(h.invite(1), sip.StatusRinging)
		h.answer(h.invite(0), sip.StatusRequestTerminated)
		h.answer(h.invite(1), sip.StatusRequestTerminated)
		synctest.Wait()
		want := []string{"180 INVITE", "200 CANCEL", "487 INVITE"}
		if got := upLog(h.tp.responses()); !slices.Equal(got, want) {
			t.Errorf("upstream %q, want %q", got, want)
		}
		// The callee of q=0.5 was never tried.
		want = []string{"INVITE 0", "INVITE 1", "CANCEL 0", "CANCEL 1", "ACK 0", "ACK 1"}
		if got := downLog(h.tp.requests()); !slices.Equal(got, want) {
			t.Errorf("downstream %q, want %q", got, want)
		}
		// A second CANCEL: 200 again, nothing more downstream.
		h.fromCaller(cancelOf(t, req))
		if got := downLog(h.tp.requests()); len(got) != len(want) {
			t.Errorf("second CANCEL sent %q", got[len(want):])
		}
	})
}

// TestCancelWhileQueued: a CANCEL handled before the INVITE's handler ran
// (the INVITE waited in the server's queue) gets 200, and the INVITE 487
// without going downstream.
func TestCancelWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		h.registerBob(1000)
		h.core.hold = true
		req := request{}.build(t)
		h.fromCaller(req)
		h.fromCaller(cancelOf(t, req))
		h.core.release()
		synctest.Wait()
		want := []string{"200 CANCEL", "487 INVITE"}
		if got := upLog(h.tp.responses()); !slices.Equal(got, want) {
			t.Errorf("upstream %q, want %q", got, want)
		}
		if got := h.tp.requests(); len(got) != 0 {
			t.Errorf("sent downstream %q", downLog(got))
		}
	})
}

// TestCancelUnknown: a CANCEL that reaches ServeSIP while matching no
// INVITE server transaction is answered 481 (§16.10).
func TestCancelUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		c := cancelOf(t, request{}.build(t))
		err := h.px.serveCancel(nil, c)
		if code, _ := sip.StatusOf(err); code != sip.StatusCallTransactionDoesNotExist {
			t.Errorf("serveCancel = %v, want 481", err)
		}
	})
}

// TestRefused checks the answers of §16.3 and §16.5 that the proxy gives
// itself, before anything goes downstream.
func TestRefused(t *testing.T) {
	tests := []struct {
		name   string
		req    func(t *testing.T, h *harness) *sip.Request
		code   int
		header [2]string // a header the answer carries, when set
	}{
		{
			name: "Max-Forwards 0",
			req:  func(t *testing.T, h *harness) *sip.Request { return request{maxFwd: "0"}.build(t) },
			code: sip.StatusTooManyHops,
		},
		{
			name: "OPTIONS with Max-Forwards 0 is answered",
			req: func(t *testing.T, h *harness) *sip.Request {
				return request{method: sip.MethodOptions, maxFwd: "0"}.build(t)
			},
			code: sip.StatusOK,
		},
		{
			name: "Proxy-Require",
			req: func(t *testing.T, h *harness) *sip.Request {
				return request{headers: []string{"Proxy-Require: foo, bar"}}.build(t)
			},
			code:   sip.StatusBadExtension,
			header: [2]string{"Unsupported", "foo, bar"},
		},
		{
			name: "loop: our own branch hash in a Via",
			req: func(t *testing.T, h *harness) *sip.Request {
				// The request as it went out once already: a Via of ours
				// below the caller's, carrying this request's hash.
				r := request{}.build(t)
				r.Add("Via", "SIP/2.0/TCP 192.0.2.1:5060;branch="+h.px.branch(loopHash(r)))
				return reparse(t, r)
			},
			code: sip.StatusLoopDetected,
		},
		{
			name: "unknown user",
			req:  func(t *testing.T, h *harness) *sip.Request { return request{ruri: "sip:nobody@example.com"}.build(t) },
			code: sip.StatusNotFound,
		},
		{
			name: "no open relay",
			req: func(t *testing.T, h *harness) *sip.Request {
				r := request{ruri: "sip:carol@203.0.113.7"}.build(t)
				r.Set("From", "<sip:mallory@example.net>;tag=m")
				return reparse(t, r)
			},
			code: sip.StatusForbidden,
		},
		{
			name: "tel URI",
			req:  func(t *testing.T, h *harness) *sip.Request { return request{ruri: "tel:+15551234"}.build(t) },
			code: sip.StatusUnsupportedURIScheme,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{})
				h.registerBob(1000)
				h.fromCaller(tc.req(t, h))
				resps := h.tp.responses()
				if len(resps) != 1 {
					t.Fatalf("upstream %q, want one response", upLog(resps))
				}
				r := resps[0].resp
				if r.StatusCode != tc.code {
					t.Fatalf("status %d %s, want %d", r.StatusCode, r.Reason, tc.code)
				}
				if r.ToTag() == "" {
					t.Error("no To tag")
				}
				if tc.header[0] != "" && r.Get(tc.header[0]) != tc.header[1] {
					t.Errorf("%s = %q, want %q", tc.header[0], r.Get(tc.header[0]), tc.header[1])
				}
				if got := h.tp.requests(); len(got) != 0 {
					t.Errorf("sent downstream %q", downLog(got))
				}
			})
		})
	}
}

// TestLoopAfterForwarding: a request that comes back to the proxy as it
// forwarded it, Request-URI unchanged, is a loop (482); one whose
// Request-URI changed on the way is a spiral, and forwarded again.
func TestLoopAfterForwarding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		// A foreign IP literal from one of our users: forwarded as is.
		h.fromCaller(request{ruri: "sip:carol@203.0.113.7"}.build(t))
		reqs := h.tp.requests()
		if len(reqs) != 1 {
			t.Fatalf("sent %q", downLog(reqs))
		}
		back := reqs[0].req
		h.fromCaller(back)
		f := finals(h.tp.responses(), sip.MethodInvite)
		if len(f) != 1 || f[0].resp.StatusCode != sip.StatusLoopDetected {
			t.Fatalf("upstream %q, want 482 to the looped request", upLog(h.tp.responses()))
		}
		// An element downstream retargeted it and sent it back to us.
		spiral := reparse(t, back)
		spiral.URI.Host = "203.0.113.8"
		spiral.PushVia(sip.Via{Proto: sip.Version, Transport: "TCP", Host: "203.0.113.7",
			Params: sip.Params(";branch=z9hG4bK-retarget")})
		h.fromCaller(spiral)
		if got := h.tp.requests(); len(got) != 2 || got[1].dst.Addr.String() != "203.0.113.8:5060" {
			t.Fatalf("spiral not forwarded: %q", downLog(got))
		}
	})
}

// TestRouting checks §16.4 and §16.6 step 6-7 on requests that carry Route:
// our own Route entries are removed and the next one is the target; a
// Request-URI that is our Record-Route, put there by a strict router, is
// restored from the last Route. An initial INVITE is record-routed even
// when it came by Route (§16.6 step 4); an in-dialog request is not.
func TestRouting(t *testing.T) {
	const us = "<sip:192.0.2.1:5060;transport=tcp;lr>"
	tests := []struct {
		name   string
		req    request
		dst    string   // where the request goes
		ruri   string   // its Request-URI then
		routes []string // its Route values then
		rr     string   // its Record-Route then
	}{
		{
			name: "our Route removed, the next one is the target",
			req: request{headers: []string{"Route: " + us + ", <sip:198.51.100.77:5070;lr>",
				"Route: <sip:203.0.113.50;lr>"}},
			dst:    "198.51.100.77:5070",
			ruri:   "sip:bob@example.com",
			routes: []string{"<sip:198.51.100.77:5070;lr>", "<sip:203.0.113.50;lr>"},
			rr:     us,
		},
		{
			name: "re-INVITE by our Route: not record-routed",
			req: request{ruri: "sip:bob@203.0.113.7:5062", toTag: "b1",
				headers: []string{"Route: " + us}},
			dst:  "203.0.113.7:5062",
			ruri: "sip:bob@203.0.113.7:5062",
		},
		{
			name: "strict router upstream of an initial INVITE: restored and record-routed",
			req: request{ruri: "sip:192.0.2.1:5060;transport=tcp;lr",
				headers: []string{"Route: <sip:bob@203.0.113.7:5062>"}},
			dst:  "203.0.113.7:5062",
			ruri: "sip:bob@203.0.113.7:5062",
			rr:   us,
		},
		{
			name: "in-dialog BYE, only our Route: the Request-URI is the target",
			req: request{method: sip.MethodBye, ruri: "sip:bob@203.0.113.7:5062", toTag: "b1",
				headers: []string{"Route: " + us}},
			dst:  "203.0.113.7:5062",
			ruri: "sip:bob@203.0.113.7:5062",
		},
		{
			name: "strict router: Request-URI restored from the last Route",
			req: request{method: sip.MethodBye, ruri: "sip:192.0.2.1:5060;transport=tcp;lr", toTag: "b1",
				headers: []string{"Route: <sip:198.51.100.77;lr>, <sip:bob@203.0.113.7:5062>"}},
			dst:    "198.51.100.77:5060",
			ruri:   "sip:bob@203.0.113.7:5062",
			routes: []string{"<sip:198.51.100.77;lr>"},
		},
		{
			name: "strict router, one Route: it is the Request-URI and the target",
			req: request{method: sip.MethodBye, ruri: "sip:192.0.2.1:5060;transport=tcp;lr", toTag: "b1",
				headers: []string{"Route: <sip:bob@203.0.113.7:5062>"}},
			dst:  "203.0.113.7:5062",
			ruri: "sip:bob@203.0.113.7:5062",
		},
		{
			name:   "next hop is a strict router: it becomes the Request-URI",
			req:    request{headers: []string{"Route: " + us + ", <sip:198.51.100.77:5070>"}},
			dst:    "198.51.100.77:5070",
			ruri:   "sip:198.51.100.77:5070",
			routes: []string{"<sip:bob@example.com>"},
			rr:     us,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{})
				req := tc.req.build(t)
				h.fromCaller(req)
				reqs := h.tp.requests()
				if len(reqs) != 1 {
					t.Fatalf("sent %q, want one request (upstream %q)", downLog(reqs), upLog(h.tp.responses()))
				}
				fwd := reqs[0]
				if fwd.dst.Addr.String() != tc.dst {
					t.Errorf("sent to %s, want %s", fwd.dst.Addr, tc.dst)
				}
				if got := fwd.req.URI.String(); got != tc.ruri {
					t.Errorf("Request-URI %s, want %s", got, tc.ruri)
				}
				var routes []string
				for v := range fwd.req.Values("Route") {
					routes = append(routes, v)
				}
				if !slices.Equal(routes, tc.routes) {
					t.Errorf("Route %q, want %q", routes, tc.routes)
				}
				if rr := fwd.req.Get("Record-Route"); rr != tc.rr {
					t.Errorf("Record-Route %q, want %q", rr, tc.rr)
				}
				// The answer comes back through the client transaction.
				h.answer(fwd, sip.StatusOK)
				f := finals(h.tp.responses(), req.Method)
				if len(f) != 1 || f[0].resp.StatusCode != sip.StatusOK {
					t.Errorf("upstream %q, want the 200", upLog(h.tp.responses()))
				}
			})
		})
	}
}

// TestStrayAck: an ACK for a 2xx belongs to no transaction and is
// forwarded statelessly by its Route (§16.11), with a branch that is the
// same for a retransmission; nothing goes upstream.
func TestStrayAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		ack := request{method: sip.MethodAck, ruri: "sip:bob@203.0.113.7:5062", toTag: "b1", branch: "z9hG4bK-ack-1",
			headers: []string{"Route: <sip:192.0.2.1:5060;transport=tcp;lr>, <sip:198.51.100.77:5070;lr>"}}.build(t)
		// Each is its own message, as the transport parses it: the proxy
		// forwards the one it is given.
		h.fromCaller(reparse(t, ack))
		h.fromCaller(reparse(t, ack))
		reqs := h.tp.requests()
		if len(reqs) != 2 {
			t.Fatalf("sent %q, want the ACK twice", downLog(reqs))
		}
		for _, s := range reqs {
			r := s.req
			if r.Method != sip.MethodAck || s.dst.Addr.String() != "198.51.100.77:5070" {
				t.Fatalf("sent %s to %s", r.Method, s.dst.Addr)
			}
			if r.URI.String() != "sip:bob@203.0.113.7:5062" || r.Get("Route") != "<sip:198.51.100.77:5070;lr>" {
				t.Errorf("forwarded ACK:\n%s", r)
			}
			if mf, _, _ := r.MaxForwards(); mf != 69 {
				t.Errorf("Max-Forwards %d", mf)
			}
		}
		b0, b1 := reqs[0].req.Get("Via"), reqs[1].req.Get("Via")
		if b0 != b1 || !strings.Contains(b0, h.px.prefix) {
			t.Errorf("stateless branches differ or are not ours: %q, %q", b0, b1)
		}
		if got := h.tp.responses(); len(got) != 0 {
			t.Errorf("upstream %q", upLog(got))
		}
	})
}

// TestNonInviteForwarded: a MESSAGE forks like an INVITE but is never
// cancelled; the worker is freed as for an INVITE, and a 2xx after the
// first is dropped.
func TestNonInviteForwarded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		h.registerBob(1000, 1000)
		req := request{method: sip.MethodMessage}.build(t)
		h.fromCaller(req)
		if err := h.core.result(req.CallID(), req.Method); !errors.Is(err, server.ErrAnswerLater) {
			t.Fatalf("ServeSIP = %v, want ErrAnswerLater", err)
		}
		var sent []sentRequest
		for _, s := range h.tp.requests() {
			sent = append(sent, s)
		}
		if len(sent) != 2 {
			t.Fatalf("sent %q", downLog(sent))
		}
		h.answer(sent[0], sip.StatusOK)
		h.answer(sent[1], sip.StatusAccepted)
		if got := upLog(h.tp.responses()); !slices.Equal(got, []string{"200 MESSAGE"}) {
			t.Errorf("upstream %q", got)
		}
		if got := downLog(h.tp.requests()); len(got) != 2 {
			t.Errorf("sent %q", got)
		}
	})
}

// TestRingingHoldsNoGoroutine: a ringing call holds no goroutine — neither
// a worker (ServeSIP returned) nor one of the proxy's — so the number of
// calls ringing at once is not bounded by the server's workers.
func TestRingingHoldsNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const calls = 300
		h := newHarness(t, Config{})
		h.registerBob(1000, 1000)
		before := runtime.NumGoroutine()
		var reqs []*sip.Request
		for range calls {
			req := request{}.build(t)
			reqs = append(reqs, req)
			h.fromCaller(req)
		}
		for _, s := range h.tp.requests() {
			h.answer(s, sip.StatusRinging)
		}
		synctest.Wait()
		if n := runtime.NumGoroutine() - before; n > 10 {
			t.Errorf("%d more goroutines with %d calls ringing", n, calls)
		}
		// Each call is still cancelled properly.
		for _, req := range reqs {
			h.fromCaller(cancelOf(t, req))
		}
		for _, s := range h.tp.requests() {
			if s.req.Method == sip.MethodInvite {
				h.answer(s, sip.StatusRequestTerminated)
			}
		}
		synctest.Wait()
		if f := finals(h.tp.responses(), sip.MethodInvite); len(f) != calls {
			t.Fatalf("%d final responses to %d INVITEs", len(f), calls)
		}
		for _, s := range finals(h.tp.responses(), sip.MethodInvite) {
			if s.resp.StatusCode != sip.StatusRequestTerminated {
				t.Fatalf("final %d, want 487", s.resp.StatusCode)
			}
		}
		if n := countCalls(h.px); n != 0 {
			t.Errorf("%d response contexts left in Proxy.calls", n)
		}
	})
}

func countCalls(p *Proxy) int {
	p.callsMu.Lock()
	defer p.callsMu.Unlock()
	return len(p.calls)
}

// TestServerContextEnds: when the server's context ends (it closes), the
// pending branches are cancelled at once and the response context leaves
// Proxy.calls; the branch's 487, should it still come, goes up.
func TestServerContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		h.core.ctx = ctx
		h.registerBob(1000)
		h.fromCaller(request{}.build(t))
		h.answer(h.invite(0), sip.StatusRinging)
		cancel()
		synctest.Wait()
		if got := downLog(h.tp.requests()); !slices.Equal(got, []string{"INVITE 0", "CANCEL 0"}) {
			t.Fatalf("sent %q, want the branch cancelled", got)
		}
		if n := countCalls(h.px); n != 0 {
			t.Errorf("%d response contexts left in Proxy.calls", n)
		}
		h.answer(h.invite(0), sip.StatusRequestTerminated)
		if got := upLog(h.tp.responses()); !slices.Equal(got, []string{"180 INVITE", "487 INVITE"}) {
			t.Errorf("upstream %q", got)
		}
	})
}

// TestServerContextWatch: the requests the server passes with one
// context share one watch of it; a request that got its final response
// leaves it, and when the context ends every request still in it is
// aborted — its ringing branch cancelled — and the watch is gone.
func TestServerContextWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		h.core.ctx = ctx
		h.registerBob(1000)
		for range 3 {
			h.fromCaller(request{}.build(t))
		}
		invites := h.tp.requests()
		if len(invites) != 3 {
			t.Fatalf("sent %q, want 3 INVITEs", downLog(invites))
		}
		for _, fwd := range invites {
			h.answer(fwd, sip.StatusRinging)
		}
		watched := func() (watches, rcs int) {
			h.px.watchMu.Lock()
			defer h.px.watchMu.Unlock()
			for _, w := range h.px.watches {
				rcs += len(w.rcs)
			}
			return len(h.px.watches), rcs
		}
		if w, n := watched(); w != 1 || n != 3 {
			t.Fatalf("%d watches of %d requests, want 1 of 3", w, n)
		}
		h.answer(invites[0], sip.StatusOK)
		if w, n := watched(); w != 1 || n != 2 {
			t.Fatalf("after a 200: %d watches of %d requests, want 1 of 2", w, n)
		}
		cancel()
		synctest.Wait()
		cancels := 0
		for _, s := range h.tp.requests() {
			if s.req.Method == sip.MethodCancel {
				cancels++
				if s.req.CallID() == invites[0].req.CallID() {
					t.Error("the answered call was cancelled")
				}
			}
		}
		if cancels != 2 {
			t.Errorf("%d CANCELs, want one for each call still ringing", cancels)
		}
		if w, n := watched(); w != 0 || n != 0 {
			t.Errorf("after the end: %d watches of %d requests", w, n)
		}
		if n := countCalls(h.px); n != 0 {
			t.Errorf("%d response contexts left in Proxy.calls", n)
		}
	})
}

// TestFinalWithoutUpstreamVia: a callee's final response that kept only
// our Via is not forwarded as it is (§16.7 step 3), but it still ends its
// branch at once: the caller gets that status, not a 408 after Timer C.
func TestFinalWithoutUpstreamVia(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		h.registerBob(1000)
		h.fromCaller(request{}.build(t))
		fwd := h.invite(0)
		resp := sip.NewResponse(fwd.req, sip.StatusBusyHere, "")
		resp.SetToTag("callee0")
		top, _ := resp.TopVia()
		resp.Del("Via")
		resp.PushVia(top)
		parsed, err := sip.ParseResponse(resp.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		h.tl.HandleInbound(&transport.Inbound{Msg: parsed,
			Source: transport.Source{Transport: transport.TCP, Remote: fwd.dst.Addr, Local: proxyAddr}})
		synctest.Wait()
		got := finals(h.tp.responses(), sip.MethodInvite)
		if len(got) != 1 || got[0].resp.StatusCode != sip.StatusBusyHere || got[0].resp.ToTag() != "callee0" {
			t.Fatalf("upstream finals %v, want one 486 with the callee's tag", upLog(h.tp.responses()))
		}
		if v, _ := got[0].resp.TopVia(); v.Host == proxyAddr.Addr().String() {
			t.Errorf("the 486 upstream carries our own Via")
		}
	})
}

// TestShutdown: at shutdown the ringing branches are cancelled, the one
// that has not answered yet gets its CANCEL when it does (§9.1), the
// caller gets 503 at once, and the context leaves Proxy.calls; the 487s
// that follow go nowhere.
func TestShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		h.registerBob(1000, 1000)
		h.fromCaller(request{}.build(t))
		h.answer(h.invite(0), sip.StatusRinging)
		h.px.Shutdown()
		synctest.Wait()
		if got := downLog(h.tp.requests()); !slices.Equal(got, []string{"INVITE 0", "INVITE 1", "CANCEL 0"}) {
			t.Fatalf("sent %q, want the ringing branch cancelled", got)
		}
		if got := upLog(h.tp.responses()); !slices.Equal(got, []string{"180 INVITE", "503 INVITE"}) {
			t.Fatalf("upstream %q, want 503 at once", got)
		}
		if n := countCalls(h.px); n != 0 {
			t.Errorf("%d response contexts left in Proxy.calls", n)
		}
		h.answer(h.invite(1), sip.StatusRinging)
		h.answer(h.invite(0), sip.StatusRequestTerminated)
		h.answer(h.invite(1), sip.StatusRequestTerminated)
		synctest.Wait()
		if got := downLog(h.tp.requests()); !slices.Equal(got, []string{"INVITE 0", "INVITE 1", "CANCEL 0", "CANCEL 1", "ACK 0", "ACK 1"}) {
			t.Errorf("downstream %q", got)
		}
		if got := upLog(h.tp.responses()); !slices.Equal(got, []string{"180 INVITE", "503 INVITE"}) {
			t.Errorf("upstream %q, want nothing after the 503", got)
		}
	})
}
