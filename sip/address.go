package sip

import (
	"math"
	"strings"
)

// Address is a name-addr or addr-spec with header parameters, as in From,
// To, Contact, Route, Record-Route, Reply-To, Refer-To and Path
// (RFC 3261 §20.10, §25.1).
type Address struct {
	Display  string // display name, unquoted; "" when absent
	URI      URI
	Params   Params // header parameters after the URI (tag, q, expires, ...)
	Wildcard bool   // Contact: *
}

// addrErr makes the error for a flaw at s[off].
func addrErr(off int, reason string) *ParseError {
	return &ParseError{Offset: off, Reason: reason}
}

// ParseAddress parses one header field value of the form
//
//	( name-addr / addr-spec ) *( SEMI generic-param )
//	name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
//	display-name = *(token LWS) / quoted-string
//
// (RFC 3261 §25.1), or "*" alone, the Contact wildcard. The display name is
// unquoted into Display; Params holds the header parameters, from the first
// ';' on. Leading and trailing LWS is ignored. Comma-separated lists must
// be split by the caller.
//
// Following RFC 3261 §20.10, the parameters after a URI not enclosed in
// "<>" are header parameters, and a URI holding ',' or '?' must be enclosed
// (RFC 4475 §3.1.2.13). An unquoted display name must be tokens
// (§3.1.2.15) and may touch the "<" (§3.1.1.6). The URI inside "<>" must
// be exactly a URI, with no LWS (§3.1.2.14).
//
// Errors are *ParseError values whose Offset is a byte offset in s.
func ParseAddress(s string) (Address, error) {
	a, err := parseAddress(s)
	if err != nil {
		return Address{}, err
	}
	return a, nil
}

func parseAddress(s string) (Address, *ParseError) {
	var a Address
	i, end := 0, len(s)
	for i < end && isLWS(s[i]) {
		i++
	}
	for end > i && isLWS(s[end-1]) {
		end--
	}
	if i == end {
		return a, addrErr(i, "empty address")
	}
	// RFC 3261 §25.1: Contact = ( "Contact" / "m" ) HCOLON ( STAR /
	// (contact-param *(COMMA contact-param)))
	if s[i:end] == "*" {
		a.Wildcard = true
		return a, nil
	}

	if s[i] == '"' {
		// display-name = quoted-string
		q, reason := addrQuotedEnd(s[:end], i)
		if q < 0 {
			return a, addrErr(i, reason)
		}
		a.Display, _ = Unquote(s[i:q])
		// LAQUOT = SWS "<"
		j := addrSkipLWS(s[:end], q)
		if j == end || s[j] != '<' {
			return a, addrErr(j, "missing <")
		}
		return a, a.parseNameAddr(s[:end], j)
	}

	// A '<' outside quoted strings starts a name-addr: neither a URI nor
	// header parameters (token / host / quoted-string) can hold one.
	lt := addrFindLT(s[:end], i)
	if lt < 0 {
		return a, a.parseAddrSpec(s[:end], i)
	}
	// display-name = *(token LWS). RFC 4475 §3.1.1.6 allows the LWS before
	// "<" to be missing; §3.1.2.15: words that are not tokens, as in
	// Bell, Alexander <sip:a.g.bell@bell-tel.com>, must be quoted.
	for j := i; j < lt; {
		if tokenChars[s[j]] {
			j++
		} else if k := addrSkipLWS(s, j); k > j {
			j = k
		} else {
			return a, addrErr(j, "malformed display name")
		}
	}
	a.Display = trimLWS(s[i:lt])
	return a, a.parseNameAddr(s[:end], lt)
}

// lwsBounds cuts the linear white space at the end of s and reports where
// the rest starts after the leading white space, and where it ends.
func lwsBounds(s string) (cut string, start, end int) {
	start, end = 0, len(s)
	for start < end && isLWS(s[start]) {
		start++
	}
	for end > start && isLWS(s[end-1]) {
		end--
	}
	return s[:end], start, end
}

