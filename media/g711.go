package media

import (
	"math/bits"
	"strconv"
)

// Codec is a G.711 variant. Its value is the RFC 3551 static RTP payload type
// that carries it at 8000 Hz.
type Codec uint8

const (
	// PCMU is G.711 µ-law, RTP payload type 0.
	PCMU Codec = 0
	// PCMA is G.711 A-law, RTP payload type 8.
	PCMA Codec = 8
)

// SampleRate is the G.711 clock rate in Hz (RFC 3551 §4.5.14).
const SampleRate = 8000

// PayloadType returns the RTP payload type of c.
func (c Codec) PayloadType() uint8 { return uint8(c) }

// Valid reports whether c is PCMU or PCMA.
func (c Codec) Valid() bool { return c == PCMU || c == PCMA }

// String returns the RTP encoding name ("PCMU", "PCMA").
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return "Codec(" + strconv.Itoa(int(c)) + ")"
}

// AppendEncode appends the G.711 encoding of pcm to dst, one byte per
// sample. An invalid codec appends nothing.
func (c Codec) AppendEncode(dst []byte, pcm []int16) []byte {
	switch c {
	case PCMU:
		for _, x := range pcm {
			dst = append(dst, ulawEncode(x))
		}
	case PCMA:
		for _, x := range pcm {
			dst = append(dst, alawEncode(x))
		}
	}
	return dst
}

// AppendDecode appends the linear samples of the G.711 bytes b to dst.
// An invalid codec appends nothing.
func (c Codec) AppendDecode(dst []int16, b []byte) []int16 {
	var t *[256]int16
	switch c {
	case PCMU:
		t = &ulawTable
	case PCMA:
		t = &alawTable
	default:
		return dst
	}
	for _, v := range b {
		dst = append(dst, t[v])
	}
	return dst
}

// EncodeULaw returns the G.711 µ-law encoding of 16-bit linear PCM.
func EncodeULaw(pcm []int16) []byte { return PCMU.AppendEncode(make([]byte, 0, len(pcm)), pcm) }

// DecodeULaw returns the 16-bit linear PCM of G.711 µ-law bytes.
func DecodeULaw(b []byte) []int16 { return PCMU.AppendDecode(make([]int16, 0, len(b)), b) }

// EncodeALaw returns the G.711 A-law encoding of 16-bit linear PCM.
func EncodeALaw(pcm []int16) []byte { return PCMA.AppendEncode(make([]byte, 0, len(pcm)), pcm) }

// DecodeALaw returns the 16-bit linear PCM of G.711 A-law bytes.
func DecodeALaw(b []byte) []int16 { return PCMA.AppendDecode(make([]int16, 0, len(b)), b) }

// Decoding is a table lookup; the tables are filled once from the reference
// expansion below and never written again.
var (
	ulawTable = makeTable(ulawExpand)
	alawTable = makeTable(alawExpand)
)

func makeTable(expand func(byte) int16) (t [256]int16) {
	for i := range t {
		t[i] = expand(byte(i))
	}
	return t
}

// ulawEncode follows ITU-T G.191 ulaw_compress: the magnitude of a negative
// sample is its one's complement (so -32768 does not overflow), scaled to 14
// bits and biased by 33 before the segment search.
func ulawEncode(x int16) byte {
	var abs int
	if x < 0 {
		abs = int(^x)>>2 + 33
	} else {
		abs = int(x)>>2 + 33
	}
	abs = min(abs, 0x1FFF)
	seg := 1 + bits.Len(uint(abs>>6))
	out := byte((8-seg)<<4 | (0x0F - (abs>>seg)&0x0F))
	if x >= 0 {
		out |= 0x80
	}
	return out
}

// ulawExpand follows ITU-T G.191 ulaw_expand.
func ulawExpand(b byte) int16 {
	m := ^b
	exp := int(m>>4) & 0x07
	mant := int(m) & 0x0F
	step := 4 << (exp + 1)
	v := 0x80<<exp + step*mant + step/2 - 4*33
	if b < 0x80 {
		v = -v
	}
	return int16(v)
}

// alawEncode follows ITU-T G.191 alaw_compress on 16-bit input (13
// significant bits); even bits are inverted (XOR 0x55) as G.711 requires.
func alawEncode(x int16) byte {
	var ix int
	if x < 0 {
		ix = int(^x) >> 4
	} else {
		ix = int(x) >> 4
	}
	if ix > 15 {
		exp := 1
		for ix > 16+15 {
			ix >>= 1
			exp++
		}
		ix -= 16
		ix += exp << 4
	}
	if x >= 0 {
		ix |= 0x80
	}
	return byte(ix) ^ 0x55
}

// alawExpand follows ITU-T G.191 alaw_expand.
func alawExpand(b byte) int16 {
	ix := int(b^0x55) & 0x7F
	exp := ix >> 4
	mant := ix & 0x0F
	if exp > 0 {
		mant += 16
	}
	mant = mant<<4 + 8
	if exp > 1 {
		mant <<= exp - 1
	}
	if b <= 127 {
		mant = -mant
	}
	return int16(mant)
}
