package sip

import (
	"net/netip"
	"strconv"
	"strings"
)

// URI is a parsed URI (RFC 3261 §19.1, §25.1; RFC 3966 for tel).
// SIP and SIPS URIs are split into their parts; tel URIs keep the number in
// User and the parameters in Params; any other absoluteURI is kept opaque.
// Parts are kept as written (escaped); Unescape decodes them.
//
// ParseURI makes the parts substrings of its input, so a parsed URI costs no
// allocation and serializes back as it came.
type URI struct {
	Scheme   string // "sip", "sips", "tel" (lowercased), or another scheme as written
	User     string // user part, escaped as written; for tel, the number
	Password string // password after ':' in userinfo, escaped as written
	HasPass  bool   // userinfo had ':' (so an empty password is distinct from none)
	Host     string // host name, IPv4 address, or IPv6 reference with its brackets
	Port     int    // 0 when absent
	Params   Params // uri-parameters, each with its leading ';'
	Headers  string // headers after '?', without the '?'; "" when absent
	Opaque   string // for schemes other than sip, sips, tel: all after "scheme:"
}

// Schemes ParseURI stores in lower case.
const (
	uriSchemeSIP  = "sip"
	uriSchemeSIPS = "sips"
	uriSchemeTel  = "tel"
)

// uriKind is how a URI is structured, by scheme.
type uriKind uint8

const (
	uriOther uriKind = iota // absoluteURI kept opaque
	uriSIP
	uriSIPS
	uriTel
)

func (u *URI) kind() uriKind {
	switch {
	case strings.EqualFold(u.Scheme, uriSchemeSIP):
		return uriSIP
	case strings.EqualFold(u.Scheme, uriSchemeSIPS):
		return uriSIPS
	case strings.EqualFold(u.Scheme, uriSchemeTel):
		return uriTel
	case u.Scheme == "" && u.Host != "":
		return uriSIP // a URI built in code with only a host
	}
	return uriOther
}

// uriErr makes the error for a flaw at s[off]. Whitespace gets its own
// reason, since LWS inside a URI is a common fault (RFC 4475 §3.1.2.8), as
// does a bad escape.
func uriErr(s string, off int, reason string) *ParseError {
	if off >= 0 && off < len(s) {
		switch c := s[off]; {
		case isLWS(c):
			reason = "whitespace in uri"
		case c == '%' && !escValid(s, off):
			reason = "malformed escape"
		}
	}
	return &ParseError{Offset: off, Reason: reason}
}

// uriScan returns the index of the first byte at or after s[i] that is
// neither in class nor the start of a well-formed escape.
func uriScan(s string, i int, class uint16) int {
	for i < len(s) {
		if uriClass[s[i]]&class != 0 {
			i++
		} else if escValid(s, i) {
			i += 3
		} else {
			break
		}
	}
	return i
}

// ParseURI parses a SIP or SIPS URI (RFC 3261 §19.1.1, §25.1), a tel URI
// (RFC 3966 §3) or another absoluteURI, which is kept opaque. The scheme is
// matched without regard to case; every part is a substring of s.
//
// The URI must be exactly s: no whitespace, no enclosing "<>" (RFC 4475
// §3.1.2.7, §3.1.2.8). Errors are *ParseError values whose Offset is the
// byte offset of the flaw in s.
func ParseURI(s string) (URI, error) {
	var u URI
	// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
	i := 0
	for i < len(s) && uriClass[s[i]]&ucScheme != 0 {
		i++
	}
	switch {
	case s == "":
		return u, uriErr(s, 0, "empty uri")
	case s[0] == '<':
		return u, uriErr(s, 0, "uri enclosed in <>")
	case uriClass[s[0]]&ucAlpha == 0:
		return u, uriErr(s, 0, "malformed scheme")
	case i == len(s) || s[i] != ':':
		return u, uriErr(s, i, "malformed scheme")
	}
	var err *ParseError
	switch scheme := s[:i]; {
	case len(scheme) == 3 && strings.EqualFold(scheme, uriSchemeSIP):
		u.Scheme = uriSchemeSIP
		err = u.parseSIP(s, i+1)
	case len(scheme) == 4 && strings.EqualFold(scheme, uriSchemeSIPS):
		u.Scheme = uriSchemeSIPS
		err = u.parseSIP(s, i+1)
	case len(scheme) == 3 && strings.EqualFold(scheme, uriSchemeTel):
		u.Scheme = uriSchemeTel
		err = u.parseTel(s, i+1)
	default:
		u.Scheme = scheme
		err = u.parseOpaque(s, i+1)
	}
	if err != nil {
		return URI{}, err
	}
	return u, nil
}

