package sip

import (
	"bytes"
	"strings"
	"unsafe"
)

const (
	// DefaultMaxMessageSize bounds a message when a Parser sets no limit:
	// the largest UDP payload.
	DefaultMaxMessageSize = 65535
	// DefaultMaxHeaders bounds the number of header field lines.
	DefaultMaxHeaders = 256

	maxContentLength = 1<<31 - 1
	maxRawLen        = 1<<32 - 1
)

// Parser turns bytes into messages under size budgets. The zero value uses
// the defaults; a Parser is safe for concurrent use.
type Parser struct {
	// MaxMessageSize is the largest message accepted, start line to body
	// end; DefaultMaxMessageSize when zero.
	MaxMessageSize int
	// MaxHeaders is the largest number of header field lines accepted;
	// DefaultMaxHeaders when zero.
	MaxHeaders int
}

// Parse parses one message from a datagram (RFC 3261 §18.3): with
// Content-Length, the body is that many bytes and any further bytes are
// ignored (RFC 4475 §3.1.1.8); without it, the body is the rest of the
// datagram. The message keeps its own copy of data.
//
// Parse checks the framing, the start line and the shape of each header
// line, and parses Content-Length. Other header values are parsed when they
// are first read; Request.Validate and Response.Validate check the fields a
// server relies on.
func Parse(data []byte) (Message, error) {
	var p Parser
	return p.parse(data, false)
}

// ParseRequest parses a datagram that must hold a request.
func ParseRequest(data []byte) (*Request, error) {
	m, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if r, ok := m.(*Request); ok {
		return r, nil
	}
	return nil, perr("", 0, "not a request")
}

// ParseResponse parses a datagram that must hold a response.
func ParseResponse(data []byte) (*Response, error) {
	m, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if r, ok := m.(*Response); ok {
		return r, nil
	}
	return nil, perr("", 0, "not a response")
}

// Parse parses a datagram under p's limits; see the package function Parse.
func (p *Parser) Parse(data []byte) (Message, error) { return p.parse(data, false) }

// ParseStream parses one message framed from a stream (RFC 3261 §18.3):
// Content-Length is required.
func (p *Parser) ParseStream(data []byte) (Message, error) { return p.parse(data, true) }

func (p *Parser) maxSize() int {
	if p.MaxMessageSize > 0 {
		return p.MaxMessageSize
	}
	return DefaultMaxMessageSize
}

func (p *Parser) maxHeaders() int {
	if p.MaxHeaders > 0 {
		return p.MaxHeaders
	}
	return DefaultMaxHeaders
}

// lineEnd returns the index of the '\n' ending the line at s[i:], and the
// end of the line's content (before "\r\n" or a bare "\n"); -1, -1 when
// there is none.
func lineEnd(s string, i int) (nl, end int) {
	j := strings.IndexByte(s[i:], '\n')
	if j < 0 {
		return -1, -1
	}
	nl = i + j
	end = nl
	if end > i && s[end-1] == '\r' {
		end--
	}
	return nl, end
}

