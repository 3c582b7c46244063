package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/media"
)

// startAnswer runs `sipd answer` in process until the test ends (or it
// returns by itself) and returns its address and output.
func startAnswer(t *testing.T, args ...string) (addr string, out *syncBuffer, done func(within time.Duration) (bool, error)) {
	t.Helper()
	c, err := parseAnswer(append([]string{"--listen", "127.0.0.1:0"}, args...), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	ended := make(chan struct{})
	var runErr error
	go func() {
		runErr = c.run(ctx, out)
		close(ended)
	}()
	// done waits for run to return: false when it did not within the
	// time, else true and its error.
	done = func(within time.Duration) (bool, error) {
		select {
		case <-ended:
			return true, runErr
		case <-time.After(within):
			return false, nil
		}
	}
	t.Cleanup(func() {
		cancel()
		if ok, _ := done(10 * time.Second); !ok {
			t.Error("sipd answer did not stop")
		}
	})
	line := out.waitFor(t, "listening on ", 5*time.Second)
	addr, _, _ = strings.Cut(strings.TrimPrefix(line[strings.Index(line, "listening on "):], "listening on "), "/")
	return addr, out, done
}

func readTone(t *testing.T, name string, hz float64) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, rate, err := media.ReadWAV(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) < rate/4 || !media.Detect(s, rate, hz) {
		t.Errorf("%s: %d samples, %v Hz energy %.3g of %.3g; want at least 250 ms of the tone", name, len(s), hz,
			media.ToneEnergy(s, rate, hz), media.Energy(s))
	}
}

// TestCallCommand: sipd call to an in-process sipd answer --once. Each
// plays a tone and records the other's; the caller hangs up after
// --duration, both exit 0. The caller's --play file works as --tone does.
func TestCallCommand(t *testing.T) {
	dir := t.TempDir()
	play := filepath.Join(dir, "play.wav")
	if err := writeWAV(play, media.Tone(700, media.SampleRate, time.Second, 0.5)); err != nil {
		t.Fatal(err)
	}
	heardByCallee, heardByCaller := filepath.Join(dir, "callee.wav"), filepath.Join(dir, "caller.wav")
	addr, ansOut, done := startAnswer(t, "--once", "--tone", "900", "--record", heardByCallee)

	code, out, errOut := runCmd("call", "sip:bob@"+addr, "--play", play, "--record", heardByCaller, "--duration", "800ms")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	for _, want := range []string{"→ INVITE sip:bob@" + addr, "← 180 Ringing", "← 200 OK", "→ ACK", "call established: PCMU",
		"→ BYE", "← 200 OK", "call ended by us after"} {
		if !strings.Contains(out, want) {
			t.Errorf("caller's flow lacks %q:\n%s", want, out)
		}
	}
	if ok, err := done(5 * time.Second); !ok {
		t.Fatalf("sipd answer --once did not return after the call:\n%s", ansOut.String())
	} else if err != nil {
		t.Errorf("sipd answer --once: %v", err)
	}
	for _, want := range []string{"← INVITE sip:bob@" + addr, "→ 180 Ringing", "→ 200 OK", "← BYE", "call ended by the peer", "calls taken: 1"} {
		if !strings.Contains(ansOut.String(), want) {
			t.Errorf("callee's flow lacks %q:\n%s", want, ansOut.String())
		}
	}
	readTone(t, heardByCaller, 900)
	readTone(t, heardByCallee, 700)
}

// TestCallFailures: a rejected call, an unanswered one and a bad --play
// file exit 1 with the reason on stderr.
func TestCallFailures(t *testing.T) {
	addr, _, _ := startAnswer(t, "--reject", "486")
	code, out, errOut := runCmd("call", "sip:bob@"+addr)
	if code != 1 || !strings.Contains(errOut, "sipd call: call failed: 486 Busy Here") || !strings.Contains(out, "← 486 Busy Here") {
		t.Errorf("rejected: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}

	slow, _, _ := startAnswer(t, "--ring", "1m")
	code, out, errOut = runCmd("call", "sip:bob@"+slow, "--timeout", "600ms")
	if code != 1 || !strings.Contains(errOut, "sipd call: call not answered within 600ms") || !strings.Contains(out, "→ CANCEL") {
		t.Errorf("unanswered: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}

	bad := filepath.Join(t.TempDir(), "bad.wav")
	os.WriteFile(bad, []byte("not a wav file"), 0o600)
	code, _, errOut = runCmd("call", "sip:bob@"+addr, "--play", bad)
	if code != 1 || !strings.Contains(errOut, "not a WAV file") {
		t.Errorf("bad --play: exit %d, stderr %q", code, errOut)
	}
}

// TestCallReliable180: sipd answer --100rel sends its 180 reliably to
// sipd call (which always supports 100rel, RFC 3262 §4), which PRACKs it;
// the 200 comes after the PRACK's 200.
func TestCallReliable180(t *testing.T) {
	addr, _, _ := startAnswer(t, "--100rel")
	code, out, errOut := runCmd("call", "sip:bob@"+addr, "--duration", "200ms")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if i := strings.IndexAny(l, "→←"); i >= 0 {
			got = append(got, strings.Join(strings.Fields(l[i:]), " "))
		}
	}
	want := []string{"→ INVITE", "← 180 Ringing CSeq 1 INVITE from " + addr + "/udp [RSeq ", "→ PRACK", "← 200 OK CSeq 2 PRACK",
		"← 200 OK CSeq 1 INVITE", "→ ACK", "→ BYE", "← 200 OK CSeq 3 BYE"}
	i := 0
	for _, l := range got {
		if i < len(want) && strings.HasPrefix(l, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("flow lacks %q after %q:\n%s", want[i], want[:i], strings.Join(got, "\n"))
	}
	// RFC 3262 §7.2: RAck is the 180's RSeq and the INVITE's CSeq.
	m := regexp.MustCompile(`\[RSeq (\d+)\]`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "[RAck "+m[1]+" 1 INVITE]") {
		t.Errorf("the PRACK's RAck is not the 180's RSeq and 1 INVITE:\n%s", out)
	}
}

// TestAnswerCount: --count 2 takes two calls, records each in a file of
// its own (in-1.wav, in-2.wav) and returns after the second.
func TestAnswerCount(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "in.wav")
	addr, ansOut, done := startAnswer(t, "--count", "2", "--record", rec)
	for i, hz := range []string{"500", "1200"} {
		if code, out, errOut := runCmd("call", "sip:bob@"+addr, "--tone", hz, "--duration", "500ms"); code != 0 {
			t.Fatalf("call %d: exit %d, stderr %q, stdout:\n%s", i+1, code, errOut, out)
		}
	}
	if ok, err := done(5 * time.Second); !ok || err != nil {
		t.Fatalf("sipd answer --count 2: returned %v, %v:\n%s", ok, err, ansOut.String())
	}
	readTone(t, filepath.Join(dir, "in-1.wav"), 500)
	readTone(t, filepath.Join(dir, "in-2.wav"), 1200)
	if !strings.Contains(ansOut.String(), "calls taken: 2") {
		t.Errorf("no summary:\n%s", ansOut.String())
	}
}
