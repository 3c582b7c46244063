package sdp

import (
	"fmt"
	"io"
	"net/netip"

	pion "github.com/pion/sdp/v3"
)

// Negotiated is the outcome of an offer/answer exchange for the one audio
// stream we use, from our point of view.
type Negotiated struct {
	// Stream is the index of the m= line in use, -1 when there is none
	// (an offer without m= lines).
	Stream int
	// Remote is where to send RTP (RTCP goes to the port above): the peer's
	// c= address, media level over session level, and m= port. It is the
	// zero AddrPort when the c= line holds a domain name; see RemoteHost.
	Remote netip.AddrPort
	// RemoteHost is the peer's connection address as written in the SDP.
	RemoteHost string
	// Codec is the codec to send with: the first agreed codec that is
	// neither telephone-event nor comfort noise.
	Codec Codec
	// Codecs are all agreed formats, in the order of preference of the SDP
	// that decides it (the offer when we answer, the answer when we offer),
	// with the payload type numbers to send with (RFC 3264 §5.1, §6.1). We
	// receive with the numbers of our own SDP, which are the same unless the
	// peer renumbered them in its answer.
	Codecs []Codec
	// TelephoneEvent is the agreed telephone-event format for DTMF
	// (RFC 4733); its Name is empty when none was agreed.
	TelephoneEvent Codec
	// Direction is the direction of media from our side: whether we may
	// send and must receive. It excludes sending when the peer's address is
	// 0.0.0.0 (RFC 3264 §8.4).
	Direction Direction
	// Ptime is the packetization interval, in milliseconds, the peer asked
	// to receive; 0 when it did not say.
	Ptime int
}

// AnswerConfig describes what we accept when answering an offer.
type AnswerConfig struct {
	// Username, SessionID, SessionVersion and Rand make the o= line, as in
	// OfferConfig. A Session supplies its own instead.
	Username       string
	SessionID      uint64
	SessionVersion uint64
	Rand           io.Reader
	// Addr is the address we receive media on, written in o= and c=.
	// Required.
	Addr netip.Addr
	// Port is the RTP port of the accepted audio stream.
	Port uint16
	// Codecs we support, in our order of preference; DefaultCodecs() when
	// empty. Offered formats are matched by name, clock rate and channels,
	// and keep the offer's payload type numbers.
	Codecs []Codec
	// PreferOwnOrder lists the agreed codecs in the order of Codecs rather
	// than the offer's. RFC 3264 §6.1 RECOMMENDS the offer's order unless
	// there is a reason, so that both sides send the same codec; the
	// default follows it.
	PreferOwnOrder bool
	// Direction is the most we want: sendrecv by default. The answer's
	// direction allows only what both it and the offer allow (§6.1), so an
	// offer marked sendonly is answered recvonly and an inactive one
	// inactive.
	Direction Direction
	// Ptime, when positive, is the packetization interval in milliseconds
	// we would like to receive (a=ptime).
	Ptime int
}

// Answer answers an offer following RFC 3264 §6. The answer has the offer's
// m= lines in the same order and the offer's t= line; our origin and
// connection address. The first offered audio stream over RTP/AVP with a
// unicast address and at least one media codec we support is accepted on
// cfg.Port, with the common codecs in the offer's order (see
// AnswerConfig.PreferOwnOrder), the offer's payload type numbers and fmtp,
// and the mirrored direction. Every other stream is rejected: port 0, the
// offered media type, protocol and formats, no attributes (§6).
//
// When no stream can be accepted, Answer returns ErrNoCommonMedia and no
// answer: the whole offer is rejected (§6.1). A malformed offer gives
// ErrMalformed; neither panics on any input.
func Answer(offer []byte, cfg AnswerConfig) (answer []byte, chosen Negotiated, err error) {
	o, err := newOrigin(cfg.Username, cfg.SessionID, cfg.SessionVersion, cfg.Rand, cfg.Addr)
	if err != nil {
		return nil, Negotiated{Stream: -1}, err
	}
	sd, n, err := buildAnswer(offer, cfg, o)
	if err != nil {
		return nil, n, err
	}
	b, err := sd.Marshal()
	return b, n, err
}

