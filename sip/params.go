package sip

import (
	"iter"
	"strings"
)

// Params holds parameters as they appear on the wire, each introduced by a
// semicolon: ";branch=z9hG4bK776;rport". Both header parameters
// (generic-param, RFC 3261 §25.1: token [ "=" token / host / quoted-string ])
// and URI parameters use it. It is a plain string, so reading a parameter
// never allocates and an unchanged list serializes as it came.
//
// Names compare case-insensitively. Get returns values as written (a
// quoted-string keeps its quotes; use Unquote).
type Params string

// nextParam splits the first parameter off p. p must start at a ';' (leading
// LWS allowed). It returns name and value trimmed of LWS, whether the
// parameter had "=", and the rest starting at the next ';'.
func nextParam(p string) (name, value string, hasValue bool, rest string, ok bool) {
	if n, v, hv, r, tok := tokenParam(p); tok {
		return n, v, hv, r, true
	}
	p = trimLeftLWS(p)
	if p == "" || p[0] != ';' {
		return "", "", false, "", false
	}
	p = p[1:]
	end := len(p)
	eq := -1
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '"' {
			e := quotedEnd(p, i)
			if e < 0 {
				return "", "", false, "", false
			}
			i = e - 1
			continue
		}
		if c == '=' && eq < 0 {
			eq = i
		}
		if c == ';' {
			end = i
			break
		}
	}
	if eq >= 0 {
		name, value, hasValue = trimLWS(p[:eq]), trimLWS(p[eq+1:end]), true
	} else {
		name = trimLWS(p[:end])
	}
	return name, value, hasValue, p[end:], true
}

// tokenParam takes the usual form of a parameter, ";" token [ "=" value ]
// with no LWS, the value made of token characters and ':' (a token, a
// host name, an IPv4 or unbracketed IPv6 address), up to the next ';' or
// the end. ok is false for any other form, which nextParam then takes
// apart; a parameter tokenParam takes is a well-formed generic-param
// (RFC 3261 §25.1), so callers need not check it again.
func tokenParam(p string) (name, value string, hasValue bool, rest string, ok bool) {
	if len(p) < 2 || p[0] != ';' {
		return "", "", false, "", false
	}
	i := 1
	for i < len(p) && tokenChars[p[i]] {
		i++
	}
	if i == 1 {
		return "", "", false, "", false
	}
	if i == len(p) || p[i] == ';' {
		return p[1:i], "", false, p[i:], true
	}
	if p[i] != '=' {
		return "", "", false, "", false
	}
	j := i + 1
	for j < len(p) && genValueChars[p[j]] {
		j++
	}
	if j == i+1 || j < len(p) && p[j] != ';' {
		return "", "", false, "", false
	}
	return p[1:i], p[i+1 : j], true, p[j:], true
}

// checkParam splits the first parameter off p, which starts at a ';' or
// LWS, as nextParam does, and checks it as a generic-param (RFC 3261
// §25.1): reason is "" when it is well formed.
func checkParam(p string) (name, value, rest, reason string) {
	if n, v, _, r, ok := tokenParam(p); ok {
		return n, v, r, ""
	}
	name, value, hasValue, rest, ok := nextParam(p)
	switch {
	case !ok:
		if p = trimLeftLWS(p); p != "" && p[0] != ';' {
			return "", "", "", "junk after parameters"
		}
		return "", "", "", "unterminated quoted-string in parameter"
	case name == "":
		return "", "", "", "empty parameter"
	case !isToken(name):
		return "", "", "", "malformed parameter name"
	case hasValue && !isGenValue(value):
		return "", "", "", "malformed parameter value"
	}
	return name, value, rest, ""
}

func trimLeftLWS(s string) string {
	i := 0
	for i < len(s) && isLWS(s[i]) {
		i++
	}
	return s[i:]
}

// All iterates over the parameters in order, as name and value ("" for a
// parameter without "=").
func (p Params) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		s := string(p)
		for {
			name, value, _, rest, ok := nextParam(s)
			if !ok {
				return
			}
			if !yield(name, value) {
				return
			}
			s = rest
		}
	}
}

