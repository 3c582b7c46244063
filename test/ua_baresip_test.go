package test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/media"
)

// TestUABaresip: sipd's client commands and baresip (baresip-core 1.0.0)
// call each other, and the audio goes both ways. baresip plays a 1000 Hz
// tone and records what it receives; sipd plays 600 Hz (--tone) and
// records what it receives (--record). Each recording must be dominated
// by the other side's tone (Goertzel, media.Detect), so RTP flowed both
// ways. baresip registers as bob with `sipd serve --mode proxy` whose
// domain is 127.0.0.1 (as in TestBaresipCall), with auto-answer.
//
//   - "direct": `sipd call` to baresip's own address; sipd hangs up after
//     --duration.
//   - "through sipd serve": `sipd call sip:bob@<sipd serve>` as alice of
//     that domain: challenged with 407, answered with --user/--password,
//     the proxy forwards it to baresip's registered Contact. ACK and BYE
//     go through sipd too (it record-routes); it may challenge the BYE.
//   - "baresip calls sipd answer": baresip dials `sipd answer --once`
//     and hangs up; sipd answer exits 0 after that one call.
func TestUABaresip(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, srv *sipdProc, bob *baresipUA, rec string) (sipdOut string)
	}{
		{name: "direct", run: func(t *testing.T, srv *sipdProc, bob *baresipUA, rec string) string {
			uri := "sip:bob@127.0.0.1:" + strconv.Itoa(bob.port)
			r := runSipdCmd(t, 30*time.Second, "call", uri, "--tone", "600", "--record", rec, "--duration", "2s")
			if r.code != 0 {
				t.Fatalf("%s", r)
			}
			if err := checkFlow(r.stdout, "→ INVITE "+regexp.QuoteMeta(uri)+" CSeq 1 INVITE", `← 200 \S+ CSeq 1 INVITE`,
				"→ ACK", "→ BYE", "← 200 OK CSeq 2 BYE"); err != nil {
				t.Error(err)
			}
			bob.mustEvent(15*time.Second, "CALL_CLOSED")
			return r.stdout
		}},
		{name: "through sipd serve", run: func(t *testing.T, srv *sipdProc, bob *baresipUA, rec string) string {
			uri := "sip:bob@" + srv.addr.String()
			r := runSipdCmd(t, 30*time.Second, "call", uri, "--from", "sip:alice@127.0.0.1", "--user", "alice", "--password", "pw-alice",
				"--tone", "600", "--record", rec, "--duration", "2s")
			if r.code != 0 {
				t.Fatalf("%s", r)
			}
			sipd := regexp.QuoteMeta(srv.addr.String() + "/udp")
			if err := checkFlow(r.stdout, "→ INVITE "+regexp.QuoteMeta(uri)+" CSeq 1 INVITE to "+sipd,
				"← 407 Proxy Authentication Required CSeq 1 INVITE", "→ ACK .* CSeq 1 ACK",
				"→ INVITE "+regexp.QuoteMeta(uri)+" CSeq 2 INVITE to "+sipd, `← 200 \S+ CSeq 2 INVITE from `+sipd,
				"→ ACK .* to "+sipd, "→ BYE .* to "+sipd, `← 200 OK CSeq \d+ BYE from `+sipd); err != nil {
				t.Error(err)
			}
			in := bob.mustEvent(15*time.Second, "CALL_CLOSED")
			if !strings.Contains(in.PeerURI, "alice@") {
				t.Errorf("baresip's call came from %q, want alice", in.PeerURI)
			}
			return r.stdout
		}},
		{name: "baresip calls sipd answer", run: func(t *testing.T, srv *sipdProc, bob *baresipUA, rec string) string {
			ans := startSipdBg(t, "answer", "--listen", "127.0.0.1:0", "--once", "--tone", "600", "--record", rec)
			bob.mustCommand("dial", "sip:carol@"+ans.addr.String())
			bob.mustEvent(15*time.Second, "CALL_ESTABLISHED", "CALL_CLOSED")
			if err := bob.waitRecorded(15*time.Second, "dec", 2*time.Second); err != nil {
				t.Error(err)
			}
			bob.mustCommand("hangup", "")
			bob.mustEvent(15*time.Second, "CALL_CLOSED")
			code, err := ans.wait(15 * time.Second)
			if err != nil || code != 0 {
				t.Fatalf("sipd answer: exit %d, %v", code, err)
			}
			out := ans.output()
			if err := checkFlow(out, "← INVITE sip:carol@", "→ 180 Ringing", `→ 200 OK CSeq \d+ INVITE`, "← ACK", "← BYE", `→ 200 OK CSeq \d+ BYE`); err != nil {
				t.Error(err)
			}
			if !strings.Contains(out, "call ended by the peer") {
				t.Errorf("no summary:\n%s", out)
			}
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			addNamedUsers(t, dataDir, "127.0.0.1", map[string]string{"alice": "pw-alice", "bob": "pw-bob"})
			srv := startSipd(t, dataDir, "--mode", "proxy", "--auth-algorithms", "MD5", "--domain", "127.0.0.1")
			dns := newDNSTrap(t)
			bob := startBaresipUA(t, baresipOptions{user: "bob", password: "pw-bob", domain: srv.addr.String(),
				sipd: srv.addr, dnsTrap: dns.addr(), answerMode: "auto", toneHz: 1000, record: true})
			bob.mustEvent(15*time.Second, "REGISTER_OK", "REGISTER_FAIL")

			rec := filepath.Join(t.TempDir(), "heard.wav")
			out := tt.run(t, srv, bob, rec)

			// sipd heard baresip's tone, and baresip sipd's.
			checkToneWAV(t, rec, 1000, time.Second)
			samples, rate, err := bob.recording(15*time.Second, "dec")
			if err != nil {
				t.Fatal(err)
			}
			if rate != media.SampleRate || len(samples) < rate || !media.Detect(samples, rate, 600) {
				t.Errorf("baresip recorded %d samples at %d Hz, 600 Hz energy %.3g of %.3g; want at least 1 s of sipd's tone",
					len(samples), rate, media.ToneEnergy(samples, rate, 600), media.Energy(samples))
			}
			if !regexp.MustCompile(`RTP: \d\d+ packets sent, \d\d+ received`).MatchString(out) {
				t.Errorf("no RTP summary with packets both ways:\n%s", out)
			}
		})
	}
}
