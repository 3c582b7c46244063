package test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/media"
)

// TestBaresipCall: two baresips, alice and bob, register to `sipd serve
// --mode proxy` with digest authentication (MD5, the only algorithm of
// libre 1.1.0), and alice calls bob through sipd. bob answers by a
// ctrl_tcp command; alice puts the call on hold (a re-INVITE with
// a=sendonly), resumes it (a=sendrecv) and hangs up. sipd must stay in
// the dialog (RFC 3261 §16.6 step 4: it record-routes the INVITE), so the
// ACKs, both re-INVITEs and the BYE reach bob from sipd, with sipd's Via
// on top, and bob's answers go back through it. The same with roles
// swapped: bob, the callee, holds, resumes and hangs up, using the route
// set he took from the INVITE's Record-Route (§12.1.1); sipd does not
// challenge those in-dialog requests, as Kamailio's default script does
// not. Each side plays a tone
// (alice 1000 Hz, bob 600 Hz) and records what it receives: each must hear
// the other's tone (in the audio before the hold: baresip 1.0.0 records
// no more after a re-INVITE), and baresip's RTP counts must show packets
// both ways.
//
// Two ways to reach sipd:
//   - "registrar": the accounts' domain is sipd's address, so every
//     initial request goes to the Request-URI's host, sipd, with no Route.
//   - "outbound proxy": the accounts are at example.com, which nobody
//     resolves (the DNS trap counts queries), with sipd as outbound proxy:
//     each initial request carries a preloaded Route naming sipd (RFC 3261
//     §8.1.2). sipd must record-route such an INVITE too ("even if a Route
//     header field is already present", §16.6 step 4).
func TestBaresipCall(t *testing.T) {
	tests := []struct {
		name        string
		outbound    bool
		calleeHolds bool // bob holds, resumes and hangs up, not alice
	}{
		{name: "registrar"},
		{name: "registrar, callee holds and hangs up", calleeHolds: true},
		{name: "outbound proxy", outbound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dataDir := t.TempDir()
			realm, domainArgs := "example.com", []string{}
			if !tt.outbound {
				realm, domainArgs = "127.0.0.1", []string{"--domain", "127.0.0.1"}
			}
			addNamedUsers(t, dataDir, realm, map[string]string{"alice": "pw-alice", "bob": "pw-bob"})
			srv := startSipd(t, dataDir, append([]string{"--mode", "proxy", "--auth-algorithms", "MD5"}, domainArgs...)...)
			domain := "example.com"
			if !tt.outbound {
				domain = srv.addr.String() // sip:bob@127.0.0.1:port
			}
			dns := newDNSTrap(t)
			defer func() {
				if n := dns.queries(); n != 0 {
					t.Errorf("baresip sent %d DNS queries, want none", n)
				}
			}()
			start := func(user string, tone int) *baresipUA {
				return startBaresipUA(t, baresipOptions{user: user, password: "pw-" + user, domain: domain,
					sipd: srv.addr, outbound: tt.outbound, dnsTrap: dns.addr(),
					toneHz: tone, record: true, sipTrace: true})
			}
			alice, bob := start("alice", 1000), start("bob", 600)
			const wait = 15 * time.Second // generous: other tests share the 2 cores
			alice.mustEvent(wait, "REGISTER_OK", "REGISTER_FAIL")
			bob.mustEvent(wait, "REGISTER_OK", "REGISTER_FAIL")

			// The call: INVITE through sipd, 180 back, bob accepts.
			alice.mustCommand("dial", "sip:bob@"+domain)
			in := bob.mustEvent(wait, "CALL_INCOMING", "CALL_CLOSED")
			if !strings.Contains(in.PeerURI, "alice@") {
				t.Errorf("bob: incoming call from %q, want alice", in.PeerURI)
			}
			alice.mustEvent(wait, "CALL_RINGING", "CALL_CLOSED")
			bob.mustCommand("accept", "")
			bob.mustEvent(wait, "CALL_ESTABLISHED", "CALL_CLOSED")
			out := alice.mustEvent(wait, "CALL_ESTABLISHED", "CALL_CLOSED")
			if out.ID != in.ID {
				t.Errorf("Call-ID: alice %q, bob %q", out.ID, in.ID)
			}
			invite := mustSIP(t, bob, "the INVITE", func(m tracedSIP) bool {
				return m.received && isRequest(m, "INVITE") && !hasToTag(m)
			})
			if err := fromSipd(invite, srv.addr); err != nil {
				t.Error(err)
			}
			rr := "<sip:" + srv.addr.String() + ";lr>"
			if got := invite.headers("Record-Route"); len(got) != 1 || got[0] != rr {
				t.Errorf("bob's INVITE: Record-Route %q, want %q (RFC 3261 §16.6 step 4)", got, rr)
			}
			// Audio flows both ways before the hold.
			if err := bob.waitRecorded(wait, "dec", time.Second); err != nil {
				t.Error(err)
			}
			if err := alice.waitRecorded(wait, "dec", time.Second); err != nil {
				t.Error(err)
			}

			// Hold and resume: re-INVITEs through sipd, from alice or,
			// the other way round, from bob.
			h, o := alice, bob
			if tt.calleeHolds {
				h, o = bob, alice
			}
			for _, step := range []struct{ command, offer, answer string }{
				{"hold", "a=sendonly", "a=recvonly"},
				{"resume", "a=sendrecv", "a=sendrecv"},
			} {
				h.mustCommand(step.command, "")
				o.mustEvent(wait, "CALL_REMOTE_SDP", "CALL_CLOSED") // the re-INVITE's offer
				h.mustEvent(wait, "CALL_REMOTE_SDP", "CALL_CLOSED") // the 200's answer
				reinvite := mustSIP(t, o, "the "+step.command+" re-INVITE", func(m tracedSIP) bool {
					return m.received && isRequest(m, "INVITE") && hasToTag(m) && strings.Contains(m.body(), step.offer)
				})
				if err := fromSipd(reinvite, srv.addr); err != nil {
					t.Errorf("%s: %v", step.command, err)
				}
				cseq := firstOr(reinvite.headers("CSeq"), "")
				ok := mustSIP(t, h, "the 200 to the "+step.command+" re-INVITE", func(m tracedSIP) bool {
					return m.received && strings.HasPrefix(m.startLine(), "SIP/2.0 200") &&
						firstOr(m.headers("CSeq"), "") == cseq
				})
				if ok.peer != srv.addr.String() {
					t.Errorf("%s: %s got the 200 from %s, want it from sipd at %s", step.command, h.aor, ok.peer, srv.addr)
				}
				if !strings.Contains(ok.body(), step.answer) {
					t.Errorf("%s: the answer has no %s:\n%s", step.command, step.answer, ok.body())
				}
				if err := sentToSipd(h, "the "+step.command+" re-INVITE", cseq, srv.addr); err != nil {
					t.Error(err)
				}
			}
			// Three ACKs for 2xx (INVITE, hold, resume), each through sipd.
			var acks []tracedSIP
			deadline := time.Now().Add(wait)
			for len(acks) < 3 && time.Now().Before(deadline) {
				acks = nil
				for _, ua := range []*baresipUA{alice, bob} {
					for _, m := range ua.sipMessages() {
						if m.received && isRequest(m, "ACK") {
							acks = append(acks, m)
						}
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(acks) != 3 {
				t.Errorf("%d ACKs reached the UAs, want 3 (INVITE, hold, resume)", len(acks))
			}
			for _, m := range acks {
				if err := fromSipd(m, srv.addr); err != nil {
					t.Error(err)
				}
			}

			// Hang-up: the BYE reaches the other side through sipd.
			h.mustCommand("hangup", "")
			o.mustEvent(wait, "CALL_CLOSED")
			h.mustEvent(wait, "CALL_CLOSED")
			bye := mustSIP(t, o, "the BYE", func(m tracedSIP) bool { return m.received && isRequest(m, "BYE") })
			if err := fromSipd(bye, srv.addr); err != nil {
				t.Error(err)
			}
			if err := sentToSipd(h, "the BYE", firstOr(bye.headers("CSeq"), ""), srv.addr); err != nil {
				t.Error(err)
			}
			mustSIP(t, h, "the 200 to the BYE", func(m tracedSIP) bool {
				return m.received && strings.HasPrefix(m.startLine(), "SIP/2.0 200") &&
					strings.HasSuffix(firstOr(m.headers("CSeq"), ""), " BYE")
			})

			// RTP went both ways, directly between them (sipd relays no
			// media): baresip's counts at the end of the call.
			aSent, aRecv, err := alice.rtpStats(wait)
			if err != nil {
				t.Fatal(err)
			}
			bSent, bRecv, err := bob.rtpStats(wait)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("RTP packets: alice sent %d, bob received %d; bob sent %d, alice received %d", aSent, bRecv, bSent, aRecv)
			if bRecv < 25 || bRecv > aSent || aRecv < 25 || aRecv > bSent {
				t.Errorf("RTP packets: alice sent %d, bob received %d; bob sent %d, alice received %d; want at least 25 (0.5 s) each way",
					aSent, bRecv, bSent, aRecv)
			}

			// Each heard the other's tone, not its own.
			for _, c := range []struct {
				ua         *baresipUA
				hear, self float64
			}{{bob, 1000, 600}, {alice, 600, 1000}} {
				samples, rate, err := c.ua.recording(wait, "dec")
				if err != nil {
					t.Error(err)
					continue
				}
				if rate != media.SampleRate || len(samples) < rate {
					t.Errorf("%s recorded %d samples at %d Hz, want at least 1 s at 8000 Hz", c.ua.aor, len(samples), rate)
					continue
				}
				if !media.Detect(samples, rate, c.hear) || media.Detect(samples, rate, c.self) {
					t.Errorf("%s: %.0f Hz energy %.3g, %.0f Hz energy %.3g of %.3g, want the first to dominate",
						c.ua.aor, c.hear, media.ToneEnergy(samples, rate, c.hear),
						c.self, media.ToneEnergy(samples, rate, c.self), media.Energy(samples))
				}
			}
		})
	}
}

// mustSIP waits for a message in ua's trace, failing the test without it.
func mustSIP(t *testing.T, ua *baresipUA, what string, match func(m tracedSIP) bool) tracedSIP {
	t.Helper()
	m, err := ua.waitSIP(15*time.Second, what, match)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func isRequest(m tracedSIP, method string) bool {
	return strings.HasPrefix(m.startLine(), method+" ")
}

func hasToTag(m tracedSIP) bool {
	return strings.Contains(firstOr(m.headers("To"), ""), ";tag=")
}

// fromSipd checks that a request baresip received came from sipd, which
// put its Via on top (RFC 3261 §16.6 step 8) above the caller's.
func fromSipd(m tracedSIP, sipd netip.AddrPort) error {
	if m.peer != sipd.String() {
		return fmt.Errorf("%s came from %s, not through sipd at %s", m.startLine(), m.peer, sipd)
	}
	vias := m.headers("Via")
	if len(vias) < 2 || !strings.HasPrefix(vias[0], "SIP/2.0/UDP "+sipd.String()+";") {
		return fmt.Errorf("%s: Via %q, want sipd's on top of the caller's", m.startLine(), vias)
	}
	return nil
}

// sentToSipd checks that ua sent the request with CSeq cseq to sipd, with
// sipd's Record-Route as its Route (RFC 3261 §12.2.1.1).
func sentToSipd(ua *baresipUA, what, cseq string, sipd netip.AddrPort) error {
	for _, m := range ua.sipMessages() {
		if m.received || strings.HasPrefix(m.startLine(), "SIP/2.0 ") || firstOr(m.headers("CSeq"), "") != cseq {
			continue
		}
		if m.peer != sipd.String() {
			return fmt.Errorf("%s went from %s to %s, not to sipd at %s", what, ua.aor, m.peer, sipd)
		}
		if got, want := m.headers("Route"), "<sip:"+sipd.String()+";lr>"; len(got) != 1 || got[0] != want {
			return fmt.Errorf("%s: Route %q, want %q (sipd's Record-Route)", what, got, want)
		}
		return nil
	}
	return fmt.Errorf("%s: %s's trace has no request with CSeq %q", what, ua.aor, cseq)
}