// buildAnswer makes the answer to offer with origin o.
func buildAnswer(offer []byte, cfg AnswerConfig, o pion.Origin) (*pion.SessionDescription, Negotiated, error) {
	n := Negotiated{Stream: -1}
	ours := cfg.Codecs
	if len(ours) == 0 {
		ours = DefaultCodecs()
	}
	for _, c := range ours {
		if !c.valid() {
			return nil, n, fmt.Errorf("%w: codec %q", ErrConfig, c.String())
		}
	}
	if cfg.Direction > Inactive {
		return nil, n, fmt.Errorf("%w: direction %d", ErrConfig, cfg.Direction)
	}
	off, err := parse(offer)
	if err != nil {
		return nil, n, err
	}
	ss, err := streams(off, nil)
	if err != nil {
		return nil, n, err
	}
	ans := newDescription(o)
	// RFC 3264 §6: the t= line of the answer equals that of the offer.
	ans.TimeDescriptions = make([]pion.TimeDescription, len(off.TimeDescriptions))
	for i, td := range off.TimeDescriptions {
		ans.TimeDescriptions[i] = pion.TimeDescription{Timing: td.Timing}
		ans.TimeDescriptions[i].RepeatTimes = append([]pion.RepeatTime(nil), td.RepeatTimes...)
	}
	if len(ans.TimeDescriptions) == 0 {
		ans.TimeDescriptions = []pion.TimeDescription{{}}
	}
	active := false
	ans.MediaDescriptions = make([]*pion.MediaDescription, 0, len(ss))
	for i, s := range ss {
		active = active || s.port != 0
		if n.Stream < 0 && acceptable(s) {
			agreed := agree(s.codecs, ours, cfg.PreferOwnOrder)
			if hasMedia(agreed) {
				dir := s.dir.Reverse().intersect(cfg.Direction)
				ans.MediaDescriptions = append(ans.MediaDescriptions,
					audioMedia(int(cfg.Port), off.MediaDescriptions[i].MediaName.Protos, agreed, cfg.Ptime, dir))
				n = negotiated(i, s, agreed, dir)
				continue
			}
		}
		ans.MediaDescriptions = append(ans.MediaDescriptions, rejected(off.MediaDescriptions[i]))
	}
	if n.Stream < 0 && active {
		return nil, n, ErrNoCommonMedia
	}
	return ans, n, nil
}

// acceptable reports whether we could take stream s: a live unicast audio
// stream over RTP/AVP (RFC 3264 §6.2 multicast streams are not supported).
func acceptable(s stream) bool {
	return s.port != 0 && s.media == "audio" && s.proto == rtpAVP && !multicast(s.addr)
}

// agree returns the offered codecs that are also among ours, with the
// offered payload type numbers and, when the offer has them, fmtp
// parameters (RFC 3264 §6.1: a format described by its fmtp keeps them).
// The order is the offer's, or ours when ownOrder is set.
func agree(offered, ours []Codec, ownOrder bool) []Codec {
	var out []Codec
	take := func(c, o Codec) {
		if c.Fmtp == "" {
			c.Fmtp = o.Fmtp
		}
		out = append(out, c)
	}
	if ownOrder {
		used := make([]bool, len(offered))
		for _, o := range ours {
			for j, c := range offered {
				if !used[j] && c.Same(o) {
					used[j] = true
					take(c, o)
				}
			}
		}
		return out
	}
	for _, c := range offered {
		for _, o := range ours {
			if c.Same(o) {
				take(c, o)
				break
			}
		}
	}
	return out
}

func hasMedia(cs []Codec) bool {
	for _, c := range cs {
		if c.isMedia() {
			return true
		}
	}
	return false
}

