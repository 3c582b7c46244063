package server

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// client is a raw UDP peer: it sends request text and reads responses.
type client struct {
	t    *testing.T
	conn *net.UDPConn
	dst  netip.AddrPort
	n    atomic.Int64
}

func newClient(t *testing.T, dst netip.AddrPort) *client {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, dst: dst}
}

// send sends a request; extra lines go before Content-Length.
func (c *client) send(method, ruri string, extra ...string) string {
	c.t.Helper()
	n := strconv.FormatInt(c.n.Add(1), 10)
	callID := "srv-" + n + "-" + c.conn.LocalAddr().String()
	msg := method + " " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + c.conn.LocalAddr().String() + ";branch=z9hG4bK-srv-" + n + "\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a" + n + "\r\nTo: <sip:bob@example.com>\r\n" +
		"Call-ID: " + callID + "\r\nCSeq: 1 " + method + "\r\n"
	for _, l := range extra {
		msg += l + "\r\n"
	}
	msg += "Content-Length: 0\r\n\r\n"
	if _, err := c.conn.WriteToUDPAddrPort([]byte(msg), c.dst); err != nil {
		c.t.Fatal(err)
	}
	return callID
}

// recv returns the next final response for callID.
func (c *client) recv(callID string) *sip.Response {
	c.t.Helper()
	buf := make([]byte, 65535)
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			c.t.Fatalf("no response for %s: %v", callID, err)
		}
		r, err := sip.ParseResponse(buf[:n])
		if err != nil {
			c.t.Fatalf("bad response: %v", err)
		}
		if r.CallID() == callID && r.StatusCode >= 200 {
			return r
		}
	}
}

