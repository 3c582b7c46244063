package sip

import "strings"

// This file parses and formats the values of the authentication header
// fields: WWW-Authenticate and Proxy-Authenticate carry a Challenge
// (RFC 3261 §20.44, §20.27), Authorization and Proxy-Authorization carry
// Credentials (§20.7, §20.28). The grammar is that of RFC 3261 §25.1, which
// takes it from RFC 2617, extended by RFC 7616 (userhash, charset,
// username*, SHA-256 and SHA-512-256 algorithms), which RFC 8760 §2 puts in
// place of RFC 2617 for SIP. Computing and checking digests is not done here.
//
// Parsing accepts a token where the grammar asks for a quoted-string and
// the reverse (realm=example.com, algorithm="MD5", qop=auth in a challenge);
// the value is checked once unquoted. RFC 7616 §3.3 and §3.4 bind senders
// to one form per parameter ("for historical reasons"), and formatting
// follows them, but a receiver loses nothing by accepting both. The
// parameters with a grammar of their own (nc, stale, userhash, algorithm,
// qop, charset) are checked; the opaque strings (realm, nonce, response,
// ...) are taken as they come, only refusing control characters.

// AuthParam is an auth-param (RFC 3261 §25.1: auth-param-name EQUAL
// ( token / quoted-string )) that Challenge or Credentials has no field for:
// every parameter of a scheme other than Digest, and Digest extensions.
type AuthParam struct {
	// Name is the auth-param-name as written. Names compare
	// case-insensitively.
	Name string
	// Value is the value, with a quoted-string's quotes removed and its
	// quoted-pairs resolved.
	Value string
	// Quoted reports that the value was a quoted-string. It is written as
	// one again (a value that is not a token always is).
	Quoted bool
}

// Challenge is the value of a WWW-Authenticate or Proxy-Authenticate header
// field (RFC 3261 §20.44, §20.27; the challenge rule of §25.1).
//
// For the Digest scheme (§22.4, RFC 2617 §3.2.1, RFC 7616 §3.3) the known
// parameters fill the fields and any other parameter goes to Other. For any
// other scheme every parameter goes to Other, in order, and the Digest
// fields stay empty.
type Challenge struct {
	// Scheme is the auth-scheme as written, such as "Digest". Schemes
	// compare case-insensitively; an empty Scheme is written as "Digest".
	Scheme string

	Realm  string // realm: the protection space
	Domain string // domain: space-separated URIs of the protection space
	Nonce  string // nonce
	Opaque string // opaque: to be returned unchanged in the credentials
	// Algorithm is a token such as "MD5", "MD5-sess", "SHA-256" or
	// "SHA-512-256" (RFC 8760 §2.7); "" means MD5.
	Algorithm string
	// Stale reports that the request was refused only because its nonce
	// was stale (stale=true), so the client may retry without asking the
	// user again.
	Stale bool
	// QOP lists the qop-options: the quality of protection values the
	// server supports ("auth", "auth-int" or other tokens).
	QOP []string
	// Charset is the charset auth-param of RFC 7616 §3.3; its only defined
	// value is "UTF-8".
	Charset string
	// Userhash reports that the server supports hashed user names
	// (RFC 7616 §3.3).
	Userhash bool

	// Other holds the remaining auth-params in order.
	Other []AuthParam
}

// Credentials is the value of an Authorization or Proxy-Authorization
// header field (RFC 3261 §20.7, §20.28; the credentials rule of §25.1).
//
// For the Digest scheme (§22.4, RFC 2617 §3.2.2, RFC 7616 §3.4) the known
// parameters fill the fields and any other parameter (username* among them)
// goes to Other. For any other scheme every parameter goes to Other, in
// order, and the Digest fields stay empty.
type Credentials struct {
	// Scheme is the auth-scheme as written, such as "Digest". Schemes
	// compare case-insensitively; an empty Scheme is written as "Digest".
	Scheme string

	Username string // username (a hash of it when Userhash is set)
	Realm    string // realm
	Nonce    string // nonce, from the challenge
	URI      string // uri: the digest-uri, the Request-URI of the request
	Response string // response: the request-digest, in hex
	// Algorithm is the algorithm token taken from the challenge; "" means
	// MD5.
	Algorithm string
	CNonce    string // cnonce
	Opaque    string // opaque, from the challenge
	QOP       string // qop: the one quality of protection applied
	// NC is the nonce-count, 8 hex digits (RFC 3261 §25.1 nc-value). See
	// NonceCount.
	NC string
	// Userhash reports that Username is a hash of the user name
	// (RFC 7616 §3.4).
	Userhash bool

	// Other holds the remaining auth-params in order.
	Other []AuthParam
}

