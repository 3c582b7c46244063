package sip

import (
	"bytes"
)

// Framer cuts messages out of a byte stream (TCP, TLS) by Content-Length,
// as RFC 3261 §18.3 requires. Bytes are pushed in with Write as they arrive,
// in pieces of any size; Next hands out whole messages. CRLFs between
// messages are skipped; a double CRLF there is a keep-alive ping that the
// transport answers with a single CRLF (RFC 5626 §3.5.1).
//
// A Framer never holds more than MaxMessageSize bytes of one message: a
// longer header section or a larger Content-Length is ErrTooLarge, after
// which the connection should be closed.
type Framer struct {
	// MaxMessageSize bounds one message; DefaultMaxMessageSize when zero.
	MaxMessageSize int

	buf  []byte
	off  int // start of unconsumed data in buf
	scan int // bytes of the current header section already searched
	need int // total length of the current message once known, else 0
	err  error
}

func (f *Framer) max() int {
	if f.MaxMessageSize > 0 {
		return f.MaxMessageSize
	}
	return DefaultMaxMessageSize
}

// Write appends bytes read from the stream. It never fails; errors come
// from Next.
func (f *Framer) Write(p []byte) (int, error) {
	if f.off > 0 && f.off == len(f.buf) {
		f.buf, f.off = f.buf[:0], 0
	} else if f.off > 0 && f.off >= cap(f.buf)/2 {
		// Slide the unconsumed tail down so the buffer stays bounded.
		n := copy(f.buf, f.buf[f.off:])
		f.buf, f.off = f.buf[:n], 0
	}
	f.buf = append(f.buf, p...)
	return len(p), nil
}

// Buffered is the number of bytes received and not yet handed out.
func (f *Framer) Buffered() int { return len(f.buf) - f.off }

// Next returns the next whole message, or a ping. With msg nil, ping false
// and err nil, more bytes are needed. msg is valid until the next call to
// Write; parse it (Parser.ParseStream copies) before then. After an error
// the stream cannot be framed any more.
func (f *Framer) Next() (msg []byte, ping bool, err error) {
	if f.err != nil {
		return nil, false, f.err
	}
	if f.need == 0 {
		// Skip CRLFs before a message (RFC 3261 §7.5); CRLFCRLF is a
		// ping (RFC 5626 §3.5.1).
		for f.off < len(f.buf) && (f.buf[f.off] == '\r' || f.buf[f.off] == '\n') {
			data := f.buf[f.off:]
			if bytes.HasPrefix(data, crlfcrlf) {
				f.off += 4
				f.scan = 0
				return nil, true, nil
			}
			if len(data) < 4 && bytes.HasPrefix(crlfcrlf, data) {
				return nil, false, nil // a ping may be arriving
			}
			f.off++
			f.scan = 0
		}
		data := f.buf[f.off:]
		if len(data) == 0 {
			return nil, false, nil
		}
		end, _ := headerSectionEnd(data[max(f.scan-3, 0):])
		if end < 0 {
			if len(data) > f.max() {
				return nil, false, f.fail(ErrTooLarge)
			}
			f.scan = len(data)
			return nil, false, nil
		}
		end += max(f.scan-3, 0)
		bodyStart := end + 1
		if data[end] == '\r' {
			bodyStart = end + 2
		}
		cl, err := streamContentLength(data[:end])
		if err != nil {
			return nil, false, f.fail(err)
		}
		if bodyStart+cl > f.max() {
			return nil, false, f.fail(ErrTooLarge)
		}
		f.need = bodyStart + cl
	}
	if len(f.buf)-f.off < f.need {
		return nil, false, nil
	}
	msg = f.buf[f.off : f.off+f.need : f.off+f.need]
	f.off += f.need
	f.need, f.scan = 0, 0
	return msg, false, nil
}

var crlfcrlf = []byte("\r\n\r\n")

func (f *Framer) fail(err error) error {
	f.err = err
	return err
}

// streamContentLength finds Content-Length (or "l") in a header section.
// It is required on streams, and several differing values are an error.
func streamContentLength(hdr []byte) (int, error) {
	cl := -1
	for len(hdr) > 0 {
		line := nextLine(&hdr)
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || len(line) == 0 || isWS(line[0]) {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if len(name) != 1 && len(name) != len("content-length") {
			continue
		}
		if kindOf(string(name)) != hContentLength {
			continue
		}
		v := string(line[colon+1:])
		// RFC 3261 §7.3.1: the value may continue on folded lines.
		for len(hdr) > 0 && isWS(hdr[0]) {
			v += " " + string(nextLine(&hdr))
		}
		n, ok := parseUint(trimLWS(v), maxContentLength)
		if !ok {
			return 0, &ParseError{Header: "Content-Length", Offset: -1, Reason: "malformed value"}
		}
		if cl >= 0 && int(n) != cl {
			return 0, &ParseError{Header: "Content-Length", Offset: -1, Reason: "conflicting values"}
		}
		cl = int(n)
	}
	if cl < 0 {
		return 0, ErrNoContentLength
	}
	return cl, nil
}

// nextLine cuts the first line (without its LF) off *b.
func nextLine(b *[]byte) []byte {
	i := bytes.IndexByte(*b, '\n')
	if i < 0 {
		line := *b
		*b = nil
		return line
	}
	line := (*b)[:i]
	*b = (*b)[i+1:]
	return line
}
