package sip

import (
	"iter"
	"strings"
	"unsafe"
)

// hkind identifies a header field name sipd knows, so that lookups compare a
// byte instead of folding strings. Unknown names have kind hUnknown.
type hkind uint8

const (
	hUnknown hkind = iota
	hAccept
	hAcceptContact
	hAcceptEncoding
	hAcceptLanguage
	hAlertInfo
	hAllow
	hAllowEvents
	hAuthenticationInfo
	hAuthorization
	hCallID
	hCallInfo
	hContact
	hContentDisposition
	hContentEncoding
	hContentLanguage
	hContentLength
	hContentType
	hCSeq
	hDate
	hErrorInfo
	hEvent
	hExpires
	hFlowTimer
	hFrom
	hIdentity
	hIdentityInfo
	hInReplyTo
	hMaxBreadth
	hMaxForwards
	hMIMEVersion
	hMinExpires
	hMinSE
	hOrganization
	hPAssertedIdentity
	hPPreferredIdentity
	hPath
	hPriority
	hPrivacy
	hProxyAuthenticate
	hProxyAuthorization
	hProxyRequire
	hRAck
	hReason
	hRecordRoute
	hReferTo
	hReferredBy
	hRejectContact
	hReplaces
	hReplyTo
	hRequestDisposition
	hRequire
	hRetryAfter
	hRoute
	hRSeq
	hServer
	hServiceRoute
	hSessionExpires
	hSIPETag
	hSIPIfMatch
	hSubject
	hSubscriptionState
	hSupported
	hTimestamp
	hTo
	hUnsupported
	hUserAgent
	hVia
	hWarning
	hWWWAuthenticate
	hCount
)

type hinfo struct {
	name    string // canonical spelling
	compact byte   // compact form (RFC 3261 §7.3.3 and the extensions), 0 if none
	list    bool   // may hold a comma-separated list (RFC 3261 §7.3.1)
}

// RFC 3261 §20 and the extensions' header fields. list marks those whose
// grammar is a comma-separated list, so several may share one line.
var hinfos = [hCount]hinfo{
	hAccept:             {"Accept", 0, true},
	hAcceptContact:      {"Accept-Contact", 'a', true},
	hAcceptEncoding:     {"Accept-Encoding", 0, true},
	hAcceptLanguage:     {"Accept-Language", 0, true},
	hAlertInfo:          {"Alert-Info", 0, true},
	hAllow:              {"Allow", 0, true},
	hAllowEvents:        {"Allow-Events", 'u', true},
	hAuthenticationInfo: {"Authentication-Info", 0, false},
	hAuthorization:      {"Authorization", 0, false},
	hCallID:             {"Call-ID", 'i', false},
	hCallInfo:           {"Call-Info", 0, true},
	hContact:            {"Contact", 'm', true},
	hContentDisposition: {"Content-Disposition", 0, false},
	hContentEncoding:    {"Content-Encoding", 'e', true},
	hContentLanguage:    {"Content-Language", 0, true},
	hContentLength:      {"Content-Length", 'l', false},
	hContentType:        {"Content-Type", 'c', false},
	hCSeq:               {"CSeq", 0, false},
	hDate:               {"Date", 0, false},
	hErrorInfo:          {"Error-Info", 0, true},
	hEvent:              {"Event", 'o', false},
	hExpires:            {"Expires", 0, false},
	hFlowTimer:          {"Flow-Timer", 0, false},
	hFrom:               {"From", 'f', false},
	hIdentity:           {"Identity", 'y', false},
	hIdentityInfo:       {"Identity-Info", 'n', false},
	hInReplyTo:          {"In-Reply-To", 0, true},
	hMaxBreadth:         {"Max-Breadth", 0, false},
	hMaxForwards:        {"Max-Forwards", 0, false},
	hMIMEVersion:        {"MIME-Version", 0, false},
	hMinExpires:         {"Min-Expires", 0, false},
	hMinSE:              {"Min-SE", 0, false},
	hOrganization:       {"Organization", 0, false},
	hPAssertedIdentity:  {"P-Asserted-Identity", 0, true},
	hPPreferredIdentity: {"P-Preferred-Identity", 0, true},
	hPath:               {"Path", 0, true},
	hPriority:           {"Priority", 0, false},
	hPrivacy:            {"Privacy", 0, false},
	hProxyAuthenticate:  {"Proxy-Authenticate", 0, false},
	hProxyAuthorization: {"Proxy-Authorization", 0, false},
	hProxyRequire:       {"Proxy-Require", 0, true},
	hRAck:               {"RAck", 0, false},
	hReason:             {"Reason", 0, true},
	hRecordRoute:        {"Record-Route", 0, true},
	hReferTo:            {"Refer-To", 'r', false},
	hReferredBy:         {"Referred-By", 'b', false},
	hRejectContact:      {"Reject-Contact", 'j', true},
	hReplaces:           {"Replaces", 0, false},
	hReplyTo:            {"Reply-To", 0, false},
	hRequestDisposition: {"Request-Disposition", 'd', true},
	hRequire:            {"Require", 0, true},
	hRetryAfter:         {"Retry-After", 0, false},
	hRoute:              {"Route", 0, true},
	hRSeq:               {"RSeq", 0, false},
	hServer:             {"Server", 0, false},
	hServiceRoute:       {"Service-Route", 0, true},
	hSessionExpires:     {"Session-Expires", 'x', false},
	hSIPETag:            {"SIP-ETag", 0, false},
	hSIPIfMatch:         {"SIP-If-Match", 0, false},
	hSubject:            {"Subject", 's', false},
	hSubscriptionState:  {"Subscription-State", 0, false},
	hSupported:          {"Supported", 'k', true},
	hTimestamp:          {"Timestamp", 0, false},
	hTo:                 {"To", 't', false},
	hUnsupported:        {"Unsupported", 0, true},
	hUserAgent:          {"User-Agent", 0, false},
	hVia:                {"Via", 'v', true},
	hWarning:            {"Warning", 0, true},
	hWWWAuthenticate:    {"WWW-Authenticate", 0, false},
}

