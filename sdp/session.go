package sdp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"

	pion "github.com/pion/sdp/v3"
)

// Session is our side of one SDP offer/answer session (RFC 3264 §8), the
// SDP a UA sends in one dialog's INVITE, re-INVITEs, UPDATEs and their
// answers. It keeps the o= line and increments its version by one exactly
// when the SDP it sends differs from the previous SDP it sent; an unchanged
// SDP goes out again with the same version, as §8 requires.
//
// A Session is not safe for concurrent use; offer/answer exchanges in one
// dialog are serialized anyway (RFC 3261 §14.1).
type Session struct {
	origin      pion.Origin
	last        []byte // the previous SDP sent
	lastStreams int    // its number of m= lines
}

// NewSession starts a session with a random session id drawn from r
// (crypto/rand when nil), user name "-" and our address addr in o=.
func NewSession(addr netip.Addr, r io.Reader) (*Session, error) {
	o, err := newOrigin("", 0, 0, r, addr)
	if err != nil {
		return nil, err
	}
	return &Session{origin: o}, nil
}

// Origin returns the o= line of the SDP the session sent last, or will send
// first.
func (s *Session) Origin() pion.Origin { return s.origin }

// Last returns the SDP the session sent last, nil before the first.
func (s *Session) Last() []byte { return s.last }

// Offer builds an offer from cfg with the session's origin (cfg's
// Username, SessionID, SessionVersion and Rand are ignored) and records it as
// sent. In a re-offer the audio stream takes the slot of the previous SDP's
// first audio stream (or, without one, is added below the others) and every
// other previous stream stays, removed with port 0 (RFC 3264 §8: the number
// of m= lines never decreases).
func (s *Session) Offer(cfg OfferConfig) ([]byte, error) {
	cfg.Username, cfg.SessionID, cfg.SessionVersion = s.origin.Username, s.origin.SessionID, s.origin.SessionVersion
	cfg.Rand = nil
	sd, err := NewOffer(cfg)
	if err != nil {
		return nil, err
	}
	if s.last != nil {
		prev, err := parse(s.last)
		if err != nil {
			return nil, err
		}
		if len(prev.MediaDescriptions) > 1 || (len(prev.MediaDescriptions) == 1 && prev.MediaDescriptions[0].MediaName.Media != "audio") {
			audio := sd.MediaDescriptions[0]
			mds := make([]*pion.MediaDescription, 0, len(prev.MediaDescriptions)+1)
			for _, md := range prev.MediaDescriptions {
				if audio != nil && md.MediaName.Media == "audio" {
					mds, audio = append(mds, audio), nil
					continue
				}
				mds = append(mds, rejected(md))
			}
			if audio != nil {
				mds = append(mds, audio)
			}
			sd.MediaDescriptions = mds
		}
	}
	return s.Send(sd)
}

// Answer answers offer like the package's Answer, with the session's origin,
// and records the answer as sent.
func (s *Session) Answer(offer []byte, cfg AnswerConfig) ([]byte, Negotiated, error) {
	sd, n, err := buildAnswer(offer, cfg, s.origin)
	if err != nil {
		return nil, n, err
	}
	b, err := s.Send(sd)
	return b, n, err
}

// Send marshals sd with the session's origin, bumping the version when the
// result differs from the previous SDP sent, and records it as sent. sd's
// Origin is overwritten.
func (s *Session) Send(sd *pion.SessionDescription) ([]byte, error) {
	if sd == nil {
		return nil, fmt.Errorf("%w: nil session description", ErrConfig)
	}
	if n := s.lastStreams; len(sd.MediaDescriptions) < n {
		return nil, fmt.Errorf("%w: %d m= lines after %d (RFC 3264 §8)", ErrConfig, len(sd.MediaDescriptions), n)
	}
	sd.Origin = s.origin
	b, err := sd.Marshal()
	if err != nil {
		return nil, err
	}
	if s.last != nil && !bytes.Equal(b, s.last) {
		// RFC 3264 §8: the version MUST increment by one from the
		// previous SDP.
		sd.Origin.SessionVersion++
		if b, err = sd.Marshal(); err != nil {
			return nil, err
		}
		s.origin.SessionVersion++
	}
	s.last, s.lastStreams = b, len(sd.MediaDescriptions)
	return b, nil
}

// ErrNoPrevious is returned by Session.Hold and Session.Resume before the
// session has sent any SDP to modify.
var ErrNoPrevious = errors.New("sdp: no previous sdp")

// Hold returns a re-offer that puts every live stream of the previous SDP
// on hold (RFC 3264 §8.4): sendrecv becomes sendonly, recvonly becomes
// inactive. The version is incremented when that changes anything.
func (s *Session) Hold() ([]byte, error) {
	return s.modify(func(d Direction) Direction { return d.intersect(SendOnly) })
}

// Resume returns a re-offer that takes every live stream of the previous
// SDP off hold: each becomes sendrecv. The version is incremented when that
// changes anything.
func (s *Session) Resume() ([]byte, error) {
	return s.modify(func(Direction) Direction { return SendRecv })
}

// modify re-sends the previous SDP with the direction of every stream with
// a non-zero port mapped by f; session-level direction attributes move to
// the media level.
func (s *Session) modify(f func(Direction) Direction) ([]byte, error) {
	if s.last == nil {
		return nil, ErrNoPrevious
	}
	sd, err := parse(s.last)
	if err != nil {
		return nil, err
	}
	sessDir, _ := directionAttr(sd.Attributes)
	sd.Attributes = withoutDirection(sd.Attributes)
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue
		}
		d, ok := directionAttr(md.Attributes)
		if !ok {
			d = sessDir
		}
		md.Attributes = append(withoutDirection(md.Attributes), pion.NewPropertyAttribute(f(d).String()))
	}
	return s.Send(sd)
}

// withoutDirection returns attrs without direction attributes.
func withoutDirection(attrs []pion.Attribute) []pion.Attribute {
	out := attrs[:0:0]
	for _, a := range attrs {
		if _, ok := ParseDirection(a.Key); ok && a.Value == "" {
			continue
		}
		out = append(out, a)
	}
	return out
}

// resumeSession returns a session whose previous SDP is prev, as sent with
// prev's origin.
func resumeSession(prev []byte) (*Session, error) {
	sd, err := parse(prev)
	if err != nil {
		return nil, err
	}
	b, err := sd.Marshal()
	if err != nil {
		return nil, err
	}
	return &Session{origin: sd.Origin, last: b, lastStreams: len(sd.MediaDescriptions)}, nil
}

// Hold returns a re-offer derived from prev, the SDP we sent last (an offer
// or an answer), with every live stream on hold and the o= version
// incremented, as Session.Hold does. When prev is already on hold it is
// returned unchanged, version included.
func Hold(prev []byte) ([]byte, error) {
	s, err := resumeSession(prev)
	if err != nil {
		return nil, err
	}
	return s.Hold()
}

// Resume returns a re-offer derived from prev with every live stream
// sendrecv and the o= version incremented, as Session.Resume does.
func Resume(prev []byte) ([]byte, error) {
	s, err := resumeSession(prev)
	if err != nil {
		return nil, err
	}
	return s.Resume()
}
