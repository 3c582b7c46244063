package sip

import (
	"bytes"
	"strings"
)

// This file splits and builds multipart message bodies (RFC 2046 §5.1), as
// SIP uses them for SDP with an ISUP or PIDF part, resource lists and
// S/MIME (RFC 3261 §7.4, §23; RFC 5621).

// MIMEField is one header field of a body part (RFC 2046 §5.1.1: only
// Content-* fields have a defined meaning there).
type MIMEField struct {
	// Name is the field name as written.
	Name string
	// Value is the field value with folding replaced by single spaces and
	// surrounding white space removed.
	Value string
}

// Part is one body part of a multipart body.
type Part struct {
	// Header holds the part's header fields in order; it is nil when the
	// part has none.
	Header []MIMEField
	// Body is the part's content. ParseMultipart makes it a subslice of
	// the body it was given, not a copy, and limits its capacity to its
	// length, so appending to it never overwrites the next part.
	Body []byte
}

// Get returns the value of the first header field called name, compared
// case-insensitively, or "".
func (p Part) Get(name string) string {
	for _, f := range p.Header {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// ContentType returns the value of the part's Content-Type field, or "" when
// it has none. A part without one is text/plain; charset=us-ascii, or
// message/rfc822 within multipart/digest (RFC 2046 §5.1.1, §5.1.5).
func (p Part) ContentType() string { return p.Get("Content-Type") }

func mpartTypeErr(reason string) error { return perr("Content-Type", -1, reason) }

func mpartBodyErr(reason string) error { return perr("", -1, "multipart body: "+reason) }

// mpartMaxBoundary is the longest boundary RFC 2046 §5.1.1 allows.
const mpartMaxBoundary = 70

// ParseMultipart splits a multipart body (RFC 2046 §5.1) into its parts.
// contentType is the message's Content-Type value, such as
// `multipart/mixed;boundary=7a9cbec02ceef655`; its boundary parameter may
// be a quoted-string, and LWS may surround the parameters.
//
// The body is a preamble, the parts each introduced by a delimiter line
// "--boundary", a close delimiter line "--boundary--" and an epilogue. The
// CRLF before a delimiter belongs to the delimiter, not to the part before
// it; a delimiter may be followed by white space (transport padding), and
// "--boundary" followed by anything else is not a delimiter but content.
// Preamble and epilogue are ignored. Each part is its header fields, an
// empty line and its content; a part that starts with the empty line has no
// header fields, and one without an empty line has no content.
//
// Part bodies are subslices of body: they may hold any octets, NUL and bare
// CR or LF among them. Errors are *ParseError: for the Content-Type value
// when it is not multipart or has no usable boundary, otherwise for the
// body: boundary not found, no close delimiter, no part, or a malformed part
// header.
func ParseMultipart(contentType string, body []byte) ([]Part, error) {
	boundary, err := multipartBoundary(contentType)
	if err != nil {
		return nil, err
	}
	dash := make([]byte, 0, 4+len(boundary))
	dash = append(dash, "\r\n--"...)
	dash = append(dash, boundary...)
	// delim is CRLF "--" boundary, dash the same without the CRLF.
	delim, dash := dash, dash[2:]

	// The first delimiter may start the body; otherwise it ends the
	// preamble, and its CRLF with it.
	pos := -1 // index of the next delimiter line's "--"
	if bytes.HasPrefix(body, dash) {
		if _, _, ok := mpartDelimiterEnd(body, len(dash)); ok {
			pos = 0
		}
	}
	if pos < 0 {
		pos = mpartFindDelimiter(body, delim, 0)
		if pos < 0 {
			return nil, mpartBodyErr("boundary not found")
		}
	}
	var parts []Part
	for {
		end, closing, _ := mpartDelimiterEnd(body, pos+len(dash))
		if closing {
			break // the epilogue after it is ignored
		}
		// The part's content runs to the CRLF of the next delimiter. The
		// search starts at the CRLF that ends this delimiter line, so that
		// a delimiter right after it makes an empty part.
		next := mpartFindDelimiter(body, delim, end-2)
		if next < 0 {
			return nil, mpartBodyErr("no close delimiter")
		}
		contentEnd := max(next-2, end)
		p, err := mpartParsePart(body[end:contentEnd:contentEnd])
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
		pos = next
	}
	if len(parts) == 0 {
		return nil, mpartBodyErr("no body part")
	}
	return parts, nil
}

// multipartBoundary checks that contentType is a multipart media type
// (RFC 2046 §5.1.1) and returns its boundary parameter, unquoted.
func multipartBoundary(contentType string) (string, error) {
	mt, ps := contentType, Params("")
	if i := strings.IndexByte(contentType, ';'); i >= 0 {
		mt, ps = contentType[:i], Params(contentType[i:])
	}
	typ, sub, ok := strings.Cut(trimLWS(mt), "/")
	if !ok || !isToken(typ) || !isToken(sub) {
		return "", mpartTypeErr("malformed media type")
	}
	if !strings.EqualFold(typ, "multipart") {
		return "", mpartTypeErr("not multipart")
	}
	// Only the boundary parameter is checked: a flaw in another one
	// (such as an unquoted start=<cid> of RFC 2387) is no reason to refuse
	// the body.
	raw, ok := ps.Get("boundary")
	if !ok {
		if reason := ps.check(); reason != "" {
			return "", mpartTypeErr(reason) // it may hide the boundary
		}
		return "", mpartTypeErr("missing boundary")
	}
	b := raw
	if raw != "" && raw[0] == '"' {
		if quotedEnd(raw, 0) != len(raw) {
			return "", mpartTypeErr("malformed boundary")
		}
		b, _ = Unquote(raw)
	} else if strings.ContainsAny(raw, " \t\"") {
		// Unquoted, it is a token (RFC 2045 §5.1), though the tspecials
		// some senders leave unquoted are let through.
		return "", mpartTypeErr("malformed boundary")
	}
	if !isMultipartBoundary(b) {
		return "", mpartTypeErr("malformed boundary")
	}
	return b, nil
}

// isMultipartBoundary checks a boundary: 1 to 70 characters, not ending in a
// space (RFC 2046 §5.1.1). Any printable ASCII character is allowed, not
// only bchars, as readers need not be strict about it; control characters
// are not, so a delimiter can never start within another.
func isMultipartBoundary(b string) bool {
	if b == "" || len(b) > mpartMaxBoundary || b[len(b)-1] == ' ' {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] < 0x20 || b[i] > 0x7e {
			return false
		}
	}
	return true
}

// mpartFindDelimiter returns the index of the "--" of the first delimiter
// (delim is CRLF "--" boundary) at or after from, or -1.
func mpartFindDelimiter(body, delim []byte, from int) int {
	for {
		i := bytes.Index(body[from:], delim)
		if i < 0 {
			return -1
		}
		at := from + i + 2
		if _, _, ok := mpartDelimiterEnd(body, at+len(delim)-2); ok {
			return at
		}
		from = at
	}
}

// mpartDelimiterEnd looks at what follows "--" boundary, at body[i:]: "--"
// for the close delimiter, or transport padding (SP and HTAB, RFC 2046
// §5.1.1) and CRLF. It returns the index after the CRLF and whether the
// delimiter closes; ok is false when neither follows, so that the boundary
// is content.
func mpartDelimiterEnd(body []byte, i int) (end int, closing, ok bool) {
	if bytes.HasPrefix(body[i:], []byte("--")) {
		return len(body), true, true
	}
	for i < len(body) && (body[i] == ' ' || body[i] == '\t') {
		i++
	}
	if bytes.HasPrefix(body[i:], []byte("\r\n")) {
		return i + 2, false, true
	}
	return 0, false, false
}

// mpartParsePart splits a body part into its header fields and content
// (RFC 2046 §5.1.1: body-part := MIME-part-headers [CRLF *OCTET]).
func mpartParsePart(b []byte) (Part, error) {
	var p Part
	var hdr []byte
	switch i := bytes.Index(b, []byte("\r\n\r\n")); {
	case bytes.HasPrefix(b, []byte("\r\n")):
		p.Body = b[2:]
	case i >= 0:
		hdr, p.Body = b[:i], b[i+4:]
	default:
		hdr, p.Body = b, b[len(b):]
	}
	if len(hdr) == 0 {
		return p, nil
	}
	s := string(hdr) // one copy; the fields are substrings of it
	for s != "" {
		line, rest, _ := strings.Cut(s, "\r\n")
		// A line that starts with white space continues the field
		// before it (RFC 5322 §2.2.3 folding).
		for rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			var more string
			more, rest, _ = strings.Cut(rest, "\r\n")
			line = s[:len(line)+2+len(more)]
		}
		s = rest
		f, ok := mpartParseField(line)
		if !ok {
			return Part{}, mpartBodyErr("malformed part header")
		}
		p.Header = append(p.Header, f)
	}
	return p, nil
}