// htable finds a header kind from a name's length and its first and last
// letters; the candidate is then confirmed with a case-insensitive compare.
// This avoids hashing whole names on the hot path. It is built once and only
// read afterwards.
var htable = func() (t [512]hkind) {
	put := func(name string, k hkind) {
		for h := hslot(name); ; h = (h + 1) & (len(t) - 1) {
			if t[h] == hUnknown {
				t[h] = k
				return
			}
		}
	}
	for k := hkind(1); k < hCount; k++ {
		put(hinfos[k].name, k)
		if c := hinfos[k].compact; c != 0 {
			put(string([]byte{c}), k)
		}
	}
	return t
}()

func lower(c byte) byte { return c | 0x20 }

func hslot(name string) int {
	return (len(name)*37 + int(lower(name[0]))*11 + int(lower(name[len(name)-1]))) & 511
}

// kindOf finds the kind of a header name, whatever its case or form,
// without allocating.
func kindOf(name string) hkind {
	if name == "" {
		return hUnknown
	}
	for h := hslot(name); ; h = (h + 1) & 511 {
		k := htable[h]
		if k == hUnknown {
			return hUnknown
		}
		info := &hinfos[k]
		if len(name) == 1 {
			if lower(name[0]) == info.compact {
				return k
			}
		} else if name == info.name || len(name) == len(info.name) && strings.EqualFold(name, info.name) {
			// Most names come in their usual spelling: a plain compare
			// takes them before the fold.
			return k
		}
	}
}

// CanonicalName returns the long form of a header name in its usual
// spelling ("v" and "VIA" give "Via"); unknown names are returned unchanged.
func CanonicalName(name string) string {
	if k := kindOf(name); k != hUnknown {
		return hinfos[k].name
	}
	return name
}

// HeaderField is one header field line of a message.
type HeaderField struct {
	// Name is the name as it appears (possibly a compact form).
	Name string
	// Value is the field value with folding (RFC 3261 §7.3.1) replaced by a
	// single space and surrounding white space removed. It may hold several
	// comma-separated values.
	Value string

	// rawLen is the length of the line(s) as received, without the final
	// CRLF, which start where Name does (a header line starts with its
	// name): the line is kept without a third string in every field. 0
	// once edited, and for fields made in code.
	rawLen uint32
	kind   hkind
}

