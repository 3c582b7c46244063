package proxy

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// Stateless is a stateless proxy (RFC 3261 §16.11), as Kamailio's forward()
// is: it keeps nothing about the requests it forwards, so that a
// retransmission from upstream is forwarded again, and a response is sent
// upstream by its Via alone.
//
// It is a transport.Handler placed between the transport layer and the
// transaction layer, since a stateless proxy must not create a server
// transaction (one would absorb the retransmissions it has to forward):
// requests addressed to the server itself — a Request-URI naming us with
// no user part, such as REGISTER sip:example.com or OPTIONS sip:10.0.0.1,
// and no Route naming anyone else — and responses that do not carry a
// branch of ours go to next, the transaction layer, and so to the local
// registrar. Everything else it forwards itself through the transport.
// Each layer only calls the one below it, and the transaction layer never
// sees a forwarded message.
//
// A request goes to one target only, as a stateless proxy does not fork
// (§16.11): the next hop of a remaining Route; else of the first static
// route that matches; else, for a user in our domains, the first of the
// registered contacts of the highest q; else the Request-URI — a host
// name resolved by RFC 3263, its first destination taken. Requests it refuses
// are answered statelessly, as a stateless UAS would (§8.2.7): 416, 483 (or
// 200 for OPTIONS with Max-Forwards 0), 482, 420, and the 404, 480, 403
// of the target choice; an ACK is never answered.
//
// HandleInbound runs on the transport's read loops; the location lookup of
// a request for one of our users is made there too, bounded by a timeout.
// A message it forwards belongs to it: it is changed and sent itself, not
// a copy.
type Stateless struct {
	p    *Proxy // the routing: domains, Route processing, targets; no transactions
	next transport.Handler
}

// NewStateless returns a stateless proxy that forwards through tp, finds
// users' contacts in loc and passes what is not forwarded to next. cfg's
// TimerC is not used: a stateless proxy waits for nothing. users, when not
// nil, tells a known user without bindings (480) from an unknown one (404).
func NewStateless(cfg Config, tp Sender, loc location.Store, users auth.UserStore, next transport.Handler) (*Stateless, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tp == nil || loc == nil || next == nil {
		return nil, errors.New("proxy: nil sender, location store or next handler")
	}
	// The routing code of Proxy, without a transaction layer: Stateless
	// never calls what needs one.
	p := &Proxy{
		tp:      tp,
		loc:     loc,
		users:   users,
		domains: make(map[string]struct{}, len(cfg.Domains)),
		rr:      !cfg.NoRecordRoute,
		allow:   strings.Join(cfg.Allow, ", "),
		prefix:  newPrefix(),
		res:     cfg.Resolver,
		routes:  cfg.Routes,
	}
	for _, d := range cfg.Domains {
		p.domains[strings.ToLower(d)] = struct{}{}
	}
	if cfg.Logger != nil {
		p.log = cfg.Logger.With("component", "proxy", "mode", "stateless")
	} else {
		p.log = slog.New(slog.DiscardHandler)
	}
	return &Stateless{p: p, next: next}, nil
}

// HandleInbound implements transport.Handler.
func (s *Stateless) HandleInbound(in *transport.Inbound) {
	switch m := in.Msg.(type) {
	case *sip.Request:
		if s.local(m, in.Source) {
			s.next.HandleInbound(in)
			return
		}
		s.forwardRequest(in, m)
	case *sip.Response:
		if v, err := m.TopVia(); err == nil && s.p.ours(v.Branch()) {
			s.forwardResponse(m)
			return
		}
		s.next.HandleInbound(in)
	}
}

// local reports whether req is addressed to the server itself: its
// Request-URI names us without a user, and every Route names us.
func (s *Stateless) local(req *sip.Request, src transport.Source) bool {
	if req.URI.User != "" || !req.URI.IsSIP() || !s.p.isUs(req.URI, src) {
		return false
	}
	routes, err := req.Routes()
	if err != nil {
		return true // the server answers it 400
	}
	for _, r := range routes {
		if !s.p.isUs(r.URI, src) {
			return false
		}
	}
	return true
}

