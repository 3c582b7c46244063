package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config sets the realm, algorithms, nonce lifetime and replay tracking of
// an Authenticator. The zero value is usable: every field left zero takes
// the default its comment names.
type Config struct {
	// Realm is the digest realm used when Check and Challenge are given
	// none. When it is empty too, the realm is the request's domain, as
	// Kamailio derives it: the To host for REGISTER (the AOR being
	// registered), the From host for other requests, the Request-URI host
	// when those do not parse; in lower case. RFC 3261 §22.1 asks realms
	// to be globally unique and to contain a host or domain name. The
	// realm is also the UserStore's domain, and part of every stored
	// H(A1), so it must not change once users are stored.
	Realm string

	// Algorithms are the digest algorithms offered, most preferred first:
	// Challenge writes one WWW-/Proxy-Authenticate per algorithm in this
	// order (RFC 8760 §2.3), and Check accepts credentials only with one
	// of them, so that a man in the middle cannot downgrade a client to an
	// algorithm we did not offer (RFC 8760 §3). Each is "SHA-256" or
	// "MD5", any case, at most once: a User stores H(A1) for those two
	// only. Default ["SHA-256", "MD5"]: SHA-256 first, MD5 for the many
	// phones that know nothing else.
	Algorithms []string

	// NonceTTL is how long a nonce is accepted after it was issued; 5
	// minutes when zero, like Kamailio's nonce_expire (300 s). Long enough
	// for a user to type a password and for a client to reuse a nonce
	// (with nc+1) for the next requests, short enough that a stolen nonce
	// is soon useless and that the replay tracker, whose entries live as
	// long as their nonce, stays small. A credential with an expired nonce
	// but a right response is challenged again with stale=true, so the
	// client retries with the new nonce without asking its user (RFC 7616
	// §3.3, RFC 2617 §3.2.1): the cost of expiry is one round trip.
	NonceTTL time.Duration

	// Secret is the HMAC-SHA256 key that makes nonces unforgeable; at
	// least 16 bytes. When nil, New draws 32 random bytes, so nonces die
	// with the process. Nodes of a cluster that should accept each other's
	// nonces share one Secret (replay tracking stays per node, see
	// MaxNonces).
	Secret []byte

	// MaxNonces bounds the nonces whose nonce-counts are remembered for
	// replay protection (RFC 2617 §3.2.2 nc, RFC 3261 §26.4.1); 100000
	// when zero. An entry is made when a nonce is first used with a right
	// response and dropped when the nonce expires; when the tracker is
	// full, the nonce issued earliest is forgotten, and later credentials
	// with it are answered stale=true rather than trusted. Each entry
	// costs about 100 bytes.
	//
	// A negative value turns replay tracking off: a captured request can
	// then be replayed until its nonce expires. That is for a stateless
	// proxy, which has no transaction layer to absorb retransmissions and
	// would otherwise take every retransmitted request for a replay.
	MaxNonces int

	// Clock returns the current time; time.Now when nil. Tests set it.
	Clock func() time.Time
}

// Defaults of Config's zero fields.
const (
	DefaultNonceTTL  = 5 * time.Minute
	DefaultMaxNonces = 100000
)

// DefaultAlgorithms are the algorithms offered when Config.Algorithms is
// empty, most preferred first.
func DefaultAlgorithms() []string { return []string{AlgorithmSHA256, AlgorithmMD5} }

// minSecret is the shortest Secret accepted: 128 bits, the strength of
// the truncated tag (RFC 2104 §3 asks for keys no shorter than the tag).
const minSecret = 16

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	seen := make(map[algo]bool, len(c.Algorithms))
	for _, name := range c.Algorithms {
		a := parseAlgorithm(name)
		switch {
		case a != algMD5 && a != algSHA256:
			errs = append(errs, fmt.Errorf("auth: algorithm %q not supported (want %s or %s)",
				name, AlgorithmSHA256, AlgorithmMD5))
		case seen[a]:
			// RFC 8760 §2.3: challenges of one realm each use a
			// different algorithm.
			errs = append(errs, fmt.Errorf("auth: algorithm %s listed twice", a.name()))
		}
		seen[a] = true
	}
	if c.NonceTTL < 0 {
		errs = append(errs, errors.New("auth: negative nonce TTL"))
	}
	if c.Secret != nil && len(c.Secret) < minSecret {
		errs = append(errs, fmt.Errorf("auth: secret shorter than %d bytes", minSecret))
	}
	if strings.ContainsFunc(c.Realm, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		// A quoted-string cannot carry them (RFC 3261 §25.1 qdtext).
		errs = append(errs, errors.New("auth: control character in realm"))
	}
	return errors.Join(errs...)
}
