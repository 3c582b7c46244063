package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/media"
)

// TestUACallSIPpUAS: `sipd call` against SIPp's UAS. With the built-in
// uas scenario: INVITE, 180, 200, ACK, and after --duration our BYE and
// its 200; SIPp echoes our RTP (-rtp_echo), so the recording holds our
// own tone. With ua_uas_100rel.xml the 180 is reliable (RFC 3262): sipd
// must PRACK it with RAck "1 <INVITE CSeq> INVITE" before the 200 comes.
func TestUACallSIPpUAS(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	tests := []struct {
		name     string
		scenario []string // SIPp's scenario arguments
		flow     []string
	}{
		{name: "uas", scenario: []string{"-sn", "uas"},
			flow: []string{"→ INVITE sip:uas@", "← 180 Ringing", "← 200 OK", "→ ACK", "→ BYE", "← 200 OK"}},
		{name: "100rel", scenario: []string{"-sf", "ua_uas_100rel.xml"},
			flow: []string{"→ INVITE sip:uas@", "← 180 Ringing", "→ PRACK", `← 200 OK CSeq \d+ PRACK`,
				`← 200 OK CSeq 1 INVITE`, "→ ACK", "→ BYE", "← 200 OK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copySIPpScenarios(t, dir, "ua_uas_100rel.xml")
			port := strconv.Itoa(freeUDPPort(t))
			rtpPort := strconv.Itoa(freeUDPPort(t))
			uas := startSIPp(t, sipp, "sipp uas", dir, port, append(tt.scenario,
				"-i", "127.0.0.1", "-p", port, "-mi", "127.0.0.1", "-mp", rtpPort, "-rtp_echo")...)
			rec := filepath.Join(t.TempDir(), "echo.wav")
			r := runSipdCmd(t, 30*time.Second, "call", "sip:uas@127.0.0.1:"+port, "--duration", "1500ms",
				"--tone", "800", "--record", rec)
			if r.code != 0 {
				t.Fatalf("%s", r)
			}
			if err := checkFlow(r.stdout, tt.flow...); err != nil {
				t.Error(err)
			}
			if err := uas.wait(10 * time.Second); err != nil {
				t.Error(err)
			}
			// SIPp sent back what we sent: our tone.
			checkToneWAV(t, rec, 800, time.Second)
			if tt.name != "100rel" {
				return
			}
			// RFC 3262 §7.2: RAck is the RSeq and the INVITE's CSeq.
			var inviteCSeq, rack string
			for _, m := range sippMessages(t, dir, "received") {
				if v := m.values("CSeq"); strings.HasPrefix(m.start, "INVITE ") && len(v) > 0 {
					inviteCSeq = v[0]
				}
				if v := m.values("RAck"); strings.HasPrefix(m.start, "PRACK ") && len(v) > 0 {
					rack = v[0]
				}
			}
			if want := "1 " + inviteCSeq; inviteCSeq == "" || rack != want {
				t.Errorf("PRACK has RAck %q, want %q", rack, want)
			}
		})
	}
}

// TestUAAnswerSIPpUAC: SIPp's UAC calls `sipd answer --once`: INVITE,
// 180, 200, ACK, and SIPp's BYE after -d. With --100rel and the UAC of
// ua_uac_100rel.xml, which says Supported: 100rel, the 180 is sent
// reliably (Require: 100rel, RSeq) and the 200 only after the PRACK.
func TestUAAnswerSIPpUAC(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	tests := []struct {
		name     string
		answer   []string
		scenario []string
		flow     []string
	}{
		{name: "uac", scenario: []string{"-sn", "uac"},
			flow: []string{"← INVITE sip:bob@", "→ 180 Ringing", "→ 200 OK", "← ACK", "← BYE", "→ 200 OK"}},
		{name: "100rel", answer: []string{"--100rel"}, scenario: []string{"-sf", "ua_uac_100rel.xml"},
			flow: []string{"← INVITE sip:bob@", "→ 180 Ringing", "← PRACK", `→ 200 OK CSeq 2 PRACK`,
				`→ 200 OK CSeq 1 INVITE`, "← ACK", "← BYE", "→ 200 OK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := startSipdBg(t, append([]string{"answer", "--listen", "127.0.0.1:0", "--once"}, tt.answer...)...)
			dir := t.TempDir()
			copySIPpScenarios(t, dir, "ua_uac_100rel.xml")
			uac := startSIPp(t, sipp, "sipp uac", dir, "", append(tt.scenario, ans.addr.String(),
				"-s", "bob", "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)), "-d", "500")...)
			if err := uac.wait(15 * time.Second); err != nil {
				t.Fatal(err)
			}
			code, err := ans.wait(10 * time.Second)
			if err != nil || code != 0 {
				t.Fatalf("sipd answer: exit %d, %v", code, err)
			}
			if err := checkFlow(ans.output(), tt.flow...); err != nil {
				t.Error(err)
			}
			if tt.name != "100rel" {
				return
			}
			var sawRSeq bool
			for _, m := range sippMessages(t, dir, "received") {
				if strings.HasPrefix(m.start, "SIP/2.0 180") {
					sawRSeq = len(m.values("RSeq")) == 1 && strings.Contains(strings.Join(m.values("Require"), ","), "100rel")
				}
			}
			if !sawRSeq {
				t.Error("the 180 lacks Require: 100rel or RSeq")
			}
		})
	}
}

// checkToneWAV checks that a WAV file holds at least min of audio in
// which a tone at hz dominates (media.Detect, Goertzel).
func checkToneWAV(t *testing.T, name string, hz float64, min time.Duration) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, rate, err := media.ReadWAV(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := time.Duration(len(samples)) * time.Second / time.Duration(rate); got < min {
		t.Fatalf("%s holds %v of audio, want at least %v", name, got, min)
	}
	if !media.Detect(samples, rate, hz) {
		t.Errorf("%s: no %v Hz tone (tone energy %.0f of %.0f)", name, hz, media.ToneEnergy(samples, rate, hz), media.Energy(samples))
	}
}