// addrParams finds the header parameters of an address as ParseAddress
// would, by the same rules, without parsing the URI and display name: the
// parameters after the closing ">" of a name-addr, or those after an
// addr-spec (RFC 3261 §20.10). ok is false when s is not shaped as an
// address (no closing quote or ">", no scheme, text after the URI that is
// not parameters).
func addrParams(s string) (p Params, ok bool) {
	s, i, end := lwsBounds(s)
	if i == end || s[i:] == "*" {
		return "", i < end
	}
	lt := -1
	if s[i] == '"' {
		q, _ := addrQuotedEnd(s, i)
		if q < 0 {
			return "", false
		}
		lt = addrSkipLWS(s, q)
		if lt == end || s[lt] != '<' {
			return "", false
		}
	} else {
		lt = addrFindLT(s, i)
	}
	var j int
	if lt >= 0 {
		gt := strings.IndexByte(s[lt+1:], '>')
		if gt < 0 {
			return "", false
		}
		j = lt + 1 + gt + 1
	} else {
		// An addr-spec ends as parseAddrSpec ends it: at the first ';' or
		// LWS after the userinfo of a sip or sips URI.
		j = i
		for j < end && uriClass[s[j]]&ucScheme != 0 {
			j++
		}
		if j == end || s[j] != ':' {
			return "", false
		}
		j++
		if scheme := s[i : j-1]; strings.EqualFold(scheme, uriSchemeSIP) || strings.EqualFold(scheme, uriSchemeSIPS) {
			if at := uriUserinfoEnd(s, j); at >= 0 {
				j = at + 1
			}
		}
		for j < end && s[j] != ';' && !isLWS(s[j]) {
			j++
		}
	}
	k := addrSkipLWS(s, j)
	if k == end {
		return "", true
	}
	if s[k] != ';' {
		return "", false
	}
	return Params(s[k:]), true
}

// addrFindLT returns the index of the first '<' at or after s[i] that is
// not inside a quoted-string, or -1.
func addrFindLT(s string, i int) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case '<':
			return i
		case '"':
			e := quotedEnd(s, i)
			if e < 0 {
				return -1
			}
			i = e - 1
		}
	}
	return -1
}

// parseNameAddr parses "<" addr-spec ">" at s[i] and the parameters after
// it.
func (a *Address) parseNameAddr(s string, i int) *ParseError {
	// A URI has no '>' (RFC 3261 §25.1; it must be escaped), so the first
	// one ends it.
	e := strings.IndexByte(s[i+1:], '>')
	if e < 0 {
		return addrErr(i, "missing >")
	}
	e += i + 1
	u, err := ParseURI(s[i+1 : e])
	if err != nil {
		return addrShift(err, i+1)
	}
	a.URI = u
	return a.parseParams(s, e+1, false)
}

// parseAddrSpec parses an addr-spec not enclosed in "<>" at s[i], and the
// parameters after it.
func (a *Address) parseAddrSpec(s string, i int) *ParseError {
	// RFC 3261 §20.10: "If the URI is not enclosed in angle brackets, any
	// semicolon-delimited parameters are header-parameters, not URI
	// parameters." The URI ends at the first ';' or LWS after the
	// userinfo; the userinfo, which may hold ';' (user-unreserved), ends
	// at its '@' as in ParseURI.
	p := i
	for p < len(s) && uriClass[s[p]]&ucScheme != 0 {
		p++
	}
	if uriClass[s[i]]&ucAlpha == 0 || p == len(s) || s[p] != ':' {
		return addrShift(uriErr(s[i:], p-i, "malformed scheme"), i)
	}
	p++
	if scheme := s[i : p-1]; strings.EqualFold(scheme, uriSchemeSIP) || strings.EqualFold(scheme, uriSchemeSIPS) {
		if at := uriUserinfoEnd(s, p); at >= 0 {
			p = at + 1
		}
	}
	for p < len(s) && s[p] != ';' && !isLWS(s[p]) {
		p++
	}
	spec := s[i:p]
	// RFC 3261 §20.10: "Even if the "display-name" is empty, the
	// "name-addr" form MUST be used if the "addr-spec" contains a comma,
	// semicolon, or question mark." A ';' here is a header parameter.
	if c := strings.IndexAny(spec, ",?"); c >= 0 {
		return addrErr(i+c, "uri with ',' or '?' not in <>")
	}
	u, err := ParseURI(spec)
	if err != nil {
		return addrShift(err, i)
	}
	a.URI = u
	return a.parseParams(s, p, true)
}

// parseParams takes the header parameters at s[i], after the URI:
// nothing, or *( SEMI generic-param ) (RFC 3261 §25.1). spec tells that the
// URI was an addr-spec without "<>".
func (a *Address) parseParams(s string, i int, spec bool) *ParseError {
	j := addrSkipLWS(s, i)
	if j == len(s) {
		return nil
	}
	if s[j] != ';' {
		if spec && j > i {
			// RFC 4475 §3.1.2.14: spaces within an addr-spec.
			return addrErr(i, "whitespace in addr-spec")
		}
		return addrErr(j, "junk after address")
	}
	a.Params = Params(s[j:])
	// Params.check refuses empty parameters such as ";;" (RFC 4475
	// §3.1.2.1) and names or values that are not tokens, hosts or
	// quoted-strings.
	if reason := a.Params.check(); reason != "" {
		return addrErr(j, reason)
	}
	return nil
}

// addrShift moves the offset of an error found in a substring that starts
// at s[off].
func addrShift(err error, off int) *ParseError {
	pe, ok := err.(*ParseError)
	if !ok {
		return addrErr(off, "malformed uri")
	}
	c := *pe
	if c.Offset >= 0 {
		c.Offset += off
	}
	return &c
}

