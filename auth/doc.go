// Package auth is sipd's digest authentication: it challenges requests
// with 401 or 407 and checks the credentials that come back (RFC 3261
// §22, RFC 2617, RFC 7616, and RFC 8760, which brings SHA-256 to SIP). It
// also defines the User type and the UserStore interface that storage
// engines implement; users are kept as H(A1) hashes, never as passwords.
//
// A tour:
//
//   - HA1, Response and NewUser compute the digest values of RFC 7616
//     §3.4 for MD5, SHA-256 and SHA-512-256.
//   - New makes an Authenticator from a Config and a UserStore.
//     Authenticator.Challenge builds a 401 or 407 with one challenge per
//     algorithm, SHA-256 before MD5 by default (RFC 8760 §2.3);
//     Authenticator.Check verifies Authorization or Proxy-Authorization
//     and says whether to accept, challenge again, or challenge with
//     stale=true.
//   - Nonces are stateless: a timestamp and random bytes under an
//     HMAC-SHA256 tag, valid for one realm for Config.NonceTTL (5 minutes
//     by default, as Kamailio). Challenging costs no memory, so a flood of
//     unauthenticated requests cannot fill any table (RFC 3261 §26.3.2.4).
//   - Replays are caught by nonce-count (RFC 3261 §26.4.1): each
//     (nonce, nc) is accepted once, within a 64-count window that allows
//     requests to arrive out of order. The tracker only records uses with
//     a right response, is bounded by Config.MaxNonces, and forgets a
//     nonce when it expires. Credentials without qop (RFC 2069) are
//     accepted once per nonce, then answered stale=true.
//
// A request path uses it like this:
//
//	res, err := a.Check(ctx, req, "", proxy)
//	switch {
//	case err != nil:
//		return err // the user store failed: 500
//	case !res.OK:
//		return send(a.Challenge(req, "", proxy, res.Stale))
//	}
//	// res.Username is authenticated in res.Realm.
//
// Not done: qop=auth-int (body integrity, rarely used in SIP and broken by
// any element that rewrites SDP), the "-sess" algorithms, userhash and
// username* (RFC 7616 §3.4.4, §3.4.5), and Authentication-Info. None of
// them is offered, so a client has no reason to use them; credentials that
// do are refused.
package auth
