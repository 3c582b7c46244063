package proxy

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// The branches the proxy makes are built on its per-request path, so they
// are hashed and written without allocating: FNV-1a as a value rather than
// hash/fnv's interface, hex and base64 into arrays, and the whole Via
// value appended into one buffer that becomes its only string.

// fnv64a is the 64-bit FNV-1a hash, as hash/fnv.New64a computes it.
type fnv64a uint64

func newFNV64a() fnv64a { return 14695981039346656037 }

func (h *fnv64a) write(s string) {
	x := *h
	for i := 0; i < len(s); i++ {
		x ^= fnv64a(s[i])
		x *= 1099511628211
	}
	*h = x
}

// field writes s and a NUL, which keeps adjacent fields apart.
func (h *fnv64a) field(s string) {
	h.write(s)
	h.write("\x00")
}

// fieldLower is field of strings.ToLower(s), for ASCII host names.
func (h *fnv64a) fieldLower(s []byte) {
	x := *h
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		x ^= fnv64a(c)
		x *= 1099511628211
	}
	*h = x
	h.write("\x00")
}

// fieldBytes is field for bytes.
func (h *fnv64a) fieldBytes(b []byte) {
	x := *h
	for _, c := range b {
		x ^= fnv64a(c)
		x *= 1099511628211
	}
	*h = x
	h.write("\x00")
}

// fieldURI is field of u.String().
func (h *fnv64a) fieldURI(u *sip.URI) {
	var b [256]byte
	h.fieldBytes(u.AppendTo(b[:0]))
}

// fieldUint is field of the decimal n.
func (h *fnv64a) fieldUint(n uint32) {
	var b [10]byte
	h.fieldBytes(strconv.AppendUint(b[:0], uint64(n), 10))
}

// hashHex is a hash written as 16 lowercase hex digits, as
// hex.EncodeToString(fnv.Sum(nil)) writes it.
type hashHex [16]byte

func (h fnv64a) hex() hashHex {
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], uint64(h))
	var x hashHex
	hex.Encode(x[:], sum[:])
	return x
}

func (x *hashHex) String() string { return string(x[:]) }

// appendVia appends the start of the proxy's Via value for a request to
// dst (RFC 3261 §16.6 step 8), up to "branch=": the transport writes
// sent-by as it sends, and needs not rewrite the Via when the outbound
// listener l (ok) has an address of its own, already written here.
func appendVia(b []byte, dst transport.Target, l listener, ok bool) []byte {
	b = append(b, "SIP/2.0/"...)
	b = append(b, cmpOr(dst.Transport, transport.UDP)...)
	b = append(b, ' ')
	if a := l.addr.Addr(); ok && a.IsValid() && !a.IsUnspecified() && l.addr.Port() != 0 {
		if a.Is6() {
			b = append(b, '[')
			b = a.AppendTo(b)
			b = append(b, ']')
		} else {
			b = a.AppendTo(b)
		}
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(l.addr.Port()), 10)
	} else {
		b = append(b, "0.0.0.0"...)
	}
	return append(b, ";branch="...)
}

// appendBranch appends a new branch for a request forwarded with loop
// hash (§16.6 step 8, RFC 5393 §4.2): ours (the prefix), the hash, and
// 128 random bits as transaction.NewBranch makes them, for uniqueness
// (§8.1.1.7).
func (p *Proxy) appendBranch(b []byte, hash hashHex) []byte {
	b = append(b, p.prefix...)
	b = append(b, hash[:]...)
	b = append(b, '-')
	var r [16]byte
	rand.Read(r[:])
	var e [22]byte
	base64.RawURLEncoding.Encode(e[:], r[:])
	return append(b, e[:]...)
}

// branch returns a new branch for a request forwarded with loop hash.
func (p *Proxy) branch(hash hashHex) string {
	var b [64]byte
	return string(p.appendBranch(b[:0], hash))
}

// viaValue is the proxy's Via for a copy of a request with loop hash,
// sent to dst, with a new branch.
func (p *Proxy) viaValue(dst transport.Target, hash hashHex) string {
	var b [160]byte
	out, ok := p.outbound(dst)
	return string(p.appendBranch(appendVia(b[:0], dst, out, ok), hash))
}

// hasLoopHash reports whether branch is one of ours carrying hash.
func (p *Proxy) hasLoopHash(branch string, hash *hashHex) bool {
	rest, ok := strings.CutPrefix(branch, p.prefix)
	return ok && len(rest) > len(hash) && rest[:len(hash)] == string(hash[:]) && rest[len(hash)] == '-'
}
