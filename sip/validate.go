package sip

import "strings"

// Validate checks what RFC 3261 §8.2 and §16.3 step 1 ask of a request
// before a server acts on it, beyond what Parse checked:
//
//   - To, From, CSeq, Call-ID and Via are present (§8.1.1; Max-Forwards may
//     be missing in RFC 2543 requests, RFC 4475 §3.4.1), and those fields and
//     Max-Forwards, Content-Type appear once (RFC 4475 §3.3.8);
//   - they parse, as do the top Via value and every Contact, Route and
//     Record-Route value;
//   - the CSeq method equals the request method (RFC 4475 §3.1.2.17);
//   - CSeq fits 32 bits and Max-Forwards is at most 255 (RFC 4475 §3.1.2.4);
//   - a SIP or SIPS Request-URI carries no headers (§19.1.1).
//
// The Via values below the top one are not parsed: no element reads them
// (a UAS copies them into its responses as they are, §8.2.6.2, and a proxy
// forwards them unchanged, §16.6), and §16.3 step 1 asks that components
// the proxy does not use be ignored, well-formed or not. Vias reports them
// malformed to whoever asks.
//
// The error is a *ParseError whose StatusCode is the answer to send (400, or
// 501 for an unknown method whose CSeq names another).
func (r *Request) Validate() error {
	if err := r.validateCommon(1); err != nil {
		return err
	}
	// The From and To of a request are checked whole: a request that
	// stays here (registrar, OPTIONS, UAS) must get its 400 (RFC 4475
	// §3.1.2.6, §3.1.2.14, §3.1.2.15). Their tags are kept.
	if err := r.checkAddress(hFrom, cachedFrom, &r.cache.fromTag); err != nil {
		return err
	}
	if err := r.checkAddress(hTo, cachedTo, &r.cache.toTag); err != nil {
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
			if _, ok := wellFormedAddress(v); ok {
				return nil
			}
			_, err := ParseAddress(v)
			return withHeader(err, hinfos[k].name)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkAddress checks the From or To address (k) as From and To would
// parse it, and keeps its tag.
func (h *Header) checkAddress(k hkind, bit uint8, tag *string) error {
	i := h.index(k, "")
	if i < 0 {
		return missing(hinfos[k].name)
	}
	p, ok := wellFormedAddress(h.fields[i].Value)
	if !ok {
		_, err := h.address(k, bit, tag)
		return err
	}
	if h.cache.have&bit == 0 {
		*tag, _ = p.Get("tag")
		h.cache.have |= bit
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

// Validate checks what an element needs of a response it receives before
// it matches it to a transaction and forwards or consumes it:
//
//   - To, From, CSeq, Call-ID and Via are present and the single-valued
//     fields appear once, as for requests;
//   - CSeq and Call-ID parse (RFC 4475 §3.1.2.5: an overlarge CSeq is
//     dropped), and Warning codes have three digits (RFC 3261 §20.43);
//   - the top two Via values parse: the top one is the transport's (§18.1.2)
//     and the client transaction's (§17.1.3), the second is where a proxy
//     sends the response on (§16.7 step 3, §18.2.2).
//
// From, To and Contact are not parsed here: a proxy passes them on as they
// are (§16.7), and a UAC that reads them gets their error from From, To or
// Contacts. A malformed response is dropped (RFC 4475 §3.1.2.5), so an
// error only tells why.
func (r *Response) Validate() error {
	if err := r.validateCommon(2); err != nil {
		return err
	}
	return r.eachValue(hWarning, func(w string) error {
		if len(w) < 4 || w[3] != ' ' || !isDigits(w[:3]) {
			return &ParseError{Header: "Warning", Offset: -1, Reason: "malformed warn-code"}
		}
		return nil
	})
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

// validateCommon checks what requests and responses share: the fields a
// transaction is keyed on are present, single-valued ones appear once,
// Call-ID and CSeq parse, and so do the first vias values of Via.
func (h *Header) validateCommon(vias int) error {
	var seen [len(onceFields) + 1]int
	nvia := 0
	for i := range h.fields {
		k := h.fields[i].kind
		if k == hVia {
			nvia++
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
	if nvia == 0 {
		return missing("Via")
	}
	return h.checkTopVias(vias)
}

// checkTopVias parses the first n Via values, and keeps the top one as
// TopVia would keep it (the same value: the first of the first Via
// field), since whoever validates a message asks for its top Via next.
func (h *Header) checkTopVias(n int) error {
	for i := range h.fields {
		if h.fields[i].kind != hVia {
			continue
		}
		for v := h.fields[i].Value; ; {
			e, rest, more, ok := splitValue(v)
			if !ok {
				return viaErr("unterminated value")
			}
			via, err := ParseVia(e)
			if err != nil {
				return err
			}
			if h.cache.have&cachedVia == 0 {
				h.cache.via = via
				h.cache.have |= cachedVia
			}
			if n--; n == 0 {
				return nil
			}
			if !more {
				break
			}
			v = rest
		}
	}
	return nil
}

// validCallID: callid = word [ "@" word ] (RFC 3261 §25.1).
func validCallID(s string) bool {
	w1, w2, at := strings.Cut(s, "@")
	return isWord(w1) && (!at || isWord(w2))
}