// IDs of the auth-params that Challenge and Credentials have fields for.
const (
	apNone = iota
	apRealm
	apDomain
	apNonce
	apOpaque
	apStale
	apAlgorithm
	apQOP
	apCharset
	apUserhash
	apUsername
	apUsernameExt // username* (RFC 7616 §3.4); kept in Other
	apURI
	apResponse
	apCNonce
	apNC
)

var authParamNames = [...]string{
	apRealm:       "realm",
	apDomain:      "domain",
	apNonce:       "nonce",
	apOpaque:      "opaque",
	apStale:       "stale",
	apAlgorithm:   "algorithm",
	apQOP:         "qop",
	apCharset:     "charset",
	apUserhash:    "userhash",
	apUsername:    "username",
	apUsernameExt: "username*",
	apURI:         "uri",
	apResponse:    "response",
	apCNonce:      "cnonce",
	apNC:          "nc",
}

// authParamID returns the ID of a Digest auth-param name, any case, or
// apNone. It does not allocate.
func authParamID(name string) int {
	var cands [3]int
	switch len(name) {
	case 2:
		cands = [3]int{apNC}
	case 3:
		cands = [3]int{apQOP, apURI}
	case 5:
		cands = [3]int{apRealm, apNonce, apStale}
	case 6:
		cands = [3]int{apDomain, apOpaque, apCNonce}
	case 7:
		cands = [3]int{apCharset}
	case 8:
		cands = [3]int{apUserhash, apUsername, apResponse}
	case 9:
		cands = [3]int{apAlgorithm, apUsernameExt}
	default:
		return apNone
	}
	for _, id := range cands {
		if id != apNone && strings.EqualFold(name, authParamNames[id]) {
			return id
		}
	}
	return apNone
}

// IsDigest reports whether the challenge is of the Digest scheme.
func (c Challenge) IsDigest() bool { return isDigestScheme(c.Scheme) }

// IsDigest reports whether the credentials are of the Digest scheme.
func (c Credentials) IsDigest() bool { return isDigestScheme(c.Scheme) }

func isDigestScheme(s string) bool { return s == "" || strings.EqualFold(s, "Digest") }

// NonceCount returns NC as a number. ok is false when NC is not 8 hex
// digits.
func (c Credentials) NonceCount() (n uint32, ok bool) {
	if !isNonceCount(c.NC) {
		return 0, false
	}
	for i := 0; i < len(c.NC); i++ {
		n = n<<4 | uint32(unhex(c.NC[i]))
	}
	return n, true
}

// isNonceCount checks nc-value = 8LHEX (RFC 3261 §25.1). Upper-case hex
// digits are accepted too: they say the same count.
func isNonceCount(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if unhex(s[i]) > 15 {
			return false
		}
	}
	return true
}

func authErr(reason string) error { return perr("", -1, reason) }

// ParseChallenge parses a WWW-Authenticate or Proxy-Authenticate value:
// an auth-scheme, LWS and a comma-separated list of auth-params
// (RFC 3261 §25.1 challenge, RFC 7235 §2.1). A scheme without parameters
// is accepted. Parameter names are case-insensitive; a known Digest
// parameter may appear only once, and its value must be well formed:
// stale and userhash "true" or "false", algorithm and charset tokens, qop a
// quoted list of tokens (a single bare token is taken as a list of one).
//
// Errors are *ParseError without a header name; the caller knows which
// field the value came from.
func ParseChallenge(s string) (Challenge, error) {
	var c Challenge
	scheme, rest, err := cutAuthScheme(s)
	if err != nil {
		return c, err
	}
	c.Scheme = scheme
	digest := isDigestScheme(scheme)
	var seen uint32
	for rest != "" {
		var p AuthParam
		var reason string
		p, rest, reason = nextAuthParam(rest)
		if reason != "" {
			return Challenge{}, authErr(reason)
		}
		id := apNone
		if digest {
			id = authParamID(p.Name)
		}
		switch id {
		case apRealm, apDomain, apNonce, apOpaque, apStale, apAlgorithm, apQOP, apCharset, apUserhash:
		default:
			c.Other = append(c.Other, p)
			continue
		}
		if seen&(1<<id) != 0 {
			return Challenge{}, authErr("duplicate " + authParamNames[id])
		}
		seen |= 1 << id
		ok := true
		switch id {
		case apRealm:
			c.Realm = p.Value
		case apDomain:
			c.Domain = p.Value
		case apNonce:
			c.Nonce = p.Value
		case apOpaque:
			c.Opaque = p.Value
		case apStale:
			c.Stale, ok = parseAuthBool(p.Value)
		case apAlgorithm:
			c.Algorithm, ok = p.Value, isToken(p.Value)
		case apQOP:
			c.QOP, ok = parseQOPOptions(p.Value)
		case apCharset:
			c.Charset, ok = p.Value, isToken(p.Value)
		case apUserhash:
			c.Userhash, ok = parseAuthBool(p.Value)
		}
		if !ok {
			return Challenge{}, authErr("malformed " + authParamNames[id])
		}
	}
	return c, nil
}

