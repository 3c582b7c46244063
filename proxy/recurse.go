package proxy

import (
	"context"
	"slices"
	"time"

	"github.com/sipd/sipd/sip"
)

// maxRecursed bounds the targets that 3xx responses may add to the target
// set of one request, so that redirects pointing at each other, or one
// listing a thousand contacts, cannot make the proxy fork without end.
const maxRecursed = 16

// recurseTimeout bounds the DNS lookups of the contacts of one 3xx.
const recurseTimeout = 5 * time.Second

// redirectTargets returns the targets a 3xx response asks for, when the
// proxy recurses on redirects (Config.Recurse, RFC 3261 §16.5: "If the
// response context ... contains a 3xx class response ... the proxy MAY
// add the contacts ... to the target set"), highest q first, and the
// Contact values it could not use. It runs before the response context's
// lock is taken, since resolving a host name may wait on DNS.
func (b *branch) redirectTargets(r *sip.Response) (ts []target, rest []sip.Address) {
	if !b.rc.p.recurse || r.StatusCode < 300 || r.StatusCode >= 400 {
		return nil, nil
	}
	contacts, err := r.Contacts()
	if err != nil || len(contacts) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), recurseTimeout)
	defer cancel()
	for _, c := range contacts {
		// Only SIP URIs are targets this proxy can reach (§16.5); a tel:
		// or http: contact stays in the response for the client to use.
		if c.Wildcard || !c.URI.IsSIP() {
			rest = append(rest, c)
			continue
		}
		dst, alts, err := b.rc.p.resolve(ctx, c.URI)
		if err != nil {
			rest = append(rest, c)
			continue
		}
		q := 1000
		if f, ok := c.Q(); ok {
			q = int(f*1000 + 0.5)
		}
		ts = append(ts, target{uri: c.URI, dst: dst, alts: alts, q: q})
	}
	// Groups by q, highest first (§16.6: parallel within one q).
	slices.SortStableFunc(ts, func(x, y target) int { return y.q - x.q })
	return ts, rest
}

// recurse adds the targets of a 3xx to the target set, ahead of those not
// tried yet (one parallel group with the next ones when their q is the
// same), and returns the response to keep in the response context: r
// without the contacts recursed on, or nil when every one of them was
// (§16.7 step 4: "If the proxy recurses on all of the contacts in a 3xx
// response, the proxy SHOULD NOT add the resulting contactless response to
// the response context"). A target already in the target set is not added
// again (§16.5), which also ends redirect loops. rc.mu is held.
func (rc *respContext) recurse(r *sip.Response, ts []target, rest []sip.Address) *sip.Response {
	if len(ts) == 0 || rc.cancelled || rc.got6xx || rc.finalSent {
		return r
	}
	var added []target
	for _, t := range ts {
		if rc.recursed >= maxRecursed || rc.inTargetSet(t.uri) || slices.ContainsFunc(added, func(a target) bool { return a.uri.Equal(t.uri) }) {
			// Not recursed on: it stays in the response.
			rest = append(rest, sip.Address{URI: t.uri})
			continue
		}
		rc.recursed++
		added = append(added, t)
	}
	if len(added) == 0 {
		return r
	}
	// A new array: branches point into the old one.
	rc.targets = append(added, rc.targets...)
	if len(rest) == 0 {
		return nil
	}
	out := r.Clone()
	out.Del("Contact")
	for _, c := range rest {
		out.Add("Contact", c.String())
	}
	return out
}

// inTargetSet reports whether u is a target tried or still to try (§16.5:
// "a proxy MUST NOT add a target to the target set" twice, comparing URIs
// by the equality of §19.1.4). rc.mu is held.
func (rc *respContext) inTargetSet(u sip.URI) bool {
	for _, b := range rc.branches {
		if b.t.uri.Equal(u) {
			return true
		}
	}
	for i := range rc.targets {
		if rc.targets[i].uri.Equal(u) {
			return true
		}
	}
	return false
}
