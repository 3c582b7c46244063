package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// Nonces are stateless (RFC 7616 §3.3 suggests the shape, RFC 3261
// §26.3.2.4 asks a server to challenge without keeping state):
//
//	nonce = base64url( time || random || tag )           43 characters
//	time  = issue time, Unix nanoseconds, 8 bytes big-endian
//	random = 8 bytes from crypto/rand
//	tag   = HMAC-SHA256(Secret, time || random || realm), first 16 bytes
//
// Only the holder of Secret can make a nonce that verifies, a nonce issued
// for one realm does not verify for another, and the issue time, which
// decides expiry, cannot be altered. The tag is truncated to 128 bits,
// which RFC 2104 §5 allows (no less than half the hash and 80 bits).
// time || random (the nonce ID) is unique per nonce and keys the replay
// tracker. Base64url has no '"' or '\', so the nonce is a plain
// quoted-string, and no '+' or '/' that some clients mishandle.
const (
	nonceIDLen   = 16 // time || random
	nonceTagLen  = 16
	nonceLen     = nonceIDLen + nonceTagLen
	nonceTextLen = (nonceLen*8 + 5) / 6 // unpadded base64
)

// nonceEncoding is read-only: Strict rejects non-zero padding bits, so a
// nonce has one spelling.
var nonceEncoding = base64.RawURLEncoding.Strict()

// nonceID identifies a nonce: its time || random bytes.
type nonceID [nonceIDLen]byte

// macState is a keyed HMAC and scratch space, pooled so the hot path does
// not key a new HMAC (two SHA-256 blocks and allocations) per request.
type macState struct {
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

// macPool hands out macStates keyed with one secret.
type macPool struct {
	pool sync.Pool
}

func newMACPool(secret []byte) *macPool {
	key := append([]byte(nil), secret...)
	p := &macPool{}
	p.pool.New = func() any {
		return &macState{h: hmac.New(sha256.New, key), in: make([]byte, 0, 128)}
	}
	return p
}

// tag writes the first nonceTagLen bytes of HMAC(secret, id || realm) to
// dst.
func (p *macPool) tag(dst *[nonceTagLen]byte, id []byte, realm string) {
	st := p.pool.Get().(*macState)
	st.h.Reset()
	st.in = append(append(st.in[:0], id...), realm...)
	st.h.Write(st.in)
	copy(dst[:], st.h.Sum(st.sum[:0]))
	if cap(st.in) <= 1024 { // do not keep a huge realm's buffer
		p.pool.Put(st)
	}
}

// newNonce returns a fresh nonce for realm, issued at now.
func (a *Authenticator) newNonce(realm string, now time.Time) string {
	var raw [nonceLen]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.UnixNano()))
	rand.Read(raw[8:nonceIDLen]) // never fails (crypto/rand, Go 1.24)
	a.mac.tag((*[nonceTagLen]byte)(raw[nonceIDLen:]), raw[:nonceIDLen], realm)
	return nonceEncoding.EncodeToString(raw[:])
}

// openNonce checks that nonce was issued by us for realm and returns its
// ID and issue time (Unix nanoseconds). ok is false for anything else: a
// nonce of another server or realm, a tampered or truncated one.
func (a *Authenticator) openNonce(nonce, realm string) (id nonceID, issued int64, ok bool) {
	if len(nonce) != nonceTextLen {
		return id, 0, false
	}
	var src [nonceTextLen]byte
	copy(src[:], nonce)
	var raw [nonceLen]byte
	if n, err := nonceEncoding.Decode(raw[:], src[:]); err != nil || n != nonceLen {
		return id, 0, false
	}
	var want [nonceTagLen]byte
	a.mac.tag(&want, raw[:nonceIDLen], realm)
	if subtle.ConstantTimeCompare(want[:], raw[nonceIDLen:]) != 1 {
		return id, 0, false
	}
	copy(id[:], raw[:nonceIDLen])
	return id, int64(binary.BigEndian.Uint64(raw[:8])), true
}