// ParseCredentials parses an Authorization or Proxy-Authorization value:
// an auth-scheme, LWS and a comma-separated list of auth-params
// (RFC 3261 §25.1 credentials). A scheme without parameters is accepted.
// Parameter names are case-insensitive; a known Digest parameter may appear
// only once, and its value must be well formed: nc 8 hex digits, qop,
// algorithm a token, userhash "true" or "false". username and username*
// together are an error (RFC 7616 §3.4).
//
// Errors are *ParseError without a header name; the caller knows which
// field the value came from.
func ParseCredentials(s string) (Credentials, error) {
	var c Credentials
	scheme, rest, err := cutAuthScheme(s)
	if err != nil {
		return c, err
	}
	c.Scheme = scheme
	digest := isDigestScheme(scheme)
	var seen uint32
	for rest != "" {
		var p AuthParam
		var reason string
		p, rest, reason = nextAuthParam(rest)
		if reason != "" {
			return Credentials{}, authErr(reason)
		}
		id := apNone
		if digest {
			id = authParamID(p.Name)
		}
		switch id {
		case apUsername, apRealm, apNonce, apURI, apResponse, apAlgorithm, apCNonce, apOpaque, apQOP, apNC, apUserhash:
		case apUsernameExt:
			if seen&(1<<apUsername) != 0 {
				return Credentials{}, authErr("both username and username*")
			}
			seen |= 1 << apUsernameExt
			c.Other = append(c.Other, p)
			continue
		default:
			c.Other = append(c.Other, p)
			continue
		}
		if seen&(1<<id) != 0 {
			return Credentials{}, authErr("duplicate " + authParamNames[id])
		}
		seen |= 1 << id
		ok := true
		switch id {
		case apUsername:
			if seen&(1<<apUsernameExt) != 0 {
				return Credentials{}, authErr("both username and username*")
			}
			c.Username = p.Value
		case apRealm:
			c.Realm = p.Value
		case apNonce:
			c.Nonce = p.Value
		case apURI:
			c.URI = p.Value
		case apResponse:
			c.Response = p.Value
		case apAlgorithm:
			c.Algorithm, ok = p.Value, isToken(p.Value)
		case apCNonce:
			c.CNonce = p.Value
		case apOpaque:
			c.Opaque = p.Value
		case apQOP:
			// message-qop is a single token (RFC 7616 §3.4), not the
			// quoted list of the challenge.
			c.QOP, ok = p.Value, isToken(p.Value)
		case apNC:
			c.NC, ok = p.Value, isNonceCount(p.Value)
		case apUserhash:
			c.Userhash, ok = parseAuthBool(p.Value)
		}
		if !ok {
			return Credentials{}, authErr("malformed " + authParamNames[id])
		}
	}
	return c, nil
}

// cutAuthScheme splits the auth-scheme token off s. rest is "" when no
// parameters follow, and otherwise starts with the LWS after the scheme.
func cutAuthScheme(s string) (scheme, rest string, err error) {
	s = trimLWS(s)
	if s == "" {
		return "", "", authErr("missing auth-scheme")
	}
	i := 0
	for i < len(s) && tokenChars[s[i]] {
		i++
	}
	if i == 0 || (i < len(s) && !isLWS(s[i])) {
		return "", "", authErr("malformed auth-scheme")
	}
	return s[:i], s[i:], nil
}

