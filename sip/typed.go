package sip

import (
	"strconv"
	"strings"
)

// hcache keeps the typed values of the fields every transaction lookup and
// dialog match reads, parsed on first access. Any edit of the header clears it.
// Of From and To only the tags are kept: they are what is read again and
// again, and two whole Addresses would more than double the size of every
// message.
type hcache struct {
	have    uint8
	via     Via
	cseq    CSeq
	fromTag string
	toTag   string
}

const (
	cachedVia uint8 = 1 << iota
	cachedCSeq
	cachedFrom
	cachedTo
)

// forget drops what the cache holds of the field kind k.
func (c *hcache) forget(k hkind) {
	switch k {
	case hVia:
		c.have &^= cachedVia
		c.via = Via{}
	case hCSeq:
		c.have &^= cachedCSeq
		c.cseq = CSeq{}
	case hFrom:
		c.have &^= cachedFrom
		c.fromTag = ""
	case hTo:
		c.have &^= cachedTo
		c.toTag = ""
	}
}

// CSeq is the CSeq header field (RFC 3261 §20.16).
type CSeq struct {
	Seq    uint32
	Method string
}

// ParseCSeq parses "1*DIGIT LWS Method". The number must fit 32 bits
// (RFC 4475 §3.1.2.4).
func ParseCSeq(s string) (CSeq, error) {
	s = trimLWS(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, ok := parseUint(s[:i], 1<<32-1)
	if !ok {
		return CSeq{}, &ParseError{Header: "CSeq", Offset: -1, Reason: "malformed sequence number"}
	}
	if i == len(s) || !isLWS(s[i]) {
		return CSeq{}, &ParseError{Header: "CSeq", Offset: -1, Reason: "malformed method"}
	}
	m := trimLWS(s[i:])
	if !isToken(m) {
		return CSeq{}, &ParseError{Header: "CSeq", Offset: -1, Reason: "malformed method"}
	}
	return CSeq{Seq: uint32(n), Method: m}, nil
}

// String returns "seq method".
func (c CSeq) String() string { return strconv.FormatUint(uint64(c.Seq), 10) + " " + c.Method }

func missing(name string) error {
	return &ParseError{Header: name, Offset: -1, Reason: "missing"}
}

// CallID returns the Call-ID (RFC 3261 §20.8), or "".
func (h *Header) CallID() string {
	if i := h.index(hCallID, ""); i >= 0 {
		return h.fields[i].Value
	}
	return ""
}

// TopVia returns the first Via value: the one a response is matched by
// (RFC 3261 §17.1.3) and a request's transaction is keyed on (§17.2.3).
func (h *Header) TopVia() (Via, error) {
	if h.cache.have&cachedVia != 0 {
		return h.cache.via, nil
	}
	i := h.index(hVia, "")
	if i < 0 {
		return Via{}, missing("Via")
	}
	first, _, ok := nextValue(h.fields[i].Value)
	if !ok {
		return Via{}, viaErr("unterminated value")
	}
	v, err := ParseVia(first)
	if err != nil {
		return Via{}, err
	}
	h.cache.via = v
	h.cache.have |= cachedVia
	return v, nil
}

// Vias returns all Via values in order.
func (h *Header) Vias() ([]Via, error) {
	var vs []Via
	var err error
	h.forValues(hVia, "", func(s string) bool {
		var v Via
		if v, err = ParseVia(s); err != nil {
			return false
		}
		vs = append(vs, v)
		return true
	})
	if err != nil {
		return nil, err
	}
	return vs, nil
}

// PushVia puts v on top of the Via list (RFC 3261 §16.6 step 8).
func (h *Header) PushVia(v Via) { h.Prepend("Via", v.String()) }

// PopVia removes the top Via value (RFC 3261 §16.7 step 3).
func (h *Header) PopVia() { h.PopFirst("Via") }

// SetTopVia replaces the top Via value, as the transport does when it
// stamps received and rport (RFC 3261 §18.2.1, RFC 3581 §4).
func (h *Header) SetTopVia(v Via) { h.ReplaceFirst("Via", v.String()) }

// CSeq returns the parsed CSeq.
func (h *Header) CSeq() (CSeq, error) {
	if h.cache.have&cachedCSeq != 0 {
		return h.cache.cseq, nil
	}
	i := h.index(hCSeq, "")
	if i < 0 {
		return CSeq{}, missing("CSeq")
	}
	c, err := ParseCSeq(h.fields[i].Value)
	if err != nil {
		return c, err
	}
	h.cache.cseq = c
	h.cache.have |= cachedCSeq
	return c, nil
}

func (h *Header) address(k hkind, bit uint8, tag *string) (Address, error) {
	i := h.index(k, "")
	if i < 0 {
		return Address{}, missing(hinfos[k].name)
	}
	a, err := ParseAddress(h.fields[i].Value)
	if err != nil {
		return Address{}, withHeader(err, hinfos[k].name)
	}
	if h.cache.have&bit == 0 {
		*tag = a.Tag()
		h.cache.have |= bit
	}
	return a, nil
}

// tag returns the tag of From or To, from the cache when it is there.
// Only the header parameters are found and checked, not the URI and
// display name before them: matching a transaction or a dialog needs the
// tag alone (RFC 3261 §12.1, §17.2.3), and a proxy passes a From or To it
// does not otherwise read on unchanged (§16.3 step 1). Request.Validate
// has checked the whole of a request's From and To.
func (h *Header) tag(k hkind, bit uint8, tag *string) string {
	if h.cache.have&bit != 0 {
		return *tag
	}
	i := h.index(k, "")
	if i < 0 {
		return ""
	}
	p, ok := addrParams(h.fields[i].Value)
	if !ok || p.check() != "" {
		return ""
	}
	*tag, _ = p.Get("tag")
	h.cache.have |= bit
	return *tag
}

// withHeader names the header a *ParseError came from.
func withHeader(err error, name string) error {
	if pe, ok := err.(*ParseError); ok && pe.Header == "" {
		c := *pe
		c.Header = name
		return &c
	}
	return err
}

// From returns the From address (RFC 3261 §20.20).
func (h *Header) From() (Address, error) { return h.address(hFrom, cachedFrom, &h.cache.fromTag) }

// To returns the To address (RFC 3261 §20.39).
func (h *Header) To() (Address, error) { return h.address(hTo, cachedTo, &h.cache.toTag) }

// FromTag returns the tag of From, or "".
func (h *Header) FromTag() string { return h.tag(hFrom, cachedFrom, &h.cache.fromTag) }

// ToTag returns the tag of To, or "".
func (h *Header) ToTag() string { return h.tag(hTo, cachedTo, &h.cache.toTag) }

// SetToTag adds a tag to To, as a UAS does in its responses (RFC 3261
// §8.2.6.2). An existing tag is replaced.
func (h *Header) SetToTag(tag string) error {
	i := h.index(hTo, "")
	if i < 0 {
		return missing("To")
	}
	a, err := h.To()
	if err != nil {
		return err
	}
	a.Params = a.Params.Set("tag", tag)
	f := &h.fields[i]
	f.Value, f.rawLen = a.String(), 0
	h.touch(hTo)
	return nil
}

// Addresses returns every value of an address-valued field (Contact,
// Route, Record-Route, Path, ...), in order.
func (h *Header) Addresses(name string) ([]Address, error) {
	var as []Address
	var err error
	h.forValues(kindOf(name), name, func(s string) bool {
		a, perr := parseAddress(s)
		if perr != nil {
			err = withHeader(perr, CanonicalName(name))
			return false
		}
		as = append(as, a)
		return true
	})
	if err != nil {
		return nil, err
	}
	return as, nil
}

// Contacts returns the Contact values (RFC 3261 §20.10), including a
// wildcard "*".
func (h *Header) Contacts() ([]Address, error) { return h.Addresses("Contact") }

// Routes returns the Route values (RFC 3261 §20.34).
func (h *Header) Routes() ([]Address, error) { return h.Addresses("Route") }

// RecordRoutes returns the Record-Route values (RFC 3261 §20.30).
func (h *Header) RecordRoutes() ([]Address, error) { return h.Addresses("Record-Route") }

// Paths returns the Path values (RFC 3327).
func (h *Header) Paths() ([]Address, error) { return h.Addresses("Path") }

// ReferTo returns the Refer-To address (RFC 3515 §2.1).
func (h *Header) ReferTo() (Address, error) {
	v, ok := h.single(hReferTo)
	if !ok {
		return Address{}, missing("Refer-To")
	}
	a, err := ParseAddress(v)
	return a, withHeader(err, "Refer-To")
}

func (h *Header) single(k hkind) (string, bool) {
	if i := h.index(k, ""); i >= 0 {
		return h.fields[i].Value, true
	}
	return "", false
}

func (h *Header) number(k hkind, max uint64) (uint64, bool, error) {
	v, ok := h.single(k)
	if !ok {
		return 0, false, nil
	}
	n, ok := parseUint(v, max)
	if !ok {
		return 0, true, &ParseError{Header: hinfos[k].name, Offset: -1, Reason: "malformed number"}
	}
	return n, true, nil
}

// MaxForwards returns Max-Forwards (RFC 3261 §20.22) and whether it is
// present. A value above 255 is an error.
func (h *Header) MaxForwards() (int, bool, error) {
	n, ok, err := h.number(hMaxForwards, 255)
	return int(n), ok, err
}

// DecMaxForwards lowers Max-Forwards by one, or sets it to 70 when absent
// (RFC 3261 §16.6 step 3). It returns the new value.
func (h *Header) DecMaxForwards() int {
	n, ok, err := h.MaxForwards()
	if !ok || err != nil {
		n = 71
	}
	if n > 0 {
		n--
	}
	h.Set("Max-Forwards", strconv.Itoa(n))
	return n
}

// Expires returns the Expires value in seconds (RFC 3261 §20.19) and
// whether it is present. Values too large for 32 bits are taken as the
// largest (RFC 4475 §3.1.2.4 allows treating them as a default).
func (h *Header) Expires() (uint32, bool, error) { return h.seconds(hExpires) }

// MinExpires returns Min-Expires (RFC 3261 §20.23).
func (h *Header) MinExpires() (uint32, bool, error) { return h.seconds(hMinExpires) }

func (h *Header) seconds(k hkind) (uint32, bool, error) {
	v, ok := h.single(k)
	if !ok {
		return 0, false, nil
	}
	if n, ok := parseUint(v, 1<<32-1); ok {
		return uint32(n), true, nil
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, true, &ParseError{Header: hinfos[k].name, Offset: -1, Reason: "malformed delta-seconds"}
		}
	}
	if v == "" {
		return 0, true, &ParseError{Header: hinfos[k].name, Offset: -1, Reason: "malformed delta-seconds"}
	}
	return 1<<32 - 1, true, nil
}

