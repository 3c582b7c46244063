package sip

import "strings"

// A fast check of the addresses Validate reads (From, To, Contact, Route,
// Record-Route) in their usual shapes. wellFormedAddress accepts a subset
// of what ParseAddress accepts, in one pass and without building the
// Address; whatever it does not take is left to ParseAddress, which gives
// the verdict and the error. FuzzParseAddress checks that everything it
// accepts parses, to the same header parameters.

// wellFormedAddress reports whether s certainly parses as an address, and
// if so returns its header parameters. It takes
//
//	[ display-name ] "<" sip-uri ">" *( ";" param )
//	sip-uri *( ";" param )                          (an addr-spec)
//
// with LWS only as single spaces between the tokens of a display name or
// before "<", a quoted display name without quoted-pairs or control
// characters, a "sip:" or "sips:" URI (in lower case) whose userinfo is a
// user of unreserved characters and "+" (RFC 3261 §25.1), a host name or
// IPv4 address, an optional port and uri-parameters without escapes, and
// header parameters as tokenParam takes them.
func wellFormedAddress(s string) (Params, bool) {
	s, i, end := lwsBounds(s)
	if i == end {
		return "", false
	}
	angle := false
	switch c := s[i]; {
	case c == '"':
		// display-name = quoted-string, SWS, "<"
		j := i + 1
		for j < end && s[j] != '"' {
			if c := s[j]; c < 0x20 || c > 0x7e || c == '\\' {
				return "", false
			}
			j++
		}
		if j == end {
			return "", false
		}
		j++
		for j < end && s[j] == ' ' {
			j++
		}
		if j == end || s[j] != '<' {
			return "", false
		}
		i, angle = j+1, true
	case c == '<':
		i, angle = i+1, true
	case !strings.HasPrefix(s[i:], "sip:") && !strings.HasPrefix(s[i:], "sips:"):
		// display-name = *(token LWS), then "<" (RFC 4475 §3.1.1.6
		// allows the LWS before "<" to be missing).
		j := i
		for j < end && (tokenChars[s[j]] || s[j] == ' ') {
			j++
		}
		if j == end || s[j] != '<' {
			return "", false
		}
		i, angle = j+1, true
	}
	i, ok := wellFormedSIPURI(s, i, angle)
	if !ok {
		return "", false
	}
	if angle {
		i++ // the '>'
	}
	// Header parameters follow at once, each as tokenParam takes it.
	for p := s[i:]; p != ""; {
		_, _, _, rest, ok := tokenParam(p)
		if !ok {
			return "", false
		}
		p = rest
	}
	return Params(s[i:]), true
}

// wellFormedSIPURI checks the URI that starts at s[i] as
// wellFormedAddress describes it, and returns where it ends: at the '>'
// after a name-addr's URI (angle), or at the end of s or the ';' of the
// first header parameter after an addr-spec's. ok is false for anything
// else.
func wellFormedSIPURI(s string, i int, angle bool) (int, bool) {
	switch {
	case len(s)-i > 4 && s[i:i+4] == "sip:":
		i += 4
	case len(s)-i > 5 && s[i:i+5] == "sips:":
		i += 5
	default:
		return 0, false
	}
	// [ user "@" ] host: both are scanned as one run, split at the '@'.
	hs := i
	for i < len(s) && wellFormedUser[s[i]] {
		i++
	}
	if i < len(s) && s[i] == '@' {
		if i == hs {
			return 0, false // §19.1.1: an '@' needs a user
		}
		i++
		hs = i
		for i < len(s) && uriClass[s[i]]&ucHost != 0 {
			i++
		}
	} else {
		// No user: the run is the host, and may hold user characters
		// a host does not allow.
		for j := hs; j < i; j++ {
			if uriClass[s[j]]&ucHost == 0 {
				return 0, false
			}
		}
	}
	host := s[hs:i]
	if !uriHostnameOrIPv4(host) {
		return 0, false
	}
	if i < len(s) && s[i] == ':' {
		ps := i + 1
		for i = ps; i < len(s) && uriClass[s[i]]&ucDigit != 0; i++ {
		}
		if n, ok := parseUint(s[ps:i], 65535); !ok || n == 0 {
			return 0, false
		}
	}
	// uri-parameters, in a name-addr only: after an addr-spec the
	// parameters are header parameters (RFC 3261 §20.10).
	for angle && i < len(s) && s[i] == ';' {
		j := i + 1
		for j < len(s) && uriClass[s[j]]&ucParam != 0 {
			j++
		}
		if j == i+1 {
			return 0, false
		}
		if j < len(s) && s[j] == '=' {
			k := j + 1
			for k < len(s) && uriClass[s[k]]&ucParam != 0 {
				k++
			}
			if k == j+1 {
				return 0, false
			}
			j = k
		}
		i = j
	}
	if angle && i < len(s) && s[i] == '>' || !angle && (i == len(s) || s[i] == ';') {
		return i, true
	}
	return 0, false
}

// wellFormedUser: the user characters wellFormedSIPURI takes: unreserved
// and "+", all of which user allows (RFC 3261 §25.1), and the host
// characters, so that one scan covers a user or a host.
var wellFormedUser = func() (t [256]bool) {
	for c := range 256 {
		t[c] = uriClass[c]&(ucUnres|ucHost) != 0 || c == '+'
	}
	return t
}()
