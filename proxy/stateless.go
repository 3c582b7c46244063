package proxy

import (
	"context"
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
// 6026 §8.9), as is anything that cannot be forwarded. The message belongs
// to the proxy from then on: it forwards the message itself, changed.
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
	// §16.11: a stateless branch is the same for every retransmission, so
	// it derives from the received top Via and the request's identity.
	h := newFNV64a()
	h.field(top.Branch())
	h.field(req.Method)
	h.fieldURI(&req.URI)
	sum := h.hex()
	ro, err := p.route(req, in.Source)
	var tbuf [1]target // room for the one target
	ts := tbuf[:0]
	if err == nil {
		ts, err = p.statelessTargets(req, &ro, in.Source, ts)
	}
	if err != nil || len(ts) == 0 {
		p.log.Debug("stray request not forwarded", "method", req.Method, "call_id", req.CallID(), "err", err)
		return
	}
	// No transaction holds req: it is the copy forwarded (§16.6 step 1).
	t := &ts[0]
	var b [160]byte
	out, ok := p.outbound(t.dst)
	via := append(appendVia(b[:0], t.dst, out, ok), p.prefix...)
	via = append(append(via, "s-"...), sum[:]...)
	ro.apply(req)
	p.forward(req, &ro.routeEdit, t, in.Source, false, string(via))
	if err := p.tp.SendRequest(req, t.dst); err != nil {
		p.log.Debug("stray request not sent", "method", req.Method, "call_id", req.CallID(), "err", err)
	}
}

// statelessTargets is targets for a stateless forward, which runs on the
// transport's read loop: a lookup, if one is needed, is bounded by
// strayLookupTimeout.
func (p *Proxy) statelessTargets(req *sip.Request, ro *routing, src transport.Source, ts []target) ([]target, error) {
	if p.literalHop(ro) {
		return p.targets(context.Background(), req, ro, src, ts)
	}
	ctx, cancel := withDeadline(strayLookupTimeout)
	defer cancel()
	return p.targets(ctx, req, ro, src, ts)
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
	// No transaction holds resp: it is forwarded itself.
	resp.PopVia()
	if !resp.Has("Via") {
		return
	}
	if err := p.tp.SendResponse(resp, transport.Source{}); err != nil {
		p.log.Debug("stray response not forwarded", "call_id", resp.CallID(), "err", err)
	}
}