// parseSIP parses what follows "sip:" or "sips:" at s[p]:
//
//	[ userinfo ] hostport uri-parameters [ headers ]   (RFC 3261 §25.1)
func (u *URI) parseSIP(s string, p int) *ParseError {
	// RFC 3261 §25.1: userinfo = ( user / telephone-subscriber )
	// [ ":" password ] "@". Neither user nor password nor anything after
	// the host may hold '@', while user may hold ';', '?', '/' and ','
	// (user-unreserved): the '@' decides where userinfo ends, so that
	// "sip:user;par=u%40example.net@example.com" has the user
	// "user;par=u%40example.net" (RFC 4475 §3.1.1.9, RFC 3261 §19.1.3).
	if at := uriUserinfoEnd(s, p); at >= 0 {
		user, pass := s[p:at], ""
		if c := strings.IndexByte(user, ':'); c >= 0 {
			user, pass = user[:c], user[c+1:]
			u.HasPass = true
		}
		// §19.1.1: "If the @ sign is present in a SIP or SIPS URI, the
		// user field MUST NOT be empty."
		if user == "" {
			return uriErr(s, p, "empty user")
		}
		// user = 1*( unreserved / escaped / user-unreserved )
		if j := uriScan(s, p, ucUser); j != p+len(user) {
			return uriErr(s, j, "malformed user")
		}
		// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
		if u.HasPass {
			ps := p + len(user) + 1
			if j := uriScan(s, ps, ucPass); j != at {
				return uriErr(s, j, "malformed password")
			}
		}
		u.User, u.Password = user, pass
		p = at + 1
	}

	// host = hostname / IPv4address / IPv6reference
	hs := p
	if p < len(s) && s[p] == '[' {
		e := strings.IndexByte(s[p:], ']')
		if e < 0 {
			return uriErr(s, p, "malformed host")
		}
		if _, ok := uriIPv6(s[p+1 : p+e]); !ok {
			return uriErr(s, p, "malformed host")
		}
		p += e + 1
	} else {
		for p < len(s) && uriClass[s[p]]&ucHost != 0 {
			p++
		}
		if p == hs {
			// RFC 3261 §19.1.2 Table 1: the host is mandatory.
			return uriErr(s, p, "missing host")
		}
		if !uriHostnameOrIPv4(s[hs:p]) {
			return uriErr(s, hs, "malformed host")
		}
	}
	u.Host = s[hs:p]
	reason := "malformed host"

	// port = 1*DIGIT; 0 is no port a request can go to.
	if p < len(s) && s[p] == ':' {
		p++
		ps := p
		for p < len(s) && uriClass[s[p]]&ucDigit != 0 {
			p++
		}
		n, ok := parseUint(s[ps:p], 65535)
		if !ok || n == 0 {
			return uriErr(s, ps, "invalid port")
		}
		u.Port = int(n)
		reason = "invalid port"
	}

	// uri-parameters = *( ";" uri-parameter ), uri-parameter = pname
	// [ "=" pvalue ], pname = pvalue = 1*paramchar (other-param covers the
	// parameters with a syntax of their own).
	ps := p
	for p < len(s) && s[p] == ';' {
		p++
		j := uriScan(s, p, ucParam)
		if j == p {
			return uriErr(s, p, "malformed uri parameter")
		}
		p = j
		if p < len(s) && s[p] == '=' {
			p++
			if j = uriScan(s, p, ucParam); j == p {
				return uriErr(s, p, "malformed uri parameter")
			}
			p = j
		}
		reason = "malformed uri parameter"
	}
	u.Params = Params(s[ps:p])

	// headers = "?" header *( "&" header ), header = hname "=" hvalue,
	// hname = 1*( hnv-unreserved / unreserved / escaped ), hvalue = *(...).
	if p < len(s) && s[p] == '?' {
		p++
		hs := p
		for {
			j := uriScan(s, p, ucHnv)
			if j == p || j == len(s) || s[j] != '=' {
				return uriErr(s, j, "malformed uri header")
			}
			p = uriScan(s, j+1, ucHnv)
			if p < len(s) && s[p] == '&' {
				p++
				continue
			}
			break
		}
		u.Headers = s[hs:p]
		reason = "malformed uri header"
	}
	if p != len(s) {
		return uriErr(s, p, reason)
	}
	return nil
}

