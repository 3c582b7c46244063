package transport

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/sipd/sipd/sip"
)

// receive parses one datagram or framed stream message and hands it up.
// data is only borrowed: the parser copies it. stream asks for Content-Length
// (TCP, TLS); a datagram or a WebSocket message (RFC 7118 §5) is parsed
// whole, with or without it.
func (l *Layer) receive(data []byte, src Source, stream bool) {
	defer func() {
		// Input must never take the server down (STYLE §4): a bug
		// reached by a message is logged and the read loop goes on.
		if r := recover(); r != nil {
			l.log.Error("panic handling a message", "panic", r, "transport", src.Transport,
				"remote", src.Remote, "stack", string(debug.Stack()))
		}
	}()
	var m sip.Message
	var err error
	if stream {
		m, err = l.parser.ParseStream(data)
	} else {
		m, err = l.parser.Parse(data)
	}
	if err != nil {
		// Nothing parsed that a response could be built from.
		if l.log.Enabled(context.Background(), slog.LevelDebug) {
			l.log.Debug("drop: unparseable message", "transport", src.Transport, "remote", src.Remote, "err", err)
		}
		return
	}
	switch m := m.(type) {
	case *sip.Request:
		l.receiveRequest(m, src)
	case *sip.Response:
		l.receiveResponse(m, src)
	}
}

func (l *Layer) receiveRequest(req *sip.Request, src Source) {
	if err := req.Validate(); err != nil {
		l.reject(req, err, src)
		return
	}
	v, _ := req.TopVia() // Validate parsed it
	stampVia(&req.Header, v, src.Remote)
	l.h.HandleInbound(&Inbound{Msg: req, Source: src})
}

// stampVia records where a request came from in its top Via v.
//
// RFC 3261 §18.2.1: when the sent-by host is a domain name or an IP
// address other than the packet's source, add received=<source IP>.
// RFC 3581 §4: when rport is present without a value, set it to the
// source port, and add received even if it equals sent-by.
//
// The new Via is written in one pass into a buffer on the stack, each
// parameter set in place as sip.Params.Set would (the first of that name,
// or appended), so that stamping costs one allocation: the header's new
// value.
func stampVia(h *sip.Header, v sip.Via, remote netip.AddrPort) {
	ip := remote.Addr()
	rport := false
	if port, ok := v.RPort(); ok && port == 0 {
		rport = true
	}
	received := rport
	if a, ok := hostAddr(v.Host); !ok || a != ip {
		received = true
	}
	if !received {
		return
	}
	params := string(v.Params)
	v.Params = ""
	var buf [256]byte
	b := v.AppendTo(buf[:0])
	rs, re := -1, -1
	if rport {
		rs, re, _ = paramSpan(params, "rport")
	}
	ds, de, found := paramSpan(params, "received")
	if !found {
		ds, de = len(params), len(params)
	}
	// The two spans do not overlap; write them in order.
	appendRport := func(b []byte) []byte {
		b = append(b, ";rport="...)
		return strconv.AppendUint(b, uint64(remote.Port()), 10)
	}
	appendReceived := func(b []byte) []byte {
		// An IPv6 received value goes without brackets (RFC 3261
		// §20.42: received = IPv4address / IPv6address).
		b = append(b, ";received="...)
		return ip.AppendTo(b)
	}
	switch {
	case rs >= 0 && rs < ds:
		b = append(b, params[:rs]...)
		b = appendRport(b)
		b = append(b, params[re:ds]...)
		b = appendReceived(b)
		b = append(b, params[de:]...)
	case rs >= 0:
		b = append(b, params[:ds]...)
		b = appendReceived(b)
		b = append(b, params[de:rs]...)
		b = appendRport(b)
		b = append(b, params[re:]...)
	default:
		b = append(b, params[:ds]...)
		b = appendReceived(b)
		b = append(b, params[de:]...)
	}
	h.ReplaceFirst("Via", string(b))
}

// paramSpan finds the first parameter called name (in any case) in p, a
// parameter list that parsed: p[start:end] runs from its ';' to the ';' of
// the next parameter, or the end, as sip.Params.Set replaces it. A ';'
// inside a quoted-string does not count.
func paramSpan(p, name string) (start, end int, ok bool) {
	start = strings.IndexByte(p, ';')
	for start >= 0 {
		end = len(p)
		nameEnd := -1
	scan:
		for i := start + 1; i < len(p); i++ {
			switch p[i] {
			case '"':
				for i++; i < len(p) && p[i] != '"'; i++ {
					if p[i] == '\\' {
						i++
					}
				}
			case '=':
				if nameEnd < 0 {
					nameEnd = i
				}
			case ';':
				end = i
				break scan
			}
		}
		if nameEnd < 0 {
			nameEnd = end
		}
		if strings.EqualFold(strings.Trim(p[start+1:nameEnd], " \t\r\n"), name) {
			return start, end, true
		}
		if end == len(p) {
			break
		}
		start = end
	}
	return 0, 0, false
}

// reject answers a request that parsed but failed validation, statelessly,
// with the status and reason the flaw calls for (400 Bad Request unless it
// says otherwise). It needs a parseable top Via to route the answer and
// From, To, Call-ID and CSeq to copy into it; without them, or for an ACK,
// which is never answered (RFC 3261 §17.1.1.3), the request is dropped.
func (l *Layer) reject(req *sip.Request, cause error, src Source) {
	if req.Method == sip.MethodAck {
		return
	}
	v, err := req.TopVia()
	if err != nil {
		l.log.Debug("drop: bad request without a usable Via", "remote", src.Remote, "err", cause)
		return
	}
	for _, name := range [...]string{"From", "To", "Call-ID", "CSeq"} {
		if !req.Has(name) {
			l.log.Debug("drop: bad request without "+name, "remote", src.Remote, "err", cause)
			return
		}
	}
	stampVia(&req.Header, v, src.Remote)
	code, reason := sip.StatusOf(cause)
	resp := sip.NewResponse(req, code, reason)
	if resp.ToTag() == "" {
		// RFC 3261 §8.2.6.2: a final response carries a To tag. A To
		// too broken to parse stays as it is.
		_ = resp.SetToTag(rand.Text()[:16])
	}
	if err := l.SendResponse(resp, src); err != nil {
		l.log.Debug("cannot answer a bad request", "remote", src.Remote, "code", code, "err", err)
		return
	}
	l.log.Debug("answered a bad request", "remote", src.Remote, "code", code, "reason", reason)
}

// receiveResponse passes up a valid response whose top Via is ours
// (RFC 3261 §18.1.2); the rest is dropped silently (and RFC 4475
// §3.1.2.5: malformed responses are dropped).
func (l *Layer) receiveResponse(resp *sip.Response, src Source) {
	if err := resp.Validate(); err != nil {
		l.log.Debug("drop: malformed response", "remote", src.Remote, "err", err)
		return
	}
	v, _ := resp.TopVia() // Validate parsed it
	if !l.state.Load().ours(&v) {
		l.log.Debug("drop: response for another sent-by", "remote", src.Remote, "sent_by", v.SentBy())
		return
	}
	l.h.HandleInbound(&Inbound{Msg: resp, Source: src})
}