// ContentType returns the media type of Content-Type (RFC 3261 §20.15)
// without parameters, lowercased when needed, or "".
func (h *Header) ContentType() string {
	v, _ := h.single(hContentType)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = trimLWS(v[:i])
	}
	for i := 0; i < len(v); i++ {
		if 'A' <= v[i] && v[i] <= 'Z' {
			return strings.ToLower(v)
		}
	}
	return v
}

// ContentLength returns the Content-Length value, or -1 when absent.
func (h *Header) ContentLength() int {
	n, ok, err := h.number(hContentLength, maxContentLength)
	if !ok || err != nil {
		return -1
	}
	return int(n)
}

// OptionTags returns the tokens of a list field such as Require,
// Supported, Unsupported, Proxy-Require or Allow (RFC 3261 §20.32, §20.37,
// §20.40, §20.29, §20.5), in order.
func (h *Header) OptionTags(name string) []string {
	var tags []string
	h.forValues(kindOf(name), name, func(v string) bool {
		if v != "" {
			tags = append(tags, v)
		}
		return true
	})
	return tags
}

// HasOptionTag reports whether the list field name holds tag. Option tags
// are tokens and so compare without regard to case (RFC 3261 §7.3.1);
// methods, as in Allow, are case-sensitive (§7.1).
func (h *Header) HasOptionTag(name, tag string) bool {
	k := kindOf(name)
	return !h.forValues(k, name, func(v string) bool {
		return v != tag && (k == hAllow || !strings.EqualFold(v, tag))
	})
}