func (p *Parser) parse(data []byte, stream bool) (Message, error) {
	// RFC 3261 §7.5: CRLFs before the start line are ignored.
	start := 0
	for start < len(data) && (data[start] == '\r' || data[start] == '\n') {
		start++
	}
	data = data[start:]
	if len(data) == 0 {
		return nil, ErrIncomplete
	}
	var nls [maxLineIndex]int32 // where lines end, in data and buf
	hdrEnd, nlines := scanHeader(data, &nls)
	if hdrEnd < 0 {
		if len(data) > p.maxSize() {
			return nil, ErrTooLarge
		}
		return nil, &ParseError{Offset: len(data), Reason: "header section not terminated"}
	}
	if hdrEnd > p.maxSize() {
		return nil, ErrTooLarge
	}
	// The message owns a copy; strings are views of it, never written.
	buf := make([]byte, len(data))
	copy(buf, data)
	s := unsafe.String(unsafe.SliceData(buf), len(buf))

	// next returns the line end after pos, as lineEnd does, from nls
	// while it lasts: the k-th '\n' of the message is nls[k].
	k := 0
	next := func(pos int) (nl, end int) {
		if k >= maxLineIndex {
			return lineEnd(s, pos)
		}
		nl = int(nls[k])
		k++
		end = nl
		if end > pos && s[end-1] == '\r' {
			end--
		}
		return nl, end
	}
	nl, end := next(0)
	startLine := s[:end]
	pos := nl + 1

	if nlines > p.maxHeaders() {
		return nil, &ParseError{Offset: pos, Reason: "too many header fields", Status: StatusBadRequest}
	}
	var req *Request
	var resp *Response
	var h *Header
	var rw *raw
	if len(startLine) > 4 && strings.EqualFold(startLine[:4], "SIP/") {
		resp = newResponse(nlines)
		if err := resp.parseStatusLine(startLine); err != nil {
			return nil, err
		}
		h, rw = &resp.Header, &resp.raw
	} else {
		// Room for what a proxy adds to a request it forwards itself:
		// Via and one or two Record-Route (RFC 3261 §16.6, RFC 5658).
		req = newRequest(nlines + 3)
		if err := req.parseRequestLine(startLine); err != nil {
			return nil, err
		}
		h, rw = &req.Header, &req.raw
	}
	rw.buf = buf
	cl := -1
	for pos < hdrEnd {
		nl, end := next(pos)
		// RFC 3261 §7.3.1: a line starting with white space continues
		// the previous field.
		folded := false
		for nl+1 < hdrEnd && isWS(s[nl+1]) {
			nl, end = next(nl + 1)
			folded = true
		}
		f, err := parseField(s[pos:end], pos, folded)
		if err != nil {
			return nil, err
		}
		if f.kind == hContentLength {
			n, ok := parseUint(f.Value, maxContentLength)
			if !ok {
				reason := "not a number"
				if strings.HasPrefix(f.Value, "-") {
					reason = "negative" // RFC 4475 §3.1.2.3
				}
				return nil, &ParseError{Header: "Content-Length", Offset: pos, Reason: reason}
			}
			if cl >= 0 && int(n) != cl {
				// RFC 4475 §3.3.9: conflicting values make framing impossible.
				return nil, &ParseError{Header: "Content-Length", Offset: pos, Reason: "conflicting values"}
			}
			cl = int(n)
		}
		h.fields = append(h.fields, f)
		pos = nl + 1
	}
	bodyStart := hdrEnd + strings.IndexByte(s[hdrEnd:], '\n') + 1
	switch {
	case cl >= 0:
		if bodyStart+cl > p.maxSize() {
			return nil, ErrTooLarge
		}
		if bodyStart+cl > len(buf) {
			// RFC 4475 §3.1.2.2: over UDP this is a 400; a stream
			// framer never hands over a message before it is whole.
			return nil, &ParseError{Header: "Content-Length", Offset: bodyStart, Reason: "larger than message"}
		}
	case stream:
		return nil, ErrNoContentLength
	default:
		cl = len(buf) - bodyStart
		if len(buf) > p.maxSize() {
			return nil, ErrTooLarge
		}
	}
	rw.headerEnd, rw.bodyStart, rw.bodyLen = hdrEnd, bodyStart, cl
	body := buf[bodyStart : bodyStart+cl : bodyStart+cl]
	if req != nil {
		req.Body = body
		return req, nil
	}
	resp.Body = body
	return resp, nil
}

// A parsed message and its header fields are one allocation when the
// fields are few, as they mostly are: one object less to allocate, and
// for the GC to find. The room for fields is chosen so that each block,
// with the 8-byte header malloc puts before such objects, fills a size
// class (a Request is 560 bytes, a Response 320, a field 40; the classes
// are 1152, 1280, 1408, 1536 and 1792 bytes for requests, 768, 896, 1152
// and 1408 for responses): the block wastes no more than the two objects
// did.
type (
	request14 struct {
		r Request
		f [14]HeaderField
	}
	request17 struct {
		r Request
		f [17]HeaderField
	}
	request21 struct {
		r Request
		f [21]HeaderField
	}
	request24 struct {
		r Request
		f [24]HeaderField
	}
	request30 struct {
		r Request
		f [30]HeaderField
	}
	response11 struct {
		r Response
		f [11]HeaderField
	}
	response14 struct {
		r Response
		f [14]HeaderField
	}
	response20 struct {
		r Response
		f [20]HeaderField
	}
	response27 struct {
		r Response
		f [27]HeaderField
	}
)