// uriUserinfoEnd returns the index of the '@' that ends the userinfo
// starting at s[p], or -1 when there is no userinfo.
func uriUserinfoEnd(s string, p int) int {
	for ; p < len(s); p++ {
		c := s[p]
		if uriClass[c]&(ucUser|ucPass) == 0 && c != '%' && c != ':' {
			if c == '@' {
				return p
			}
			break
		}
	}
	return -1
}

// uriAll reports whether every byte of s is in class.
func uriAll(s string, class uint16) bool {
	for i := 0; i < len(s); i++ {
		if uriClass[s[i]]&class == 0 {
			return false
		}
	}
	return true
}

// uriIsHostname reports whether h is a hostname (RFC 3261 §25.1):
//
//	hostname    = *( domainlabel "." ) toplabel [ "." ]
//	domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum
//	toplabel    = ALPHA / ALPHA *( alphanum / "-" ) alphanum
func uriIsHostname(h string) bool {
	if n := len(h); n > 0 && h[n-1] == '.' {
		h = h[:n-1]
	}
	if h == "" {
		return false
	}
	// One pass: prev is the byte before h[i] ('.' at the start), top the
	// start of the last label.
	prev, top := byte('.'), 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		if uriClass[c]&(ucAlpha|ucDigit) == 0 {
			switch {
			case c == '-' && prev != '.':
			case c == '.' && prev != '.' && prev != '-':
				top = i + 1
			default:
				return false
			}
		}
		prev = c
	}
	// The last label is not empty ("a..") and is a toplabel.
	return prev != '-' && prev != '.' && uriClass[h[top]]&ucAlpha != 0
}

// uriHostnameOrIPv4 reports whether h is a hostname or an IPv4address
// (RFC 3261 §25.1). A host that starts with a digit is tried as an
// address first: it mostly is one, and a hostname check would read it
// to its end before failing.
func uriHostnameOrIPv4(h string) bool {
	if h != "" && uriClass[h[0]]&ucDigit != 0 {
		if _, ok := uriIPv4(h); ok {
			return true
		}
	}
	return uriIsHostname(h)
}

// uriIPv4 parses an IPv4address. RFC 5954 §4.1 replaces the 1*3DIGIT octets
// of RFC 3261 with the dec-octet of RFC 3986: 0 to 255 without leading
// zeros, so "sip:bob@444.555.666.777" is no longer valid.
func uriIPv4(h string) (a [4]byte, ok bool) {
	i := 0
	for n := range 4 {
		if n > 0 {
			if i == len(h) || h[i] != '.' {
				return a, false
			}
			i++
		}
		j, v := i, 0
		for j < len(h) && j-i < 3 && uriClass[h[j]]&ucDigit != 0 {
			v = v*10 + int(h[j]-'0')
			j++
		}
		if j == i || v > 255 || (j-i > 1 && h[i] == '0') {
			return a, false
		}
		a[n] = byte(v)
		i = j
	}
	return a, i == len(h)
}