// nextAuthParam reads one auth-param from the start of s, which may begin
// with LWS: auth-param-name EQUAL ( token / quoted-string ), where EQUAL
// allows LWS either side of "=" (RFC 3261 §25.1). It returns the rest after
// the COMMA that follows, or "" at the end; a comma must be followed by
// another auth-param. reason is set when s does not start with a
// well-formed auth-param.
func nextAuthParam(s string) (p AuthParam, rest, reason string) {
	i := authSkipLWS(s, 0)
	j := i
	for j < len(s) && tokenChars[s[j]] {
		j++
	}
	if j == i {
		return p, "", "malformed auth-param"
	}
	p.Name = s[i:j]
	j = authSkipLWS(s, j)
	if j == len(s) || s[j] != '=' {
		return p, "", "malformed auth-param"
	}
	j = authSkipLWS(s, j+1)
	if j < len(s) && s[j] == '"' {
		end, escaped, why := scanAuthQuoted(s, j)
		if why != "" {
			return p, "", why
		}
		p.Quoted = true
		if escaped {
			p.Value, _ = Unquote(s[j:end]) // checked by scanAuthQuoted
		} else {
			p.Value = s[j+1 : end-1]
		}
		j = end
	} else {
		k := j
		for k < len(s) && tokenChars[s[k]] {
			k++
		}
		if k == j {
			return p, "", "malformed auth-param"
		}
		p.Value = s[j:k]
		j = k
	}
	j = authSkipLWS(s, j)
	if j == len(s) {
		return p, "", ""
	}
	if s[j] != ',' {
		return p, "", "malformed auth-param"
	}
	rest = s[j+1:]
	if authSkipLWS(rest, 0) == len(rest) {
		return p, "", "malformed auth-param" // trailing comma
	}
	return p, rest, ""
}

func authSkipLWS(s string, i int) int {
	for i < len(s) && isLWS(s[i]) {
		i++
	}
	return i
}

// scanAuthQuoted finds the end of the quoted-string at s[i] == '"'
// (RFC 3261 §25.1: qdtext and quoted-pair). It returns the index just past
// the closing quote and whether a quoted-pair occurs. Control characters
// other than HTAB are refused, escaped or not: qdtext excludes them, and
// although quoted-pair admits some, no value needs one and they could not be
// written back safely.
func scanAuthQuoted(s string, i int) (end int, escaped bool, reason string) {
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '"':
			return j + 1, escaped, ""
		case c == '\\':
			escaped = true
			j++
			if j == len(s) {
				return 0, false, "unterminated quoted-string"
			}
			if isAuthCTL(s[j]) {
				return 0, false, "control character in quoted-string"
			}
		case isAuthCTL(c):
			return 0, false, "control character in quoted-string"
		}
	}
	return 0, false, "unterminated quoted-string"
}

// isAuthCTL reports a control character other than HTAB.
func isAuthCTL(c byte) bool { return (c < 0x20 && c != '\t') || c == 0x7f }

// parseAuthBool reads "true" or "false", any case (RFC 3261 §25.1 stale,
// RFC 7616 §3.3 userhash).
func parseAuthBool(v string) (b, ok bool) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, true
	case strings.EqualFold(v, "false"):
		return false, true
	}
	return false, false
}

// parseQOPOptions splits qop-options (RFC 3261 §25.1: LDQUOT qop-value
// *("," qop-value) RDQUOT, already unquoted) into its tokens. LWS may
// surround the commas, as in RFC 7616 §3.9.1's qop="auth, auth-int".
func parseQOPOptions(v string) ([]string, bool) {
	n := strings.Count(v, ",") + 1
	qs := make([]string, 0, n)
	for {
		e, rest, found := strings.Cut(v, ",")
		e = trimLWS(e)
		if !isToken(e) {
			return nil, false
		}
		qs = append(qs, e)
		if !found {
			return qs, true
		}
		v = rest
	}
}

// String returns the header field value, as AppendTo writes it.
func (c Challenge) String() string { return string(c.AppendTo(nil)) }

// AppendTo appends the header field value to b. For Digest, realm, domain,
// nonce, opaque and qop are quoted-strings and stale, algorithm, charset and
// userhash are not (RFC 7616 §3.3); realm and nonce, which a Digest
// challenge requires, are always written, the other parameters only when
// set. Other follows. A scheme other than Digest is written with Other
// only.
//
// Characters no quoted-string can carry (control characters other than
// HTAB) are written as spaces.
func (c Challenge) AppendTo(b []byte) []byte {
	b = appendAuthScheme(b, c.Scheme)
	start := len(b)
	if !c.IsDigest() {
		return appendOtherAuthParams(b, start, c.Other)
	}
	b = appendAuthParam(b, start, "realm", c.Realm, true)
	if c.Domain != "" {
		b = appendAuthParam(b, start, "domain", c.Domain, true)
	}
	b = appendAuthParam(b, start, "nonce", c.Nonce, true)
	if c.Opaque != "" {
		b = appendAuthParam(b, start, "opaque", c.Opaque, true)
	}
	if c.Stale {
		b = appendAuthParam(b, start, "stale", "true", false)
	}
	if c.Algorithm != "" {
		b = appendAuthParam(b, start, "algorithm", c.Algorithm, false)
	}
	if len(c.QOP) > 0 {
		b = appendAuthSep(b, start)
		b = append(b, "qop=\""...)
		for i, q := range c.QOP {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAuthQuotedText(b, q)
		}
		b = append(b, '"')
	}
	if c.Charset != "" {
		b = appendAuthParam(b, start, "charset", c.Charset, false)
	}
	if c.Userhash {
		b = appendAuthParam(b, start, "userhash", "true", false)
	}
	return appendOtherAuthParams(b, start, c.Other)
}

