package sdp

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	pion "github.com/pion/sdp/v3"
)

// crlf turns a literal written with LF line ends into SDP text.
func crlf(s string) []byte {
	s = strings.TrimLeft(s, "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// Offers from RFC 3264 §10 and from real user agents.
var (
	// SIPp's uac scenario: m=audio [media_port] RTP/AVP 0.
	offerSIPp = crlf(`
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
`)
	// RFC 3264 §10.1, Alice's offer.
	offerRFC3264Basic = crlf(`
v=0
o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
s=
c=IN IP4 host.anywhere.com
t=0 0
m=audio 49170 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 51372 RTP/AVP 31
a=rtpmap:31 H261/90000
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
`)
	// RFC 3264 §10.1, Bob's answer to it.
	answerRFC3264Basic = crlf(`
v=0
o=bob 2890844730 2890844730 IN IP4 host.example.com
s=
c=IN IP4 host.example.com
t=0 0
m=audio 49920 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 0 RTP/AVP 31
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
`)
	// RFC 3264 §10.1, Bob's re-offer adding a recvonly event stream.
	offerRFC3264Reoffer = crlf(`
v=0
o=bob 2890844730 2890844731 IN IP4 host.example.com
s=
c=IN IP4 host.example.com
t=0 0
m=audio 65422 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 0 RTP/AVP 31
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
m=audio 51434 RTP/AVP 110
a=rtpmap:110 telephone-events/8000
a=recvonly
`)
	// RFC 3264 §10.2, one of N codecs, inactive until locked down.
	offerRFC3264OneOfN = crlf(`
v=0
o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
s=
c=IN IP4 host.anywhere.com
t=0 0
m=audio 62986 RTP/AVP 0 4 18
a=rtpmap:0 PCMU/8000
a=rtpmap:4 G723/8000
a=rtpmap:18 G729/8000
a=inactive
`)
	// baresip 3.x with opus, G.722.1, G.722, G.711 and DTMF.
	offerBaresip = crlf(`
v=0
o=- 1473212373 2083698003 IN IP4 192.168.1.20
s=-
c=IN IP4 192.168.1.20
t=0 0
m=audio 10318 RTP/AVP 96 97 9 0 8 101
b=AS:64
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:97 G7221/16000
a=fmtp:97 bitrate=32000
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
`)
	// A desk phone (Polycom/Yealink style): DTMF on 96, static PTs without
	// rtpmap lines, audio plus video.
	offerDeskPhone = crlf(`
v=0
o=- 20 20 IN IP4 10.0.0.7
s=SDP data
c=IN IP4 10.0.0.7
b=AS:2048
t=0 0
m=audio 2230 RTP/AVP 8 0 18 96
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:96 telephone-event/8000
m=video 2240 RTP/AVP 109 34
a=rtpmap:109 H264/90000
a=fmtp:109 profile-level-id=42801F
a=rtpmap:34 H263/90000
`)
	offerIPv6MediaConn = crlf(`
v=0
o=- 1 1 IN IP6 2001:db8::1
s=-
c=IN IP4 192.0.2.99
t=0 0
m=audio 7078 RTP/AVP 8
c=IN IP6 2001:db8::1
a=ptime:30
`)
	offerSessionSendonly = crlf(`
v=0
o=- 1 2 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
a=sendonly
m=audio 4000 RTP/AVP 0
`)
	// RFC 2543 hold: c=0.0.0.0.
	offerOldHold = crlf(`
v=0
o=- 1 3 IN IP4 192.0.2.1
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 4000 RTP/AVP 0
`)
	offerNoMedia = crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
`)
	offerRemovedThenNew = crlf(`
v=0
o=- 1 4 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 0 RTP/AVP 0
m=audio 4002 RTP/AVP 8 0
a=rtpmap:8 PCMA/8000
`)
	offerSRTP = crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/SAVP 0
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4
`)
	offerMulticast = crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 224.2.17.12/127
t=0 0
m=audio 49230 RTP/AVP 0
`)
	offerG729Only = crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 18 101
a=rtpmap:18 G729/8000
a=rtpmap:101 telephone-event/8000
`)
	offerVideoOnly = crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=video 4000 RTP/AVP 31
`)
)

// ourAddr is the address our side answers and offers with.
var ourAddr = netip.MustParseAddr("192.0.2.200")

// fixedRand is a deterministic session id source for tests: id 12346.
func fixedRand() *bytes.Reader { return bytes.NewReader([]byte{0, 0, 0, 0, 0, 0, 0x30, 0x39}) }

// mline is what a test expects of one m= line of an answer.
type mline struct {
	media   string
	port    int
	formats string // space separated
	dir     string // direction attribute, "" when absent
}

// checkMLines compares the m= lines of sd with want.
func checkMLines(sd *pion.SessionDescription, want []mline) error {
	if len(sd.MediaDescriptions) != len(want) {
		return fmt.Errorf("%d m= lines, want %d", len(sd.MediaDescriptions), len(want))
	}
	for i, md := range sd.MediaDescriptions {
		got := mline{media: md.MediaName.Media, port: md.MediaName.Port.Value, formats: strings.Join(md.MediaName.Formats, " ")}
		if d, ok := directionAttr(md.Attributes); ok {
			got.dir = d.String()
		}
		if got != want[i] {
			return fmt.Errorf("m= line %d: got %+v, want %+v", i+1, got, want[i])
		}
		if md.MediaName.Port.Value == 0 && len(md.Attributes) != 0 {
			return fmt.Errorf("m= line %d: rejected with attributes %v", i+1, md.Attributes)
		}
	}
	return nil
}

func pts(cs []Codec) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = fmt.Sprint(c.PayloadType)
	}
	return strings.Join(s, " ")
}

func TestAnswer(t *testing.T) {
	// The offer has no fmtp for it, so the answer carries ours.
	te96 := Codec{PayloadType: 96, Name: "telephone-event", ClockRate: 8000, Fmtp: "0-16"}
	tests := []struct {
		name   string
		offer  []byte
		cfg    func(*AnswerConfig)
		want   []mline
		stream int
		codec  string // Negotiated.Codec.String()
		codecs string // Negotiated.Codecs payload types
		te     Codec
		remote string
		dir    Direction
		ptime  int
		err    error
	}{
		{
			name: "sipp default", offer: offerSIPp,
			want:  []mline{{"audio", 30000, "0", "sendrecv"}},
			codec: "PCMU/8000", codecs: "0", remote: "127.0.0.1:6000",
		},
		{
			name: "rfc3264 10.1 video rejected", offer: offerRFC3264Basic,
			want: []mline{
				{"audio", 30000, "0", "sendrecv"},
				{"video", 0, "31", ""},
				{"video", 0, "32", ""},
			},
			codec: "PCMU/8000", codecs: "0",
		},
		{
			name: "rfc3264 10.1 re-offer second audio rejected", offer: offerRFC3264Reoffer,
			want: []mline{
				{"audio", 30000, "0", "sendrecv"},
				{"video", 0, "31", ""},
				{"video", 0, "32", ""},
				{"audio", 0, "110", ""},
			},
			codec: "PCMU/8000", codecs: "0",
		},
		{
			name: "rfc3264 10.2 inactive stays inactive", offer: offerRFC3264OneOfN,
			want:  []mline{{"audio", 30000, "0", "inactive"}},
			codec: "PCMU/8000", codecs: "0", dir: Inactive,
		},
		{
			name: "baresip offer order kept", offer: offerBaresip,
			want:  []mline{{"audio", 30000, "0 8 101", "sendrecv"}},
			codec: "PCMU/8000", codecs: "0 8 101",
			te:     Codec{PayloadType: 101, Name: "telephone-event", ClockRate: 8000, Fmtp: "0-15"},
			remote: "192.168.1.20:10318", ptime: 20,
		},
		{
			name: "baresip our order", offer: offerBaresip,
			cfg: func(c *AnswerConfig) {
				c.PreferOwnOrder = true
				c.Codecs = []Codec{PCMA, PCMU, TelephoneEvent}
			},
			want:  []mline{{"audio", 30000, "8 0 101", "sendrecv"}},
			codec: "PCMA/8000", codecs: "8 0 101",
			te:    Codec{PayloadType: 101, Name: "telephone-event", ClockRate: 8000, Fmtp: "0-15"},
			ptime: 20,
		},
		{
			name: "baresip opus and G.722", offer: offerBaresip,
			cfg: func(c *AnswerConfig) {
				c.Codecs = []Codec{{PayloadType: 9, Name: "G722", ClockRate: 8000}, {PayloadType: 111, Name: "OPUS", ClockRate: 48000, Channels: 2}}
			},
			want:  []mline{{"audio", 30000, "96 9", "sendrecv"}},
			codec: "opus/48000/2", codecs: "96 9", ptime: 20,
		},
		{
			name: "desk phone dynamic PT kept and video rejected", offer: offerDeskPhone,
			want: []mline{
				{"audio", 30000, "8 0 96", "sendrecv"},
				{"video", 0, "109 34", ""},
			},
			codec: "PCMA/8000", codecs: "8 0 96", te: te96, remote: "10.0.0.7:2230",
		},
		{
			name: "IPv6 media-level connection", offer: offerIPv6MediaConn,
			want:  []mline{{"audio", 30000, "8", "sendrecv"}},
			codec: "PCMA/8000", codecs: "8", remote: "[2001:db8::1]:7078", ptime: 30,
		},
		{
			name: "session-level sendonly mirrored", offer: offerSessionSendonly,
			want:  []mline{{"audio", 30000, "0", "recvonly"}},
			codec: "PCMU/8000", codecs: "0", dir: RecvOnly,
		},
		{
			name: "we want recvonly", offer: offerSIPp,
			cfg:   func(c *AnswerConfig) { c.Direction = RecvOnly },
			want:  []mline{{"audio", 30000, "0", "recvonly"}},
			codec: "PCMU/8000", codecs: "0", dir: RecvOnly,
		},
		{
			name: "recvonly offer, we want recvonly", offer: withDirection(offerSIPp, "recvonly"),
			cfg:   func(c *AnswerConfig) { c.Direction = RecvOnly },
			want:  []mline{{"audio", 30000, "0", "inactive"}},
			codec: "PCMU/8000", codecs: "0", dir: Inactive,
		},
		{
			name: "recvonly offer mirrored", offer: withDirection(offerSIPp, "recvonly"),
			want:  []mline{{"audio", 30000, "0", "sendonly"}},
			codec: "PCMU/8000", codecs: "0", dir: SendOnly,
		},
		{
			name: "sendonly offer mirrored", offer: withDirection(offerSIPp, "sendonly"),
			want:  []mline{{"audio", 30000, "0", "recvonly"}},
			codec: "PCMU/8000", codecs: "0", dir: RecvOnly,
		},
		{
			name: "rfc2543 hold address: we must not send", offer: offerOldHold,
			want:  []mline{{"audio", 30000, "0", "sendrecv"}},
			codec: "PCMU/8000", codecs: "0", remote: "0.0.0.0:4000", dir: RecvOnly,
		},
		{
			name: "removed stream stays removed", offer: offerRemovedThenNew,
			want: []mline{
				{"audio", 0, "0", ""},
				{"audio", 30000, "8 0", "sendrecv"},
			},
			stream: 1, codec: "PCMA/8000", codecs: "8 0",
		},
		{
			name: "no m= lines", offer: offerNoMedia,
			want: []mline{}, stream: -1,
		},
		{name: "no codec in common", offer: offerG729Only, stream: -1, err: ErrNoCommonMedia},
		{
			name: "telephone-event alone is not enough", offer: offerG729Only,
			cfg:    func(c *AnswerConfig) { c.Codecs = []Codec{PCMU, TelephoneEvent} },
			stream: -1, err: ErrNoCommonMedia,
		},
		{name: "SRTP not supported", offer: offerSRTP, stream: -1, err: ErrNoCommonMedia},
		{name: "multicast not supported", offer: offerMulticast, stream: -1, err: ErrNoCommonMedia},
		{name: "video only", offer: offerVideoOnly, stream: -1, err: ErrNoCommonMedia},
		{name: "empty", offer: nil, stream: -1, err: ErrMalformed},
		{name: "garbage", offer: []byte("INVITE sip:bob@example.com SIP/2.0\r\n"), stream: -1, err: ErrMalformed},
		{name: "version 1", offer: bytes.Replace(offerSIPp, []byte("v=0"), []byte("v=1"), 1), stream: -1, err: ErrMalformed},
		{name: "no connection address", offer: bytes.Replace(offerSIPp, []byte("c=IN IP4 127.0.0.1\r\n"), nil, 1), stream: -1, err: ErrMalformed},
		{name: "no media format", offer: bytes.Replace(offerSIPp, []byte("RTP/AVP 0"), []byte("RTP/AVP"), 1), stream: -1, err: ErrMalformed},
		{name: "bad port", offer: bytes.Replace(offerSIPp, []byte("6000"), []byte("70000"), 1), stream: -1, err: ErrMalformed},
		{name: "no address in config", offer: offerSIPp, cfg: func(c *AnswerConfig) { c.Addr = netip.Addr{} }, stream: -1, err: ErrConfig},
		{name: "bad codec in config", offer: offerSIPp, cfg: func(c *AnswerConfig) { c.Codecs = []Codec{{Name: "PCMU"}} }, stream: -1, err: ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := AnswerConfig{Addr: ourAddr, Port: 30000, Rand: fixedRand()}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			ans, n, err := Answer(tt.offer, cfg)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Answer: err %v, want %v", err, tt.err)
			}
			if n.Stream != tt.stream {
				t.Errorf("Stream %d, want %d", n.Stream, tt.stream)
			}
			if err != nil {
				if ans != nil {
					t.Errorf("answer %q with error", ans)
				}
				return
			}
			sd, err := parse(ans)
			if err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, ans)
			}
			if err := checkMLines(sd, tt.want); err != nil {
				t.Errorf("%v\n%s", err, ans)
			}
			if err := checkOurs(sd, tt.offer); err != nil {
				t.Errorf("%v\n%s", err, ans)
			}
			if got := n.Codec.String(); tt.codec != "" && got != tt.codec {
				t.Errorf("Codec %s, want %s", got, tt.codec)
			}
			if got := pts(n.Codecs); got != tt.codecs {
				t.Errorf("Codecs %s, want %s", got, tt.codecs)
			}
			if n.TelephoneEvent != tt.te {
				t.Errorf("TelephoneEvent %+v, want %+v", n.TelephoneEvent, tt.te)
			}
			if tt.remote != "" && n.Remote.String() != tt.remote {
				t.Errorf("Remote %s, want %s", n.Remote, tt.remote)
			}
			if n.Direction != tt.dir {
				t.Errorf("Direction %s, want %s", n.Direction, tt.dir)
			}
			if n.Ptime != tt.ptime {
				t.Errorf("Ptime %d, want %d", n.Ptime, tt.ptime)
			}
			// The offerer's view of the same exchange agrees with ours.
			if n.Stream >= 0 {
				on, err := ParseAnswer(tt.offer, ans)
				if err != nil {
					t.Fatalf("ParseAnswer of our answer: %v", err)
				}
				if on.Stream != n.Stream || pts(on.Codecs) != pts(n.Codecs) || on.Remote.Port() != 30000 {
					t.Errorf("offerer sees %+v", on)
				}
			}
		})
	}
}

// checkOurs checks the session-level lines of an answer: our o= and c=, the
// offer's t= (RFC 3264 §6), and rtpmap lines for every accepted format.
func checkOurs(ans *pion.SessionDescription, offer []byte) error {
	off, err := parse(offer)
	if err != nil {
		return err
	}
	if ans.Origin.Username != "-" || ans.Origin.SessionID != 12346 || ans.Origin.UnicastAddress != ourAddr.String() {
		return fmt.Errorf("origin %+v", ans.Origin)
	}
	if c := ans.ConnectionInformation; c == nil || c.Address == nil || c.Address.Address != ourAddr.String() {
		return fmt.Errorf("connection %v", c)
	}
	if !slices.EqualFunc(ans.TimeDescriptions, off.TimeDescriptions, func(a, b pion.TimeDescription) bool { return a.Timing == b.Timing }) {
		return fmt.Errorf("t= %v, offer %v", ans.TimeDescriptions, off.TimeDescriptions)
	}
	for _, md := range ans.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue
		}
		for _, f := range md.MediaName.Formats {
			found := false
			for _, a := range md.Attributes {
				found = found || (a.Key == "rtpmap" && strings.HasPrefix(a.Value, f+" "))
			}
			if !found {
				return fmt.Errorf("no rtpmap for %s", f)
			}
		}
	}
	return nil
}

// withDirection adds a media-level direction attribute to a one-stream SDP.
func withDirection(sdp []byte, dir string) []byte {
	return append(slices.Clone(sdp), "a="+dir+"\r\n"...)
}

func TestAnswerFmtp(t *testing.T) {
	ans, _, err := Answer(offerBaresip, AnswerConfig{Addr: ourAddr, Port: 30000, Codecs: []Codec{
		{PayloadType: 111, Name: "opus", ClockRate: 48000, Channels: 2}, TelephoneEvent,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"a=rtpmap:96 opus/48000/2\r\n", "a=fmtp:96 stereo=1;sprop-stereo=1\r\n", "a=fmtp:101 0-15\r\n"} {
		if !bytes.Contains(ans, []byte(line)) {
			t.Errorf("answer lacks %q:\n%s", line, ans)
		}
	}
	if bytes.Contains(ans, []byte("0-16")) {
		t.Errorf("answer has our fmtp instead of the offer's:\n%s", ans)
	}
}

func TestNewOffer(t *testing.T) {
	tests := []struct {
		name string
		cfg  OfferConfig
		want string
		err  error
	}{
		{
			name: "defaults",
			cfg:  OfferConfig{Addr: ourAddr, Port: 30000, Rand: fixedRand(), Ptime: 20},
			want: `
v=0
o=- 12346 12346 IN IP4 192.0.2.200
s=-
c=IN IP4 192.0.2.200
t=0 0
m=audio 30000 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv
`,
		},
		{
			name: "IPv6 given origin and codecs",
			cfg: OfferConfig{
				Username: "alice", SessionID: 7, SessionVersion: 9,
				Addr: netip.MustParseAddr("2001:db8::5"), Port: 4000, Direction: SendOnly,
				Codecs: []Codec{{PayloadType: 96, Name: "opus", ClockRate: 48000, Channels: 2, Fmtp: "useinbandfec=1"}, PCMA},
			},
			want: `
v=0
o=alice 7 9 IN IP6 2001:db8::5
s=-
c=IN IP6 2001:db8::5
t=0 0
m=audio 4000 RTP/AVP 96 8
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:8 PCMA/8000
a=sendonly
`,
		},
		{
			name: "IPv4-mapped address written as IPv4",
			cfg:  OfferConfig{Addr: netip.MustParseAddr("::ffff:192.0.2.1"), Port: 4000, SessionID: 1, SessionVersion: 1, Codecs: []Codec{PCMU}},
			want: `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendrecv
`,
		},
		{name: "no address", cfg: OfferConfig{Port: 4000}, err: ErrConfig},
		{name: "codec without rate", cfg: OfferConfig{Addr: ourAddr, Codecs: []Codec{{PayloadType: 96, Name: "opus"}}}, err: ErrConfig},
		{name: "payload type twice", cfg: OfferConfig{Addr: ourAddr, Codecs: []Codec{PCMU, {Name: "x", ClockRate: 8000}}}, err: ErrConfig},
		{name: "payload type too big", cfg: OfferConfig{Addr: ourAddr, Codecs: []Codec{{PayloadType: 200, Name: "x", ClockRate: 8000}}}, err: ErrConfig},
		{name: "user name with space", cfg: OfferConfig{Addr: ourAddr, Username: "a b"}, err: ErrConfig},
		{name: "bad direction", cfg: OfferConfig{Addr: ourAddr, Direction: 9}, err: ErrConfig},
		{name: "rand fails", cfg: OfferConfig{Addr: ourAddr, Rand: bytes.NewReader(nil)}, err: errors.New("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := NewOffer(tt.cfg)
			if tt.err != nil {
				if err == nil || (tt.err.Error() != "" && !errors.Is(err, tt.err)) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := Marshal(sd)
			if err != nil {
				t.Fatal(err)
			}
			if want := string(crlf(tt.want)); string(b) != want {
				t.Errorf("got\n%s\nwant\n%s", b, want)
			}
		})
	}
}

func TestNewOfferRandomID(t *testing.T) {
	seen := map[uint64]bool{}
	for range 20 {
		sd, err := NewOffer(OfferConfig{Addr: ourAddr})
		if err != nil {
			t.Fatal(err)
		}
		o := sd.Origin
		// RFC 3264 §5: representable as int64, initial version < 2**62-1.
		if o.SessionID == 0 || o.SessionVersion >= 1<<62-1 || seen[o.SessionID] {
			t.Fatalf("origin %+v", o)
		}
		seen[o.SessionID] = true
	}
	if _, err := Marshal(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("Marshal(nil): %v", err)
	}
}

func TestParseAnswer(t *testing.T) {
	ourOffer := mustOffer(t, OfferConfig{Addr: ourAddr, Port: 30000, SessionID: 1, SessionVersion: 1})
	ourSendonly := mustOffer(t, OfferConfig{Addr: ourAddr, Port: 30000, SessionID: 1, SessionVersion: 2, Direction: SendOnly})
	answer := func(mline string, extra ...string) []byte {
		s := "v=0\no=- 5 5 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n" + mline + "\n"
		for _, e := range extra {
			s += e + "\n"
		}
		return crlf(s)
	}
	tests := []struct {
		name   string
		offer  []byte
		answer []byte
		stream int
		codec  string
		codecs string
		te     uint8 // 0: none
		remote string
		host   string
		dir    Direction
		err    error
	}{
		{
			name: "rfc3264 10.1", offer: offerRFC3264Basic, answer: answerRFC3264Basic,
			codec: "PCMU/8000", codecs: "0", host: "host.example.com",
		},
		{
			name: "same payload types", offer: ourOffer,
			answer: answer("m=audio 5000 RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000"),
			codec:  "PCMU/8000", codecs: "0 101", te: 101, remote: "198.51.100.7:5000",
		},
		{
			name: "answerer prefers PCMA", offer: ourOffer,
			answer: answer("m=audio 5000 RTP/AVP 8 0"),
			codec:  "PCMA/8000", codecs: "8 0",
		},
		{
			name: "renumbered telephone-event sent with answer's number", offer: ourOffer,
			answer: answer("m=audio 5000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000"),
			codec:  "PCMU/8000", codecs: "0 96", te: 96,
		},
		{
			name: "dynamic payload type reused without rtpmap", offer: ourOffer,
			answer: answer("m=audio 5000 RTP/AVP 0 101"),
			codec:  "PCMU/8000", codecs: "0 101", te: 101,
		},
		{
			name: "extra format not offered ignored", offer: ourOffer,
			answer: answer("m=audio 5000 RTP/AVP 18 8", "a=rtpmap:18 G729/8000"),
			codec:  "PCMA/8000", codecs: "8",
		},
		{
			name: "media-level connection", offer: ourOffer,
			answer: answer("m=audio 5000 RTP/AVP 0", "c=IN IP6 2001:db8::9"),
			codec:  "PCMU/8000", codecs: "0", remote: "[2001:db8::9]:5000",
		},
		{
			name: "recvonly answer: we only send", offer: ourOffer,
			answer: answer("m=audio 5000 RTP/AVP 0", "a=recvonly"),
			codec:  "PCMU/8000", codecs: "0", dir: SendOnly,
		},
		{
			name: "inactive answer", offer: ourOffer,
			answer: answer("m=audio 5000 RTP/AVP 0", "a=inactive"),
			codec:  "PCMU/8000", codecs: "0", dir: Inactive,
		},
		{
			name: "hold answered sendrecv is narrowed", offer: ourSendonly,
			answer: answer("m=audio 5000 RTP/AVP 0", "a=sendrecv"),
			codec:  "PCMU/8000", codecs: "0", dir: SendOnly,
		},
		{
			name: "hold answered recvonly", offer: ourSendonly,
			answer: answer("m=audio 5000 RTP/AVP 0", "a=recvonly"),
			codec:  "PCMU/8000", codecs: "0", dir: SendOnly,
		},
		{name: "rejected", offer: ourOffer, answer: answer("m=audio 0 RTP/AVP 0"), stream: -1, err: ErrNoCommonMedia},
		{name: "only telephone-event", offer: ourOffer, answer: answer("m=audio 5000 RTP/AVP 101"), stream: -1, err: ErrNoCommonMedia},
		{name: "no offered format", offer: ourOffer, answer: answer("m=audio 5000 RTP/AVP 18"), stream: -1, err: ErrMismatch},
		{name: "too many m= lines", offer: ourOffer, answer: answer("m=audio 5000 RTP/AVP 0\nm=video 0 RTP/AVP 31"), stream: -1, err: ErrMismatch},
		{name: "too few m= lines", offer: offerRFC3264Basic, answer: answer("m=audio 5000 RTP/AVP 0"), stream: -1, err: ErrMismatch},
		{name: "media type changed", offer: ourOffer, answer: answer("m=video 5000 RTP/AVP 31"), stream: -1, err: ErrMismatch},
		{
			name: "removed stream revived", offer: offerRemovedThenNew,
			answer: answer("m=audio 5000 RTP/AVP 0\nm=audio 5002 RTP/AVP 8"), stream: -1, err: ErrMismatch,
		},
		{name: "malformed answer", offer: ourOffer, answer: []byte("v=0\r\nm=audio"), stream: -1, err: ErrMalformed},
		{name: "malformed offer", offer: []byte("x"), answer: answer("m=audio 5000 RTP/AVP 0"), stream: -1, err: ErrMalformed},
		{name: "answer without connection", offer: ourOffer, answer: crlf("v=0\no=- 5 5 IN IP4 198.51.100.7\ns=-\nt=0 0\nm=audio 5000 RTP/AVP 0\n"), stream: -1, err: ErrMalformed},
		{name: "no m= lines", offer: offerNoMedia, answer: answer("", ""), stream: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "no m= lines" {
				tt.answer = crlf("v=0\no=- 5 5 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n")
			}
			n, err := ParseAnswer(tt.offer, tt.answer)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if n.Stream != tt.stream {
				t.Errorf("Stream %d, want %d", n.Stream, tt.stream)
			}
			if err != nil {
				return
			}
			if got := n.Codec.String(); tt.codec != "" && got != tt.codec {
				t.Errorf("Codec %s, want %s", got, tt.codec)
			}
			if got := pts(n.Codecs); got != tt.codecs {
				t.Errorf("Codecs %s, want %s", got, tt.codecs)
			}
			if n.TelephoneEvent.PayloadType != tt.te || (tt.te != 0) != (n.TelephoneEvent.Name != "") {
				t.Errorf("TelephoneEvent %+v, want PT %d", n.TelephoneEvent, tt.te)
			}
			if tt.remote != "" && n.Remote.String() != tt.remote {
				t.Errorf("Remote %s, want %s", n.Remote, tt.remote)
			}
			if tt.host != "" && (n.RemoteHost != tt.host || n.Remote.IsValid()) {
				t.Errorf("RemoteHost %q Remote %s, want %q", n.RemoteHost, n.Remote, tt.host)
			}
			if n.Direction != tt.dir {
				t.Errorf("Direction %s, want %s", n.Direction, tt.dir)
			}
		})
	}
}

func mustOffer(t *testing.T, cfg OfferConfig) []byte {
	t.Helper()
	sd, err := NewOffer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(sd)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDirection(t *testing.T) {
	tests := []struct {
		d, reverse   Direction
		name         string
		send, recv   bool
		heldByOffer  Direction // RFC 3264 §8.4
		answerToThat Direction // §6.1 mirror
	}{
		{SendRecv, SendRecv, "sendrecv", true, true, SendOnly, RecvOnly},
		{SendOnly, RecvOnly, "sendonly", true, false, SendOnly, RecvOnly},
		{RecvOnly, SendOnly, "recvonly", false, true, Inactive, Inactive},
		{Inactive, Inactive, "inactive", false, false, Inactive, Inactive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.d.Reverse() != tt.reverse || tt.d.Reverse().Reverse() != tt.d {
				t.Errorf("Reverse %s", tt.d.Reverse())
			}
			if tt.d.String() != tt.name {
				t.Errorf("String %s", tt.d)
			}
			if d, ok := ParseDirection(tt.name); !ok || d != tt.d {
				t.Errorf("ParseDirection %s %v", d, ok)
			}
			if tt.d.Sends() != tt.send || tt.d.Receives() != tt.recv {
				t.Errorf("Sends %v Receives %v", tt.d.Sends(), tt.d.Receives())
			}
			if h := tt.d.intersect(SendOnly); h != tt.heldByOffer {
				t.Errorf("held %s, want %s", h, tt.heldByOffer)
			}
			if a := tt.heldByOffer.Reverse(); a != tt.answerToThat {
				t.Errorf("answer %s, want %s", a, tt.answerToThat)
			}
		})
	}
	if _, ok := ParseDirection("SENDRECV"); ok {
		t.Error("ParseDirection is case-sensitive (RFC 8866 §6)")
	}
	if Direction(7).String() != "invalid" {
		t.Error("invalid direction")
	}
}

func TestCodec(t *testing.T) {
	if s := (Codec{Name: "opus", ClockRate: 48000, Channels: 2}).String(); s != "opus/48000/2" {
		t.Error(s)
	}
	if !PCMU.Same(Codec{PayloadType: 97, Name: "pcmu", ClockRate: 8000, Channels: 1}) {
		t.Error("PCMU not same as pcmu/8000/1")
	}
	if PCMU.Same(PCMA) || TelephoneEvent.Same(Codec{Name: "telephone-event", ClockRate: 48000}) {
		t.Error("different codecs same")
	}
	for _, v := range []string{"", "96", "x opus/48000", "96 opus", "96 opus/0", "96 /8000", "200 x/8000", "96 opus/48000/x"} {
		if c, ok := parseRtpmap(v); ok {
			t.Errorf("parseRtpmap(%q) = %+v", v, c)
		}
	}
}