// uriIPv6 parses the IPv6address inside an IPv6reference, with the grammar
// of RFC 3986 that RFC 5954 §4.1 puts in place of RFC 3261's. Following RFC
// 5118 §4.10, the extra colon the old grammar allowed before an embedded
// IPv4 address ("2001:db8:::192.0.2.1") is tolerated.
func uriIPv6(h string) (netip.Addr, bool) {
	// netip.ParseAddr also takes IPv4 addresses and zones ("%eth0"), which
	// an IPv6reference does not.
	if strings.IndexByte(h, ':') < 0 || strings.IndexByte(h, '%') >= 0 {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		i := strings.Index(h, ":::")
		if i < 0 || strings.IndexByte(h[i+3:], ':') >= 0 || strings.IndexByte(h[i+3:], '.') < 0 {
			return netip.Addr{}, false
		}
		if ip, err = netip.ParseAddr(h[:i+2] + h[i+3:]); err != nil {
			return netip.Addr{}, false
		}
	}
	return ip, ip.Is6()
}

// uriHostIP returns the address a host stands for when it is an IPv4
// address or an IPv6 reference.
func uriHostIP(h string) (netip.Addr, bool) {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return uriIPv6(h[1 : len(h)-1])
	}
	if a, ok := uriIPv4(h); ok {
		return netip.AddrFrom4(a), true
	}
	return netip.Addr{}, false
}

// uriHostEqual compares hosts: host names without regard to case
// (RFC 3261 §19.1.4), IP addresses by their binary value (RFC 5954 §4.2).
// A name never equals an address, even one it resolves to.
func uriHostEqual(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	x, ok1 := uriHostIP(a)
	y, ok2 := uriHostIP(b)
	return ok1 && ok2 && x == y
}

// parseTel parses what follows "tel:" at s[p] (RFC 3966 §3):
//
//	telephone-subscriber = global-number / local-number
//	global-number        = global-number-digits *par
//	local-number         = local-number-digits *par context *par
//	par                  = parameter / extension / isdn-subaddress
func (u *URI) parseTel(s string, p int) *ParseError {
	end := strings.IndexByte(s[p:], ';')
	if end < 0 {
		end = len(s)
	} else {
		end += p
	}
	number := s[p:end]
	global := strings.HasPrefix(number, "+")
	if j := telNumberEnd(number, global); j != len(number) {
		return uriErr(s, p+j, "malformed telephone number")
	}
	if !telHasDigit(number, global) {
		return uriErr(s, p, "malformed telephone number")
	}
	hasContext := false
	for q := end; q < len(s); {
		q++ // ';'
		e := strings.IndexByte(s[q:], ';')
		if e < 0 {
			e = len(s)
		} else {
			e += q
		}
		name, value, hasValue := s[q:e], "", false
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, value, hasValue = name[:eq], name[eq+1:], true
		}
		if !telIsPname(name) {
			return uriErr(s, q, "malformed tel parameter")
		}
		if hasValue && !telValueOK(name, value) || !hasValue && telNeedsValue(name) {
			return uriErr(s, q, "malformed tel parameter")
		}
		if strings.EqualFold(name, "phone-context") {
			hasContext = true
		}
		q = e
	}
	// RFC 3966 §5.1.5: a local number MUST have a phone-context.
	if !global && !hasContext {
		return uriErr(s, end, "missing phone-context")
	}
	u.User, u.Params = number, Params(s[end:])
	return nil
}

// telNumberEnd returns the length of the valid prefix of a tel number:
//
//	global-number-digits = "+" *phonedigit DIGIT *phonedigit
//	local-number-digits  = *phonedigit-hex (HEXDIG / "*" / "#") *phonedigit-hex
//	phonedigit           = DIGIT / [ visual-separator ]
//	phonedigit-hex       = HEXDIG / "*" / "#" / [ visual-separator ]
func telNumberEnd(n string, global bool) int {
	i := 0
	if global {
		i = 1
	}
	for ; i < len(n); i++ {
		c := n[i]
		if uriClass[c]&(ucDigit|ucVisual) != 0 {
			continue
		}
		if !global && (uriClass[c]&ucHex != 0 || c == '*' || c == '#') {
			continue
		}
		break
	}
	return i
}

