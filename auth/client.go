package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sipd/sipd/sip"
)

// ErrUnsupportedChallenge: no challenge offers a scheme, algorithm and qop
// a client can answer (Digest with MD5, SHA-256 or SHA-512-256, qop auth or
// none).
var ErrUnsupportedChallenge = errors.New("auth: no supported challenge")

// Authorize computes the client's answer to a digest challenge (RFC 3261
// §22.2, §22.3; RFC 7616 §3.4): credentials for method and uri (the
// Request-URI as written) with the user's name and password. When the
// challenge offers qop "auth" it is used, with nc, the nonce-count of this
// nonce (1 for the first request with it, RFC 7616 §3.4), and cnonce, a
// fresh client nonce (NewCNonce when ""); without qop the RFC 2069 form is
// computed. It fails with ErrUnsupportedChallenge for another scheme, a
// "-sess" or unknown algorithm, or a qop list without "auth".
func Authorize(ch sip.Challenge, method, uri, username, password string, nc uint32, cnonce string) (sip.Credentials, error) {
	if !ch.IsDigest() {
		return sip.Credentials{}, fmt.Errorf("%w: scheme %s", ErrUnsupportedChallenge, ch.Scheme)
	}
	alg := ch.Algorithm
	if alg == "" {
		alg = AlgorithmMD5
	}
	if parseAlgorithm(alg) == algNone {
		return sip.Credentials{}, fmt.Errorf("%w: algorithm %s", ErrUnsupportedChallenge, alg)
	}
	qop := ""
	if len(ch.QOP) > 0 {
		if !slices.ContainsFunc(ch.QOP, func(q string) bool { return strings.EqualFold(q, qopAuth) }) {
			return sip.Credentials{}, fmt.Errorf("%w: qop %v", ErrUnsupportedChallenge, ch.QOP)
		}
		qop = qopAuth
	}
	c := sip.Credentials{
		Scheme:    "Digest",
		Username:  username,
		Realm:     ch.Realm,
		Nonce:     ch.Nonce,
		URI:       uri,
		Algorithm: ch.Algorithm,
		Opaque:    ch.Opaque,
	}
	ncs := ""
	if qop != "" {
		if cnonce == "" {
			cnonce = NewCNonce()
		}
		if nc == 0 {
			nc = 1
		}
		ncs = fmt.Sprintf("%08x", nc)
		c.QOP, c.NC, c.CNonce = qop, ncs, cnonce
	} else {
		cnonce = ""
	}
	ha1 := HA1(alg, username, ch.Realm, password)
	c.Response = Response(alg, ha1, ch.Nonce, ncs, cnonce, qop, method, uri)
	return c, nil
}

// NewCNonce returns a random client nonce: 16 random bytes in hex.
func NewCNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// PickChallenge chooses the challenge a client answers among those of one
// 401 or 407: the topmost one whose scheme, algorithm and qop it supports,
// as RFC 8760 §2.4 asks. ok is false when none can be answered.
func PickChallenge(chs []sip.Challenge) (sip.Challenge, bool) {
	for _, ch := range chs {
		if !ch.IsDigest() {
			continue
		}
		if len(ch.QOP) > 0 && !slices.ContainsFunc(ch.QOP, func(q string) bool { return strings.EqualFold(q, qopAuth) }) {
			continue
		}
		alg := ch.Algorithm
		if alg == "" {
			alg = AlgorithmMD5
		}
		if parseAlgorithm(alg) != algNone {
			return ch, true
		}
	}
	return sip.Challenge{}, false
}
