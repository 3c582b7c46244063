package proxy

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// redirect makes the callee that received fwd answer 302 with contacts
// (RFC 3261 §8.3), each "sip:..." value a Contact.
func (h *harness) redirect(fwd sentRequest, contacts ...string) {
	h.t.Helper()
	resp := sip.NewResponse(fwd.req, sip.StatusMovedTemporarily, "")
	resp.SetToTag(fmt.Sprintf("callee%d", calleeOf(fwd.dst)))
	for _, c := range contacts {
		resp.Add("Contact", c)
	}
	parsed, err := sip.ParseResponse(resp.Bytes())
	if err != nil {
		h.t.Fatalf("parse response: %v\n%s", err, resp)
	}
	h.tl.HandleInbound(&transport.Inbound{Msg: parsed,
		Source: transport.Source{Transport: transport.TCP, Remote: fwd.dst.Addr, Local: proxyAddr}})
}

// contactOf is the contact of callee i, as registerBob makes it.
func contactOf(i int) string {
	return fmt.Sprintf("<sip:bob@%s;transport=tcp>", calleeAddr(i))
}

// TestRecurse checks recursion on 3xx (RFC 3261 §16.5, §16.7 step 4): with
// Config.Recurse the contacts of a 302 join the target set, highest q
// first, ahead of the groups not tried yet; a contact recursed on leaves
// the response, and a response left with none is not a candidate for the
// best one; a target is never added twice, which ends redirect loops.
// Without Recurse the 302 goes upstream.
func TestRecurse(t *testing.T) {
	type step struct {
		to       int
		code     int      // answer with code, or 302 with contacts
		contacts []string // of the 302
	}
	tests := []struct {
		name     string
		recurse  bool
		qs       []int
		steps    []step
		up, down []string
		contact  []string // Contact values of the final 302 upstream, if any
	}{
		{
			name:  "off: the 302 goes upstream",
			qs:    []int{1000},
			steps: []step{{0, 302, []string{contactOf(1)}}},
			up:    []string{"302 INVITE"}, down: []string{"INVITE 0", "ACK 0"},
			contact: []string{contactOf(1)},
		},
		{
			name: "on: the contact is tried and answers", recurse: true,
			qs:    []int{1000},
			steps: []step{{0, 302, []string{contactOf(1)}}, {1, 200, nil}},
			up:    []string{"200 INVITE"}, down: []string{"INVITE 0", "ACK 0", "INVITE 1"},
		},
		{
			name: "on: q orders the contacts, tried one group after another", recurse: true,
			qs: []int{1000},
			steps: []step{{0, 302, []string{contactOf(1) + ";q=0.2", contactOf(2) + ";q=0.9"}},
				{2, 486, nil}, {1, 200, nil}},
			up:   []string{"200 INVITE"},
			down: []string{"INVITE 0", "ACK 0", "INVITE 2", "ACK 2", "INVITE 1"},
		},
		{
			name: "on: redirected targets come before the next q group", recurse: true,
			qs:    []int{1000, 500},
			steps: []step{{0, 302, []string{contactOf(2)}}, {2, 480, nil}, {1, 200, nil}},
			up:    []string{"200 INVITE"},
			down:  []string{"INVITE 0", "ACK 0", "INVITE 2", "ACK 2", "INVITE 1"},
		},
		{
			name: "on: a loop of redirects ends; the contactless 302 is not the answer", recurse: true,
			qs:    []int{1000},
			steps: []step{{0, 302, []string{contactOf(1)}}, {1, 302, []string{contactOf(0)}}},
			// Callee 1's 302 names callee 0, tried already: it stays in
			// that response, which is then the best one.
			up: []string{"302 INVITE"}, down: []string{"INVITE 0", "ACK 0", "INVITE 1", "ACK 1"},
			contact: []string{"<sip:bob@198.51.100.10:5060;transport=tcp>"},
		},
		{
			name: "on: a tel: contact stays in the response", recurse: true,
			qs:    []int{1000},
			steps: []step{{0, 302, []string{"<tel:+15551234>", contactOf(1)}}, {1, 404, nil}},
			// The 302 still holds the tel: contact and is below 404 in
			// class: it is the best response.
			up: []string{"302 INVITE"}, down: []string{"INVITE 0", "ACK 0", "INVITE 1", "ACK 1"},
			contact: []string{"<tel:+15551234>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{Recurse: tc.recurse})
				h.registerBob(tc.qs...)
				req := request{}.build(t)
				h.fromCaller(req)
				if err := h.core.result(req.CallID(), sip.MethodInvite); !errors.Is(err, server.ErrAnswerLater) {
					t.Fatalf("ServeSIP = %v, want ErrAnswerLater", err)
				}
				for _, s := range tc.steps {
					synctest.Wait()
					if s.code == sip.StatusMovedTemporarily {
						h.redirect(h.invite(s.to), s.contacts...)
					} else {
						h.answer(h.invite(s.to), s.code)
					}
				}
				synctest.Wait()
				if got := upLog(h.tp.responses()); !slices.Equal(got, tc.up) {
					t.Errorf("upstream\n got %q\nwant %q", got, tc.up)
				}
				if got := downLog(h.tp.requests()); !slices.Equal(got, tc.down) {
					t.Errorf("downstream\n got %q\nwant %q", got, tc.down)
				}
				if tc.contact != nil {
					f := finals(h.tp.responses(), sip.MethodInvite)
					if len(f) != 1 {
						t.Fatalf("%d final responses upstream", len(f))
					}
					if got := slices.Collect(f[0].resp.Lines("Contact")); !slices.Equal(got, tc.contact) {
						t.Errorf("Contact of the 302 upstream %q, want %q", got, tc.contact)
					}
				}
			})
		})
	}
}
