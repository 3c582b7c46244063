package dialog

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// PlaceholderHost is the sent-by host of the Via that NewRequest and
// NewAck add. The transport replaces sent-by (and the transport token)
// with its own when it sends the request (RFC 3261 §18.1.1), so the dialog
// needs to know nothing about listeners.
const PlaceholderHost = "placeholder.invalid"

// NewRequest builds a request within the dialog (RFC 3261 §12.2.1.1):
//
//   - To is the remote URI with the remote tag, From the local URI with the
//     local tag, Call-ID the dialog's;
//   - CSeq is the local sequence number plus one, which becomes the new
//     local sequence number; an empty one first takes a random value below
//     2**31 (§8.1.1.5);
//   - the Request-URI and Route follow the route set: with none, the
//     Request-URI is the remote target and there is no Route; when the
//     first route has the lr parameter (a loose router), the Request-URI
//     is the remote target and Route is the route set; otherwise (a strict
//     router) the Request-URI is the first route, and Route the rest of the
//     route set followed by the remote target;
//   - Max-Forwards is 70, and a Via with a new branch and PlaceholderHost
//     as sent-by is on top;
//   - Contact is the local Contact, for target refresh requests and REFER
//     (§8.1.1.8; RFC 3515 §2.4.1); other requests, BYE among them, have none.
//
// A Request-URI drops the method parameter and headers of the URI it comes
// from, which §19.1.1 Table 1 does not allow there. ACK and CANCEL are not
// built here: they take the CSeq number of their INVITE (NewAck,
// sip.NewCancel). NewRequest fails on a terminated dialog.
func (d *Dialog) NewRequest(method string) (*sip.Request, error) {
	if method == sip.MethodAck || method == sip.MethodCancel {
		return nil, ErrMethod
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == Terminated {
		return nil, ErrTerminated
	}
	if !d.localSeqSet {
		// §8.1.1.5: an arbitrary start below 2**31; the increment below
		// keeps it at least 1.
		d.localSeq = rand.Uint32N(math.MaxInt32)
		d.localSeqSet = true
	}
	if d.localSeq == math.MaxUint32 {
		return nil, ErrSeqExhausted
	}
	d.localSeq++
	r := d.build(method, d.localSeq)
	if (IsTargetRefresh(method) || method == sip.MethodRefer) && d.localContact != (sip.URI{}) {
		r.Add("Contact", (&sip.Address{URI: d.localContact}).String())
	}
	return r, nil
}

// NewAck builds the ACK for a 2xx response to invite, an INVITE sent in
// this dialog (the initial one or a re-INVITE), as the UA core must (RFC
// 3261 §13.2.2.4): built as any request within the dialog, with the route
// set and remote target as they are now (a 2xx to a re-INVITE may have
// changed the target, so call ReceiveResponse first), a Via with a new
// branch, the CSeq number of the INVITE with the method ACK, and the
// INVITE's Authorization and Proxy-Authorization. It has no Contact and no
// body; the caller adds the answer when the INVITE carried no offer. The
// local sequence number does not change.
func (d *Dialog) NewAck(invite *sip.Request) *sip.Request {
	d.mu.Lock()
	seq := d.localSeq
	if cs, err := invite.CSeq(); err == nil {
		seq = cs.Seq
	}
	r := d.build(sip.MethodAck, seq)
	d.mu.Unlock()
	for _, name := range [...]string{"Authorization", "Proxy-Authorization"} {
		for v := range invite.Lines(name) {
			r.Add(name, v)
		}
	}
	return r
}

// build makes the request d.mu is held for.
func (d *Dialog) build(method string, seq uint32) *sip.Request {
	target := requestURI(d.remoteTarget)
	var routes []sip.Address
	strict := false
	if len(d.routeSet) > 0 {
		if d.routeSet[0].URI.Params.Has("lr") {
			routes = d.routeSet
		} else {
			// RFC 3261 §12.2.1.1: a strict router first gets the
			// request with its URI as the Request-URI; the remote
			// target goes last in Route.
			target = requestURI(d.routeSet[0].URI)
			routes = d.routeSet[1:]
			strict = true
		}
	}
	r := sip.NewRequest(method, target)
	r.PushVia(sip.Via{Transport: "UDP", Host: PlaceholderHost, Params: sip.Params(";branch=" + transaction.NewBranch())})
	r.Add("Max-Forwards", "70")
	for i := range routes {
		r.Add("Route", routes[i].String())
	}
	if strict {
		r.Add("Route", (&sip.Address{URI: d.remoteTarget}).String())
	}
	r.Add("From", d.localURI.String())
	r.Add("To", d.remoteURI.String())
	r.Add("Call-ID", d.id.CallID)
	r.Add("CSeq", strconv.FormatUint(uint64(seq), 10)+" "+method)
	return r
}

// requestURI strips from u what a Request-URI may not carry (RFC 3261
// §19.1.1 Table 1): the method parameter and headers.
func requestURI(u sip.URI) sip.URI {
	if u.IsSIP() {
		if u.Params.Has("method") {
			u.Params = u.Params.Del("method")
		}
		u.Headers = ""
	}
	return u
}
