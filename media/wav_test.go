package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/iotest"
	"time"
)

// wavFile builds a RIFF WAVE file from chunks given as id, body pairs.
func wavFile(chunks ...any) []byte {
	var body []byte
	body = append(body, "WAVE"...)
	for i := 0; i < len(chunks); i += 2 {
		id := chunks[i].(string)
		b, _ := chunks[i+1].([]byte) // nil for an empty chunk
		body = append(body, id...)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(b)))
		body = append(body, b...)
		if len(b)%2 == 1 {
			body = append(body, 0)
		}
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

// fmtChunk returns a 16-byte "fmt " body.
func fmtChunk(format, channels uint16, rate uint32, bits uint16) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, format)
	b = le.AppendUint16(b, channels)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, rate*uint32(channels)*uint32(bits/8))
	b = le.AppendUint16(b, channels*bits/8)
	return le.AppendUint16(b, bits)
}

func pcmBytes(s ...int16) []byte {
	var b []byte
	for _, x := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func TestWAVRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		samples []int16
		rate    int
	}{
		{"empty", nil, 8000},
		{"one", []int16{-32768}, 16000},
		{"tone longer than the write buffer", Tone(440, 8000, 700*time.Millisecond, 0.8), 8000},
		{"extremes", []int16{0, 1, -1, 32767, -32768}, 44100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteWAV(&buf, tt.samples, tt.rate); err != nil {
				t.Fatal(err)
			}
			if got, want := buf.Len(), 44+2*len(tt.samples); got != want {
				t.Errorf("file is %d bytes, want %d", got, want)
			}
			// Through a reader that returns one byte at a time, as a pipe may.
			got, rate, err := ReadWAV(iotest.OneByteReader(&buf))
			if err != nil {
				t.Fatal(err)
			}
			if rate != tt.rate || !slices.Equal(got, tt.samples) {
				t.Errorf("read %d samples at %d Hz, want %d at %d Hz", len(got), rate, len(tt.samples), tt.rate)
			}
		})
	}
}

