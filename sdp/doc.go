// Package sdp implements the SDP offer/answer model of RFC 3264 for sipd's
// user agents, as thin helpers over github.com/pion/sdp/v3, which parses and
// serializes the session descriptions (RFC 8866, formerly RFC 4566).
//
// A caller builds an offer with [NewOffer] and [Marshal], answers a peer's
// offer with [Answer], and checks the peer's answer to its own offer with
// [ParseAnswer]. Both sides end up with a [Negotiated]: where to send RTP,
// the codecs agreed (payload type numbers to send with), the
// telephone-event payload type and the direction of media from our side.
//
// A [Session] is our side of one offer/answer session across re-INVITEs and
// UPDATEs: it keeps the o= line fixed and increments its version exactly when
// the SDP we send changes (RFC 3264 §8). [Hold] and [Resume] (and the
// Session methods of the same names) derive re-offers that put streams on
// hold and take them off it (§8.4).
//
// The scope is what a SIP phone needs: one audio stream over RTP/AVP.
// Other offered streams (video, a second audio stream, SRTP, T.38 over
// UDPTL) are rejected with port 0 as §6 allows, never dropped, so the
// answer always has as many m= lines as the offer, in the same order.
package sdp
