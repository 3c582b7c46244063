package transaction

import (
	"encoding/binary"

	"github.com/sipd/sipd/sip"
)

// A server transaction keeps its final response in wire form for the 32 s
// of Timer J, H or I (RFC 3261 §17.2.1, §17.2.2) — for a registrar or a
// proxy, most of what it holds per request. pack makes that form smaller
// at little cost: in the header part, the text most responses share — the
// start of the status line, header names, the magic cookie, common
// parameters — is written as one byte each, a control character that a
// header part does not carry (RFC 3261 §25.1 allows one only in a
// quoted-pair). The body is kept as it is. unpack restores the response
// byte for byte.
//
// The first byte tells the form: packedRaw for a response kept as it is
// (one whose header part has a control character of ours, or has no end),
// packedTokens for one packed.
const (
	packedRaw    = 0
	packedTokens = 1
)

// packTokens are the texts packed, each written as its code (packCodes).
// A token that ends the header part ends with the blank line, and no
// other ends with CR or LF: so the header part always ends in one of
// those, which tells unpack where the body starts.
var packTokens = [...]string{
	"\r\nContent-Length: 0\r\n\r\n",
	"\r\n\r\n",
	"SIP/2.0 200 OK",
	"SIP/2.0 ",
	"\r\nVia: SIP/2.0/UDP ",
	";branch=z9hG4bK",
	";received=",
	";rport=",
	"\r\nFrom: ",
	"\r\nTo: ",
	";tag=",
	"\r\nCall-ID: ",
	"\r\nCSeq: ",
	"\r\nContact: ",
	";expires=",
	"\r\nRecord-Route: ",
	"\r\nDate: ",
	"\r\nContent-Length: ",
	"\r\nContent-Type: ",
	"<sip:",
	";lr>",
}

// packEnds is how many of packTokens, at the start, end the header part.
const packEnds = 2

// packCodes are the bytes that stand for packTokens, in order: control
// characters other than HT, LF and CR.
var packCodes = [...]byte{
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0E, 0x0F, 0x10, 0x11, 0x12,
	0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F,
}

// packToken maps a code to its token index + 1 (0: not a code); packCand
// lists the indexes of the tokens that may start at a place, by packHash
// of its first and fourth bytes, the longer first; packStop marks the
// bytes pack must look at: the codes and the first bytes of tokens.
var (
	packToken [32]uint8
	packCand  [256][]uint8
	packStop  [256]bool
	// packWord and packMask are the first (up to) eight bytes of each
	// token as a little-endian word and the mask of those bytes, so that
	// most candidates are ruled out by one comparison.
	packWord, packMask [len(packTokens)]uint64
)

func init() {
	if len(packTokens) > len(packCodes) {
		panic("transaction: more pack tokens than codes")
	}
	for i := range packTokens {
		packToken[packCodes[i]] = uint8(i + 1)
		packStop[packCodes[i]] = true
	}
	for i, t := range packTokens {
		if len(t) < 4 {
			panic("transaction: pack token shorter than 4 bytes")
		}
		h := packHash(t[0], t[3])
		packCand[h] = append(packCand[h], uint8(i))
		packStop[t[0]] = true
		var b [8]byte
		n := copy(b[:], t)
		packWord[i] = binary.LittleEndian.Uint64(b[:])
		packMask[i] = ^uint64(0) >> (64 - 8*n)
	}
	for c := range packCand {
		l := packCand[c]
		// Longer tokens first: "\r\nContent-Length: 0..." before
		// "\r\nContent-Length: ", "SIP/2.0 200 OK" before "SIP/2.0 ".
		for i := 1; i < len(l); i++ {
			for j := i; j > 0 && len(packTokens[l[j]]) > len(packTokens[l[j-1]]); j-- {
				l[j], l[j-1] = l[j-1], l[j]
			}
		}
	}
}

func packHash(first, fourth byte) uint8 { return first*13 + fourth }

// pack appends the packed form of msg, a message in wire form, to dst.
func pack(dst, msg []byte) []byte {
	start := len(dst)
	dst = append(dst, packedTokens)
	run := 0 // msg[run:i] is to be copied as it is
next:
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if !packStop[c] {
			continue
		}
		if c < 32 && packToken[c] != 0 {
			break // a control character of ours in the header part
		}
		if len(msg)-i < 4 {
			continue
		}
		var w uint64
		if len(msg)-i >= 8 {
			w = binary.LittleEndian.Uint64(msg[i:])
		}
		for _, t := range packCand[packHash(c, msg[i+3])] {
			tok := packTokens[t]
			if len(msg)-i < len(tok) || w&packMask[t] != packWord[t] && len(msg)-i >= 8 {
				continue
			}
			if len(tok) <= 8 && len(msg)-i >= 8 || string(msg[i:i+len(tok)]) == tok {
				dst = append(append(dst, msg[run:i]...), packCodes[t])
				i += len(tok)
				if int(t) < packEnds {
					// The end of the header part (the first blank
					// line: no other token covers one): the body
					// follows as it is.
					return append(dst, msg[i:]...)
				}
				run = i
				i--
				continue next
			}
		}
	}
	// A header part with a control character of ours, or with no end:
	// kept as it is.
	return append(append(dst[:start], packedRaw), msg...)
}

// packed returns resp in packed wire form.
func packed(resp *sip.Response) string {
	var wire, buf [1024]byte
	return string(pack(buf[:0], resp.AppendTo(wire[:0])))
}

// unpack appends the message p, made by pack, to dst. A p that pack did
// not make gives what it gives, never a panic.
func unpack[T string | []byte](dst []byte, p T) []byte {
	if len(p) == 0 {
		return dst
	}
	if p[0] != packedTokens {
		return append(dst, p[1:]...)
	}
	for i := 1; i < len(p); i++ {
		c := p[i]
		if c >= 32 || packToken[c] == 0 {
			dst = append(dst, c)
			continue
		}
		t := packToken[c] - 1
		dst = append(dst, packTokens[t]...)
		if t < packEnds {
			return append(dst, p[i+1:]...) // the body, as it is
		}
	}
	return dst
}