func TestReadWAV(t *testing.T) {
	pcm := fmtChunk(1, 1, 8000, 16)
	data := pcmBytes(1, -2, 3)
	ext := append(fmtChunk(0xFFFE, 1, 8000, 16), 22, 0, 16, 0, 4, 0, 0, 0, 1, 0)
	ext = append(ext, ksdataformatSubtypePCM...)
	extFloat := slices.Clone(ext)
	extFloat[24] = 3
	streaming := wavFile("fmt ", pcm, "data", data)
	binary.LittleEndian.PutUint32(streaming[40:], 0xFFFFFFFF)
	tests := []struct {
		name    string
		in      []byte
		want    []int16
		wantErr error
	}{
		{"plain", wavFile("fmt ", pcm, "data", data), []int16{1, -2, 3}, nil},
		{"LIST and odd-sized chunks are skipped", wavFile("LIST", []byte("INFOISFT\x03\x00\x00\x00sox"), "fmt ", pcm, "junk", []byte{1}, "data", data), []int16{1, -2, 3}, nil},
		{"trailing chunk after data ignored", wavFile("fmt ", pcm, "data", data, "LIST", []byte("xx")), []int16{1, -2, 3}, nil},
		{"extensible PCM", wavFile("fmt ", ext, "data", data), []int16{1, -2, 3}, nil},
		{"fmt with cbSize 0", wavFile("fmt ", append(slices.Clone(pcm), 0, 0), "data", data), []int16{1, -2, 3}, nil},
		{"streaming data size", streaming, []int16{1, -2, 3}, nil},
		{"empty data", wavFile("fmt ", pcm, "data", nil), nil, nil},

		{"empty input", nil, nil, ErrNotWAV},
		{"not RIFF", []byte("RIFX\x00\x00\x00\x00WAVE"), nil, ErrNotWAV},
		{"not WAVE", []byte("RIFF\x00\x00\x00\x00AVI "), nil, ErrNotWAV},
		{"no data chunk", wavFile("fmt ", pcm), nil, ErrNotWAV},
		{"data before fmt", wavFile("data", data, "fmt ", pcm), nil, ErrNotWAV},
		{"short fmt", wavFile("fmt ", pcm[:14], "data", data), nil, ErrNotWAV},
		{"huge fmt", wavFile("fmt ", make([]byte, 2000), "data", data), nil, ErrNotWAV},
		{"two fmt", wavFile("fmt ", pcm, "fmt ", pcm, "data", data), nil, ErrNotWAV},
		{"odd data", wavFile("fmt ", pcm, "data", data[:5]), nil, ErrNotWAV},
		{"truncated data", wavFile("fmt ", pcm, "data", data)[:48], nil, io.ErrUnexpectedEOF},
		{"truncated chunk", wavFile("fmt ", pcm, "LIST", make([]byte, 10))[:40], nil, io.ErrUnexpectedEOF},

		{"float", wavFile("fmt ", fmtChunk(3, 1, 8000, 32), "data", data), nil, ErrWAVFormat},
		{"mu-law", wavFile("fmt ", fmtChunk(7, 1, 8000, 8), "data", data), nil, ErrWAVFormat},
		{"stereo", wavFile("fmt ", fmtChunk(1, 2, 8000, 16), "data", data), nil, ErrWAVFormat},
		{"8-bit", wavFile("fmt ", fmtChunk(1, 1, 8000, 8), "data", data), nil, ErrWAVFormat},
		{"24-bit", wavFile("fmt ", fmtChunk(1, 1, 8000, 24), "data", data), nil, ErrWAVFormat},
		{"zero rate", wavFile("fmt ", fmtChunk(1, 1, 0, 16), "data", data), nil, ErrWAVFormat},
		{"extensible float", wavFile("fmt ", extFloat, "data", data), nil, ErrWAVFormat},
		{"extensible too short", wavFile("fmt ", ext[:24], "data", data), nil, ErrWAVFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rate, err := ReadWAV(bytes.NewReader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				t.Logf("error: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rate != 8000 || !slices.Equal(got, tt.want) {
				t.Errorf("got %v at %d Hz, want %v at 8000 Hz", got, rate, tt.want)
			}
		})
	}
}

func TestWriteWAVErrors(t *testing.T) {
	for _, rate := range []int{0, -1, 1 << 40} {
		if err := WriteWAV(io.Discard, nil, rate); !errors.Is(err, ErrWAVFormat) {
			t.Errorf("rate %d: err = %v, want ErrWAVFormat", rate, err)
		}
	}
	werr := errors.New("disk full")
	if err := WriteWAV(failWriter{werr}, []int16{1}, 8000); !errors.Is(err, werr) {
		t.Errorf("err = %v, want the writer's error", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func FuzzReadWAV(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteWAV(&buf, []int16{0, 1, -1, 32767, -32768}, 8000)
	f.Add(buf.Bytes())
	pcm := fmtChunk(1, 1, 8000, 16)
	f.Add(wavFile("LIST", []byte("INFO"), "fmt ", pcm, "data", pcmBytes(5, 6)))
	f.Add(wavFile("fmt ", fmtChunk(1, 2, 8000, 16), "data", pcmBytes(5, 6)))
	f.Add(wavFile("fmt ", pcm, "data", pcmBytes(5))[:45])
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		samples, rate, err := ReadWAV(bytes.NewReader(in))
		if err != nil {
			if samples != nil || rate != 0 {
				t.Fatalf("error %v with %d samples at %d Hz", err, len(samples), rate)
			}
			return
		}
		if len(samples) > len(in)/2 {
			t.Fatalf("%d samples from %d bytes", len(samples), len(in))
		}
		// What reads must write and read back the same.
		var out bytes.Buffer
		if err := WriteWAV(&out, samples, rate); err != nil {
			t.Fatal(err)
		}
		again, rate2, err := ReadWAV(&out)
		if err != nil || rate2 != rate || !slices.Equal(again, samples) {
			t.Fatalf("rewrite: %v, %d Hz, equal=%v", err, rate2, slices.Equal(again, samples))
		}
	})
}
