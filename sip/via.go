package sip

import (
	"net/netip"
	"strconv"
	"strings"
)

// MagicCookie starts every branch made by an RFC 3261 element (§8.1.1.7).
const MagicCookie = "z9hG4bK"

// Via is one via-parm of a Via header field (RFC 3261 §20.42):
//
//	via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
//	sent-protocol = protocol-name SLASH protocol-version SLASH transport
//	sent-by       = host [ COLON port ]
type Via struct {
	Proto     string // protocol-name "/" protocol-version, normally "SIP/2.0"
	Transport string // as written: "UDP", "TCP", "TLS", "SCTP", "WS", or an extension
	Host      string // host name, IPv4 address or bracketed IPv6 reference
	Port      int    // 0 when absent
	Params    Params // via-params with their leading ';'
}

// ParseVia parses one via-parm. LWS around '/' and ':' is allowed (RFC 3261
// §20.42); parameters must be well formed (no empty ";;", RFC 4475
// §3.1.2.1).
func ParseVia(s string) (Via, error) {
	if v, ok := parseViaUsual(s); ok {
		if err := v.checkParams(); err != nil {
			return Via{}, err
		}
		return v, nil
	}
	return parseViaGrammar(s)
}

// parseViaGrammar is ParseVia for any form the grammar allows.
func parseViaGrammar(s string) (Via, error) {
	var v Via
	s = trimLWS(s)
	name, rest, ok := cutSlash(s)
	if !ok {
		return v, viaErr("malformed sent-protocol")
	}
	version, rest, ok := cutSlash(rest)
	if !ok {
		return v, viaErr("malformed sent-protocol")
	}
	rest = trimLeftLWS(rest)
	i := 0
	for i < len(rest) && tokenChars[rest[i]] {
		i++
	}
	transport := rest[:i]
	if !isToken(name) || !isToken(version) || transport == "" {
		return v, viaErr("malformed sent-protocol")
	}
	rest = rest[i:]
	if len(rest) == 0 || !isLWS(rest[0]) {
		return v, viaErr("malformed sent-by")
	}
	rest = trimLeftLWS(rest)
	end := strings.IndexByte(rest, ';')
	if end < 0 {
		end = len(rest)
	}
	host, port, ok := splitSentBy(trimLWS(rest[:end]))
	if !ok {
		return v, viaErr("malformed sent-by")
	}
	v.Params = Params(rest[end:])
	if err := v.checkParams(); err != nil {
		return Via{}, err
	}
	if len(name) == 3 && len(version) == 3 && strings.EqualFold(name, "SIP") && version == "2.0" {
		v.Proto = Version
	} else {
		v.Proto = name + "/" + version
	}
	v.Transport, v.Host, v.Port = transport, host, port
	return v, nil
}

// parseViaUsual takes a via-parm in the form every element writes,
// "SIP/2.0/" transport SP host [ ":" port ] params, with a host name or
// IPv4 address and no other white space, in one pass; the parameters are
// left for checkParams. ok is false for any other form, which ParseVia
// takes apart as the grammar allows, to the same Via.
func parseViaUsual(s string) (v Via, ok bool) {
	const proto = Version + "/"
	if len(s) <= len(proto) || s[:len(proto)] != proto || isLWS(s[len(s)-1]) {
		return v, false
	}
	i := len(proto)
	for i < len(s) && tokenChars[s[i]] {
		i++
	}
	if i == len(proto) || i == len(s) || s[i] != ' ' {
		return v, false
	}
	transport := s[len(proto):i]
	i++
	hs := i
	for i < len(s) && uriClass[s[i]]&ucHost != 0 {
		i++
	}
	host := s[hs:i]
	if !uriHostnameOrIPv4(host) {
		return v, false
	}
	if i < len(s) && s[i] == ':' {
		ps := i + 1
		for i = ps; i < len(s) && uriClass[s[i]]&ucDigit != 0; i++ {
		}
		n, isPort := parseUint(s[ps:i], 65535)
		if !isPort || n == 0 {
			return v, false
		}
		v.Port = int(n)
	}
	if i < len(s) && s[i] != ';' {
		return v, false
	}
	v.Proto, v.Transport, v.Host, v.Params = Version, transport, host, Params(s[i:])
	return v, true
}

func viaErr(reason string) error { return &ParseError{Header: "Via", Offset: -1, Reason: reason} }

// cutSlash splits at the first '/', trimming LWS around both parts.
func cutSlash(s string) (before, after string, ok bool) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return "", "", false
	}
	return trimLWS(s[:i]), trimLeftLWS(s[i+1:]), true
}

// splitSentBy splits host [ COLON port ], LWS allowed around the colon.
func splitSentBy(s string) (host string, port int, ok bool) {
	hostEnd := len(s)
	if strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return "", 0, false
		}
		hostEnd = i + 1
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		hostEnd = i
	}
	host = trimLWS(s[:hostEnd])
	if !validHost(host) {
		return "", 0, false
	}
	rest := trimLWS(s[hostEnd:])
	if rest == "" {
		return host, 0, true
	}
	if rest[0] != ':' {
		return "", 0, false
	}
	n, ok := parseUint(trimLWS(rest[1:]), 65535)
	if !ok || n == 0 {
		return "", 0, false
	}
	return host, int(n), true
}

