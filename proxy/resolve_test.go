package proxy

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipd/sipd/dns"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// fakeResolver maps host names to targets; other names are not found.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]transport.Target
	err   error // returned for every name when set
	asked []string
}

func (f *fakeResolver) Resolve(_ context.Context, u sip.URI) ([]transport.Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, u.Host)
	if f.err != nil {
		return nil, f.err
	}
	ts, ok := f.hosts[strings.ToLower(u.Host)]
	if !ok {
		return nil, dns.ErrNotFound
	}
	return ts, nil
}

func udpTarget(s string) transport.Target {
	return transport.Target{Transport: transport.UDP, Addr: netip.MustParseAddrPort(s)}
}

// TestResolvedTargets: a Request-URI of another domain, or a Route, with a
// host name goes where the Resolver says (RFC 3263); a name that does not
// exist gets 404, a failed lookup 500; without a Resolver, 404 "no route".
func TestResolvedTargets(t *testing.T) {
	res := &fakeResolver{hosts: map[string][]transport.Target{
		"far.test":   {udpTarget("203.0.113.5:5060")},
		"proxy.test": {udpTarget("203.0.113.6:5070")},
	}}
	tests := []struct {
		name   string
		res    Resolver
		req    request
		dst    string
		status int
		reason string
	}{
		{name: "Request-URI", res: res, req: request{ruri: "sip:carol@far.test"}, dst: "203.0.113.5:5060"},
		{name: "Route", res: res, req: request{ruri: "sip:carol@far.test", headers: []string{"Route: <sip:proxy.test;lr>"}},
			dst: "203.0.113.6:5070"},
		{name: "NXDOMAIN", res: res, req: request{ruri: "sip:carol@nx.test"}, status: 404, reason: "Not Found - unresolvable destination"},
		{name: "lookup failed", res: &fakeResolver{err: errors.New("timeout")}, req: request{ruri: "sip:carol@far.test"},
			status: 500},
		{name: "no resolver", req: request{ruri: "sip:carol@far.test"}, status: 404, reason: "Not Found - no route"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{Resolver: tc.res})
				req := tc.req.build(t)
				h.fromCaller(req)
				reqs := h.tp.requests()
				if tc.status != 0 {
					f := finals(h.tp.responses(), sip.MethodInvite)
					if len(reqs) != 0 || len(f) != 1 || f[0].resp.StatusCode != tc.status ||
						tc.reason != "" && f[0].resp.Reason != tc.reason {
						t.Fatalf("sent %q, upstream %q, want only %d %s", downLog(reqs), upLog(h.tp.responses()), tc.status, tc.reason)
					}
					return
				}
				if len(reqs) != 1 || reqs[0].dst.Addr.String() != tc.dst {
					t.Fatalf("sent %q, want one INVITE to %s", downLog(reqs), tc.dst)
				}
				if reqs[0].req.URI.String() != req.URI.String() {
					t.Errorf("Request-URI changed to %s", reqs[0].req.URI.String())
				}
			})
		})
	}
}