// forwardRequest applies §16.3, §16.4 and §16.5 to req and forwards it to
// its one target (§16.11), or answers it statelessly.
func (s *Stateless) forwardRequest(in *transport.Inbound, req *sip.Request) {
	p := s.p
	// §16.3 step 2: the Request-URI scheme.
	if !req.URI.IsSIP() {
		s.refuse(in, req, errScheme)
		return
	}
	// §16.3 step 3: Max-Forwards.
	mf, ok, err := req.MaxForwards()
	if err != nil {
		s.refuse(in, req, err)
		return
	}
	if ok && mf == 0 {
		if req.Method == sip.MethodOptions {
			resp := s.response(req, sip.StatusOK, "")
			if p.allow != "" {
				resp.Add("Allow", p.allow)
			}
			s.respond(in, resp)
			return
		}
		s.refuse(in, req, errTooManyHops)
		return
	}
	// §16.3 step 4 and §16.11: a loop is our own Via with the same loop
	// hash.
	hash := statelessLoopHash(req)
	if p.looped(req, hash) {
		s.refuse(in, req, errLoop)
		return
	}
	// §16.3 step 5: Proxy-Require; no extension is supported.
	if tags := req.OptionTags("Proxy-Require"); len(tags) > 0 {
		resp := s.response(req, sip.StatusBadExtension, "")
		resp.Add("Unsupported", strings.Join(tags, ", "))
		s.respond(in, resp)
		return
	}
	top, err := req.TopVia()
	if err != nil {
		s.refuse(in, req, err)
		return
	}
	sum := statelessBranchHash(req, &top)
	ro, err := p.route(req, in.Source)
	var tbuf [1]target // room for the one target
	ts := tbuf[:0]
	if err == nil {
		ts, err = p.statelessTargets(req, &ro, in.Source, ts)
	}
	if err != nil {
		s.refuse(in, req, err)
		return
	}
	// §16.11: no forking; the first target of the highest q. The request
	// belongs to this handler, and nothing answers it any more: it is
	// the copy forwarded (§16.6 step 1).
	t := &ts[0]
	rr := p.rr && recordRoutes(req)
	var b [160]byte
	out, ok := p.outbound(t.dst)
	via := append(appendVia(b[:0], t.dst, out, ok), p.prefix...)
	via = append(append(append(via, hash[:]...), '-'), sum[:]...)
	ro.apply(req)
	p.forward(req, &ro.routeEdit, t, in.Source, rr, string(via))
	// RFC 3263 §4.4: the first destination DNS gives — the same for each
	// retransmission when the Resolver orders SRV records
	// deterministically, as sipd serve's does in stateless mode; the next
	// ones only when sending fails at once.
	for i := -1; i < len(t.alts); i++ {
		dst := t.dst
		if i >= 0 {
			dst = t.alts[i]
		}
		err := p.tp.SendRequest(req, dst)
		if err == nil {
			return
		}
		// No 503 (§16.9): a stateless proxy has no transaction to tell
		// a transport error from a loss; the client's retransmission
		// tries again.
		p.log.Debug("request not forwarded", "method", req.Method, "call_id", req.CallID(), "dst", dst.Addr, "err", err)
	}
}

// forwardResponse sends resp upstream by its next Via (§16.11: the top
// Via, ours, is removed; the rest goes as §18.2.2 says, by received and
// rport for UDP). A response with no Via left was for us and is dropped.
// resp belongs to this handler, so it is changed in place.
func (s *Stateless) forwardResponse(resp *sip.Response) {
	resp.PopVia()
	if !resp.Has("Via") {
		return
	}
	if err := s.p.tp.SendResponse(resp, transport.Source{}); err != nil {
		s.p.log.Debug("response not forwarded", "status", resp.StatusCode, "call_id", resp.CallID(), "err", err)
	}
}

