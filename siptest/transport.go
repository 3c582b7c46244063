package siptest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// Request is a request sent through a Transport, parsed again from its
// wire form, with where it went and when.
type Request struct {
	Msg    *sip.Request
	Target transport.Target
	At     time.Time // time.Now when sent: the fake clock in a synctest bubble
}

// Response is a response sent through a Transport, parsed again from its
// wire form, with the Source it answers and when.
type Response struct {
	Msg    *sip.Response
	Source transport.Source
	At     time.Time
}

// Transport is an in-memory transaction.Transport (and proxy.Sender) that
// sends nothing: it serializes every message it is given, parses it again,
// as the peer would, and keeps it in the order sent. A message that does
// not parse again is an error of SendRequest or SendResponse, so a
// serializer bug shows up as a missing message.
//
// The zero value is ready to use. A Transport is safe for concurrent use.
type Transport struct {
	mu    sync.Mutex
	reqs  []Request
	resps []Response
}

// SendRequest records req, as parsed again, with dst.
func (t *Transport) SendRequest(req *sip.Request, dst transport.Target) error {
	wire := req.Bytes()
	parsed, err := sip.ParseRequest(wire)
	if err != nil {
		return fmt.Errorf("siptest: request does not parse: %w\n%s", err, wire)
	}
	t.mu.Lock()
	t.reqs = append(t.reqs, Request{Msg: parsed, Target: dst, At: time.Now()})
	t.mu.Unlock()
	return nil
}

// SendResponse records resp, as parsed again, with src.
func (t *Transport) SendResponse(resp *sip.Response, src transport.Source) error {
	wire := resp.Bytes()
	parsed, err := sip.ParseResponse(wire)
	if err != nil {
		return fmt.Errorf("siptest: response does not parse: %w\n%s", err, wire)
	}
	t.mu.Lock()
	t.resps = append(t.resps, Response{Msg: parsed, Source: src, At: time.Now()})
	t.mu.Unlock()
	return nil
}

// Requests returns the requests sent so far, oldest first.
func (t *Transport) Requests() []Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.reqs)
}

// Responses returns the responses sent and not taken so far, oldest first.
func (t *Transport) Responses() []Response {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.resps)
}

// Take removes the responses whose top Via has branch from the record
// and returns them, oldest first: the answers to one request (RFC 3261
// §17.2 sends them all with the request's top Via). A response without
// a Via that parses is never taken.
func (t *Transport) Take(branch string) []*sip.Response {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*sip.Response
	t.resps = slices.DeleteFunc(t.resps, func(r Response) bool {
		via, err := r.Msg.TopVia()
		if err != nil || via.Branch() != branch {
			return false
		}
		out = append(out, r.Msg)
		return true
	})
	return out
}

// Deliver hands msg to h as a transport's read loop would: as an Inbound
// from src. h is typically a *transaction.Layer; msg goes as it is, so
// build it with sip.ParseRequest or sip.ParseResponse for the parsed
// form a transport delivers.
func Deliver(h transport.Handler, msg sip.Message, src transport.Source) {
	h.HandleInbound(&transport.Inbound{Msg: msg, Source: src})
}

// RoundTrip delivers req to h from src and returns the one response to it
// that t recorded by the time h returned, taking it from the record. It
// fails the test unless exactly one response has req's top Via branch,
// so it suits a transaction user that answers req inline, at once and
// finally (over UDP a provisional response would be a second one).
func (t *Transport) RoundTrip(tb testing.TB, h transport.Handler, req *sip.Request, src transport.Source) *sip.Response {
	tb.Helper()
	via, err := req.TopVia()
	if err != nil {
		tb.Fatalf("siptest: request without Via: %v", err)
	}
	Deliver(h, req, src)
	rs := t.Take(via.Branch())
	if len(rs) != 1 {
		tb.Fatalf("siptest: got %d responses to %s %s (Call-ID %s), want 1", len(rs), req.Method, req.URI, req.CallID())
	}
	return rs[0]
}