// telHasDigit reports whether a tel number has a digit (global) or a
// HEXDIG, '*' or '#' (local), not only visual separators.
func telHasDigit(n string, global bool) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if uriClass[c]&ucDigit != 0 || !global && (uriClass[c]&ucHex != 0 || c == '*' || c == '#') {
			return true
		}
	}
	return false
}

// telIsPname: pname = 1*( alphanum / "-" ).
func telIsPname(s string) bool {
	for i := 0; i < len(s); i++ {
		if uriClass[s[i]]&(ucAlpha|ucDigit) == 0 && s[i] != '-' {
			return false
		}
	}
	return s != ""
}

// telNeedsValue: ext, isub and phone-context always have a value.
func telNeedsValue(name string) bool {
	return strings.EqualFold(name, "ext") || strings.EqualFold(name, "isub") ||
		strings.EqualFold(name, "phone-context")
}

// telValueOK validates a tel parameter value (RFC 3966 §3):
//
//	extension       = ";ext=" 1*phonedigit
//	isdn-subaddress = ";isub=" 1*uric
//	context         = ";phone-context=" descriptor
//	descriptor      = domainname / global-number-digits
//	pvalue          = 1*paramchar
func telValueOK(name, v string) bool {
	if v == "" {
		return false
	}
	switch {
	case strings.EqualFold(name, "ext"):
		return uriAll(v, ucDigit|ucVisual)
	case strings.EqualFold(name, "isub"):
		return uriScan(v, 0, ucURIC) == len(v)
	case strings.EqualFold(name, "phone-context"):
		if v[0] == '+' {
			return telNumberEnd(v, true) == len(v) && telHasDigit(v, true)
		}
		return uriIsHostname(v)
	}
	return uriScan(v, 0, ucParam) == len(v)
}

// parseOpaque keeps what follows "scheme:" at s[p], checking that it is
// made of uric (RFC 3261 §25.1 absoluteURI: hier-part / opaque-part), with
// "[" and "]" for IPv6 literals (RFC 2732).
func (u *URI) parseOpaque(s string, p int) *ParseError {
	if p == len(s) {
		return uriErr(s, p, "empty uri")
	}
	if j := uriScan(s, p, ucURIC); j != len(s) {
		return uriErr(s, j, "malformed uri")
	}
	u.Opaque = s[p:]
	return nil
}

// String returns the URI in its textual form. A parsed URI comes back as it
// was written, but for the scheme of a sip, sips or tel URI, in lower case.
func (u URI) String() string {
	var buf [128]byte
	return string(u.AppendTo(buf[:0]))
}

// AppendTo appends the textual form of the URI to b. A URI with no scheme
// but a host is written as a sip URI; the zero URI writes nothing.
func (u *URI) AppendTo(b []byte) []byte {
	switch u.kind() {
	case uriSIP, uriSIPS:
		if u.Scheme == "" {
			b = append(b, uriSchemeSIP...)
		} else {
			b = append(b, u.Scheme...)
		}
		b = append(b, ':')
		if u.User != "" || u.hasPass() {
			b = append(b, u.User...)
			if u.hasPass() {
				b = append(b, ':')
				b = append(b, u.Password...)
			}
			b = append(b, '@')
		}
		b = append(b, u.Host...)
		if u.Port != 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(u.Port), 10)
		}
		b = append(b, u.Params...)
		if u.Headers != "" {
			b = append(b, '?')
			b = append(b, u.Headers...)
		}
	case uriTel:
		b = append(b, u.Scheme...)
		b = append(b, ':')
		b = append(b, u.User...)
		b = append(b, u.Params...)
	default:
		if u.Scheme == "" && u.Opaque == "" {
			return b
		}
		b = append(b, u.Scheme...)
		b = append(b, ':')
		b = append(b, u.Opaque...)
	}
	return b
}

func (u *URI) hasPass() bool { return u.HasPass || u.Password != "" }

// Hostport returns host[":"port] (RFC 3261 §25.1 hostport), the port only
// when the URI has one.
func (u URI) Hostport() string {
	if u.Port == 0 {
		return u.Host
	}
	return u.Host + ":" + strconv.Itoa(u.Port)
}

