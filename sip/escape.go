package sip

import "strings"

// Character classes of the URI grammar (RFC 3261 §25.1, RFC 3966 §3), one
// bit each in uriClass. They are built from literal character lists rather
// than from the tables of lex.go, which are filled in by an init function
// that runs after package-level variables are initialized.
const (
	ucAlpha    uint16 = 1 << iota // ALPHA
	ucDigit                       // DIGIT
	ucHex                         // HEXDIG
	ucUnres                       // unreserved = alphanum / mark
	ucUser                        // user: unreserved / user-unreserved
	ucPass                        // password: unreserved / "&" / "=" / "+" / "$" / ","
	ucParam                       // paramchar: param-unreserved / unreserved
	ucHnv                         // hname, hvalue: hnv-unreserved / unreserved
	ucHost                        // hostname and IPv4address: alphanum / "-" / "."
	ucScheme                      // scheme: ALPHA / DIGIT / "+" / "-" / "."
	ucReserved                    // reserved (RFC 2396 §2.2, RFC 3261 §25.1)
	ucURIC                        // uric = reserved / unreserved, plus "[" "]" (RFC 2732)
	ucVisual                      // visual-separator (RFC 3966 §3): "-" / "." / "(" / ")"
)

// uriClass is a read-only table of the classes above, indexed by byte.
var uriClass = func() (t [256]uint16) {
	set := func(chars string, c uint16) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= c
		}
	}
	const (
		alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		digit = "0123456789"
		mark  = "-_.!~*'()"
	)
	unres := alpha + digit + mark
	set(alpha, ucAlpha|ucScheme|ucHost)
	set(digit, ucDigit|ucHex|ucScheme|ucHost)
	set("abcdefABCDEF", ucHex)
	set(unres, ucUnres|ucUser|ucPass|ucParam|ucHnv|ucURIC)
	set("&=+$,;?/", ucUser)       // user-unreserved
	set("&=+$,", ucPass)          // password
	set("[]/:&+$", ucParam)       // param-unreserved
	set("[]/?:+$", ucHnv)         // hnv-unreserved
	set("-.", ucHost)             // hostname
	set("+-.", ucScheme)          // scheme
	set(";/?:@&=+$,", ucReserved) // reserved
	set(";/?:@&=+$,[]", ucURIC)   // uric
	set("-.()", ucVisual)         // visual-separator
	return t
}()

func escIsHex(c byte) bool { return uriClass[c]&ucHex != 0 }

func escLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// escValid reports whether s[i] starts a well-formed escape:
// escaped = "%" HEXDIG HEXDIG (RFC 3261 §25.1).
func escValid(s string, i int) bool {
	return i+2 < len(s) && s[i] == '%' && escIsHex(s[i+1]) && escIsHex(s[i+2])
}

// Unescape decodes the %HH escapes of a URI component (RFC 3261 §19.1.2,
// RFC 2396 §2.4.1). It decodes once: "%2541" gives "%41" (RFC 4475
// §3.1.1.3). A string without '%' is returned as it is, without
// allocating. ok is false, and s is returned, when a '%' is not followed by
// two hexadecimal digits.
func Unescape(s string) (string, bool) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s, true
	}
	n := 0
	for j := i; j < len(s); j++ {
		if s[j] == '%' {
			if !escValid(s, j) {
				return s, false
			}
			n++
			j += 2
		}
	}
	var b strings.Builder
	b.Grow(len(s) - 2*n)
	b.WriteString(s[:i])
	for j := i; j < len(s); j++ {
		c := s[j]
		if c == '%' {
			c = unhex(s[j+1])<<4 | unhex(s[j+2])
			j += 2
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// EscapeUser escapes s for the user part of a SIP or SIPS URI: every byte
// that is neither unreserved nor user-unreserved (RFC 3261 §25.1), '%'
// included, becomes %HH (§19.1.2). "j@s0n" gives "j%40s0n".
func EscapeUser(s string) string { return escapeClass(s, ucUser) }

// EscapePassword escapes s for the password of a SIP or SIPS URI
// (RFC 3261 §25.1: unreserved / "&" / "=" / "+" / "$" / ",").
func EscapePassword(s string) string { return escapeClass(s, ucPass) }

// EscapeParam escapes s for the name or value of a uri-parameter
// (RFC 3261 §25.1 paramchar: param-unreserved / unreserved).
func EscapeParam(s string) string { return escapeClass(s, ucParam) }

// EscapeHeader escapes s for the hname or hvalue of a URI header
// (RFC 3261 §25.1: hnv-unreserved / unreserved), so that all reserved
// characters are escaped (§19.1.2).
func EscapeHeader(s string) string { return escapeClass(s, ucHnv) }

// escapeClass writes every byte of s outside class as %HH (upper-case hex).
// It returns s itself when nothing needs escaping.
func escapeClass(s string, class uint16) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if uriClass[s[i]]&class == 0 {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if uriClass[c]&class != 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// escUnit reads one character of a URI component at s[i] for comparison and
// returns it with the index after it. RFC 3261 §19.1.4: "Characters other
// than those in the reserved set (see RFC 2396) are equivalent to their
// "%" HEX HEX encoding." An escape decodes to its character, except an
// escaped reserved character, which is marked with 0x100 so that it differs
// from the same character unescaped ("%3B" is not ";").
func escUnit(s string, i int) (int, int) {
	if s[i] == '%' && escValid(s, i) {
		c := unhex(s[i+1])<<4 | unhex(s[i+2])
		if uriClass[c]&ucReserved != 0 {
			return 0x100 | int(c), i + 3
		}
		return int(c), i + 3
	}
	return int(s[i]), i + 1
}

// escEqual compares two URI components under RFC 3261 §19.1.4: escapes of
// unreserved characters equal the characters, hex digits in escapes are
// case-insensitive; with fold, ASCII letters compare case-insensitively.
// It does not allocate.
func escEqual(a, b string, fold bool) bool {
	if a == b {
		return true
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		var x, y int
		x, i = escUnit(a, i)
		y, j = escUnit(b, j)
		if fold {
			if 'A' <= x && x <= 'Z' {
				x += 'a' - 'A'
			}
			if 'A' <= y && y <= 'Z' {
				y += 'a' - 'A'
			}
		}
		if x != y {
			return false
		}
	}
	return i == len(a) && j == len(b)
}

// escSingle reports the character a component stands for when it is a
// single character, escaped or not ("s", "%73").
func escSingle(s string) (byte, bool) {
	switch {
	case len(s) == 1:
		return s[0], true
	case len(s) == 3 && escValid(s, 0):
		return unhex(s[1])<<4 | unhex(s[2]), true
	}
	return 0, false
}
