package sip

import (
	"strconv"
)

// Methods of RFC 3261 and its extensions. Methods are case-sensitive
// (RFC 3261 §7.1); any other token is a valid extension method.
const (
	MethodInvite    = "INVITE"
	MethodAck       = "ACK"
	MethodBye       = "BYE"
	MethodCancel    = "CANCEL"
	MethodOptions   = "OPTIONS"
	MethodRegister  = "REGISTER"
	MethodPrack     = "PRACK"     // RFC 3262
	MethodSubscribe = "SUBSCRIBE" // RFC 6665
	MethodNotify    = "NOTIFY"    // RFC 6665
	MethodPublish   = "PUBLISH"   // RFC 3903
	MethodInfo      = "INFO"      // RFC 6086
	MethodRefer     = "REFER"     // RFC 3515
	MethodMessage   = "MESSAGE"   // RFC 3428
	MethodUpdate    = "UPDATE"    // RFC 3311
)

// Version is the only protocol version sipd speaks (RFC 3261 §7.1).
const Version = "SIP/2.0"

// Message is a *Request or a *Response.
type Message interface {
	// Headers returns the message's header fields.
	Headers() *Header
	// Payload returns the body.
	Payload() []byte
	// AppendTo appends the message in wire form to b.
	AppendTo(b []byte) []byte
	// String returns the message in wire form.
	String() string
	isMessage()
}

// raw keeps what a parsed message needs to serialize unchanged parts as
// they came: the whole buffer, the start line and where the body was.
type raw struct {
	buf       []byte // the message's own copy of the received bytes
	startLine string // the start line as received, "" if it is not in canonical form
	headerEnd int    // offset of the empty line that ends the header section
	bodyStart int
	bodyLen   int
}

// bodyUnchanged reports whether body is still the slice of buf it was parsed as.
func (r *raw) bodyUnchanged(body []byte) bool {
	if len(body) != r.bodyLen {
		return false
	}
	return len(body) == 0 || &body[0] == &r.buf[r.bodyStart]
}

// Request is a SIP request (RFC 3261 §7.1).
type Request struct {
	Method string
	URI    URI
	Proto  string // "SIP/2.0"
	Header
	Body []byte

	raw       raw
	rawMethod string // Method as parsed
	rawURI    URI    // URI as parsed, to see whether URI was changed
}

// Response is a SIP response (RFC 3261 §7.2).
type Response struct {
	Proto      string // "SIP/2.0"
	StatusCode int
	Reason     string
	Header
	Body []byte

	raw    raw
	rawSt  int
	rawRsn string
}

func (*Request) isMessage()  {}
func (*Response) isMessage() {}

// Headers returns the request's header.
func (r *Request) Headers() *Header { return &r.Header }

// Headers returns the response's header.
func (r *Response) Headers() *Header { return &r.Header }

// Payload returns the body.
func (r *Request) Payload() []byte { return r.Body }

// Payload returns the body.
func (r *Response) Payload() []byte { return r.Body }

// IsInvite reports whether the request is an INVITE.
func (r *Request) IsInvite() bool { return r.Method == MethodInvite }

// IsProvisional reports a 1xx response.
func (r *Response) IsProvisional() bool { return r.StatusCode < 200 }

// IsSuccess reports a 2xx response.
func (r *Response) IsSuccess() bool { return r.StatusCode >= 200 && r.StatusCode < 300 }

// AppendTo appends the request in wire form to b. An unchanged parsed
// request is copied as it came; otherwise changed parts are written anew and
// Content-Length is set to the body's length.
func (r *Request) AppendTo(b []byte) []byte {
	if r.raw.buf != nil && r.raw.startLine != "" && r.Method == r.rawMethod &&
		r.URI == r.rawURI && r.Proto == Version {
		if !r.edited && r.raw.bodyUnchanged(r.Body) {
			return append(b, r.raw.buf[:r.raw.bodyStart+r.raw.bodyLen]...)
		}
		b = append(b, r.raw.startLine...)
	} else {
		b = append(b, r.Method...)
		b = append(b, ' ')
		b = r.URI.AppendTo(b)
		b = append(b, ' ')
		b = append(b, Version...)
	}
	b = append(b, "\r\n"...)
	return r.Header.appendRest(b, r.Body)
}

// AppendTo appends the response in wire form to b, as Request.AppendTo does.
func (r *Response) AppendTo(b []byte) []byte {
	if r.raw.buf != nil && r.raw.startLine != "" && r.StatusCode == r.rawSt &&
		r.Reason == r.rawRsn && r.Proto == Version {
		if !r.edited && r.raw.bodyUnchanged(r.Body) {
			return append(b, r.raw.buf[:r.raw.bodyStart+r.raw.bodyLen]...)
		}
		b = append(b, r.raw.startLine...)
	} else {
		b = append(b, Version...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(r.StatusCode), 10)
		b = append(b, ' ')
		b = append(b, r.Reason...)
	}
	b = append(b, "\r\n"...)
	return r.Header.appendRest(b, r.Body)
}

// appendRest writes the header fields, with Content-Length made right for
// body (RFC 3261 §20.14) in the place of the first Content-Length line or
// at the end, the empty line and the body.
func (h *Header) appendRest(b []byte, body []byte) []byte {
	wrote := false
	for i := range h.fields {
		f := &h.fields[i]
		if f.kind != hContentLength {
			b = h.appendField(b, i)
			continue
		}
		if wrote {
			continue // a second Content-Length line
		}
		wrote = true
		if n, ok := parseUint(f.Value, maxContentLength); ok && int(n) == len(body) {
			b = h.appendField(b, i)
			continue
		}
		b = appendContentLength(b, len(body))
	}
	if !wrote {
		b = appendContentLength(b, len(body))
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

func appendContentLength(b []byte, n int) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, "\r\n"...)
}

// String returns the request in wire form.
func (r *Request) String() string { return string(r.AppendTo(nil)) }

// String returns the response in wire form.
func (r *Response) String() string { return string(r.AppendTo(nil)) }

// Bytes returns the request in wire form in a new slice.
func (r *Request) Bytes() []byte { return r.AppendTo(make([]byte, 0, r.sizeHint())) }

// Bytes returns the response in wire form in a new slice.
func (r *Response) Bytes() []byte { return r.AppendTo(make([]byte, 0, r.sizeHint())) }

func (h *Header) sizeHint() int {
	n := 64
	for i := range h.fields {
		n += len(h.fields[i].Name) + len(h.fields[i].Value) + 4
	}
	return n
}
