package sdp

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	pion "github.com/pion/sdp/v3"
)

// OfferConfig describes the offer NewOffer builds: one audio stream.
type OfferConfig struct {
	// Username is the o= user name; "-" when empty (RFC 8866 §5.2).
	Username string
	// SessionID is the o= session id. When zero, a random one is drawn from
	// Rand.
	SessionID uint64
	// SessionVersion is the o= version. When SessionID is zero it is
	// ignored and the version starts at the random session id.
	SessionVersion uint64
	// Rand is the source of the random session id; crypto/rand when nil.
	Rand io.Reader
	// Addr is the address we receive media on, written in o= and c=
	// (IN IP4 or IN IP6). Required.
	Addr netip.Addr
	// Port is the RTP port of the audio stream; RTCP is on Port+1.
	Port uint16
	// Codecs in order of preference; DefaultCodecs() when empty.
	Codecs []Codec
	// Direction of the audio stream; sendrecv by default.
	Direction Direction
	// Ptime, when positive, is the packetization interval in milliseconds
	// we would like to receive (a=ptime).
	Ptime int
}

// NewOffer builds an offer with one audio m= line over RTP/AVP (RFC 3264
// §5): o= with user name, session id and version, c= with cfg.Addr, s=- and
// t=0 0 (§5), an a=rtpmap for every codec and an a=fmtp for those with
// parameters, in cfg.Codecs order, and the direction attribute.
func NewOffer(cfg OfferConfig) (*pion.SessionDescription, error) {
	o, err := newOrigin(cfg.Username, cfg.SessionID, cfg.SessionVersion, cfg.Rand, cfg.Addr)
	if err != nil {
		return nil, err
	}
	codecs := cfg.Codecs
	if len(codecs) == 0 {
		codecs = DefaultCodecs()
	}
	seen := make(map[uint8]bool, len(codecs))
	for _, c := range codecs {
		if !c.valid() {
			return nil, fmt.Errorf("%w: codec %q", ErrConfig, c.String())
		}
		if seen[c.PayloadType] {
			return nil, fmt.Errorf("%w: payload type %d used twice", ErrConfig, c.PayloadType)
		}
		seen[c.PayloadType] = true
	}
	if cfg.Direction > Inactive {
		return nil, fmt.Errorf("%w: direction %d", ErrConfig, cfg.Direction)
	}
	sd := newDescription(o)
	sd.MediaDescriptions = []*pion.MediaDescription{
		audioMedia(int(cfg.Port), []string{"RTP", "AVP"}, codecs, cfg.Ptime, cfg.Direction),
	}
	return sd, nil
}

// Marshal returns the SDP text of sd, lines ending in CRLF.
func Marshal(sd *pion.SessionDescription) ([]byte, error) {
	if sd == nil {
		return nil, fmt.Errorf("%w: nil session description", ErrConfig)
	}
	return sd.Marshal()
}

// newDescription returns a session description with origin o, s=- and
// t=0 0, and o's address as the session-level connection address
// (RFC 3264 §5).
func newDescription(o pion.Origin) *pion.SessionDescription {
	return &pion.SessionDescription{
		Origin:      o,
		SessionName: "-",
		ConnectionInformation: &pion.ConnectionInformation{
			NetworkType: "IN",
			AddressType: o.AddressType,
			Address:     &pion.Address{Address: o.UnicastAddress},
		},
		TimeDescriptions: []pion.TimeDescription{{}},
	}
}

// audioMedia returns an m=audio line with the given codecs and attributes.
func audioMedia(port int, protos []string, codecs []Codec, ptime int, dir Direction) *pion.MediaDescription {
	md := &pion.MediaDescription{
		MediaName: pion.MediaName{
			Media:   "audio",
			Port:    pion.RangedPort{Value: port},
			Protos:  protos,
			Formats: make([]string, 0, len(codecs)),
		},
		Attributes: make([]pion.Attribute, 0, 2*len(codecs)+2),
	}
	for _, c := range codecs {
		pt := strconv.Itoa(int(c.PayloadType))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		md.Attributes = append(md.Attributes, pion.NewAttribute("rtpmap", pt+" "+c.String()))
		if c.Fmtp != "" {
			md.Attributes = append(md.Attributes, pion.NewAttribute("fmtp", pt+" "+c.Fmtp))
		}
	}
	if ptime > 0 {
		md.Attributes = append(md.Attributes, pion.NewAttribute("ptime", strconv.Itoa(ptime)))
	}
	md.Attributes = append(md.Attributes, pion.NewPropertyAttribute(dir.String()))
	return md
}

// maxInitialVersion bounds the random session id and initial version:
// RFC 3264 §5, both fit a signed 64-bit integer and the initial version is
// less than 2**62-1.
const maxInitialVersion = 1<<62 - 2

// newOrigin returns the o= line for our side.
func newOrigin(user string, id, version uint64, r io.Reader, addr netip.Addr) (pion.Origin, error) {
	if !addr.IsValid() {
		return pion.Origin{}, fmt.Errorf("%w: no address", ErrConfig)
	}
	addr = addr.Unmap().WithZone("")
	if user == "" {
		user = "-"
	}
	if strings.ContainsAny(user, " \t\r\n") {
		return pion.Origin{}, fmt.Errorf("%w: user name %q", ErrConfig, user)
	}
	if id == 0 {
		if r == nil {
			r = rand.Reader
		}
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return pion.Origin{}, fmt.Errorf("sdp: session id: %w", err)
		}
		id = binary.BigEndian.Uint64(b[:])%maxInitialVersion + 1
		version = id
	}
	addrType := "IP4"
	if addr.Is6() {
		addrType = "IP6"
	}
	return pion.Origin{
		Username:       user,
		SessionID:      id,
		SessionVersion: version,
		NetworkType:    "IN",
		AddressType:    addrType,
		UnicastAddress: addr.String(),
	}, nil
}
