package sip

import "strings"

// Validate checks what RFC 3261 §8.2 and §16.3 step 1 ask of a request
// before a server acts on it, beyond what Parse checked:
//
//   - To, From, CSeq, Call-ID and Via are present (§8.1.1; Max-Forwards may
//     be missing in RFC 2543 requests, RFC 4475 §3.4.1), and those fields and
//     Max-Forwards, Content-Type appear once (RFC 4475 §3.3.8);
//   - they parse, as do every Via, Contact, Route and Record-Route value;
//   - the CSeq method equals the request method (RFC 4475 §3.1.2.17);
//   - CSeq fits 32 bits and Max-Forwards is at most 255 (RFC 4475 §3.1.2.4);
//   - a SIP or SIPS Request-URI carries no headers (§19.1.1).
//
// The error is a *ParseError whose StatusCode is the answer to send (400, or
// 501 for an unknown method whose CSeq names another).
func (r *Request) Validate() error {
	if err := r.validateCommon(); err != nil {
		return err
	}
	if r.URI.Headers != "" && r.URI.IsSIP() {
		// RFC 3261 §19.1.1, Table 1: headers are not allowed in a
		// Request-URI (RFC 4475 §3.1.2.11).
		return &ParseError{Header: "Request-URI", Offset: -1, Reason: "headers not allowed"}
	}
	cs, _ := r.CSeq()
	if cs.Method != r.Method {
		pe := &ParseError{Header: "CSeq", Offset: -1, Reason: "method does not match request line"}
		if !knownMethod(r.Method) {
			// RFC 4475 §3.1.2.18: 501 is the better answer when the
			// request method is one we do not implement anyway.
			pe.Status = StatusNotImplemented
		}
		return pe
	}
	if _, _, err := r.MaxForwards(); err != nil {
		return err
	}
	return r.checkAddresses(hContact, hRoute, hRecordRoute)
}

// checkAddresses parses every value of the given address-valued fields,
// without keeping them.
func (h *Header) checkAddresses(kinds ...hkind) error {
	for _, k := range kinds {
		err := h.eachValue(k, func(v string) error {
			_, err := ParseAddress(v)
			return withHeader(err, hinfos[k].name)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachValue calls fn with every value of the fields of kind k, comma lists
// split (RFC 3261 §7.3.1), and stops at the first error.
func (h *Header) eachValue(k hkind, fn func(string) error) error {
	for i := range h.fields {
		if h.fields[i].kind != k {
			continue
		}
		v := h.fields[i].Value
		for {
			e, rest, more, ok := splitValue(v)
			if !ok {
				return &ParseError{Header: hinfos[k].name, Offset: -1, Reason: "unterminated value"}
			}
			if err := fn(e); err != nil {
				return err
			}
			if !more || !hinfos[k].list {
				break
			}
			v = rest
		}
	}
	return nil
}

// Validate checks a response as Request.Validate does a request, so that a
// malformed response is dropped (RFC 4475 §3.1.2.5). Warning codes must have
// three digits (RFC 3261 §20.43).
func (r *Response) Validate() error {
	if err := r.validateCommon(); err != nil {
		return err
	}
	err := r.eachValue(hWarning, func(w string) error {
		if len(w) < 4 || w[3] != ' ' || !isDigits(w[:3]) {
			return &ParseError{Header: "Warning", Offset: -1, Reason: "malformed warn-code"}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.checkAddresses(hContact)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func knownMethod(m string) bool {
	switch m {
	case MethodInvite, MethodAck, MethodBye, MethodCancel, MethodOptions, MethodRegister,
		MethodPrack, MethodSubscribe, MethodNotify, MethodPublish, MethodInfo, MethodRefer,
		MethodMessage, MethodUpdate:
		return true
	}
	return false
}

var onceFields = [...]hkind{hCallID, hFrom, hTo, hCSeq, hMaxForwards, hContentType}

// onceSlot maps a kind to 1 + its index in onceFields, 0 for other kinds,
// so that counting them is one look-up per field.
var onceSlot = func() (t [hCount]uint8) {
	for j, k := range onceFields {
		t[k] = uint8(j + 1)
	}
	return t
}()

func (h *Header) validateCommon() error {
	var seen [len(onceFields) + 1]int
	vias := 0
	for i := range h.fields {
		k := h.fields[i].kind
		if k == hVia {
			vias++
			continue
		}
		j := onceSlot[k]
		seen[j]++
		if j != 0 && seen[j] > 1 {
			return &ParseError{Header: hinfos[k].name, Offset: -1, Reason: "more than one value"}
		}
	}
	for j, k := range onceFields[:4] {
		if seen[j+1] == 0 {
			return missing(hinfos[k].name)
		}
	}
	if !validCallID(h.CallID()) {
		return &ParseError{Header: "Call-ID", Offset: -1, Reason: "malformed value"}
	}
	if _, err := h.CSeq(); err != nil {
		return err
	}
	if _, err := h.From(); err != nil {
		return err
	}
	if _, err := h.To(); err != nil {
		return err
	}
	if vias == 0 {
		return missing("Via")
	}
	// Every Via parses; the top one is kept as TopVia would keep it (the
	// same value: the first of the first Via field), since whoever
	// validates a message asks for its top Via next.
	top := true
	return h.eachValue(hVia, func(v string) error {
		via, err := ParseVia(v)
		if err == nil && top {
			h.cache.via = via
			h.cache.have |= cachedVia
		}
		top = false
		return err
	})
}

// validCallID: callid = word [ "@" word ] (RFC 3261 §25.1).
func validCallID(s string) bool {
	w1, w2, at := strings.Cut(s, "@")
	return isWord(w1) && (!at || isWord(w2))
}
