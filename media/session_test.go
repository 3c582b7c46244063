package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

func listen(t *testing.T, opts Options) *Session {
	t.Helper()
	s, err := Listen(loopback, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawConn is a plain UDP socket on loopback, to play a peer or a stranger.
func rawConn(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(loopback))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// waitFor polls cond for up to 3 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sendRTP(t *testing.T, from *net.UDPConn, to netip.AddrPort, pt uint8, ssrc uint32, seq uint16, payload []byte) {
	t.Helper()
	b, err := (&rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: ssrc},
		Payload: payload,
	}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := from.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

func TestSessionsExchangeTones(t *testing.T) {
	a, b := listen(t, Options{}), listen(t, Options{})
	a.SetRemote(b.LocalAddr())
	b.SetRemote(a.LocalAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	errc := make(chan error, 2)
	go func() { errc <- a.Send(ctx, Tone(440, SampleRate, time.Second, 0.5), PCMU) }()
	go func() { errc <- b.Send(ctx, Tone(1000, SampleRate, time.Second, 0.5), PCMA) }()
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	const frames = SampleRate / FrameSamples // 1 s
	waitFor(t, "both sides to receive every packet", func() bool {
		return a.Stats().PacketsReceived == frames && b.Stats().PacketsReceived == frames
	})

	for _, tt := range []struct {
		name        string
		s           *Session
		heard, own  float64
		wantSamples int
	}{
		{"a hears b", a, 1000, 440, SampleRate},
		{"b hears a", b, 440, 1000, SampleRate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.Received()
			if len(got) != tt.wantSamples {
				t.Errorf("received %d samples, want %d", len(got), tt.wantSamples)
			}
			if !Detect(got, SampleRate, tt.heard) {
				t.Errorf("the %v Hz tone was not detected", tt.heard)
			}
			if Detect(got, SampleRate, tt.own) {
				t.Errorf("its own %v Hz tone was detected", tt.own)
			}
			st := tt.s.Stats()
			want := Stats{PacketsSent: frames, BytesSent: SampleRate, PacketsReceived: frames, BytesReceived: SampleRate}
			if st != want {
				t.Errorf("stats %+v, want %+v", st, want)
			}
		})
	}
}

func TestSessionPacketFormat(t *testing.T) {
	s := listen(t, Options{})
	peer := rawConn(t)
	s.SetRemote(addrOf(peer))
	ctx := context.Background()
	// 2.5 frames: the last is short.
	start := time.Now()
	if err := s.Send(ctx, Tone(440, SampleRate, 50*time.Millisecond, 0.5), PCMA); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2*FrameDuration-5*time.Millisecond {
		t.Errorf("3 frames went out in %v, not paced at %v", d, FrameDuration)
	}
	// A second talkspurt after a pause.
	time.Sleep(60 * time.Millisecond)
	if err := s.Send(ctx, make([]int16, FrameSamples), PCMU); err != nil {
		t.Fatal(err)
	}

	var pkts []rtp.Packet
	buf := make([]byte, 1500)
	peer.SetReadDeadline(time.Now().Add(3 * time.Second))
	for range 4 {
		n, from, err := peer.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if from != s.LocalAddr() {
			t.Errorf("packet from %v, want the session's own socket %v (symmetric RTP)", from, s.LocalAddr())
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	wantLen := []int{160, 160, 80, 160}
	wantPT := []uint8{8, 8, 8, 0}
	wantMarker := []bool{true, false, false, true}
	for i, p := range pkts {
		if p.Version != 2 || p.SSRC != s.SSRC() || p.PayloadType != wantPT[i] ||
			p.Marker != wantMarker[i] || len(p.Payload) != wantLen[i] {
			t.Errorf("packet %d: v%d ssrc %#x pt %d marker %v len %d; want v2 ssrc %#x pt %d marker %v len %d",
				i, p.Version, p.SSRC, p.PayloadType, p.Marker, len(p.Payload),
				s.SSRC(), wantPT[i], wantMarker[i], wantLen[i])
		}
		if i > 0 && p.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: seq %d after %d", i, p.SequenceNumber, pkts[i-1].SequenceNumber)
		}
	}
	if d := pkts[1].Timestamp - pkts[0].Timestamp; d != 160 {
		t.Errorf("timestamp step %d, want 160", d)
	}
	// The 60 ms pause shows in the timestamp: 80 samples of the short frame,
	// then at least 20 ms idle beyond the frame's slot.
	if d := pkts[3].Timestamp - pkts[2].Timestamp; d < 80+160 || d > 80+160+800 {
		t.Errorf("timestamp step across the pause %d, want 240..1040", d)
	}
	if a, b := listen(t, Options{}), listen(t, Options{}); a.SSRC() == b.SSRC() {
		t.Errorf("two sessions share SSRC %#x", a.SSRC()) // 1 in 2^32
	}
}

func TestSessionIgnoresStrangers(t *testing.T) {
	s := listen(t, Options{})
	peer, stranger := rawConn(t), rawConn(t)
	to := s.LocalAddr()
	ulaw := EncodeULaw(Tone(1000, SampleRate, FrameDuration, 0.5))

	// Nothing is accepted before the remote is known.
	sendRTP(t, peer, to, 0, 1, 1, ulaw)
	waitFor(t, "the first packet to be ignored", func() bool { return s.Stats().Ignored == 1 })

	s.SetRemote(addrOf(peer))
	sendRTP(t, stranger, to, 0, 1, 2, ulaw)                                    // wrong source
	sendRTP(t, peer, to, 101, 1, 3, []byte{1, 0, 0, 160})                      // telephone-event
	sendRTP(t, peer, to, 13, 1, 4, []byte{40})                                 // comfort noise
	peer.WriteToUDPAddrPort([]byte{0x80, 0xC8, 0, 6}, to)                      // RTCP-ish junk
	peer.WriteToUDPAddrPort(make([]byte, 20), to)                              // version 0
	peer.WriteToUDPAddrPort([]byte{0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, to) // padding without a length
	sendRTP(t, peer, to, 0, 1, 5, ulaw)                                        // the one good packet
	waitFor(t, "all datagrams to be handled", func() bool {
		st := s.Stats()
		return st.Ignored+st.PacketsReceived == 8
	})
	st := s.Stats()
	if st.PacketsReceived != 1 || st.BytesReceived != FrameSamples || st.Ignored != 7 {
		t.Errorf("stats %+v, want 1 packet of %d bytes and 7 ignored", st, FrameSamples)
	}
	got := s.Received()
	if len(got) != FrameSamples || !Detect(got, SampleRate, 1000) {
		t.Errorf("received %d samples, want one 1000 Hz frame", len(got))
	}
}

func TestSessionLossAndRecordCap(t *testing.T) {
	s := listen(t, Options{MaxRecord: 50 * time.Millisecond}) // 400 samples
	peer := rawConn(t)
	s.SetRemote(addrOf(peer))
	frame := EncodeALaw(make([]int16, FrameSamples))
	// SSRC 7: 65534, 65535, (0 lost), 1, 3 (2 lost), 3 again (duplicate).
	for _, seq := range []uint16{65534, 65535, 1, 3, 3} {
		sendRTP(t, peer, s.LocalAddr(), 8, 7, seq, frame)
	}
	// A new SSRC restarts sequence tracking: 100, 103 (101, 102 lost).
	for _, seq := range []uint16{100, 103} {
		sendRTP(t, peer, s.LocalAddr(), 8, 8, seq, frame)
	}
	waitFor(t, "7 packets", func() bool { return s.Stats().PacketsReceived == 7 })
	st := s.Stats()
	// SSRC 7: expected 6, received 5 → 1 lost (the duplicate masks one);
	// SSRC 8: expected 4, received 2 → 2 lost.
	if st.Lost != 3 {
		t.Errorf("lost %d, want 3", st.Lost)
	}
	if n := len(s.Received()); n != 400 {
		t.Errorf("recorded %d samples, want the 400 cap", n)
	}
	if st.SamplesDropped != 7*FrameSamples-400 {
		t.Errorf("dropped %d samples, want %d", st.SamplesDropped, 7*FrameSamples-400)
	}
}

func TestSessionSendErrors(t *testing.T) {
	s := listen(t, Options{})
	ctx := context.Background()
	if err := s.Send(ctx, make([]int16, 10), PCMU); !errors.Is(err, ErrNoRemote) {
		t.Errorf("no remote: err = %v, want ErrNoRemote", err)
	}
	s.SetRemote(addrOf(rawConn(t)))
	if err := s.Send(ctx, make([]int16, 10), Codec(9)); !errors.Is(err, ErrCodec) {
		t.Errorf("G.722: err = %v, want ErrCodec", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Send(cctx, make([]int16, 10*SampleRate), PCMU); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled: err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled Send took %v", d)
	}
	// Close interrupts a Send in progress.
	errc := make(chan error, 1)
	go func() { errc <- s.Send(ctx, make([]int16, 10*SampleRate), PCMU) }()
	waitFor(t, "sending to start", func() bool { return s.Stats().PacketsSent > 4 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("after Close: err = %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Send kept going after Close")
	}
	if err := s.Send(ctx, make([]int16, 10), PCMU); !errors.Is(err, ErrClosed) {
		t.Errorf("closed: err = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSessionCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	var ss []*Session
	for range 5 {
		s, err := Listen(loopback, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	ss[0].SetRemote(ss[1].LocalAddr())
	ss[1].SetRemote(ss[0].LocalAddr())
	if err := ss[0].Send(context.Background(), make([]int16, 2*FrameSamples), PCMU); err != nil {
		t.Fatal(err)
	}
	// Goroutines of earlier tests may still be on their way out, so the
	// count only has to drop by at least the 5 readers.
	open := runtime.NumGoroutine()
	for _, s := range ss {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Close waits for each reader to finish its work; the poll absorbs the
	// instant between that and the goroutine's exit.
	waitFor(t, "goroutines to exit", func() bool {
		return runtime.NumGoroutine() <= min(before, open-5)
	})
}
