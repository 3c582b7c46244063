package sdp

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	pion "github.com/pion/sdp/v3"
)

// Errors that callers branch on. Errors returned by this package wrap one of
// them; a UAS answers an offer that fails with ErrMalformed or
// ErrNoCommonMedia with 488 Not Acceptable Here (RFC 3261 §13.3.1.3).
var (
	// ErrMalformed: the SDP does not parse, or lacks what offer/answer needs
	// (a connection address for an active stream, a media format).
	ErrMalformed = errors.New("sdp: malformed session description")
	// ErrNoCommonMedia: no offered stream could be accepted, so the whole
	// offer is rejected (RFC 3264 §6.1), or the answer rejected every stream.
	ErrNoCommonMedia = errors.New("sdp: no media in common")
	// ErrMismatch: an answer does not fit its offer (RFC 3264 §6): another
	// number of m= lines, another media type, a stream revived that the offer
	// removed, or an accepted stream without any offered format.
	ErrMismatch = errors.New("sdp: answer does not match offer")
	// ErrConfig: an OfferConfig or AnswerConfig is unusable.
	ErrConfig = errors.New("sdp: invalid config")
)

// rtpAVP is the only transport protocol we answer (RFC 3551); SRTP
// (RTP/SAVP, RTP/SAVPF) and UDPTL are rejected.
const rtpAVP = "RTP/AVP"

// stream is the offer/answer view of one m= line.
type stream struct {
	media   string
	port    int
	proto   string
	formats []string
	codecs  []Codec // RTP formats we could identify, in m= line order
	dir     Direction
	addr    string // effective connection address, media level over session level
	ptime   int
}

// parse unmarshals b, wrapping any failure in ErrMalformed.
func parse(b []byte) (*pion.SessionDescription, error) {
	sd := new(pion.SessionDescription)
	if err := sd.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	// pion/sdp takes input that stops early, the empty one included, for a
	// complete description; v=, o=, s= and t= are not optional (RFC 8866 §5).
	if sd.Origin.NetworkType == "" || len(sd.TimeDescriptions) == 0 {
		return nil, fmt.Errorf("%w: incomplete", ErrMalformed)
	}
	return sd, nil
}

// streams returns the offer/answer view of each m= line of sd, in order.
// fallback, when not nil, names dynamic payload types that carry no
// a=rtpmap (an answer that reuses the offer's numbers without mapping them).
func streams(sd *pion.SessionDescription, fallback func(i int, pt uint8) (Codec, bool)) ([]stream, error) {
	sessDir, _ := directionAttr(sd.Attributes)
	sessAddr := ""
	if c := sd.ConnectionInformation; c != nil && c.Address != nil {
		sessAddr = c.Address.Address
	}
	out := make([]stream, 0, len(sd.MediaDescriptions))
	for i, md := range sd.MediaDescriptions {
		if md == nil {
			return nil, ErrMalformed
		}
		s := stream{
			media:   md.MediaName.Media,
			port:    md.MediaName.Port.Value,
			proto:   strings.Join(md.MediaName.Protos, "/"),
			formats: md.MediaName.Formats,
			dir:     sessDir,
			addr:    sessAddr,
		}
		if d, ok := directionAttr(md.Attributes); ok {
			s.dir = d
		}
		if c := md.ConnectionInformation; c != nil && c.Address != nil {
			s.addr = c.Address.Address
		}
		if len(s.formats) == 0 {
			// RFC 8866 §5.14: at least one format; a rejected stream
			// must repeat one (RFC 3264 §6), so there must be one to repeat.
			return nil, fmt.Errorf("%w: m= line %d has no media format", ErrMalformed, i+1)
		}
		if s.port != 0 && s.addr == "" {
			return nil, fmt.Errorf("%w: m= line %d has no connection address", ErrMalformed, i+1)
		}
		if strings.HasPrefix(s.proto, "RTP/") {
			s.codecs = rtpCodecs(md, func(pt uint8) (Codec, bool) {
				if fallback == nil {
					return Codec{}, false
				}
				return fallback(i, pt)
			})
		}
		if v, ok := md.Attribute("ptime"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				s.ptime = n
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// directionAttr returns the direction attribute among attrs, if any.
func directionAttr(attrs []pion.Attribute) (Direction, bool) {
	for _, a := range attrs {
		if d, ok := ParseDirection(a.Key); ok && a.Value == "" {
			return d, true
		}
	}
	return SendRecv, false
}

// rtpCodecs identifies the RTP payload formats of md in m= line order, from
// its a=rtpmap and a=fmtp lines, the static assignments of RFC 3551, or
// fallback. Formats that none of these name are left out; each payload type
// appears once.
func rtpCodecs(md *pion.MediaDescription, fallback func(uint8) (Codec, bool)) []Codec {
	var maps map[uint8]Codec
	var fmtps map[uint8]string
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap":
			if c, ok := parseRtpmap(a.Value); ok {
				if maps == nil {
					maps = make(map[uint8]Codec)
				}
				if _, dup := maps[c.PayloadType]; !dup {
					maps[c.PayloadType] = c
				}
			}
		case "fmtp":
			if pt, params, ok := parseFmtp(a.Value); ok {
				if fmtps == nil {
					fmtps = make(map[uint8]string)
				}
				if _, dup := fmtps[pt]; !dup {
					fmtps[pt] = params
				}
			}
		}
	}
	out := make([]Codec, 0, len(md.MediaName.Formats))
	var seen [128]bool
	for _, f := range md.MediaName.Formats {
		pt, ok := parsePT(f)
		if !ok || seen[pt] {
			continue
		}
		c, ok := maps[pt]
		if !ok {
			c, ok = staticCodec(pt)
		}
		if !ok {
			c, ok = fallback(pt)
			c.PayloadType = pt
		}
		if !ok {
			continue
		}
		seen[pt] = true
		c.Fmtp = fmtps[pt]
		out = append(out, c)
	}
	return out
}

// setRemote fills n's remote address from s.
func (n *Negotiated) setRemote(s stream) {
	n.RemoteHost = s.addr
	n.Remote = netip.AddrPort{}
	if a, err := netip.ParseAddr(hostOf(s.addr)); err == nil {
		n.Remote = netip.AddrPortFrom(a.Unmap(), uint16(s.port))
	}
	// RFC 3264 §8.4: a connection address of 0.0.0.0 means that neither
	// RTP nor RTCP is to be sent to the peer.
	if n.Remote.Addr().IsUnspecified() {
		n.Direction = n.Direction.intersect(RecvOnly)
	}
}

// multicast reports whether addr is a multicast address; names are not.
func multicast(addr string) bool {
	a, err := netip.ParseAddr(hostOf(addr))
	return err == nil && a.IsMulticast()
}

// hostOf strips the /ttl and /count suffixes of a c= address (RFC 8866 §5.7).
func hostOf(addr string) string {
	h, _, _ := strings.Cut(addr, "/")
	return h
}
