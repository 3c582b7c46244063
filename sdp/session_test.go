package sdp

import (
	"bytes"
	"errors"
	"testing"
)

// exchange is one step of a session: what our side sends and what the
// o= version and audio direction of it must be.
type exchange struct {
	name    string
	send    func(s *Session) ([]byte, error)
	version uint64 // relative to the first SDP sent
	dir     string
	same    bool // identical to the previous SDP sent
}

func TestSessionHoldResume(t *testing.T) {
	offerCfg := OfferConfig{Addr: ourAddr, Port: 30000}
	steps := []exchange{
		{name: "initial offer", send: func(s *Session) ([]byte, error) { return s.Offer(offerCfg) }, version: 0, dir: "sendrecv"},
		{name: "same offer again", send: func(s *Session) ([]byte, error) { return s.Offer(offerCfg) }, version: 0, dir: "sendrecv", same: true},
		{name: "hold", send: (*Session).Hold, version: 1, dir: "sendonly"},
		{name: "hold again is a no-op", send: (*Session).Hold, version: 1, dir: "sendonly", same: true},
		{name: "resume", send: (*Session).Resume, version: 2, dir: "sendrecv"},
		{name: "resume again", send: (*Session).Resume, version: 2, dir: "sendrecv", same: true},
		{name: "new port", send: func(s *Session) ([]byte, error) {
			c := offerCfg
			c.Port = 30002
			return s.Offer(c)
		}, version: 3, dir: "sendrecv"},
		{name: "recvonly", send: func(s *Session) ([]byte, error) {
			c := offerCfg
			c.Port, c.Direction = 30002, RecvOnly
			return s.Offer(c)
		}, version: 4, dir: "recvonly"},
		{name: "hold recvonly becomes inactive", send: (*Session).Hold, version: 5, dir: "inactive"},
		{name: "resume from inactive", send: (*Session).Resume, version: 6, dir: "sendrecv"},
	}
	s, err := NewSession(ourAddr, fixedRand())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Hold(); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("Hold before any SDP: %v", err)
	}
	first := s.Origin()
	var prev []byte
	for _, st := range steps {
		b, err := st.send(s)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		sd, err := parse(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", st.name, err, b)
		}
		o := sd.Origin
		if o.SessionVersion != first.SessionVersion+st.version {
			t.Errorf("%s: version %d, want %d", st.name, o.SessionVersion, first.SessionVersion+st.version)
		}
		// RFC 3264 §8: the o= line stays, but for the version.
		o.SessionVersion = first.SessionVersion
		if o != first {
			t.Errorf("%s: origin %+v, want %+v", st.name, sd.Origin, first)
		}
		if d, _ := directionAttr(sd.MediaDescriptions[0].Attributes); d.String() != st.dir {
			t.Errorf("%s: direction %s, want %s", st.name, d, st.dir)
		}
		if got := bytes.Equal(b, prev); got != st.same {
			t.Errorf("%s: identical to previous %v, want %v", st.name, got, st.same)
		}
		if !bytes.Equal(s.Last(), b) {
			t.Errorf("%s: Last is not what was sent", st.name)
		}
		prev = b
	}
}