// addrSkipLWS returns the index after the LWS at s[i]:
// LWS = [*WSP CRLF] 1*WSP (RFC 3261 §25.1). A CR or LF that is not part of
// a fold is not LWS.
func addrSkipLWS(s string, i int) int {
	j := i
	for j < len(s) && isWS(s[j]) {
		j++
	}
	if j+2 < len(s) && s[j] == '\r' && s[j+1] == '\n' && isWS(s[j+2]) {
		j += 2
		for j < len(s) && isWS(s[j]) {
			j++
		}
	}
	return j
}

// addrQuotedEnd returns the index after the quoted-string starting at
// s[i] == '"', or -1 and the reason it is malformed (RFC 3261 §25.1):
//
//	quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
//	qdtext        = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
//	quoted-pair   = "\" (%x00-09 / %x0B-0C / %x0E-7F)
func addrQuotedEnd(s string, i int) (int, string) {
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return j + 1, ""
		case c == '\\':
			j++
			if j == len(s) {
				return -1, "unterminated quoted-string"
			}
			if d := s[j]; d == '\r' || d == '\n' || d >= 0x80 {
				return -1, "malformed quoted-string"
			}
		case c == '\r':
			k := addrSkipLWS(s, j)
			if k == j {
				return -1, "malformed quoted-string"
			}
			j = k - 1
		case c < 0x20 && c != '\t' || c == 0x7f:
			return -1, "malformed quoted-string"
		}
	}
	return -1, "unterminated quoted-string"
}

// String returns the address in name-addr form, "<" and ">" always, or
// "*" for the wildcard.
func (a Address) String() string {
	var buf [128]byte
	return string(a.AppendTo(buf[:0]))
}

// AppendTo appends the address to b in name-addr form with its parameters
// (RFC 3261 §25.1): the display name as it is when it is tokens separated
// by single spaces, else as a quoted-string; "<" URI ">"; the parameters as
// they are. The wildcard is written "*".
func (a *Address) AppendTo(b []byte) []byte {
	if a.Wildcard {
		return append(b, '*')
	}
	if a.Display != "" {
		if addrIsTokens(a.Display) {
			b = append(b, a.Display...)
		} else {
			b = addrAppendQuoted(b, a.Display)
		}
		b = append(b, ' ')
	}
	b = append(b, '<')
	b = a.URI.AppendTo(b)
	b = append(b, '>')
	return append(b, a.Params...)
}

// addrIsTokens reports whether s is tokens separated by single spaces.
func addrIsTokens(s string) bool {
	for w := range strings.SplitSeq(s, " ") {
		if !isToken(w) {
			return false
		}
	}
	return true
}

// addrAppendQuoted appends s as a quoted-string (RFC 3261 §25.1). Unlike
// Quote, it also writes as quoted-pairs the control characters qdtext does
// not allow, and a CR or LF that is not part of a fold (neither of which a
// quoted-pair can hold) as a space.
func addrAppendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\r' && i+2 < len(s) && s[i+1] == '\n' && isWS(s[i+2]):
			b = append(b, "\r\n"...)
			i++
		case c == '\r' || c == '\n':
			b = append(b, ' ')
		case c < 0x20 && c != '\t' || c == 0x7f:
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Tag returns the tag parameter (RFC 3261 §19.3), or "".
func (a Address) Tag() string {
	t, _ := a.Params.Get("tag")
	return t
}

// Q returns the q parameter of a Contact (RFC 3261 §20.10), and whether it
// is present and well-formed:
//
//	qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
func (a Address) Q() (float64, bool) {
	v, ok := a.Params.Get("q")
	if !ok || v == "" || v[0] != '0' && v[0] != '1' {
		return 0, false
	}
	whole, frac, dot := strings.Cut(v, ".")
	if len(whole) != 1 || len(frac) > 3 || dot && v[0] == '1' && strings.Trim(frac, "0") != "" {
		return 0, false
	}
	n := int(v[0] - '0')
	for i := range 3 {
		n *= 10
		if i < len(frac) {
			if uriClass[frac[i]]&ucDigit == 0 {
				return 0, false
			}
			n += int(frac[i] - '0')
		}
	}
	return float64(n) / 1000, true
}

// Expires returns the expires parameter of a Contact in seconds
// (RFC 3261 §20.10: delta-seconds), and whether it is present and
// well-formed. A value above 2**32-1 (RFC 3261 §20.19) is not.
func (a Address) Expires() (int, bool) {
	v, ok := a.Params.Get("expires")
	if !ok {
		return 0, false
	}
	n, ok := parseUint(v, min(1<<32-1, math.MaxInt))
	return int(n), ok
}