// raw returns the line(s) as received, or "" once edited.
func (f *HeaderField) raw() string {
	if f.rawLen == 0 {
		return ""
	}
	return unsafe.String(unsafe.StringData(f.Name), int(f.rawLen))
}

func (f *HeaderField) is(k hkind, name string) bool {
	if k != hUnknown {
		return f.kind == k
	}
	return f.kind == hUnknown && strings.EqualFold(f.Name, name)
}

// Header is the ordered list of header fields of a message. Fields keep the
// order and spelling they arrived in; an untouched message serializes back
// byte for byte. The zero value is an empty header.
type Header struct {
	fields []HeaderField
	edited bool // a field was added, removed or changed since parsing
	cache  hcache
}

// Len is the number of header field lines.
func (h *Header) Len() int { return len(h.fields) }

// Fields iterates over all header field lines in order.
func (h *Header) Fields() iter.Seq[HeaderField] {
	return func(yield func(HeaderField) bool) {
		for _, f := range h.fields {
			if !yield(f) {
				return
			}
		}
	}
}

func (h *Header) index(k hkind, name string) int {
	if k != hUnknown {
		// The usual case, a known field: one byte compared per line.
		for i := range h.fields {
			if h.fields[i].kind == k {
				return i
			}
		}
		return -1
	}
	for i := range h.fields {
		if h.fields[i].is(k, name) {
			return i
		}
	}
	return -1
}

// Get returns the value of the first field called name (long or compact
// form, any case), or "" when there is none. For list-valued fields it is
// the whole first line; Values splits the list.
func (h *Header) Get(name string) string {
	if i := h.index(kindOf(name), name); i >= 0 {
		return h.fields[i].Value
	}
	return ""
}

// Has reports whether a field called name is present.
func (h *Header) Has(name string) bool { return h.index(kindOf(name), name) >= 0 }

// Count is the number of lines of the field called name.
func (h *Header) Count(name string) int {
	k, n := kindOf(name), 0
	for i := range h.fields {
		if h.fields[i].is(k, name) {
			n++
		}
	}
	return n
}

// Lines iterates over the values of the field lines called name, one per
// line, without splitting comma lists.
func (h *Header) Lines(name string) iter.Seq[string] {
	k := kindOf(name)
	return func(yield func(string) bool) { h.forLines(k, name, yield) }
}

// EachLine calls fn with the value of every line of the field called name,
// as Lines yields them, until fn returns false; like EachValue it
// allocates nothing.
func (h *Header) EachLine(name string, fn func(v string) bool) {
	h.forLines(kindOf(name), name, fn)
}

func (h *Header) forLines(k hkind, name string, fn func(string) bool) {
	for i := range h.fields {
		if h.fields[i].is(k, name) && !fn(h.fields[i].Value) {
			return
		}
	}
}

// Values iterates over every value of the field called name: the lines in
// order, and for list-valued fields (RFC 3261 §7.3.1) each element of a
// comma-separated line. A list element left unterminated (open quote or
// '<') is yielded whole.
func (h *Header) Values(name string) iter.Seq[string] {
	k := kindOf(name)
	return func(yield func(string) bool) { h.forValues(k, name, yield) }
}

// EachValue calls fn with every value of the field called name, as Values
// yields them, until fn returns false. Unlike a range over Values it
// allocates nothing: fn does not escape, so neither does what it captures.
// Proxies use it on their per-request path.
func (h *Header) EachValue(name string, fn func(v string) bool) {
	h.forValues(kindOf(name), name, fn)
}

// forValues is Values as a plain loop. It reports whether fn took every
// value.
func (h *Header) forValues(k hkind, name string, fn func(string) bool) bool {
	list := hinfos[k].list
	for i := range h.fields {
		if !h.fields[i].is(k, name) {
			continue
		}
		v := h.fields[i].Value
		if !list {
			if !fn(v) {
				return false
			}
			continue
		}
		for {
			e, rest, more, ok := splitValue(v)
			if !fn(e) || !ok {
				return false
			}
			if !more {
				break
			}
			v = rest
		}
	}
	return true
}

func (h *Header) remove(i int) {
	copy(h.fields[i:], h.fields[i+1:])
	h.fields[len(h.fields)-1] = HeaderField{}
	h.fields = h.fields[:len(h.fields)-1]
}