// Get returns the value of the first parameter called name, and whether it
// is present. A parameter without a value gives "" and true.
func (p Params) Get(name string) (string, bool) {
	s := string(p)
	if strings.IndexByte(s, '"') < 0 {
		return getUnquoted(s, name)
	}
	return getLoop(s, name)
}

// getUnquoted is Get for parameters without quoted-strings, where every
// ';' starts a parameter: it hops from one to the next with IndexByte and
// looks only at names, as nextParam would split them.
func getUnquoted(s, name string) (string, bool) {
	for {
		s = trimLeftLWS(s)
		if s == "" || s[0] != ';' {
			return "", false
		}
		s = s[1:]
		end := strings.IndexByte(s, ';')
		if end < 0 {
			end = len(s)
		}
		n, v := s[:end], ""
		if eq := strings.IndexByte(n, '='); eq >= 0 {
			n, v = n[:eq], n[eq+1:]
		}
		if n = trimLWS(n); len(n) == len(name) && strings.EqualFold(n, name) {
			return trimLWS(v), true
		}
		s = s[end:]
	}
}

// getLoop is Get parameter by parameter.
func getLoop(s, name string) (string, bool) {
	for {
		n, v, _, rest, ok := nextParam(s)
		if !ok {
			return "", false
		}
		if len(n) == len(name) && strings.EqualFold(n, name) {
			return v, true
		}
		s = rest
	}
}

// Has reports whether a parameter called name is present.
func (p Params) Has(name string) bool {
	_, ok := p.Get(name)
	return ok
}

// Len is the number of parameters.
func (p Params) Len() int {
	n := 0
	for range p.All() {
		n++
	}
	return n
}

// Set returns p with parameter name set to value: the first occurrence is
// replaced in place, or the parameter is appended. An empty value makes a
// parameter without "=" (like "lr" or "rport").
func (p Params) Set(name, value string) Params {
	s := string(p)
	off := 0
	for {
		n, _, _, rest, ok := nextParam(s[off:])
		if !ok {
			break
		}
		if strings.EqualFold(n, name) {
			start := off + strings.IndexByte(s[off:], ';')
			end := len(s) - len(rest)
			return Params(s[:start] + formatParam(name, value) + s[end:])
		}
		off = len(s) - len(rest)
	}
	return Params(s + formatParam(name, value))
}

// Del returns p without any parameter called name.
func (p Params) Del(name string) Params {
	s := string(p)
	var b strings.Builder
	cur := s
	changed := false
	for {
		n, _, _, rest, ok := nextParam(cur)
		if !ok {
			break
		}
		if strings.EqualFold(n, name) {
			changed = true
		} else {
			b.WriteString(cur[:len(cur)-len(rest)])
		}
		cur = rest
	}
	if !changed {
		return p
	}
	return Params(b.String())
}

func formatParam(name, value string) string {
	if value == "" {
		return ";" + name
	}
	return ";" + name + "=" + value
}

// check validates p as a list of generic-params (RFC 3261 §25.1): every
// name a token, every value a token, a host or a quoted-string, and no empty
// parameter (";;", RFC 4475 §3.1.2.1). It returns a reason, or "".
func (p Params) check() string {
	s := string(p)
	for {
		s = trimLeftLWS(s)
		if s == "" {
			return ""
		}
		_, _, rest, reason := checkParam(s)
		if reason != "" {
			return reason
		}
		s = rest
	}
}

// isGenValue: gen-value = token / host / quoted-string (RFC 3261 §25.1).
func isGenValue(v string) bool {
	if v == "" {
		return false
	}
	if v[0] == '"' {
		_, ok := Unquote(v)
		return ok && quotedEnd(v, 0) == len(v)
	}
	if v[0] == '[' {
		return v[len(v)-1] == ']' && strings.IndexByte(v[1:len(v)-1], ']') < 0
	}
	// token, hostname or IPv4 address, or an IPv6 address as Via's
	// received parameter carries it, unbracketed (RFC 3261 §20.42).
	return allIn(v, &genValueChars)
}
