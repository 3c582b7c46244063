package proxy

import (
	"context"
	"encoding/hex"
	"hash/fnv"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// strayLookupTimeout bounds the location lookup of a stateless forward,
// which runs on the transport's read loop.
const strayLookupTimeout = 2 * time.Second

// HandleStray forwards statelessly what no transaction takes (RFC 3261
// §16.11; server.Server.SetStrayHandler): an ACK for a 2xx, which belongs
// to no transaction (§17.1.1.3), and a CANCEL that matches no INVITE
// (§16.10), go on by Route or Request-URI after the Route processing of
// §16.4; a 2xx to an INVITE that arrives after its client transaction ended
// (a retransmission, or a fork's late answer, RFC 6026 §8.4) goes upstream
// by its Via once ours is removed. Other stray responses are dropped (RFC
// 6026 §8.9), as is anything that cannot be forwarded.
func (p *Proxy) HandleStray(in *transport.Inbound) {
	switch m := in.Msg.(type) {
	case *sip.Request:
		p.forwardRequest(in, m)
	case *sip.Response:
		p.forwardResponse(m)
	}
}

func (p *Proxy) forwardRequest(in *transport.Inbound, req *sip.Request) {
	if req.Method != sip.MethodAck && req.Method != sip.MethodCancel {
		return
	}
	if mf, ok, err := req.MaxForwards(); err != nil || ok && mf == 0 {
		p.log.Debug("stray request dropped: Max-Forwards", "method", req.Method, "call_id", req.CallID())
		return
	}
	top, err := req.TopVia()
	if err != nil {
		return
	}
	r := req.Clone()
	routed := p.preprocessRoutes(r, in.Source)
	ctx, cancel := context.WithTimeout(context.Background(), strayLookupTimeout)
	groups, err := p.targets(ctx, r, routed, in.Source)
	cancel()
	if err != nil || len(groups) == 0 || len(groups[0]) == 0 {
		p.log.Debug("stray request not forwarded", "method", req.Method, "call_id", req.CallID(), "err", err)
		return
	}
	t := groups[0][0]
	r.URI = t.uri
	for i := len(t.route) - 1; i >= 0; i-- {
		r.Prepend("Route", t.route[i])
	}
	r.DecMaxForwards()
	if routes, err := r.Routes(); err == nil && len(routes) > 0 && !routes[0].URI.Params.Has("lr") {
		r.Add("Route", "<"+r.URI.String()+">")
		r.URI = routes[0].URI
		r.PopFirst("Route")
	}
	// §16.11: a stateless branch is the same for every retransmission, so
	// it derives from the received top Via and the request's identity.
	h := fnv.New64a()
	h.Write([]byte(top.Branch()))
	h.Write([]byte{0})
	h.Write([]byte(req.Method))
	h.Write([]byte{0})
	h.Write([]byte(req.URI.String()))
	var b [8]byte
	branch := p.prefix + "s-" + hex.EncodeToString(h.Sum(b[:0]))
	r.PushVia(sip.Via{Proto: sip.Version, Transport: cmpOr(t.dst.Transport, transport.UDP), Host: "0.0.0.0",
		Params: sip.Params(";branch=" + branch)})
	if err := p.tp.SendRequest(r, t.dst); err != nil {
		p.log.Debug("stray request not sent", "method", req.Method, "call_id", req.CallID(), "err", err)
	}
}

func (p *Proxy) forwardResponse(resp *sip.Response) {
	if !resp.IsSuccess() {
		return
	}
	cs, err := resp.CSeq()
	if err != nil || cs.Method != sip.MethodInvite {
		return
	}
	v, err := resp.TopVia()
	if err != nil || !p.ours(v.Branch()) {
		return // §18.1.2: not sent by us
	}
	r := resp.Clone()
	r.PopVia()
	if !r.Has("Via") {
		return
	}
	if err := p.tp.SendResponse(r, transport.Source{}); err != nil {
		p.log.Debug("stray response not forwarded", "call_id", r.CallID(), "err", err)
	}
}
