package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"strings"
)

// Algorithm names of the "Hash Algorithms for HTTP Digest Authentication"
// registry (RFC 7616 §6.1) that this package computes. RFC 8760 §2.1 opens
// the registry to SIP; RFC 3261 knew only MD5.
const (
	AlgorithmMD5       = "MD5"
	AlgorithmSHA256    = "SHA-256"
	AlgorithmSHA512256 = "SHA-512-256"
)

// algo identifies a digest algorithm, so the hot path switches on a byte.
type algo uint8

const (
	algNone algo = iota // unknown or unsupported
	algMD5
	algSHA256
	algSHA512256
)

// parseAlgorithm returns the algorithm named s, any case (the algorithm
// parameter is a token, RFC 7616 §3.3), or algNone. The "-sess" variants
// are not supported: they need a cnonce-dependent H(A1) that a store of
// H(A1) values cannot give without more state (RFC 7616 §3.4.2).
func parseAlgorithm(s string) algo {
	switch {
	case strings.EqualFold(s, AlgorithmMD5):
		return algMD5
	case strings.EqualFold(s, AlgorithmSHA256):
		return algSHA256
	case strings.EqualFold(s, AlgorithmSHA512256):
		return algSHA512256
	}
	return algNone
}

// name is the registry spelling of the algorithm.
func (a algo) name() string {
	switch a {
	case algMD5:
		return AlgorithmMD5
	case algSHA256:
		return AlgorithmSHA256
	case algSHA512256:
		return AlgorithmSHA512256
	}
	return ""
}

// hexLen is the length of a digest in hex: 32 for MD5, 64 for the SHA-2
// algorithms (RFC 8760 §2.2).
func (a algo) hexLen() int {
	if a == algMD5 {
		return 2 * md5.Size
	}
	return 2 * sha256.Size
}

// appendHash appends H(data) in lower-case hex (RFC 7616 §3.2, RFC 8760
// §2.2) to dst. a must not be algNone.
func (a algo) appendHash(dst, data []byte) []byte {
	switch a {
	case algMD5:
		s := md5.Sum(data)
		return hex.AppendEncode(dst, s[:])
	case algSHA256:
		s := sha256.Sum256(data)
		return hex.AppendEncode(dst, s[:])
	default:
		s := sha512.Sum512_256(data)
		return hex.AppendEncode(dst, s[:])
	}
}

// appendHA1 appends H(A1) = H(username ":" realm ":" passwd) (RFC 7616
// §3.4.2, RFC 2617 §3.2.2.2) to dst.
func (a algo) appendHA1(dst []byte, username, realm, password string) []byte {
	var buf [256]byte
	b := append(buf[:0], username...)
	b = append(b, ':')
	b = append(b, realm...)
	b = append(b, ':')
	b = append(b, password...)
	return a.appendHash(dst, b)
}

// appendResponse appends the request-digest to dst (RFC 7616 §3.4.1,
// RFC 2617 §3.2.2.1):
//
//	H(A2)     = H(method ":" digest-uri)                       (§3.4.3, qop auth)
//	response  = KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2))
//	KD(s, d)  = H(s ":" d)
//
// and, when qop is empty, the RFC 2069 form that RFC 2617 §3.2.2.1 keeps
// for compatibility and RFC 3261 §22.4 asks SIP servers to accept:
//
//	response  = KD(H(A1), nonce ":" H(A2))
//
// ha1 is H(A1) in lower-case hex. qop "auth-int" is not computed here: its
// A2 carries H(entity-body) and this package neither offers nor accepts it.
func (a algo) appendResponse(dst []byte, ha1, nonce, nc, cnonce, qop, method, uri string) []byte {
	var buf [512]byte
	b := append(buf[:0], method...)
	b = append(b, ':')
	b = append(b, uri...)
	var ha2buf [2 * sha256.Size]byte
	ha2 := a.appendHash(ha2buf[:0], b)

	b = append(b[:0], ha1...)
	b = append(b, ':')
	b = append(b, nonce...)
	b = append(b, ':')
	if qop != "" {
		b = append(b, nc...)
		b = append(b, ':')
		b = append(b, cnonce...)
		b = append(b, ':')
		b = append(b, qop...)
		b = append(b, ':')
	}
	b = append(b, ha2...)
	return a.appendHash(dst, b)
}

// HA1 returns H(A1) = H(username ":" realm ":" password) in lower-case hex
// for the algorithm "MD5", "SHA-256" or "SHA-512-256" (any case), as a user
// store keeps it (RFC 7616 §3.4.2, §5.2; RFC 2617 §3.2.2.2). It returns ""
// for any other algorithm, the "-sess" variants included.
//
// The strings are hashed as their bytes: a password or user name outside
// US-ASCII is taken in UTF-8, which is what RFC 7616 §4 (charset=UTF-8)
// asks for.
func HA1(alg, username, realm, password string) string {
	a := parseAlgorithm(alg)
	if a == algNone {
		return ""
	}
	var buf [2 * sha256.Size]byte
	return string(a.appendHA1(buf[:0], username, realm, password))
}

// Response returns the request-digest, in lower-case hex, that a client
// computes and a server checks (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1):
// KD(ha1, nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri)) for qop
// "auth", or KD(ha1, nonce ":" H(method ":" uri)) when qop is "" (the RFC
// 2069 form, RFC 3261 §22.4). ha1 is HA1's result for the same algorithm;
// uri is the digest-uri, the Request-URI as the client wrote it (RFC 3261
// §22.4 item 3). It returns "" for an algorithm other than "MD5",
// "SHA-256" or "SHA-512-256", and for a qop other than "" or "auth"
// ("auth-int" needs the body, and this package does not offer it).
func Response(alg, ha1, nonce, nc, cnonce, qop, method, uri string) string {
	a := parseAlgorithm(alg)
	if a == algNone || (qop != "" && qop != qopAuth) {
		return ""
	}
	var buf [2 * sha256.Size]byte
	return string(a.appendResponse(buf[:0], ha1, nonce, nc, cnonce, qop, method, uri))
}

// qopAuth is the only quality of protection offered and accepted:
// authentication without body integrity (RFC 7616 §3.3).
const qopAuth = "auth"

// NewUser returns the user with both stored hashes, HA1MD5 and HA1SHA256,
// computed from password, which is not kept (RFC 7616 §5.2: the server
// stores H(A1), which is as good as the password only within realm).
func NewUser(username, realm, password string) User {
	return User{
		Username:  username,
		Realm:     realm,
		HA1MD5:    HA1(AlgorithmMD5, username, realm, password),
		HA1SHA256: HA1(AlgorithmSHA256, username, realm, password),
	}
}

// ha1Of returns the user's stored H(A1) for the algorithm, or "" when the
// user has none for it.
func ha1Of(u *User, a algo) string {
	switch a {
	case algMD5:
		return u.HA1MD5
	case algSHA256:
		return u.HA1SHA256
	}
	return ""
}