// EventHeader is the Event header field (RFC 6665 §8.2.1).
type EventHeader struct {
	Type   string // event-type: package with optional template ("presence", "message-summary")
	Params Params // includes id
}

// ID returns the id parameter.
func (e EventHeader) ID() string { v, _ := e.Params.Get("id"); return v }

// Event returns the Event header field.
func (h *Header) Event() (EventHeader, error) {
	v, ok := h.single(hEvent)
	if !ok {
		return EventHeader{}, missing("Event")
	}
	t, p, err := tokenParams(v, "Event")
	return EventHeader{Type: t, Params: p}, err
}

// tokenParams parses token *( SEMI generic-param ).
func tokenParams(v, name string) (string, Params, error) {
	i := strings.IndexByte(v, ';')
	if i < 0 {
		i = len(v)
	}
	t := trimLWS(v[:i])
	p := Params(v[i:])
	if !isToken(t) {
		return "", "", &ParseError{Header: name, Offset: -1, Reason: "malformed value"}
	}
	if r := p.check(); r != "" {
		return "", "", &ParseError{Header: name, Offset: -1, Reason: r}
	}
	return t, p, nil
}

// SubscriptionState is the Subscription-State header field (RFC 6665 §8.2.3).
type SubscriptionState struct {
	State  string // "active", "pending", "terminated" or an extension
	Params Params // expires, reason, retry-after, ...
}