func startServer(t *testing.T, cfg Config, h Handler) netip.AddrPort {
	t.Helper()
	s := New(cfg, h)
	t.Cleanup(func() { s.Close() })
	addr, err := s.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestServerAnswers(t *testing.T) {
	handler := Chain(
		Options([]string{"REGISTER", "OPTIONS"}, []string{"path"}),
		HandlerFunc(func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
			switch req.URI.User {
			case "forbidden":
				return &sip.StatusError{Code: 403, Reason: "Not Yours"}
			case "silent":
				return nil
			case "panic":
				panic("handler bug")
			case "plain-error":
				return context.DeadlineExceeded
			}
			return ErrNotHandled
		}),
	)
	addr := startServer(t, Config{}, handler)
	c := newClient(t, addr)
	host := addr.String()
	tests := []struct {
		name, method, ruri string
		extra              []string
		code               int
		headers            map[string]string
	}{
		{"OPTIONS to the server", "OPTIONS", "sip:" + host, nil, 200, map[string]string{"Allow": "REGISTER, OPTIONS", "Accept": "application/sdp", "Supported": "path"}},
		{"OPTIONS with unknown Require", "OPTIONS", "sip:" + host, []string{"Require: path, foo"}, 420, map[string]string{"Unsupported": "foo"}},
		{"status error", "REGISTER", "sip:forbidden@" + host, nil, 403, nil},
		{"handler answered nothing", "REGISTER", "sip:silent@" + host, nil, 500, nil},
		{"handler panic", "REGISTER", "sip:panic@" + host, nil, 500, nil},
		{"plain error", "REGISTER", "sip:plain-error@" + host, nil, 500, nil},
		{"allowed but unhandled", "OPTIONS", "sip:bob@" + host, nil, 404, nil},
		{"method not allowed", "INVITE", "sip:bob@" + host, nil, 405, map[string]string{"Allow": "REGISTER, OPTIONS"}},
		{"unknown method", "FOO", "sip:bob@" + host, nil, 405, map[string]string{"Allow": "REGISTER, OPTIONS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := c.send(tt.method, tt.ruri, tt.extra...)
			r := c.recv(id)
			if r.StatusCode != tt.code {
				t.Fatalf("status %d %s, want %d", r.StatusCode, r.Reason, tt.code)
			}
			if r.ToTag() == "" {
				t.Error("no To tag")
			}
			for k, v := range tt.headers {
				if got := r.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestServerOverload(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	handler := HandlerFunc(func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
		started <- struct{}{}
		<-release
		return &sip.StatusError{Code: 200}
	})
	addr := startServer(t, Config{Workers: 1, QueueSize: 1}, handler)
	defer close(release)
	c := newClient(t, addr)
	c.send("REGISTER", "sip:"+addr.String()) // taken by the worker
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker never took the first request")
	}
	c.send("REGISTER", "sip:"+addr.String()) // waits in the queue
	id := c.send("REGISTER", "sip:"+addr.String())
	r := c.recv(id)
	if r.StatusCode != 503 || r.Get("Retry-After") != "5" {
		t.Fatalf("got %d Retry-After %q, want 503 with Retry-After 5", r.StatusCode, r.Get("Retry-After"))
	}
	if !strings.Contains(r.Reason, "Overload") {
		t.Errorf("reason %q", r.Reason)
	}
}

// TestServerAnswerLater checks ErrAnswerLater: the server sends nothing
// for the request, and the worker is free at once — with one worker, a
// second request is served while the first waits for its answer, which the
// second's handler then sends.
func TestServerAnswerLater(t *testing.T) {
	parked := make(chan *transaction.ServerTx, 1)
	handler := HandlerFunc(func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
		switch req.URI.User {
		case "later":
			parked <- tx
			return ErrAnswerLater
		case "later-wrapped":
			// Answered before returning: nothing more is sent.
			if err := tx.Respond(sip.NewResponse(req, sip.StatusAccepted, "")); err != nil {
				return err
			}
			return fmt.Errorf("wrapped: %w", ErrAnswerLater)
		case "release":
			p := <-parked
			resp := sip.NewResponse(p.Request(), sip.StatusBusyHere, "")
			resp.SetToTag(NewTag())
			if err := p.Respond(resp); err != nil {
				return err
			}
			return &sip.StatusError{Code: sip.StatusOK}
		}
		return ErrNotHandled
	})
	addr := startServer(t, Config{Workers: 1}, handler)
	c := newClient(t, addr)
	host := addr.String()
	later := c.send("REGISTER", "sip:later@"+host)
	release := c.send("REGISTER", "sip:release@"+host)
	// Had the server answered the first request (500), that response
	// would come before the one the second handler sends.
	if r := c.recv(later); r.StatusCode != sip.StatusBusyHere {
		t.Fatalf("parked request: status %d %s, want 486 from the handler", r.StatusCode, r.Reason)
	}
	if r := c.recv(release); r.StatusCode != sip.StatusOK {
		t.Fatalf("second request: status %d, want 200", r.StatusCode)
	}
	wrapped := c.send("REGISTER", "sip:later-wrapped@"+host)
	if r := c.recv(wrapped); r.StatusCode != sip.StatusAccepted {
		t.Fatalf("answered, then ErrAnswerLater: status %d, want 202", r.StatusCode)
	}
}

// TestServerCloseHooks: Close runs the OnClose hooks, in order, while the
// layers are still open — a hook answers a request a handler left for
// later, and the client gets that answer — then ends the handlers'
// context and closes the layers.
func TestServerCloseHooks(t *testing.T) {
	parked := make(chan *transaction.ServerTx, 1)
	var handlerCtx atomic.Pointer[context.Context]
	handler := HandlerFunc(func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
		handlerCtx.Store(&ctx)
		parked <- tx
		return ErrAnswerLater
	})
	srv := New(Config{}, handler)
	addr, err := srv.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	srv.OnClose(func() {
		if (*handlerCtx.Load()).Err() != nil {
			t.Error("the handlers' context ended before the hooks ran")
		}
		tx := <-parked
		resp := sip.NewResponse(tx.Request(), sip.StatusServiceUnavailable, "")
		resp.SetToTag(NewTag())
		if err := tx.Respond(resp); err != nil {
			t.Errorf("respond from the hook: %v", err)
		}
		order = append(order, "first")
	})
	srv.OnClose(func() { order = append(order, "second") })
	c := newClient(t, addr)
	id := c.send("MESSAGE", "sip:bob@"+addr.String())
	for deadline := time.Now().Add(5 * time.Second); len(parked) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the handler did not get the request")
		}
	}
	srv.Close()
	if (*handlerCtx.Load()).Err() == nil {
		t.Error("the handlers' context did not end")
	}
	if r := c.recv(id); r.StatusCode != sip.StatusServiceUnavailable {
		t.Fatalf("status %d, want the hook's 503", r.StatusCode)
	}
	if strings.Join(order, ",") != "first,second" {
		t.Errorf("hooks ran %v", order)
	}
}