// newRequest returns a Request with room for n header fields.
func newRequest(n int) *Request {
	var r *Request
	switch {
	case n <= 14:
		b := new(request14)
		b.r.fields = b.f[:0]
		r = &b.r
	case n <= 17:
		b := new(request17)
		b.r.fields = b.f[:0]
		r = &b.r
	case n <= 21:
		b := new(request21)
		b.r.fields = b.f[:0]
		r = &b.r
	case n <= 24:
		b := new(request24)
		b.r.fields = b.f[:0]
		r = &b.r
	case n <= 30:
		b := new(request30)
		b.r.fields = b.f[:0]
		r = &b.r
	default:
		r = &Request{Header: Header{fields: make([]HeaderField, 0, n)}}
	}
	return r
}

// newResponse returns a Response with room for n header fields.
func newResponse(n int) *Response {
	var r *Response
	switch {
	case n <= 11:
		b := new(response11)
		b.r.fields = b.f[:0]
		r = &b.r
	case n <= 14:
		b := new(response14)
		b.r.fields = b.f[:0]
		r = &b.r
	case n <= 20:
		b := new(response20)
		b.r.fields = b.f[:0]
		r = &b.r
	case n <= 27:
		b := new(response27)
		b.r.fields = b.f[:0]
		r = &b.r
	default:
		r = &Response{Header: Header{fields: make([]HeaderField, 0, n)}}
	}
	return r
}

// headerSectionEnd returns the offset of the empty line that ends the header
// section (the start of its CRLF or LF), or -1, and the number of lines
// after the start line before it.
func headerSectionEnd(b []byte) (end, lines int) { return scanHeader(b, nil) }

// maxLineIndex is how many line ends scanHeader records for parse.
const maxLineIndex = 64

// scanHeader is headerSectionEnd that also records, in nls when it is
// not nil, the offsets of the first maxLineIndex '\n' it passes (that of
// the start line first), so that parse need not search for them again.
func scanHeader(b []byte, nls *[maxLineIndex]int32) (end, lines int) {
	off := 0
	for {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return -1, 0
		}
		if nls != nil && lines < maxLineIndex {
			nls[lines] = int32(off + i)
		}
		j := off + i + 1
		if j < len(b) && b[j] == '\n' {
			return j, lines
		}
		if j+1 < len(b) && b[j] == '\r' && b[j+1] == '\n' {
			return j, lines
		}
		lines++
		off = j
	}
}

// parseField splits one (possibly folded) header line into name and value.
// RFC 3261 §7.3.1: header-name HCOLON header-value, HCOLON allowing white
// space before the colon.
// folded tells whether line spans several lines; only then does its value
// need unfolding.
func parseField(line string, off int, folded bool) (HeaderField, error) {
	colon := strings.IndexByte(line, ':')
	if colon < 0 {
		return HeaderField{}, &ParseError{Offset: off, Reason: "header line without colon"}
	}
	name := line[:colon]
	for len(name) > 0 && isWS(name[len(name)-1]) {
		name = name[:len(name)-1]
	}
	// A name sipd knows is a token (its spellings are ASCII letters,
	// digits and '-', matched at the same length); only others need
	// their characters checked.
	k := kindOf(name)
	if k == hUnknown && !isToken(name) {
		return HeaderField{}, &ParseError{Offset: off, Reason: "malformed header name"}
	}
	value := trimLWS(line[colon+1:])
	if folded && strings.IndexByte(value, '\n') >= 0 {
		value = unfold(value)
	}
	if uint64(len(line)) > maxRawLen {
		// Kept as parsed, without its raw form; written anew.
		return HeaderField{Name: name, Value: value, kind: k}, nil
	}
	// name starts the line (a line starting with white space continues
	// the one before), so its start and rawLen give the line back.
	return HeaderField{Name: name, Value: value, rawLen: uint32(len(line)), kind: k}, nil
}

