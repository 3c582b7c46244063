// Package registrar is sipd's registrar: it processes REGISTER requests as
// RFC 3261 §10.3 describes, with the Path extension of RFC 3327, writing
// bindings of addresses-of-record to contacts through a location.Store for
// the proxy and redirect server to read.
//
// A tour:
//
//   - New makes a Registrar from a Config (domains served, default,
//     minimum and maximum expiration, the contact limit per AOR, the
//     Authenticator) and a location.Store. Registrar is a server.Handler;
//     it passes methods other than REGISTER on with server.ErrNotHandled.
//   - ServeSIP takes the steps of §10.3 in order: the Request-URI's domain
//     (403 when not ours), Require (420), digest authentication (401) and
//     authorization of the user for the AOR (403), the AOR from To (400
//     when not SIP, 404 when not ours), the Contacts ("*", expirations,
//     423 below the minimum, the Call-ID and CSeq order), and the 200 (OK)
//     listing every binding with the seconds it has left.
//   - Every change a REGISTER makes goes through one location.Store.Apply,
//     so a request is applied whole or not at all, and concurrent
//     REGISTERs for one AOR are serialized by the store.
//   - location.CanonicalAOR gives the key of an AOR's bindings, "sip:user@domain"
//     (§10.3 step 5); the proxy looks bindings up with it.
//
// Not done: RFC 5626 outbound (flows, reg-id matching) and RFC 5627 GRUU,
// so Require: outbound or gruu gets 420; multicast registration; and
// forwarding a REGISTER for another domain (§10.3 step 1), which is
// refused instead.
package registrar
