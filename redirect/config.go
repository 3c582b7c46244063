package redirect

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sipd/sipd/sip"
)

// Config is the redirect server's configuration. The zero value is usable:
// every field left zero takes the default its comment names.
type Config struct {
	// Domains are the domains whose users the redirect server answers for,
	// compared without regard to case: a request whose Request-URI is a
	// SIP or SIPS URI with a user part in one of them is redirected to the
	// user's registered contacts (RFC 3261 §8.3, §10). Requests for other
	// hosts go to the next handler. Empty means any domain; fine for a
	// lab, not for the open Internet.
	Domains []string

	// Logger receives debug records of each answer; nil discards them.
	// Records carry component=redirect.
	Logger *slog.Logger

	// Clock returns the current time; time.Now when nil. It decides which
	// bindings are still live and the expires parameter each Contact of a
	// 302 shows. Tests set it.
	Clock func() time.Time
}

// Validate reports every problem of the configuration at once. Zero
// fields are valid: they take their defaults.
func (c *Config) Validate() error {
	var errs []error
	for _, d := range c.Domains {
		if !validDomain(d) {
			errs = append(errs, fmt.Errorf("redirect: domain %q is not a host name or address", d))
		}
	}
	return errors.Join(errs...)
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