// negotiated describes stream i, the peer's s, with the agreed codecs and our
// direction dir.
func negotiated(i int, s stream, agreed []Codec, dir Direction) Negotiated {
	n := Negotiated{Stream: i, Codecs: agreed, Direction: dir, Ptime: s.ptime}
	for _, c := range agreed {
		if n.Codec.Name == "" && c.isMedia() {
			n.Codec = c
		}
		if n.TelephoneEvent.Name == "" && c.isTelephoneEvent() {
			n.TelephoneEvent = c
		}
	}
	n.setRemote(s)
	return n
}

// rejected returns the answer's m= line that rejects the offered md: port 0,
// and the media type, protocol and formats as offered (RFC 3264 §6, §8.2).
func rejected(md *pion.MediaDescription) *pion.MediaDescription {
	return &pion.MediaDescription{MediaName: pion.MediaName{
		Media:   md.MediaName.Media,
		Port:    pion.RangedPort{Value: 0},
		Protos:  append([]string(nil), md.MediaName.Protos...),
		Formats: append([]string(nil), md.MediaName.Formats...),
	}}
}

// ParseAnswer checks an answer against the offer we sent (RFC 3264 §6, §7)
// and returns what was agreed for the first accepted audio stream over
// RTP/AVP: the peer's address and port, the agreed codecs in the answer's
// order with the answer's payload type numbers (which we send with, §5.1),
// telephone-event, and our direction.
//
// The answer must have as many m= lines as the offer, with the same media
// types, must not accept a stream the offer removed (port 0, §8.2), and must
// list at least one offered format in a stream it accepts; otherwise the
// error wraps ErrMismatch. Formats the answer adds beyond the offer are
// allowed (§6.1) and left out of Negotiated, since we cannot send them. A
// direction the answer should not have chosen (sendrecv to our sendonly, as
// some phones answer a hold) is narrowed to what the offer allows. When the
// answer rejects every stream, ParseAnswer returns ErrNoCommonMedia.
func ParseAnswer(offer, answer []byte) (Negotiated, error) {
	n := Negotiated{Stream: -1}
	off, err := parse(offer)
	if err != nil {
		return n, err
	}
	ans, err := parse(answer)
	if err != nil {
		return n, err
	}
	so, err := streams(off, nil)
	if err != nil {
		return n, err
	}
	// An answer should map even static and reused dynamic payload types,
	// but a missing a=rtpmap for a number the offer defined is taken to
	// mean the offer's format.
	sa, err := streams(ans, func(i int, pt uint8) (Codec, bool) {
		if i < len(so) {
			for _, c := range so[i].codecs {
				if c.PayloadType == pt {
					return c, true
				}
			}
		}
		return Codec{}, false
	})
	if err != nil {
		return n, err
	}
	if len(sa) != len(so) {
		return n, fmt.Errorf("%w: %d m= lines for %d offered", ErrMismatch, len(sa), len(so))
	}
	for i := range so {
		o, a := so[i], sa[i]
		if a.media != o.media {
			return n, fmt.Errorf("%w: m= line %d is %q for %q offered", ErrMismatch, i+1, a.media, o.media)
		}
		if a.port == 0 {
			continue
		}
		if o.port == 0 {
			return n, fmt.Errorf("%w: m= line %d accepts a removed stream", ErrMismatch, i+1)
		}
		if n.Stream >= 0 || o.media != "audio" || o.proto != rtpAVP {
			continue
		}
		var agreed []Codec
		for _, c := range a.codecs {
			for _, oc := range o.codecs {
				if c.Same(oc) {
					agreed = append(agreed, c)
					break
				}
			}
		}
		if len(agreed) == 0 {
			return n, fmt.Errorf("%w: m= line %d has no offered format", ErrMismatch, i+1)
		}
		if !hasMedia(agreed) {
			continue
		}
		n = negotiated(i, a, agreed, o.dir.intersect(a.dir.Reverse()))
	}
	if n.Stream < 0 {
		for _, o := range so {
			if o.port != 0 {
				return n, ErrNoCommonMedia
			}
		}
	}
	return n, nil
}