// refuse answers req with err's status, statelessly; an ACK gets nothing.
func (s *Stateless) refuse(in *transport.Inbound, req *sip.Request, err error) {
	code, reason := sip.StatusOf(err)
	if s.p.log.Enabled(context.Background(), slog.LevelDebug) {
		s.p.log.Debug("not forwarded", "method", req.Method, "call_id", req.CallID(), "uri", req.URI.String(),
			"status", code, "reason", reason, "err", err)
	}
	if code == sip.StatusInternalServerError {
		s.p.log.Error("stateless proxy", "method", req.Method, "call_id", req.CallID(), "err", err)
	}
	s.respond(in, s.response(req, code, reason))
}

func (s *Stateless) respond(in *transport.Inbound, resp *sip.Response) {
	if in.Msg.(*sip.Request).Method == sip.MethodAck {
		return
	}
	if err := s.p.tp.SendResponse(resp, in.Source); err != nil {
		s.p.log.Debug("response not sent", "status", resp.StatusCode, "call_id", resp.CallID(), "err", err)
	}
}

// response builds a response to req. Its To tag is derived from the
// request (§8.2.7: a stateless UAS gives a retransmission the same tag).
func (s *Stateless) response(req *sip.Request, code int, reason string) *sip.Response {
	resp := sip.NewResponse(req, code, reason)
	if code > 100 && req.ToTag() == "" {
		h := newFNV64a()
		h.write(s.p.prefix)
		if v, err := req.TopVia(); err == nil {
			h.write(v.Branch())
		}
		h.field("")
		h.field(req.CallID())
		h.write(req.FromTag())
		tag := h.hex()
		_ = resp.SetToTag(tag.String())
	}
	return resp
}

// statelessLoopHash is the loop detection part of a stateless branch
// (§16.11, §16.6 step 8): the Request-URI, From tag, Call-ID, CSeq number
// and Route of the received request. Unlike loopHash it leaves out the To
// tag, Proxy-Require and Proxy-Authorization, which may differ between an
// INVITE and its CANCEL (§9.1) or its ACK for a non-2xx (§17.1.1.3): these
// must get the INVITE's branch for the next hop to match them.
func statelessLoopHash(r *sip.Request) hashHex {
	h := newFNV64a()
	h.fieldURI(&r.URI)
	h.field(r.FromTag())
	h.field(r.CallID())
	if cs, err := r.CSeq(); err == nil {
		h.fieldUint(cs.Seq)
	}
	r.EachLine("Route", func(v string) bool { h.field(v); return true })
	return h.hex()
}

// statelessBranchHash is the last part of the branch a stateless proxy
// gives a request it forwards (§16.11), after our prefix and the loop hash:
// the same for each retransmission, and for an INVITE's CANCEL and ACK for
// a non-2xx, yet different for every other transaction. When the received
// branch, that of top, has the magic cookie, it is a hash of that branch
// and the Via's sent-by (what identifies the transaction, §17.2.3); else a
// hash of the top Via, the To and From tags, the Call-ID, the CSeq number
// and the Request-URI. The method is in neither, so that CANCEL and ACK
// match the INVITE.
func statelessBranchHash(r *sip.Request, top *sip.Via) hashHex {
	h := newFNV64a()
	if b := top.Branch(); strings.HasPrefix(b, sip.MagicCookie) {
		h.field(b)
		var sb [280]byte
		by := append(sb[:0], top.Host...)
		if top.Port != 0 {
			by = strconv.AppendInt(append(by, ':'), int64(top.Port), 10)
		}
		h.fieldLower(by)
	} else {
		var vb [512]byte
		h.fieldBytes(top.AppendTo(vb[:0]))
		h.field(r.ToTag())
		h.field(r.FromTag())
		h.field(r.CallID())
		if cs, err := r.CSeq(); err == nil {
			h.fieldUint(cs.Seq)
		}
		h.fieldURI(&r.URI)
	}
	return h.hex()
}

var _ transport.Handler = (*Stateless)(nil)
