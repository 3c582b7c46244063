package location

import (
	"errors"
	"strings"

	"github.com/sipd/sipd/sip"
)

// Errors of CanonicalAOR.
var (
	ErrNotSIP    = errors.New("location: address-of-record is not a SIP or SIPS URI")
	ErrNoUser    = errors.New("location: address-of-record has no user part")
	ErrNoHost    = errors.New("location: address-of-record has no host")
	ErrBadEscape = errors.New("registrar: malformed escape in address-of-record")
)

// CanonicalAOR returns the canonical form of an address-of-record, the key
// of its bindings in the location service: "sip:" user "@" host.
//
// RFC 3261 §10.3 step 5: "all URI parameters MUST be removed (including
// the user-param), and any escaped characters MUST be converted to their
// unescaped form." So the parameters, headers, password and port go; the
// user part is unescaped and then escaped again where the user grammar
// needs it (EscapeUser, upper-case hex), so that "%61lice" and "alice"
// give one key, and a user holding '@' or a NUL ("null-%00-null", RFC 4475
// §3.1.1.4) stays one unambiguous string. The user part keeps its case
// (§19.1.4: userinfo compares case-sensitively); the host is lowered.
//
// A sips AOR gives the same key as the sip one, as in Kamailio, where an
// AOR is user@domain: a user has one set of bindings whichever scheme the
// UA registered or a caller dialled. Whether a contact may be reached for a
// SIPS request (§19.1.4, RFC 5630) is for the proxy to check on the
// contact itself.
//
// A URI other than SIP or SIPS gives ErrNotSIP (§10.2: the To of a
// REGISTER "MUST be a SIP URI or SIPS URI"), one without a user part
// ErrNoUser, one with a malformed escape in its user part ErrBadEscape.
// The proxy looks bindings up with the same function, applied to the
// Request-URI.
func CanonicalAOR(u sip.URI) (string, error) {
	user, host, err := CanonicalParts(u)
	if err != nil {
		return "", err
	}
	return "sip:" + user + "@" + host, nil
}

// CanonicalParts returns the canonical user part (escaped) and host of an
// AOR, as CanonicalAOR joins them.
func CanonicalParts(u sip.URI) (user, host string, err error) {
	switch {
	case !u.IsSIP():
		return "", "", ErrNotSIP
	case u.User == "":
		return "", "", ErrNoUser
	case u.Host == "":
		return "", "", ErrNoHost
	}
	plain, ok := sip.Unescape(u.User)
	if !ok {
		return "", "", ErrBadEscape
	}
	return sip.EscapeUser(plain), strings.ToLower(u.Host), nil
}