// mpartParseField parses "name: value", the value possibly folded.
func mpartParseField(line string) (MIMEField, bool) {
	name, value, ok := strings.Cut(line, ":")
	name = strings.TrimRight(name, " \t")
	if !ok || !isToken(name) {
		return MIMEField{}, false
	}
	value = trimLWS(value)
	if strings.ContainsAny(value, "\r\n") {
		var b strings.Builder
		b.Grow(len(value))
		for value != "" {
			seg, rest, folded := strings.Cut(value, "\r\n")
			if strings.ContainsAny(seg, "\r\n") {
				return MIMEField{}, false // bare CR or LF
			}
			b.WriteString(strings.TrimRight(seg, " \t"))
			if folded {
				b.WriteByte(' ')
				rest = strings.TrimLeft(rest, " \t")
			}
			value = rest
		}
		value = b.String()
	}
	return MIMEField{Name: name, Value: value}, true
}

// AppendMultipart appends a multipart body (RFC 2046 §5.1.1) of parts to
// b: each part after a delimiter line "--boundary", with its header fields
// and an empty line, and a close delimiter line "--boundary--" at the end.
// The Content-Type of the message names the boundary, such as
// `multipart/mixed;boundary=...`.
//
// The caller chooses a boundary of 1 to 70 characters that no part's
// content holds after a CRLF (RFC 2046 §5.1.1 requires it; nothing is
// checked here), and passes at least one part, as a multipart body must have
// one. A CR or LF in a field value is written as a space, so a value cannot
// end its field.
func AppendMultipart(b []byte, boundary string, parts []Part) []byte {
	for _, p := range parts {
		b = append(b, "--"...)
		b = append(b, boundary...)
		b = append(b, "\r\n"...)
		for _, f := range p.Header {
			b = append(b, f.Name...)
			b = append(b, ": "...)
			for i := 0; i < len(f.Value); i++ {
				c := f.Value[i]
				if c == '\r' || c == '\n' {
					c = ' '
				}
				b = append(b, c)
			}
			b = append(b, "\r\n"...)
		}
		b = append(b, "\r\n"...)
		b = append(b, p.Body...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "--"...)
	b = append(b, boundary...)
	return append(b, "--\r\n"...)
}
