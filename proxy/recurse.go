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
// add the contacts ... to the target set"), grouped by q, highest first,
// and the Contact values it could not use. It runs before the response
// context's lock is taken, since resolving a host name may wait on DNS.
func (b *branch) redirectTargets(r *sip.Response) (groups [][]target, rest []sip.Address) {
	if !b.rc.p.recurse || r.StatusCode < 300 || r.StatusCode >= 400 {
		return nil, nil
	}
	contacts, err := r.Contacts()
	if err != nil || len(contacts) == 0 {
		return nil, nil
	}
	slices.SortStableFunc(contacts, func(x, y sip.Address) int {
		qx, _ := x.Q()
		qy, _ := y.Q()
		switch {
		case qx > qy:
			return -1
		case qx < qy:
			return 1
		}
		return 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), recurseTimeout)
	defer cancel()
	lastQ := -1.0
	for _, c := range contacts {
		// Only SIP URIs are targets this proxy can reach (§16.5); a tel:
		// or http: contact stays in the response for the client to use.
		if c.Wildcard || !c.URI.IsSIP() {
			rest = append(rest, c)
			continue
		}
		dsts, err := b.rc.p.resolve(ctx, c.URI)
		if err != nil {
			rest = append(rest, c)
			continue
		}
		q, ok := c.Q()
		if !ok {
			q = 1
		}
		if q != lastQ || len(groups) == 0 {
			groups = append(groups, nil)
			lastQ = q
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], target{uri: c.URI, dst: dsts[0], alts: dsts[1:]})
	}
	return groups, rest
}

// recurse adds the targets of a 3xx to the target set, ahead of the groups
// not tried yet, and returns the response to keep in the response context:
// r without the contacts recursed on, or nil when every one of them was
// (§16.7 step 4: "If the proxy recurses on all of the contacts in a 3xx
// response, the proxy SHOULD NOT add the resulting contactless response to
// the response context"). A target already in the target set is not added
// again (§16.5), which also ends redirect loops. rc.mu is held.
func (rc *respContext) recurse(r *sip.Response, groups [][]target, rest []sip.Address) *sip.Response {
	if len(groups) == 0 || rc.cancelled || rc.got6xx || rc.finalSent {
		return r
	}
	var added [][]target
	for _, g := range groups {
		var keep []target
		for _, t := range g {
			if rc.recursed >= maxRecursed || rc.inTargetSet(t.uri) {
				// Not recursed on: it stays in the response.
				rest = append(rest, sip.Address{URI: t.uri})
				continue
			}
			rc.recursed++
			keep = append(keep, t)
		}
		if len(keep) > 0 {
			added = append(added, keep)
		}
	}
	if len(added) == 0 {
		return r
	}
	rc.groups = append(added, rc.groups...)
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
	for _, g := range rc.groups {
		for _, t := range g {
			if t.uri.Equal(u) {
				return true
			}
		}
	}
	return false
}