// touch marks the header edited and forgets what the cache holds of the
// field kind k: an edit of Max-Forwards or Record-Route, as every proxy
// makes, leaves the top Via, CSeq and tags parsed.
func (h *Header) touch(k hkind) {
	h.edited = true
	h.cache.forget(k)
}

func newField(name, value string) HeaderField {
	k := kindOf(name)
	if k != hUnknown && len(name) > 1 {
		name = hinfos[k].name
	}
	return HeaderField{Name: name, Value: value, kind: k}
}

// Add appends a field line at the end of the header.
func (h *Header) Add(name, value string) {
	f := newField(name, value)
	h.fields = append(h.fields, f)
	h.touch(f.kind)
}

// Prepend inserts a field line before the first line of the same field, or
// at the end when there is none; this is how Via, Route and Record-Route
// values are pushed on top (RFC 3261 §16.6 steps 4 and 8).
func (h *Header) Prepend(name, value string) {
	f := newField(name, value)
	i := h.index(f.kind, f.Name)
	if i < 0 {
		h.fields = append(h.fields, f)
	} else {
		h.fields = append(h.fields, HeaderField{})
		copy(h.fields[i+1:], h.fields[i:])
		h.fields[i] = f
	}
	h.touch(f.kind)
}

// Set replaces every line of the field called name by one line with value,
// kept at the place of the first, or appended when there was none.
func (h *Header) Set(name, value string) {
	f := newField(name, value)
	i := h.index(f.kind, f.Name)
	if i < 0 {
		h.fields = append(h.fields, f)
		h.touch(f.kind)
		return
	}
	h.fields[i] = f
	h.del(f.kind, f.Name, i+1)
	h.touch(f.kind)
}

// Del removes every line of the field called name.
func (h *Header) Del(name string) {
	if k := kindOf(name); h.del(k, name, 0) {
		h.touch(k)
	}
}

func (h *Header) del(k hkind, name string, from int) bool {
	j := from
	for i := from; i < len(h.fields); i++ {
		if !h.fields[i].is(k, name) {
			if j != i {
				// Fields that stay in place are not rewritten: a
				// struct copy into the heap costs write barriers.
				h.fields[j] = h.fields[i]
			}
			j++
		}
	}
	removed := j < len(h.fields)
	clear(h.fields[j:])
	h.fields = h.fields[:j]
	return removed
}

// PopFirst removes the first value of the field called name: the first
// element of a comma list, or the whole first line. It returns the value
// removed and whether there was one. Proxies pop their Via from responses
// and their Route from requests with it (RFC 3261 §16.4, §16.7 step 3).
func (h *Header) PopFirst(name string) (string, bool) {
	i := h.index(kindOf(name), name)
	if i < 0 {
		return "", false
	}
	f := &h.fields[i]
	k := f.kind
	v, rest, _ := nextValue(f.Value)
	rest = trimLWS(rest)
	if hinfos[k].list && rest != "" {
		f.Value, f.rawLen = rest, 0
	} else {
		h.remove(i)
	}
	h.touch(k)
	return v, true
}

// ReplaceFirst replaces the first value of the field called name (the first
// element of a comma list, or the first line), keeping the other values in
// place. It reports whether there was a value to replace.
func (h *Header) ReplaceFirst(name, value string) bool {
	i := h.index(kindOf(name), name)
	if i < 0 {
		return false
	}
	f := &h.fields[i]
	_, rest, _ := nextValue(f.Value)
	rest = trimLWS(rest)
	if hinfos[f.kind].list && rest != "" {
		f.Value = value + ", " + rest
	} else {
		f.Value = value
	}
	f.rawLen = 0
	h.touch(f.kind)
	return true
}

// appendFields writes the header fields in wire form: untouched lines as
// they came, edited or new ones as "Name: value".
func (h *Header) appendFields(b []byte) []byte {
	for i := range h.fields {
		b = h.appendField(b, i)
	}
	return b
}

func (h *Header) appendField(b []byte, i int) []byte {
	f := &h.fields[i]
	if f.rawLen != 0 {
		b = append(b, f.raw()...)
	} else {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
	}
	return append(b, "\r\n"...)
}
