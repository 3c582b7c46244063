package sdp

import (
	"strconv"
	"strings"
)

// Codec is an RTP payload format as an SDP m= line and its a=rtpmap and
// a=fmtp attributes describe it (RFC 8866 §6.6, §6.15).
type Codec struct {
	// PayloadType is the RTP payload type number, 0-127.
	PayloadType uint8
	// Name is the encoding name, as in "PCMU" or "telephone-event";
	// compared case-insensitively.
	Name string
	// ClockRate is the RTP clock rate in Hz.
	ClockRate uint32
	// Channels is the number of audio channels; 0 means the default, 1.
	Channels uint8
	// Fmtp holds the format parameters of an a=fmtp line, if any.
	Fmtp string
}

// Well-known codecs. PCMU and PCMA have static payload types (RFC 3551
// §6); telephone-event (RFC 4733) is dynamic, 101 by convention. The
// answerer keeps whatever payload type the offer used for each.
var (
	PCMU           = Codec{PayloadType: 0, Name: "PCMU", ClockRate: 8000}
	PCMA           = Codec{PayloadType: 8, Name: "PCMA", ClockRate: 8000}
	TelephoneEvent = Codec{PayloadType: 101, Name: "telephone-event", ClockRate: 8000, Fmtp: "0-16"}
)

// DefaultCodecs returns the codecs offered and accepted when a config names
// none: PCMU, PCMA and telephone-event, in that order of preference.
func DefaultCodecs() []Codec {
	return []Codec{PCMU, PCMA, TelephoneEvent}
}

// String returns the codec in a=rtpmap encoding form, as in "PCMU/8000" or
// "opus/48000/2".
func (c Codec) String() string {
	b := make([]byte, 0, len(c.Name)+12)
	b = append(b, c.Name...)
	b = append(b, '/')
	b = strconv.AppendUint(b, uint64(c.ClockRate), 10)
	if c.Channels > 1 {
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(c.Channels), 10)
	}
	return string(b)
}

// Same reports whether c and o are the same format: equal names (ignoring
// case), clock rates and channel counts. Payload types and fmtp do not count,
// so that a dynamic payload type is matched by what it maps to.
func (c Codec) Same(o Codec) bool {
	return strings.EqualFold(c.Name, o.Name) && c.ClockRate == o.ClockRate &&
		max(c.Channels, 1) == max(o.Channels, 1)
}

// isTelephoneEvent reports whether c carries DTMF events (RFC 4733).
func (c Codec) isTelephoneEvent() bool { return strings.EqualFold(c.Name, "telephone-event") }

// isMedia reports whether c carries media itself rather than events or
// comfort noise (RFC 3389), so that a stream needs at least one of these.
func (c Codec) isMedia() bool { return !c.isTelephoneEvent() && !strings.EqualFold(c.Name, "CN") }

func (c Codec) valid() bool {
	return c.PayloadType <= 127 && c.Name != "" && c.ClockRate != 0 &&
		!strings.ContainsAny(c.Name, " /\r\n") && !strings.ContainsAny(c.Fmtp, "\r\n")
}

// staticCodec returns the codec a static payload type stands for when no
// a=rtpmap names it (RFC 3551 §6, Tables 4 and 5).
func staticCodec(pt uint8) (Codec, bool) {
	var name string
	rate := uint32(8000)
	var ch uint8
	switch pt {
	case 0:
		name = "PCMU"
	case 3:
		name = "GSM"
	case 4:
		name = "G723"
	case 5:
		name = "DVI4"
	case 6:
		name, rate = "DVI4", 16000
	case 7:
		name = "LPC"
	case 8:
		name = "PCMA"
	case 9:
		name = "G722"
	case 10:
		name, rate, ch = "L16", 44100, 2
	case 11:
		name, rate = "L16", 44100
	case 12:
		name = "QCELP"
	case 13:
		name = "CN"
	case 14:
		name, rate = "MPA", 90000
	case 15:
		name = "G728"
	case 16:
		name, rate = "DVI4", 11025
	case 17:
		name, rate = "DVI4", 22050
	case 18:
		name = "G729"
	case 25:
		name, rate = "CelB", 90000
	case 26:
		name, rate = "JPEG", 90000
	case 28:
		name, rate = "nv", 90000
	case 31:
		name, rate = "H261", 90000
	case 32:
		name, rate = "MPV", 90000
	case 33:
		name, rate = "MP2T", 90000
	case 34:
		name, rate = "H263", 90000
	default:
		return Codec{}, false
	}
	return Codec{PayloadType: pt, Name: name, ClockRate: rate, Channels: ch}, true
}

// parsePT parses an RTP payload type number, 0-127.
func parsePT(s string) (uint8, bool) {
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n > 127 {
		return 0, false
	}
	return uint8(n), true
}

// parseRtpmap parses the value of an a=rtpmap attribute:
//
//	rtpmap-value = payload-type SP encoding-name "/" clock-rate [ "/" encoding-params ]
func parseRtpmap(v string) (Codec, bool) {
	ptStr, enc, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return Codec{}, false
	}
	pt, ok := parsePT(ptStr)
	if !ok {
		return Codec{}, false
	}
	name, rest, ok := strings.Cut(strings.TrimSpace(enc), "/")
	if !ok || name == "" {
		return Codec{}, false
	}
	rateStr, chStr, hasCh := strings.Cut(rest, "/")
	rate, err := strconv.ParseUint(rateStr, 10, 32)
	if err != nil || rate == 0 {
		return Codec{}, false
	}
	c := Codec{PayloadType: pt, Name: name, ClockRate: uint32(rate)}
	if hasCh {
		ch, err := strconv.ParseUint(chStr, 10, 8)
		if err != nil {
			return Codec{}, false
		}
		c.Channels = uint8(ch)
	}
	return c, true
}

// parseFmtp parses the value of an a=fmtp attribute:
//
//	fmtp-value = fmt SP format-specific-params
func parseFmtp(v string) (uint8, string, bool) {
	ptStr, params, ok := strings.Cut(v, " ")
	if !ok {
		return 0, "", false
	}
	pt, ok := parsePT(ptStr)
	return pt, strings.TrimSpace(params), ok
}