// IsSIP reports whether the URI is a SIP or SIPS URI.
func (u URI) IsSIP() bool {
	k := u.kind()
	return k == uriSIP || k == uriSIPS
}

// UserUnescaped returns the user part (for tel, the number) with its
// escapes decoded (RFC 3261 §19.1.2). A malformed escape is left as it is.
func (u URI) UserUnescaped() string {
	s, _ := Unescape(u.User)
	return s
}

// Equal reports whether u and v are equivalent URIs.
//
// SIP and SIPS URIs follow RFC 3261 §19.1.4: a SIP and a SIPS URI never
// match; userinfo compares case-sensitively and the rest without regard to
// case; a character other than a reserved one equals its %HH escape; the
// user, password, host and port must all match, each absent in both or
// present in both, so sip:a@h differs from sip:a@h:5060; IP addresses
// compare by value (RFC 5954 §4.2); the order of parameters and headers
// does not matter; a parameter in both URIs must match, transport, user,
// ttl, method and maddr must be in both or in neither, and any other
// parameter in only one is ignored; the headers must be the same in both.
//
// tel URIs follow RFC 3966 §4 and other URIs must have the same scheme
// (without regard to case) and the same text after it.
func (u URI) Equal(v URI) bool {
	k := u.kind()
	if k != v.kind() {
		// RFC 3261 §19.1.4: "A SIP and SIPS URI are never equivalent."
		return false
	}
	switch k {
	case uriTel:
		return telEqual(&u, &v)
	case uriOther:
		return strings.EqualFold(u.Scheme, v.Scheme) && u.Opaque == v.Opaque
	}
	// RFC 3261 §19.1.4: "Comparison of the userinfo of SIP and SIPS URIs is
	// case-sensitive." "A URI omitting the user component will not match a
	// URI that includes one. A URI omitting the password component will
	// not match a URI that includes one."
	if !escEqual(u.User, v.User, false) || u.hasPass() != v.hasPass() ||
		!escEqual(u.Password, v.Password, false) {
		return false
	}
	// "For two URIs to be equal, the user, password, host, and port
	// components must match." "A URI omitting the optional port component
	// will not match a URI explicitly declaring port 5060."
	if u.Port != v.Port || !uriHostEqual(u.Host, v.Host) {
		return false
	}
	return uriParamsCovered(u.Params, v.Params) && uriParamsCovered(v.Params, u.Params) &&
		uriHeadersEqual(u.Headers, v.Headers)
}

// uriParamLookup finds the first parameter of p whose name is equivalent to
// name (escapes decoded, case ignored).
func uriParamLookup(p Params, name string) (value string, hasValue, found bool) {
	s := string(p)
	for {
		n, v, hv, rest, ok := nextParam(s)
		if !ok {
			return "", false, false
		}
		if escEqual(n, name, true) {
			return v, hv, true
		}
		s = rest
	}
}

// uriParamsCovered checks the uri-parameters of a against b (RFC 3261
// §19.1.4): "Any uri-parameter appearing in both URIs must match." "A
// user, ttl, or method uri-parameter appearing in only one URI never
// matches, even if it contains the default value." "A URI that includes an
// maddr parameter will not match a URI that contains no maddr parameter."
// The transport parameter is one of the components with a default value
// that must not be omitted in one URI only ("The same is true for the
// transport-parameter, ttl-parameter, user-parameter, and method
// components."). "All other uri-parameters appearing in only one URI are
// ignored when comparing the URIs."
func uriParamsCovered(a, b Params) bool {
	s := string(a)
	for {
		name, _, _, rest, ok := nextParam(s)
		if !ok {
			return true
		}
		s = rest
		// Compare the first occurrence in a, so that a repeated name (which
		// §19.1.1 forbids) still compares equal to itself.
		va, ha, _ := uriParamLookup(a, name)
		vb, hb, found := uriParamLookup(b, name)
		if !found {
			for _, must := range [...]string{"transport", "user", "ttl", "method", "maddr"} {
				if escEqual(name, must, true) {
					return false
				}
			}
			continue
		}
		if ha != hb {
			return false
		}
		if escEqual(name, "maddr", true) && uriHostEqual(va, vb) {
			continue
		}
		if !escEqual(va, vb, true) {
			return false
		}
	}
}