// unfold replaces each line fold (CRLF or LF followed by white space),
// with the white space around it, by one SP (RFC 3261 §7.3.1).
func unfold(v string) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			for len(b) > 0 && isWS(b[len(b)-1]) {
				b = b[:len(b)-1]
			}
			for i+1 < len(v) && isLWS(v[i+1]) {
				i++
			}
			b = append(b, ' ')
			continue
		}
		b = append(b, c)
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// parseRequestLine parses Method SP Request-URI SP SIP-Version (RFC 3261
// §7.1). Runs of SP between the elements and SP at the end are tolerated
// (RFC 4475 §3.1.2.9, §3.1.2.10), but such a line is written anew, with
// single SPs, when the message is forwarded.
func (r *Request) parseRequestLine(line string) error {
	var parts [3]string
	n := 0
	canonical := true
	for i := 0; i < len(line); {
		if line[i] == ' ' {
			if i == 0 || line[i-1] == ' ' || i == len(line)-1 {
				canonical = false
			}
			i++
			continue
		}
		j := strings.IndexByte(line[i:], ' ')
		if j < 0 {
			j = len(line) - i
		}
		if n == 3 {
			// RFC 4475 §3.1.2.8: LWS inside the Request-URI.
			return &ParseError{Offset: i, Reason: "malformed request line"}
		}
		parts[n] = line[i : i+j]
		n++
		i += j
	}
	if n != 3 {
		return &ParseError{Offset: 0, Reason: "malformed request line"}
	}
	if !isToken(parts[0]) {
		return &ParseError{Offset: 0, Reason: "malformed method"}
	}
	if err := checkVersion(parts[2]); err != nil {
		return err
	}
	u, err := ParseURI(parts[1])
	if err != nil {
		if pe, ok := err.(*ParseError); ok {
			return &ParseError{Header: "Request-URI", Offset: len(parts[0]) + 1, Reason: pe.Reason}
		}
		return err
	}
	r.Method, r.URI, r.Proto = parts[0], u, Version
	r.rawMethod, r.rawURI = parts[0], u
	if canonical && parts[2] == Version {
		r.raw.startLine = line
	}
	return nil
}

// checkVersion: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (RFC 3261
// §25.1, the literal matched without regard to case). A version other than
// 2.0 is answered 505 (RFC 3261 §21.5.6, RFC 4475 §3.1.2.16).
func checkVersion(v string) error {
	if len(v) < 7 || !strings.EqualFold(v[:4], "SIP/") {
		return &ParseError{Reason: "malformed sip version", Offset: -1}
	}
	dot := strings.IndexByte(v[4:], '.')
	if dot <= 0 {
		return &ParseError{Reason: "malformed sip version", Offset: -1}
	}
	major, ok1 := parseUint(v[4:4+dot], 1<<20)
	minor, ok2 := parseUint(v[5+dot:], 1<<20)
	if !ok1 || !ok2 {
		return &ParseError{Reason: "malformed sip version", Offset: -1}
	}
	if major != 2 || minor != 0 {
		return &ParseError{Reason: "version not supported", Offset: -1, Status: StatusVersionNotSupported}
	}
	return nil
}

// parseStatusLine parses SIP-Version SP Status-Code SP Reason-Phrase
// (RFC 3261 §7.2). The reason phrase may be empty (RFC 4475 §3.1.1.13) and
// hold UTF-8 (§3.1.1.12).
func (r *Response) parseStatusLine(line string) error {
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		return &ParseError{Offset: 0, Reason: "malformed status line"}
	}
	if err := checkVersion(line[:sp]); err != nil {
		return err
	}
	rest := line[sp+1:]
	code, reason := rest, ""
	if i := strings.IndexByte(rest, ' '); i >= 0 {
		code, reason = rest[:i], rest[i+1:]
	}
	n, ok := parseUint(code, 999)
	if !ok || len(code) != 3 || n < 100 || n > 699 {
		// RFC 4475 §3.1.2.19: an overlarge code is dropped.
		return &ParseError{Offset: sp + 1, Reason: "malformed status code"}
	}
	r.Proto, r.StatusCode, r.Reason = Version, int(n), reason
	r.rawSt, r.rawRsn = int(n), reason
	if line[:sp] == Version && strings.IndexByte(code, ' ') < 0 && len(rest) > 3 {
		r.raw.startLine = line
	}
	return nil
}
