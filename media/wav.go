package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Errors from ReadWAV and WriteWAV; the returned errors wrap them with detail.
var (
	// ErrNotWAV means the input is not a RIFF/WAVE file or its chunk
	// structure is broken.
	ErrNotWAV = errors.New("media: not a WAV file")
	// ErrWAVFormat means a well-formed WAV file holds something other than
	// 16-bit PCM mono.
	ErrWAVFormat = errors.New("media: unsupported WAV format")
)

const (
	wavFormatPCM        = 0x0001
	wavFormatExtensible = 0xFFFE
	// maxFmtChunk bounds what we buffer for a "fmt " chunk; real ones are
	// 16, 18 or 40 bytes.
	maxFmtChunk = 1 << 10
	// streamingSize is the data size that streaming writers (ffmpeg and
	// sox on a pipe) leave in place of the unknown length.
	streamingSize = 0xFFFFFFFF
)

// ksdataformatSubtypePCM is the tail of the KSDATAFORMAT_SUBTYPE_PCM GUID
// that follows the format tag in a WAVE_FORMAT_EXTENSIBLE "fmt " chunk.
var ksdataformatSubtypePCM = []byte("\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71")

// ReadWAV reads a RIFF WAVE file of 16-bit little-endian PCM, mono, and
// returns its samples and sample rate. WAVE_FORMAT_EXTENSIBLE with the PCM
// subtype is accepted. Chunks other than "fmt " and "data" (LIST, fact, cue,
// ...) are skipped; anything after the data chunk is not read. A data size
// of 0xFFFFFFFF, as streaming writers leave it, means "until end of input".
//
// Other formats fail with an error wrapping ErrWAVFormat; broken files with
// one wrapping ErrNotWAV (and io.ErrUnexpectedEOF when they are cut short).
// Memory grows with the samples actually read, never with a declared size,
// so bound untrusted input with io.LimitReader.
func ReadWAV(r io.Reader) (samples []int16, rate int, err error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, fmt.Errorf("%w: short RIFF header: %w", ErrNotWAV, unexpectedEOF(err))
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: missing RIFF/WAVE signature", ErrNotWAV)
	}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if err == io.EOF {
				return nil, 0, fmt.Errorf("%w: no data chunk", ErrNotWAV)
			}
			return nil, 0, fmt.Errorf("%w: short chunk header: %w", ErrNotWAV, unexpectedEOF(err))
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, 0, fmt.Errorf("%w: second fmt chunk", ErrNotWAV)
			}
			if size < 16 || size > maxFmtChunk {
				return nil, 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, size)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, 0, fmt.Errorf("%w: short fmt chunk: %w", ErrNotWAV, unexpectedEOF(err))
			}
			if rate, err = parseFmt(b[:size]); err != nil {
				return nil, 0, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			samples, err = readPCM16(r, size)
			if err != nil {
				return nil, 0, err
			}
			return samples, rate, nil
		default:
			// RIFF chunks are padded to an even length.
			skip := int64(size) + int64(size&1)
			if n, err := io.CopyN(io.Discard, r, skip); err != nil {
				return nil, 0, fmt.Errorf("%w: %q chunk cut short after %d of %d bytes: %w",
					ErrNotWAV, id, n, skip, io.ErrUnexpectedEOF)
			}
		}
	}
}

