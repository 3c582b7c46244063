package sip

import "strings"

// Character classes of RFC 3261 §25.1.
var (
	tokenChars   [256]bool // token
	wordChars    [256]bool // word (Call-ID)
	unreserved   [256]bool // alphanum / mark
	hostChars    [256]bool // hostname, IPv4 and the inside of an IPv6 reference
	paramUnres   [256]bool // param-unreserved
	hnvUnres     [256]bool // hnv-unreserved
	userUnres    [256]bool // user-unreserved
	passwordOnly [256]bool // characters password allows beside unreserved

	// genValueChars: a gen-value that is not a quoted-string (token,
	// hostname, IPv4 address) or an IPv6 address as Via's received
	// parameter carries it, unbracketed (RFC 3261 §20.42).
	genValueChars [256]bool
)

func init() {
	for c := 'a'; c <= 'z'; c++ {
		setAll(byte(c))
	}
	for c := 'A'; c <= 'Z'; c++ {
		setAll(byte(c))
	}
	for c := '0'; c <= '9'; c++ {
		setAll(byte(c))
	}
	for _, c := range []byte("-.!%*_+`'~") {
		tokenChars[c] = true
	}
	for _, c := range []byte("-.!%*_+`'~()<>:\\\"/[]?{}") {
		wordChars[c] = true
	}
	for _, c := range []byte("-_.!~*'()") {
		unreserved[c] = true
	}
	for _, c := range []byte("-.:") {
		hostChars[c] = true
	}
	for _, c := range []byte("[]/:&+$") {
		paramUnres[c] = true
	}
	for _, c := range []byte("[]/?:+$") {
		hnvUnres[c] = true
	}
	for _, c := range []byte("&=+$,;?/") {
		userUnres[c] = true
	}
	for _, c := range []byte("&=+$,") {
		passwordOnly[c] = true
	}
	genValueChars = tokenChars
	genValueChars[':'] = true
}

func setAll(c byte) {
	tokenChars[c] = true
	wordChars[c] = true
	unreserved[c] = true
	hostChars[c] = true
}

// isToken: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~").
func isToken(s string) bool { return allIn(s, &tokenChars) }

// isWord: word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" /
// "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}").
func isWord(s string) bool { return allIn(s, &wordChars) }

// allIn reports whether s is not empty and every byte of it is in class.
func allIn(s string, class *[256]bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !class[s[i]] {
			return false
		}
	}
	return true
}

func isWS(c byte) bool { return c == ' ' || c == '\t' }

func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// trimLWS removes linear white space (SP, HTAB and the CRLF of a fold) from
// both ends.
func trimLWS(s string) string {
	i, j := 0, len(s)
	for i < j && isLWS(s[i]) {
		i++
	}
	for j > i && isLWS(s[j-1]) {
		j--
	}
	return s[i:j]
}

// Unquote returns the content of a quoted-string with its quoted-pairs
// resolved (RFC 3261 §25.1). A string that is not quoted is returned as it is,
// with ok true. ok is false for an unterminated quoted-string.
func Unquote(s string) (string, bool) {
	if len(s) == 0 || s[0] != '"' {
		return s, true
	}
	if len(s) < 2 || s[len(s)-1] != '"' {
		return s, false
	}
	in := s[1 : len(s)-1]
	if strings.IndexByte(in, '\\') < 0 {
		return in, true
	}
	var b strings.Builder
	b.Grow(len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c == '\\' {
			i++
			if i == len(in) {
				return s, false
			}
			c = in[i]
		} else if c == '"' {
			return s, false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// Quote makes a quoted-string of s, escaping '"' and '\'.
func Quote(s string) string {
	if strings.IndexByte(s, '"') < 0 && strings.IndexByte(s, '\\') < 0 {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// quotedEnd returns the index just past the quoted-string that starts at
// s[i] == '"', or -1 when it is not terminated.
func quotedEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// nextValue splits the first element off a comma-separated header value
// (RFC 3261 §7.3.1), honouring quoted-strings and <...> URIs, in which a
// comma does not separate. It returns the element trimmed of LWS and the rest
// after the comma; ok is false when a quote or bracket is left open.
func nextValue(s string) (v, rest string, ok bool) {
	v, rest, _, ok = splitValue(s)
	return v, rest, ok
}

// splitValue is nextValue that also tells whether a comma was found, so that
// an empty element after a trailing comma is not lost.
func splitValue(s string) (v, rest string, more, ok bool) {
	if strings.IndexByte(s, ',') < 0 && strings.IndexByte(s, '"') < 0 {
		// One element, as most values are: found with the vectorized
		// IndexByte rather than a loop over every byte. It is
		// unterminated when a '<' is not closed by a later '>'.
		ok = strings.IndexByte(s, '<') < 0 || strings.LastIndexByte(s, '<') < strings.LastIndexByte(s, '>')
		return trimLWS(s), "", false, ok
	}
	return splitValueLoop(s)
}

// splitValueLoop is splitValue byte by byte.
func splitValueLoop(s string) (v, rest string, more, ok bool) {
	angle := false
	for i := 0; i < len(s); i++ {
		if !valueSpecial[s[i]] {
			continue
		}
		switch s[i] {
		case '"':
			if angle {
				continue
			}
			e := quotedEnd(s, i)
			if e < 0 {
				return trimLWS(s), "", false, false
			}
			i = e - 1
		case '<':
			angle = true
		case '>':
			angle = false
		case ',':
			if !angle {
				return trimLWS(s[:i]), s[i+1:], true, true
			}
		}
	}
	return trimLWS(s), "", false, !angle
}

// valueSpecial marks the bytes splitValue acts on.
var valueSpecial = [256]bool{'"': true, '<': true, '>': true, ',': true}

// unhex returns the value of a hex digit, or 0xff for any other byte.
func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0xff
}

// parseUint parses a decimal number of at most max; leading zeros are
// allowed (RFC 4475 §3.1.1.1). ok is false for an empty, non-decimal or too
// large value.
func parseUint(s string, max uint64) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}
