package registrar

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/sip"
)

// Config is the registrar's configuration. The zero value is usable: every
// field left zero takes the default its comment names.
type Config struct {
	// Domains are the domains the registrar keeps bindings for (RFC 3261
	// §10.3: "A registrar has to know ... the set of domain(s) for which
	// it maintains bindings"), compared without regard to case. A
	// REGISTER whose Request-URI names another host is answered 403
	// (Forbidden - domain not served), and one whose To names an AOR of
	// another domain 404 (§10.3 step 5). Empty means any domain, the
	// Request-URI's host standing for the one served; fine for a lab, not
	// for the open Internet.
	Domains []string

	// DefaultExpires is the expiration interval of a Contact that asks for
	// none, with neither an expires parameter nor an Expires header field
	// (§10.3 step 7's "locally-configured default"), and of one whose
	// expires parameter is malformed (§10.2: "SHOULD be treated as
	// equivalent to 3600"). Default 3600s (one hour): the value §10.2
	// names, Kamailio's default_expires, and the interval that almost
	// every phone asks for anyway.
	DefaultExpires time.Duration

	// MinExpires is the shortest interval accepted: a Contact asking for
	// less (but not 0, which removes the binding) gets the whole REGISTER
	// answered 423 (Interval Too Brief) with Min-Expires, and nothing
	// changes (§10.3 step 7, §21.4.17). Default 60s, Kamailio's
	// min_expires: short enough for the brief registrations §10.3 asks
	// registrars to accept, long enough that refreshes cannot flood the
	// store. At most one hour, since §10.3 allows 423 only for intervals
	// "smaller than one hour". (Kamailio by default raises a short
	// interval to min_expires silently, and answers 423 only with
	// min_expires_mode=1; sipd does what the RFC describes.)
	MinExpires time.Duration

	// MaxExpires caps the interval granted: a Contact asking for more is
	// bound for MaxExpires, and the 200 OK says so in its expires
	// parameter (§10.3 step 7: "The registrar MAY choose an expiration
	// less than the requested expiration interval"). Default 86400s (one
	// day): a UA that disappears without unregistering leaves a stale
	// binding that calls are forked to until it expires, so a day bounds
	// that harm while still letting a device that wants to register
	// rarely refresh only daily. At most 2**32-1 seconds (§20.19).
	MaxExpires time.Duration

	// MaxContacts is how many bindings one AOR may have; 0 means no limit.
	// A REGISTER that would leave an AOR with more bindings than that (and
	// more than it had) is refused with 403 (Too Many Registered Contacts)
	// and changes nothing, as Kamailio's max_contacts refuses it. Kamailio
	// answers 503 (Service Unavailable) with a P-Registrar-Error header;
	// sipd answers 403 because a 503 tells the client that the server is
	// overloaded and that it should retry or fail over to another server
	// (RFC 3261 §21.5.4, RFC 3263 §4.3), neither of which can help here.
	// Refreshing or removing bindings is always allowed, so lowering the
	// limit does not lock out AORs that already have more.
	MaxContacts int

	// Auth authenticates REGISTER requests (§10.3 step 3) with digest: a
	// request without valid credentials is challenged with 401 in the
	// realm Auth derives for it, the To domain unless auth.Config.Realm
	// fixes one. nil turns authentication (and so authorization) off:
	// anyone may register any AOR of our domains.
	Auth *auth.Authenticator

	// AllowedRegistrant reports whether the authenticated user authUser
	// may change the bindings of aor, the canonical AOR as a URI (§10.3
	// step 4); a user who may not is answered 403. The default lets a user
	// register only the AOR whose user part is its user name, the realm
	// being the AOR's domain (as Kamailio's auth_check with the To URI
	// and flag 1). Third-party registration needs a policy of its own.
	// It is not called when Auth is nil.
	AllowedRegistrant func(authUser string, aor sip.URI) bool

	// Clock returns the current time; time.Now when nil. Tests set it.
	Clock func() time.Time

	// Logger receives debug records of refused registrations; nil
	// discards them. Records carry component=registrar.
	Logger *slog.Logger
}

// Defaults of Config's zero fields.
const (
	DefaultDefaultExpires = 3600 * time.Second
	DefaultMinExpires     = 60 * time.Second
	DefaultMaxExpires     = 86400 * time.Second
)

// maxDelta is the largest delta-seconds value of Expires (RFC 3261 §20.19).
const maxDelta = 1<<32 - 1

// Validate reports every problem of the configuration at once. Zero
// fields are valid: they take their defaults.
func (c *Config) Validate() error {
	var errs []error
	for _, d := range c.Domains {
		if !validDomain(d) {
			errs = append(errs, fmt.Errorf("registrar: domain %q is not a host name or address", d))
		}
	}
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"default expires", c.DefaultExpires},
		{"min expires", c.MinExpires},
		{"max expires", c.MaxExpires},
	}
	for _, x := range durations {
		switch {
		case x.d < 0:
			errs = append(errs, fmt.Errorf("registrar: negative %s", x.name))
		case x.d%time.Second != 0:
			// Expires values are whole seconds (RFC 3261 §20.19).
			errs = append(errs, fmt.Errorf("registrar: %s %v is not a whole number of seconds", x.name, x.d))
		}
	}
	def, lo, hi := c.expiries()
	switch {
	case lo > time.Hour:
		// RFC 3261 §10.3 step 7: 423 only for intervals "smaller than
		// one hour".
		errs = append(errs, fmt.Errorf("registrar: min expires %v above one hour", lo))
	case lo > hi:
		errs = append(errs, fmt.Errorf("registrar: min expires %v above max expires %v", lo, hi))
	}
	if hi > maxDelta*time.Second {
		errs = append(errs, fmt.Errorf("registrar: max expires %v above 2**32-1 seconds", hi))
	}
	if def < lo || def > hi {
		errs = append(errs, fmt.Errorf("registrar: default expires %v outside [%v, %v]", def, lo, hi))
	}
	if c.MaxContacts < 0 {
		errs = append(errs, errors.New("registrar: negative max contacts"))
	}
	return errors.Join(errs...)
}

// expiries returns DefaultExpires, MinExpires and MaxExpires with their
// defaults applied.
func (c *Config) expiries() (def, lo, hi time.Duration) {
	def, lo, hi = c.DefaultExpires, c.MinExpires, c.MaxExpires
	if def == 0 {
		def = DefaultDefaultExpires
	}
	if lo == 0 {
		lo = DefaultMinExpires
	}
	if hi == 0 {
		hi = DefaultMaxExpires
	}
	return def, lo, hi
}

// validDomain reports whether d is a bare host: a name, an IPv4 address or
// a bracketed IPv6 reference, without user, port or parameters.
func validDomain(d string) bool {
	if d == "" {
		return false
	}
	u, err := sip.ParseURI("sip:" + d)
	// The whole of d must be the host: nothing parsed as user, port,
	// parameters or headers.
	return err == nil && u.Host == d && u.User == "" && !u.HasPass && u.Port == 0 &&
		u.Params == "" && u.Headers == ""
}