// uriHeadersEqual compares URI headers as multisets (RFC 3261 §19.1.4:
// "Any present header component MUST be present in both URIs and match for
// the URIs to match."): names without regard to case or compact form,
// values exactly, escapes decoded.
func uriHeadersEqual(a, b string) bool {
	if a == b {
		return true
	}
	if a == "" || b == "" || strings.Count(a, "&") != strings.Count(b, "&") {
		return false
	}
	for h := range strings.SplitSeq(a, "&") {
		if uriHeaderCount(a, h) != uriHeaderCount(b, h) {
			return false
		}
	}
	return true
}

func uriHeaderCount(hs, h string) int {
	hn, hv, _ := strings.Cut(h, "=")
	n := 0
	for x := range strings.SplitSeq(hs, "&") {
		xn, xv, _ := strings.Cut(x, "=")
		if escEqual(hv, xv, false) && uriHeaderNameEqual(hn, xn) {
			n++
		}
	}
	return n
}

// uriCompact maps the compact header names of RFC 3261 §7.3.3 to the full
// ones.
func uriCompact(c byte) string {
	switch c | 0x20 {
	case 'c':
		return "Content-Type"
	case 'e':
		return "Content-Encoding"
	case 'f':
		return "From"
	case 'i':
		return "Call-ID"
	case 'k':
		return "Supported"
	case 'l':
		return "Content-Length"
	case 'm':
		return "Contact"
	case 's':
		return "Subject"
	case 't':
		return "To"
	case 'v':
		return "Via"
	}
	return ""
}

func uriHeaderNameEqual(a, b string) bool {
	if escEqual(a, b, true) {
		return true
	}
	if c, ok := escSingle(a); ok {
		if full := uriCompact(c); full != "" && escEqual(full, b, true) {
			return true
		}
	}
	if c, ok := escSingle(b); ok {
		if full := uriCompact(c); full != "" && escEqual(full, a, true) {
			return true
		}
	}
	return false
}

// telEqual compares tel URIs (RFC 3966 §4): "Both must be either a
// 'local-number' or a 'global-number'"; "the 'global-number-digits' and
// the 'local-number-digits' must be equal, after removing all visual
// separators"; the phone-context is "compared as a host name if it is a
// 'domainname' or digit by digit if it is 'global-number-digits'";
// "Parameters are compared according to 'pname', regardless of the order
// they appeared in the URI. If one URI has a parameter name not found in
// the other, the two URIs are not equal."; "URI comparisons are
// case-insensitive."
func telEqual(u, v *URI) bool {
	if strings.HasPrefix(u.User, "+") != strings.HasPrefix(v.User, "+") ||
		!telDigitsEqual(u.User, v.User) {
		return false
	}
	return telParamsCovered(u.Params, v.Params) && telParamsCovered(v.Params, u.Params)
}

func telParamsCovered(a, b Params) bool {
	s := string(a)
	for {
		name, _, _, rest, ok := nextParam(s)
		if !ok {
			return true
		}
		s = rest
		va, ha, _ := uriParamLookup(a, name)
		vb, hb, found := uriParamLookup(b, name)
		if !found || ha != hb {
			return false
		}
		switch {
		case strings.EqualFold(name, "ext"),
			strings.EqualFold(name, "phone-context") && strings.HasPrefix(va, "+"):
			if !telDigitsEqual(va, vb) {
				return false
			}
		case !escEqual(va, vb, true):
			return false
		}
	}
}

// telDigitsEqual compares phone numbers ignoring visual separators
// (RFC 3966 §5.1.1) and case.
func telDigitsEqual(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && uriClass[a[i]]&ucVisual != 0 {
			i++
		}
		for j < len(b) && uriClass[b[j]]&ucVisual != 0 {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if escLower(a[i]) != escLower(b[j]) {
			return false
		}
		i++
		j++
	}
}