// String returns the header field value, as AppendTo writes it.
func (c Credentials) String() string { return string(c.AppendTo(nil)) }

// AppendTo appends the header field value to b. For Digest, username,
// realm, nonce, uri, response, cnonce and opaque are quoted-strings and
// algorithm, qop, nc and userhash are not (RFC 7616 §3.4). username, realm,
// nonce, uri and response, which Digest credentials require, are always
// written, even empty, as a first request without a challenge sends them
// (RFC 8760 §2.7); username is left out when empty and Other holds a
// username*. The other parameters are written only when set, and Other
// follows. A scheme other than Digest is written with Other only.
//
// Characters no quoted-string can carry (control characters other than
// HTAB) are written as spaces.
func (c Credentials) AppendTo(b []byte) []byte {
	b = appendAuthScheme(b, c.Scheme)
	start := len(b)
	if !c.IsDigest() {
		return appendOtherAuthParams(b, start, c.Other)
	}
	if c.Username != "" || !hasAuthParam(c.Other, "username*") {
		b = appendAuthParam(b, start, "username", c.Username, true)
	}
	b = appendAuthParam(b, start, "realm", c.Realm, true)
	b = appendAuthParam(b, start, "nonce", c.Nonce, true)
	b = appendAuthParam(b, start, "uri", c.URI, true)
	b = appendAuthParam(b, start, "response", c.Response, true)
	if c.Algorithm != "" {
		b = appendAuthParam(b, start, "algorithm", c.Algorithm, false)
	}
	if c.CNonce != "" {
		b = appendAuthParam(b, start, "cnonce", c.CNonce, true)
	}
	if c.Opaque != "" {
		b = appendAuthParam(b, start, "opaque", c.Opaque, true)
	}
	if c.QOP != "" {
		b = appendAuthParam(b, start, "qop", c.QOP, false)
	}
	if c.NC != "" {
		b = appendAuthParam(b, start, "nc", c.NC, false)
	}
	if c.Userhash {
		b = appendAuthParam(b, start, "userhash", "true", false)
	}
	return appendOtherAuthParams(b, start, c.Other)
}

func hasAuthParam(ps []AuthParam, name string) bool {
	for _, p := range ps {
		if strings.EqualFold(p.Name, name) {
			return true
		}
	}
	return false
}

func appendAuthScheme(b []byte, scheme string) []byte {
	if scheme == "" {
		scheme = "Digest"
	}
	return append(b, scheme...)
}

func appendOtherAuthParams(b []byte, start int, ps []AuthParam) []byte {
	for _, p := range ps {
		b = appendAuthParam(b, start, p.Name, p.Value, p.Quoted)
	}
	return b
}

// appendAuthParam appends name=value after a separator (see appendAuthSep).
// The value
// is written as a quoted-string when quoted is set or when it is not a
// token.
func appendAuthParam(b []byte, start int, name, value string, quoted bool) []byte {
	b = appendAuthSep(b, start)
	b = append(b, name...)
	b = append(b, '=')
	if !quoted && isToken(value) {
		return append(b, value...)
	}
	b = append(b, '"')
	b = appendAuthQuotedText(b, value)
	return append(b, '"')
}

// appendAuthSep appends the LWS after the scheme, when b ends with it
// (start is the length of b just after it), or else a COMMA.
func appendAuthSep(b []byte, start int) []byte {
	if len(b) == start {
		return append(b, ' ')
	}
	return append(b, ", "...)
}

// appendAuthQuotedText appends s as the inside of a quoted-string: '"' and
// '\' become quoted-pairs (RFC 3261 §25.1), control characters other than
// HTAB, which no quoted-string carries safely, become spaces.
func appendAuthQuotedText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case isAuthCTL(c):
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return b
}