// validHost checks host = hostname / IPv4address / IPv6reference
// (RFC 3261 §25.1, RFC 5954 for IP addresses), as URIs do.
func validHost(h string) bool {
	if _, ok := uriHostIP(h); ok {
		return true
	}
	return uriIsHostname(h)
}

// checkParams checks the via-params in one pass: as generic-params (RFC
// 3261 §25.1, Params.check), and the values of the parameters RFC 3261
// §20.42 and RFC 3581 define: ttl (0-255), maddr (host), received (an IP
// address), branch (token) and rport (empty or a port). A malformed list is
// reported before a malformed known value, wherever each is.
func (v *Via) checkParams() error {
	bad := "" // the first known parameter with a malformed value
	for s := string(v.Params); ; {
		s = trimLeftLWS(s)
		if s == "" {
			break
		}
		name, val, rest, reason := checkParam(s)
		if reason != "" {
			return viaErr(reason)
		}
		s = rest
		if bad == "" && !viaParamOK(name, val) {
			bad = name
		}
	}
	if bad != "" {
		return viaErr("malformed " + strings.ToLower(bad) + " parameter")
	}
	return nil
}

// viaParamOK checks the value of one via-param; names compare without
// regard to case, and the lengths pick the candidate before any fold.
func viaParamOK(name, val string) bool {
	switch len(name) {
	case 3: // ttl
		if strings.EqualFold(name, "ttl") {
			_, ok := parseUint(val, 255)
			return ok
		}
	case 5: // maddr, rport
		if strings.EqualFold(name, "maddr") {
			return validHost(val)
		}
		if strings.EqualFold(name, "rport") {
			// RFC 3581 §3: response-port = "rport" [EQUAL 1*DIGIT]; a
			// value names a real port.
			if val == "" {
				return true
			}
			n, isNum := parseUint(val, 65535)
			return isNum && n > 0
		}
	case 6: // branch
		if strings.EqualFold(name, "branch") {
			return isToken(val)
		}
	case 8: // received
		if strings.EqualFold(name, "received") {
			return validIPAddr(trimBrackets(val))
		}
	}
	return true
}

// trimBrackets is strings.Trim(s, "[]") without building a cutset.
func trimBrackets(s string) string {
	for s != "" && (s[0] == '[' || s[0] == ']') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == '[' || s[len(s)-1] == ']') {
		s = s[:len(s)-1]
	}
	return s
}

// validIPAddr reports whether s is an IP address as netip.ParseAddr takes
// it. A string without ':' can only be an IPv4 address, and uriIPv4 has
// netip's rules for those (0-255, no leading zeros) without its cost.
func validIPAddr(s string) bool {
	if strings.IndexByte(s, ':') < 0 {
		_, ok := uriIPv4(s)
		return ok
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// Branch returns the branch parameter, or "".
func (v Via) Branch() string { b, _ := v.Params.Get("branch"); return b }

// HasRFC3261Branch reports whether the branch starts with the magic cookie
// and carries something after it (RFC 3261 §17.2.3; a bare cookie, as in
// RFC 4475 §3.2.1, identifies nothing).
func (v Via) HasRFC3261Branch() bool {
	b := v.Branch()
	return len(b) > len(MagicCookie) && b[:len(MagicCookie)] == MagicCookie
}

// Received returns the received parameter, or "".
func (v Via) Received() string { r, _ := v.Params.Get("received"); return r }

// RPort returns the rport parameter (RFC 3581): its value (0 when it
// has none, as a request asking for it carries it) and whether it is present.
func (v Via) RPort() (port int, ok bool) {
	s, ok := v.Params.Get("rport")
	if !ok {
		return 0, false
	}
	n, _ := parseUint(s, 65535)
	return int(n), true
}

// MAddr returns the maddr parameter, or "".
func (v Via) MAddr() string { m, _ := v.Params.Get("maddr"); return m }

// TTL returns the ttl parameter and whether it is present.
func (v Via) TTL() (int, bool) {
	s, ok := v.Params.Get("ttl")
	if !ok {
		return 0, false
	}
	n, _ := parseUint(s, 255)
	return int(n), true
}

// SentBy returns host[:port] as it would be written.
func (v Via) SentBy() string {
	if v.Port == 0 {
		return v.Host
	}
	return v.Host + ":" + strconv.Itoa(v.Port)
}

// AppendTo appends the via-parm in wire form.
func (v *Via) AppendTo(b []byte) []byte {
	if v.Proto == "" {
		b = append(b, Version...)
	} else {
		b = append(b, v.Proto...)
	}
	b = append(b, '/')
	b = append(b, v.Transport...)
	b = append(b, ' ')
	b = append(b, v.Host...)
	if v.Port != 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(v.Port), 10)
	}
	return append(b, v.Params...)
}

// String returns the via-parm in wire form.
func (v Via) String() string { return string(v.AppendTo(make([]byte, 0, 64))) }