// Expires returns the expires parameter and whether it is present.
func (s SubscriptionState) Expires() (uint32, bool) {
	v, ok := s.Params.Get("expires")
	n, ok2 := parseUint(v, 1<<32-1)
	return uint32(n), ok && ok2
}

// Reason returns the reason parameter, or "".
func (s SubscriptionState) Reason() string { v, _ := s.Params.Get("reason"); return v }

// SubscriptionState returns the Subscription-State header field.
func (h *Header) SubscriptionState() (SubscriptionState, error) {
	v, ok := h.single(hSubscriptionState)
	if !ok {
		return SubscriptionState{}, missing("Subscription-State")
	}
	t, p, err := tokenParams(v, "Subscription-State")
	return SubscriptionState{State: strings.ToLower(t), Params: p}, err
}

// RSeq returns the RSeq value (RFC 3262 §7.1).
func (h *Header) RSeq() (uint32, error) {
	n, ok, err := h.number(hRSeq, 1<<32-1)
	if !ok {
		return 0, missing("RSeq")
	}
	return uint32(n), err
}

// RAck is the RAck header field (RFC 3262 §7.2): response-num CSeq-num Method.
type RAck struct {
	RSeq   uint32
	CSeq   uint32
	Method string
}

// RAck returns the RAck header field.
func (h *Header) RAck() (RAck, error) {
	v, ok := h.single(hRAck)
	if !ok {
		return RAck{}, missing("RAck")
	}
	bad := &ParseError{Header: "RAck", Offset: -1, Reason: "malformed value"}
	f := strings.Fields(v)
	if len(f) != 3 || !isToken(f[2]) {
		return RAck{}, bad
	}
	r, ok1 := parseUint(f[0], 1<<32-1)
	c, ok2 := parseUint(f[1], 1<<32-1)
	if !ok1 || !ok2 {
		return RAck{}, bad
	}
	return RAck{RSeq: uint32(r), CSeq: uint32(c), Method: f[2]}, nil
}

// Replaces is the Replaces header field (RFC 3891 §6.1).
type Replaces struct {
	CallID    string
	ToTag     string
	FromTag   string
	EarlyOnly bool
	Params    Params
}

// Replaces returns the Replaces header field.
func (h *Header) Replaces() (Replaces, error) {
	v, ok := h.single(hReplaces)
	if !ok {
		return Replaces{}, missing("Replaces")
	}
	return ParseReplaces(v)
}

// ParseReplaces parses callid *(SEMI replaces-param); to-tag and from-tag
// are required.
func ParseReplaces(v string) (Replaces, error) {
	bad := &ParseError{Header: "Replaces", Offset: -1, Reason: "malformed value"}
	i := strings.IndexByte(v, ';')
	if i < 0 {
		return Replaces{}, bad
	}
	r := Replaces{CallID: trimLWS(v[:i]), Params: Params(v[i:])}
	if r.CallID == "" || r.Params.check() != "" {
		return Replaces{}, bad
	}
	var okTo, okFrom bool
	r.ToTag, okTo = r.Params.Get("to-tag")
	r.FromTag, okFrom = r.Params.Get("from-tag")
	r.EarlyOnly = r.Params.Has("early-only")
	if !okTo || !okFrom {
		return Replaces{}, bad
	}
	return r, nil
}

// SessionExpires is the Session-Expires header field (RFC 4028 §4).
type SessionExpires struct {
	Delta     uint32
	Refresher string // "uac", "uas" or ""
	Params    Params
}

// SessionExpires returns the Session-Expires header field.
func (h *Header) SessionExpires() (SessionExpires, error) {
	v, ok := h.single(hSessionExpires)
	if !ok {
		return SessionExpires{}, missing("Session-Expires")
	}
	t, p, err := tokenParams(v, "Session-Expires")
	if err != nil {
		return SessionExpires{}, err
	}
	n, ok := parseUint(t, 1<<32-1)
	if !ok {
		return SessionExpires{}, &ParseError{Header: "Session-Expires", Offset: -1, Reason: "malformed delta-seconds"}
	}
	r, _ := p.Get("refresher")
	return SessionExpires{Delta: uint32(n), Refresher: strings.ToLower(r), Params: p}, nil
}
