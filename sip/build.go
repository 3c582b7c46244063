package sip

import "strconv"

// NewRequest returns a request with the given method and Request-URI and no
// header fields yet. The caller adds Via, Max-Forwards, To, From, Call-ID,
// CSeq and Contact as RFC 3261 §8.1.1 requires; Content-Length is written
// from the body.
func NewRequest(method string, uri URI) *Request {
	return &Request{Method: method, URI: uri, Proto: Version}
}

// NewResponse builds a response to req per RFC 3261 §8.2.6: Via values (in
// order), From, To, Call-ID and CSeq are copied; a 100 (Trying) also copies
// Timestamp (§8.2.6.1), and a 101-299 copies Record-Route, as responses that
// may create a dialog must (§12.1.1). reason "" takes the standard phrase.
// The caller adds the To tag (SetToTag) where §8.2.6.2 requires it.
func NewResponse(req *Request, code int, reason string) *Response {
	if reason == "" {
		reason = StatusText(code)
	}
	r := &Response{Proto: Version, StatusCode: code, Reason: reason}
	n := 0
	for i := range req.fields {
		if copiedToResponse(req.fields[i].kind, code) {
			n++
		}
	}
	r.fields = make([]HeaderField, 0, n+4)
	for i := range req.fields {
		if copiedToResponse(req.fields[i].kind, code) {
			r.fields = append(r.fields, req.fields[i])
		}
	}
	r.edited = true
	return r
}

func copiedToResponse(k hkind, code int) bool {
	switch k {
	case hVia, hFrom, hTo, hCallID, hCSeq:
		return true
	case hTimestamp:
		return code == StatusTrying
	case hRecordRoute:
		return code > 100 && code < 300
	}
	return false
}

// NewCancel builds the CANCEL for req per RFC 3261 §9.1: the same
// Request-URI, Call-ID, To, From and CSeq number, the method CANCEL in CSeq,
// only the top Via, and the Route values; no Require or Proxy-Require.
func NewCancel(req *Request) (*Request, error) {
	cs, err := req.CSeq()
	if err != nil {
		return nil, err
	}
	c := NewRequest(MethodCancel, req.URI)
	c.fields = make([]HeaderField, 0, 8)
	if v, err := req.TopVia(); err == nil {
		c.Add("Via", v.String())
	} else {
		return nil, err
	}
	for i := range req.fields {
		switch req.fields[i].kind {
		case hRoute, hFrom, hTo, hCallID:
			c.fields = append(c.fields, req.fields[i])
		}
	}
	c.Add("CSeq", strconv.FormatUint(uint64(cs.Seq), 10)+" "+MethodCancel)
	c.Add("Max-Forwards", "70")
	return c, nil
}

// Clone returns a deep copy of the request that shares no mutable state with
// r; a proxy forwards a clone to each branch (RFC 3261 §16.6 step 1).
func (r *Request) Clone() *Request {
	c := *r
	c.fields = append(make([]HeaderField, 0, len(r.fields)+4), r.fields...)
	c.Body = r.Body
	return &c
}

// Clone returns a deep copy of the response that shares no mutable state
// with r.
func (r *Response) Clone() *Response {
	c := *r
	c.fields = append(make([]HeaderField, 0, len(r.fields)+2), r.fields...)
	return &c
}