// TestFailover: RFC 3263 §4.3: a 503, or a timeout without any response,
// sends the request to the next destination as a new transaction (a new
// branch); the answer of the last one goes upstream.
func TestFailover(t *testing.T) {
	res := &fakeResolver{hosts: map[string][]transport.Target{
		"far.test": {udpTarget("203.0.113.5:5060"), udpTarget("203.0.113.6:5060"), udpTarget("203.0.113.7:5060")},
	}}
	t.Run("503 then 200", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{Resolver: res})
			h.fromCaller(request{ruri: "sip:carol@far.test"}.build(t))
			reqs := h.tp.requests()
			if len(reqs) != 1 || reqs[0].dst.Addr.String() != "203.0.113.5:5060" {
				t.Fatalf("sent %q", downLog(reqs))
			}
			h.answer(reqs[0], sip.StatusServiceUnavailable)
			reqs = h.tp.requests()
			var invites []sentRequest
			for _, s := range reqs {
				if s.req.Method == sip.MethodInvite {
					invites = append(invites, s)
				}
			}
			if len(invites) != 2 || invites[1].dst.Addr.String() != "203.0.113.6:5060" {
				t.Fatalf("after the 503 sent %q, want the INVITE to the second destination", downLog(reqs))
			}
			if invites[0].req.Get("Via") == invites[1].req.Get("Via") {
				t.Error("the retry has the first try's branch")
			}
			if f := finals(h.tp.responses(), sip.MethodInvite); len(f) != 0 {
				t.Fatalf("upstream %q before the second answered", upLog(h.tp.responses()))
			}
			h.answer(invites[1], sip.StatusOK)
			if f := finals(h.tp.responses(), sip.MethodInvite); len(f) != 1 || f[0].resp.StatusCode != 200 {
				t.Errorf("upstream %q, want the 200", upLog(h.tp.responses()))
			}
		})
	})
	t.Run("timeouts, then the last 503 as 500", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{Resolver: res})
			h.fromCaller(request{ruri: "sip:carol@far.test", method: sip.MethodMessage}.build(t))
			// The destinations are UDP: Timer F (64*T1 = 32 s) ends the
			// first two tries, which got no response.
			time.Sleep(33 * time.Second)
			synctest.Wait()
			time.Sleep(33 * time.Second)
			synctest.Wait()
			var dsts []string
			var last sentRequest
			for _, s := range h.tp.requests() {
				if s.req.Method == sip.MethodMessage && !slicesContains(dsts, s.dst.Addr.String()) {
					dsts = append(dsts, s.dst.Addr.String())
					last = s
				}
			}
			if strings.Join(dsts, " ") != "203.0.113.5:5060 203.0.113.6:5060 203.0.113.7:5060" {
				t.Fatalf("MESSAGE went to %q, want each destination in turn", dsts)
			}
			h.answer(last, sip.StatusServiceUnavailable)
			if f := finals(h.tp.responses(), sip.MethodMessage); len(f) != 1 || f[0].resp.StatusCode != 500 {
				t.Errorf("upstream %q, want 500 (§16.7 step 6: a 503 is not forwarded)", upLog(h.tp.responses()))
			}
		})
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestStaticRoutes: the first matching route sends the request to its next
// hop, Request-URI unchanged: a prefix before the location service, a
// domain (or a wildcard subdomain) before DNS. Relaying is still refused.
func TestStaticRoutes(t *testing.T) {
	res := &fakeResolver{hosts: map[string][]transport.Target{"gw.test": {udpTarget("203.0.113.9:5080")}}}
	must := func(s string) sip.URI {
		u, err := sip.ParseURI(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	routes := []Route{
		{Prefix: "+49", Next: must("sip:gw.test")},
		{Domain: "partner.test", Next: must("sip:198.51.100.50:5090;transport=tcp")},
		{Domain: "*.corp.test", Next: must("sip:198.51.100.51")},
	}
	tests := []struct {
		name string
		req  request
		dst  string
		code int
	}{
		{name: "prefix, our domain", req: request{ruri: "sip:+4930123@example.com"}, dst: "UDP 203.0.113.9:5080"},
		{name: "domain", req: request{ruri: "sip:carol@partner.test"}, dst: "TCP 198.51.100.50:5090"},
		{name: "wildcard", req: request{ruri: "sip:dave@eu.corp.test"}, dst: "UDP 198.51.100.51:5060"},
		{name: "wildcard needs a subdomain", req: request{ruri: "sip:dave@corp.test"}, code: 404},
		{name: "no route: location service", req: request{ruri: "sip:bob@example.com"}, code: 404},
		{name: "relay refused", req: request{ruri: "sip:carol@partner.test"}, code: -403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{Resolver: res, Routes: routes})
				req := tc.req.build(t)
				if tc.code == -403 {
					// From a foreign domain to a foreign domain.
					req.Set("From", "<sip:mallory@elsewhere.test>;tag=m1")
					req = reparse(t, req)
					tc.code = 403
				}
				h.fromCaller(req)
				reqs := h.tp.requests()
				if tc.code != 0 {
					f := finals(h.tp.responses(), sip.MethodInvite)
					if len(reqs) != 0 || len(f) != 1 || f[0].resp.StatusCode != tc.code {
						t.Fatalf("sent %q, upstream %q, want %d", downLog(reqs), upLog(h.tp.responses()), tc.code)
					}
					return
				}
				if len(reqs) != 1 {
					t.Fatalf("sent %q", downLog(reqs))
				}
				if got := reqs[0].dst.Transport + " " + reqs[0].dst.Addr.String(); got != tc.dst {
					t.Errorf("sent to %s, want %s", got, tc.dst)
				}
				if reqs[0].req.URI.String() != req.URI.String() || reqs[0].req.Has("Route") {
					t.Errorf("Request-URI %s, Route %q: want them unchanged", reqs[0].req.URI.String(), reqs[0].req.Get("Route"))
				}
			})
		})
	}
}

// TestRouteValidate: a route must match something and name a SIP next hop.
func TestRouteValidate(t *testing.T) {
	next, _ := sip.ParseURI("sip:gw.test")
	for _, cfg := range []Config{
		{Domains: []string{"example.com"}, Routes: []Route{{Next: next}}},
		{Domains: []string{"example.com"}, Routes: []Route{{Prefix: "+1"}}},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%+v: no error", cfg.Routes)
		}
	}
}
