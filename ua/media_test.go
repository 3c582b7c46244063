package ua

import (
	"bytes"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/sipd/sipd/media"
)

// TestCallMedia: the caller sends a 440 Hz tone over the negotiated RTP
// session; the callee's recording, written as WAV, holds it.
func TestCallMedia(t *testing.T) {
	calls := make(chan *Call, 1)
	bob, _ := loopUA(t, Config{User: "bob", OnInvite: answerer(calls)})
	alice, _ := loopUA(t, Config{User: "alice"})
	ctx := testCtx(t)
	ac, err := alice.Invite(ctx, bob.Contact(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bc := recv(t, calls, 5*time.Second)
	if ac.Codec() != media.PCMU {
		t.Errorf("codec %v", ac.Codec())
	}
	if err := ac.SendTone(ctx, 440, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "audio at bob", func() bool { return len(bc.Media().Received()) >= 2000 })
	var wav bytes.Buffer
	if err := bc.WriteRecording(&wav); err != nil {
		t.Fatal(err)
	}
	samples, rate, err := media.ReadWAV(&wav)
	if err != nil || rate != media.SampleRate {
		t.Fatal(rate, err)
	}
	if !media.Detect(samples, rate, 440) || media.Detect(samples, rate, 1000) {
		t.Errorf("440 Hz not heard in %d samples", len(samples))
	}
	// And back, from a WAV file.
	var tone bytes.Buffer
	media.WriteWAV(&tone, media.Tone(1000, media.SampleRate, 200*time.Millisecond, 0.5), media.SampleRate)
	if err := bc.PlayWAV(ctx, &tone); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "audio at alice", func() bool { return len(ac.Media().Received()) >= 1200 })
	if !media.Detect(ac.Media().Received(), media.SampleRate, 1000) {
		t.Errorf("1000 Hz not heard")
	}
}

// TestCloseLeavesNoGoroutines: after calls, a registration-less UA pair
// closes down to the goroutines there were before.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	calls := make(chan *Call, 4)
	bob, err := New(Config{User: "bob", OnInvite: answerer(calls), Timers: fastTimers})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := New(Config{User: "alice", Timers: fastTimers})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	ac, err := alice.Invite(ctx, bob.Contact(), &InviteOptions{SessionExpires: 1800})
	if err != nil {
		t.Fatal(err)
	}
	recv(t, calls, 5*time.Second)
	if err := ac.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	// One call left up: Close hangs it up.
	if _, err := alice.Invite(ctx, bob.Contact(), nil); err != nil {
		t.Fatal(err)
	}
	recv(t, calls, 5*time.Second)
	alice.Close()
	bob.Close()
	eventually(t, 3*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestUnspecifiedListen: a UA listening on 0.0.0.0 puts a usable address
// in its Contact and SDP, and calls work to it.
func TestUnspecifiedListen(t *testing.T) {
	calls := make(chan *Call, 1)
	bob, _ := loopUA(t, Config{User: "bob", Listen: "0.0.0.0:0", Advertise: netip.MustParseAddr("127.0.0.1"), OnInvite: answerer(calls)})
	if h := bob.Contact().Host; h != "127.0.0.1" {
		t.Fatalf("contact host %q", h)
	}
	alice, _ := loopUA(t, Config{User: "alice"})
	ac, err := alice.Invite(testCtx(t), bob.Contact(), nil)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, calls, 5*time.Second)
	if ac.Negotiated().Remote.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("bob's SDP address %v", ac.Negotiated().Remote)
	}
	other, err := New(Config{User: "carol", Listen: "0.0.0.0:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if ip, err := netip.ParseAddr(other.Contact().Host); err != nil || ip.IsUnspecified() {
		t.Errorf("default contact host %q", other.Contact().Host)
	}
}
