// Package redirect is sipd's redirect server (RFC 3261 §8.3): it answers a
// request for a user of its domains with the contacts that user registered,
// in a 302 (Moved Temporarily), and leaves it to the caller to try them: the
// element of DESIGN.md's `sipd serve --mode redirect`. Bindings come from
// the location service (§10) that the registrar writes.
//
// A tour:
//
//   - New makes a Redirect from a Config (domains served, Logger, Clock), a
//     location.Store and, optionally, an auth.UserStore. Redirect is a
//     server.Handler.
//   - ServeSIP takes any method but REGISTER, ACK and CANCEL whose
//     Request-URI is a SIP or SIPS URI with a user part in one of the
//     domains; everything else goes to the next handler with
//     server.ErrNotHandled.
//   - The bindings are those of location.CanonicalAOR of the
//     Request-URI, the key the registrar stores them under, so an escaped
//     user or a sips Request-URI finds the bindings of the sip AOR.
//   - The answer: 420 (Bad Extension) to any Require, as the redirect server
//     supports no extension (§8.2.2.3); 302 with one Contact per live
//     binding, highest q first, each with its q (when not 1) and the seconds
//     it has left (§21.3.3); without bindings, 480 (Temporarily Unavailable)
//     for a user the UserStore knows and 404 (Not Found) otherwise. A
//     binding whose contact is the Request-URI itself is never offered
//     (§8.3); when it is the only one, the answer is 404.
//
// Not done: 300 (Multiple Choices) and 301; redirecting to static targets
// or for other domains; filtering contacts by the methods they allow
// (Kamailio's method_filtering) or by SIPS for a sips Request-URI (§8.1.3.4
// leaves that choice to the client that recurses).
package redirect