// TestHoldRoundTrip puts a call on hold and back through both sides: our
// offers from the free Hold and Resume, the peer's answers from Answer.
func TestHoldRoundTrip(t *testing.T) {
	offer := mustOffer(t, OfferConfig{Addr: ourAddr, Port: 30000, SessionID: 100, SessionVersion: 100})
	peer := AnswerConfig{Addr: ourAddr, Port: 40000, SessionID: 900, SessionVersion: 900}
	tests := []struct {
		name     string
		make     func([]byte) ([]byte, error)
		version  uint64
		answered string    // the peer's answer direction
		ours     Direction // our direction after ParseAnswer
		peers    Direction // the peer's direction after Answer
	}{
		{"hold", Hold, 101, "recvonly", SendOnly, RecvOnly},
		{"resume", Resume, 102, "sendrecv", SendRecv, SendRecv},
		{"hold", Hold, 103, "recvonly", SendOnly, RecvOnly},
		{"hold again", Hold, 103, "recvonly", SendOnly, RecvOnly},
		{"resume", Resume, 104, "sendrecv", SendRecv, SendRecv},
	}
	for _, tt := range tests {
		next, err := tt.make(offer)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		sd, err := parse(next)
		if err != nil {
			t.Fatal(err)
		}
		if sd.Origin.SessionVersion != tt.version || sd.Origin.SessionID != 100 {
			t.Errorf("%s: origin %+v, want version %d", tt.name, sd.Origin, tt.version)
		}
		ans, pn, err := Answer(next, peer)
		if err != nil {
			t.Fatalf("%s: Answer: %v", tt.name, err)
		}
		if !bytes.Contains(ans, []byte("a="+tt.answered+"\r\n")) {
			t.Errorf("%s: answer not %s:\n%s", tt.name, tt.answered, ans)
		}
		if pn.Direction != tt.peers {
			t.Errorf("%s: peer direction %s, want %s", tt.name, pn.Direction, tt.peers)
		}
		n, err := ParseAnswer(next, ans)
		if err != nil {
			t.Fatalf("%s: ParseAnswer: %v", tt.name, err)
		}
		if n.Direction != tt.ours || n.Remote.Port() != 40000 || n.Codec != PCMU {
			t.Errorf("%s: negotiated %+v", tt.name, n)
		}
		offer = next
	}
}

// TestSessionAnswerThenOffer: a UAS answers an audio+video offer, then puts
// the call on hold and re-offers; the rejected video m= line stays (§8).
func TestSessionAnswerThenOffer(t *testing.T) {
	s, err := NewSession(ourAddr, fixedRand())
	if err != nil {
		t.Fatal(err)
	}
	ans, n, err := s.Answer(offerDeskPhone, AnswerConfig{Addr: ourAddr, Port: 30000})
	if err != nil {
		t.Fatal(err)
	}
	if n.Stream != 0 || s.Origin().SessionVersion != 12346 {
		t.Fatalf("negotiated %+v origin %+v", n, s.Origin())
	}
	if _, err := ParseAnswer(offerDeskPhone, ans); err != nil {
		t.Fatal(err)
	}
	held, err := s.Hold()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := parse(held)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMLines(sd, []mline{{"audio", 30000, "8 0 96", "sendonly"}, {"video", 0, "109 34", ""}}); err != nil {
		t.Errorf("%v\n%s", err, held)
	}
	if sd.Origin.SessionVersion != 12347 {
		t.Errorf("version %d", sd.Origin.SessionVersion)
	}
	re, err := s.Offer(OfferConfig{Addr: ourAddr, Port: 30004, Codecs: []Codec{PCMA}})
	if err != nil {
		t.Fatal(err)
	}
	sd, err = parse(re)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMLines(sd, []mline{{"audio", 30004, "8", "sendrecv"}, {"video", 0, "109 34", ""}}); err != nil {
		t.Errorf("%v\n%s", err, re)
	}
	if sd.Origin.SessionVersion != 12348 {
		t.Errorf("version %d", sd.Origin.SessionVersion)
	}
	// Fewer m= lines than before is refused (RFC 3264 §8).
	one, err := NewOffer(OfferConfig{Addr: ourAddr, Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(one); !errors.Is(err, ErrConfig) {
		t.Errorf("Send with fewer m= lines: %v", err)
	}
}

func TestHoldMalformed(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("garbage"), []byte("v=0\r\n")} {
		if _, err := Hold(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("Hold(%q): %v", b, err)
		}
		if _, err := Resume(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("Resume(%q): %v", b, err)
		}
	}
}

// TestHoldSessionLevelDirection: a direction at session level moves to the
// media level when the stream is put on hold.
func TestHoldSessionLevelDirection(t *testing.T) {
	held, err := Hold(offerSessionSendonly)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := parse(held)
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.Attributes) != 0 {
		t.Errorf("session attributes %v", sd.Attributes)
	}
	if err := checkMLines(sd, []mline{{"audio", 4000, "0", "sendonly"}}); err != nil {
		t.Error(err)
	}
	if sd.Origin.SessionVersion != 3 {
		t.Errorf("version %d, want 3", sd.Origin.SessionVersion)
	}
}