// parseFmt checks a "fmt " chunk body and returns the sample rate.
func parseFmt(b []byte) (rate int, err error) {
	le := binary.LittleEndian
	format := le.Uint16(b[0:2])
	channels := le.Uint16(b[2:4])
	sampleRate := le.Uint32(b[4:8])
	blockAlign := le.Uint16(b[12:14])
	bits := le.Uint16(b[14:16])
	switch format {
	case wavFormatPCM:
	case wavFormatExtensible:
		// cbSize(2) validBits(2) channelMask(4) subFormat GUID(16)
		if len(b) < 40 || le.Uint16(b[24:26]) != wavFormatPCM || !bytes.Equal(b[26:40], ksdataformatSubtypePCM) {
			return 0, fmt.Errorf("%w: extensible format without the PCM subtype", ErrWAVFormat)
		}
	default:
		return 0, fmt.Errorf("%w: format tag %#04x, want PCM (1)", ErrWAVFormat, format)
	}
	if channels != 1 {
		return 0, fmt.Errorf("%w: %d channels, want mono", ErrWAVFormat, channels)
	}
	if bits != 16 {
		return 0, fmt.Errorf("%w: %d bits per sample, want 16", ErrWAVFormat, bits)
	}
	if blockAlign != 2 {
		return 0, fmt.Errorf("%w: block align %d, want 2", ErrWAVFormat, blockAlign)
	}
	if sampleRate == 0 || uint64(sampleRate) > math.MaxInt32 {
		return 0, fmt.Errorf("%w: sample rate %d", ErrWAVFormat, sampleRate)
	}
	return int(sampleRate), nil
}

// readPCM16 reads size bytes (or up to EOF for streamingSize) of 16-bit
// little-endian samples, growing the result only as data arrives.
func readPCM16(r io.Reader, size uint32) ([]int16, error) {
	toEOF := size == streamingSize
	if !toEOF && size&1 != 0 {
		return nil, fmt.Errorf("%w: data chunk of odd size %d for 16-bit samples", ErrNotWAV, size)
	}
	var (
		buf     [8 << 10]byte
		samples []int16
		left    = int64(size)
		carry   = 0 // 0 or 1 byte of an incomplete sample at buf[0]
	)
	for toEOF || left > 0 {
		want := len(buf) - carry
		if !toEOF {
			want = int(min(int64(want), left))
		}
		n, err := io.ReadAtLeast(r, buf[carry:carry+want], 1)
		left -= int64(n)
		n += carry
		for i := 0; i+1 < n; i += 2 {
			samples = append(samples, int16(binary.LittleEndian.Uint16(buf[i:])))
		}
		carry = n & 1
		if carry == 1 {
			buf[0] = buf[n-1]
		}
		if err != nil {
			if toEOF && err == io.EOF {
				break
			}
			return nil, fmt.Errorf("%w: data chunk cut short after %d of %d bytes: %w",
				ErrNotWAV, int64(size)-left, size, unexpectedEOF(err))
		}
	}
	return samples, nil
}

// unexpectedEOF turns io.EOF inside a structure into io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// WriteWAV writes samples as a canonical 44-byte-header RIFF WAVE file of
// 16-bit PCM mono at rate Hz.
func WriteWAV(w io.Writer, samples []int16, rate int) error {
	if rate <= 0 || rate > math.MaxInt32 {
		return fmt.Errorf("%w: sample rate %d", ErrWAVFormat, rate)
	}
	dataSize := uint64(len(samples)) * 2
	if dataSize+36 > math.MaxUint32 || dataSize == streamingSize {
		return fmt.Errorf("%w: %d samples do not fit a RIFF file", ErrWAVFormat, len(samples))
	}
	le := binary.LittleEndian
	buf := make([]byte, 44, 44+min(dataSize, 8<<10))
	copy(buf[0:], "RIFF")
	le.PutUint32(buf[4:], uint32(36+dataSize))
	copy(buf[8:], "WAVEfmt ")
	le.PutUint32(buf[16:], 16)
	le.PutUint16(buf[20:], wavFormatPCM)
	le.PutUint16(buf[22:], 1) // channels
	le.PutUint32(buf[24:], uint32(rate))
	le.PutUint32(buf[28:], uint32(rate)*2) // byte rate
	le.PutUint16(buf[32:], 2)              // block align
	le.PutUint16(buf[34:], 16)             // bits per sample
	copy(buf[36:], "data")
	le.PutUint32(buf[40:], uint32(dataSize))
	for _, s := range samples {
		if len(buf)+2 > cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = le.AppendUint16(buf, uint16(s))
	}
	_, err := w.Write(buf)
	return err
}
