package media

import (
	"math"
	"testing"
)

func TestG711ReferenceValues(t *testing.T) {
	// Encoder values follow ITU-T G.191 (negative magnitudes by one's
	// complement); decoder values are the standard G.711 tables.
	tests := []struct {
		name   string
		pcm    int16
		ulaw   byte
		alaw   byte
		ulawPC int16 // DecodeULaw(ulaw)
		alawPC int16 // DecodeALaw(alaw)
	}{
		{"zero", 0, 0xFF, 0xD5, 0, 8},
		{"minus one", -1, 0x7F, 0x55, 0, -8},
		{"hundred", 100, 0xF2, 0xD3, 104, 104},
		{"thousand", 1000, 0xCE, 0xFA, 988, 1008},
		{"minus thousand", -1000, 0x4E, 0x7A, -988, -1008},
		{"max", math.MaxInt16, 0x80, 0xAA, 32124, 32256},
		{"min", math.MinInt16, 0x00, 0x2A, -32124, -32256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EncodeULaw([]int16{tt.pcm})[0]; got != tt.ulaw {
				t.Errorf("EncodeULaw(%d) = %#02x, want %#02x", tt.pcm, got, tt.ulaw)
			}
			if got := EncodeALaw([]int16{tt.pcm})[0]; got != tt.alaw {
				t.Errorf("EncodeALaw(%d) = %#02x, want %#02x", tt.pcm, got, tt.alaw)
			}
			if got := DecodeULaw([]byte{tt.ulaw})[0]; got != tt.ulawPC {
				t.Errorf("DecodeULaw(%#02x) = %d, want %d", tt.ulaw, got, tt.ulawPC)
			}
			if got := DecodeALaw([]byte{tt.alaw})[0]; got != tt.alawPC {
				t.Errorf("DecodeALaw(%#02x) = %d, want %d", tt.alaw, got, tt.alawPC)
			}
		})
	}
}

func TestG711DecodeTables(t *testing.T) {
	// Spot checks against the published tables (first and last entries).
	tests := []struct {
		name  string
		codec Codec
		in    byte
		want  int16
	}{
		{"ulaw 0x00", PCMU, 0x00, -32124},
		{"ulaw 0x01", PCMU, 0x01, -31100},
		{"ulaw 0x7E", PCMU, 0x7E, -8},
		{"ulaw 0xF0", PCMU, 0xF0, 120},
		{"ulaw 0xFE", PCMU, 0xFE, 8},
		{"alaw 0x00", PCMA, 0x00, -5504},
		{"alaw 0x01", PCMA, 0x01, -5248},
		{"alaw 0x02", PCMA, 0x02, -6016},
		{"alaw 0x80", PCMA, 0x80, 5504},
		{"alaw 0xFF", PCMA, 0xFF, 848},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.codec.AppendDecode(nil, []byte{tt.in})[0]; got != tt.want {
				t.Errorf("%v decode %#02x = %d, want %d", tt.codec, tt.in, got, tt.want)
			}
		})
	}
}

// quantBound is the largest error G.711 may make at x: half the step of
// x's segment, which grows with |x| (the relative error stays near 3%), and
// clipping above the top decision level.
func quantBound(c Codec, x int) int {
	ax := max(x, -x)
	switch c {
	case PCMU:
		if ax > 32124 {
			return ax - 32124
		}
		return max(8, ax/16) // steps 8..1024 over segments starting ~0..16k
	default:
		if ax > 32256 {
			return ax - 32256
		}
		return max(8, ax/32) // steps 16..1024 over segments starting 0..16k
	}
}

func TestG711RoundTripWholeRange(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA} {
		t.Run(c.String(), func(t *testing.T) {
			pcm := make([]int16, 0, 1<<16)
			for x := math.MinInt16; x <= math.MaxInt16; x++ {
				pcm = append(pcm, int16(x))
			}
			enc := c.AppendEncode(nil, pcm)
			dec := c.AppendDecode(nil, enc)
			if len(dec) != len(pcm) {
				t.Fatalf("decoded %d samples, want %d", len(dec), len(pcm))
			}
			worst := 0
			for i, x := range pcm {
				y := dec[i]
				err := max(int(y)-int(x), int(x)-int(y))
				worst = max(worst, err)
				if b := quantBound(c, int(x)); err > b {
					t.Fatalf("%d -> %#02x -> %d: error %d > %d", x, enc[i], y, err, b)
				}
				if i > 0 && y < dec[i-1] {
					t.Fatalf("not monotonic at %d: %d after %d", x, y, dec[i-1])
				}
				if (x > 0 && y < 0) || (x < -1 && y > 0) {
					t.Fatalf("%d decoded with the wrong sign: %d", x, y)
				}
			}
			t.Logf("worst error %d", worst)
			// Decoded values are fixed points: coding them again is lossless.
			for b := range 256 {
				y := c.AppendDecode(nil, []byte{byte(b)})
				if z := c.AppendDecode(nil, c.AppendEncode(nil, y)); z[0] != y[0] {
					t.Errorf("%#02x -> %d -> %d", b, y[0], z[0])
				}
			}
		})
	}
}

func TestCodec(t *testing.T) {
	if PCMU.PayloadType() != 0 || PCMA.PayloadType() != 8 {
		t.Errorf("payload types %d, %d; want 0, 8", PCMU.PayloadType(), PCMA.PayloadType())
	}
	if PCMU.String() != "PCMU" || PCMA.String() != "PCMA" || Codec(18).String() != "Codec(18)" {
		t.Errorf("names %q %q %q", PCMU, PCMA, Codec(18))
	}
	if Codec(18).Valid() || len(Codec(18).AppendEncode(nil, []int16{1})) != 0 ||
		len(Codec(18).AppendDecode(nil, []byte{1})) != 0 {
		t.Error("an invalid codec encoded or decoded something")
	}
}

func BenchmarkEncodeULaw(b *testing.B) {
	pcm := Tone(440, SampleRate, FrameDuration, 0.5)
	dst := make([]byte, 0, len(pcm))
	b.ReportAllocs()
	b.SetBytes(int64(len(pcm) * 2))
	for b.Loop() {
		dst = PCMU.AppendEncode(dst[:0], pcm)
	}
}

func BenchmarkDecodeALaw(b *testing.B) {
	enc := EncodeALaw(Tone(440, SampleRate, FrameDuration, 0.5))
	dst := make([]int16, 0, len(enc))
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		dst = PCMA.AppendDecode(dst[:0], enc)
	}
}
