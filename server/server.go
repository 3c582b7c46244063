package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	Transport   transport.Config
	Transaction transaction.Config
	// Workers is the number of goroutines that run handlers; a handler may
	// block on storage, so there are many. Default 256.
	Workers int
	// QueueSize bounds the requests waiting for a worker. When it is full,
	// new INVITE, REGISTER, SUBSCRIBE, PUBLISH, MESSAGE and OPTIONS requests
	// are answered 503 with Retry-After; others (BYE, CANCEL, ...) wait for
	// room, so dialogs can always end. Default 8192.
	QueueSize int
	// Allow lists the methods the server implements, for Allow headers and
	// the 405 answer to others. Default REGISTER, OPTIONS.
	Allow []string
	// Supported lists the option tags the server supports. Default path.
	Supported []string
	// RetryAfter is the Retry-After value, in seconds, of an overload 503.
	// Default 5.
	RetryAfter int
	Logger     *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 256
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 8192
	}
	if len(c.Allow) == 0 {
		c.Allow = []string{sip.MethodRegister, sip.MethodOptions}
	}
	if c.Supported == nil {
		c.Supported = []string{"path"}
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 5
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server wires the layers together: transport listeners feed the
// transaction layer, whose new server transactions go through a bounded
// queue to a pool of workers running the Handler. It is the one place that
// answers a request a handler left unanswered (DESIGN.md, "A request's path").
type Server struct {
	cfg     Config
	log     *slog.Logger
	h       Handler
	tp      *transport.Layer
	tl      *transaction.Layer
	queue   chan job
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup
	stray   func(*transport.Inbound)
	allow   string
	closed  sync.Once

	mu      sync.Mutex
	onClose []func()
}

type job struct {
	tx  *transaction.ServerTx
	req *sip.Request
}

// New makes a server that runs h for every new request.
func New(cfg Config, h Handler) *Server {
	cfg.setDefaults()
	s := &Server{cfg: cfg, h: h, log: cfg.Logger.With("component", "server")}
	s.allow = strings.Join(cfg.Allow, ", ")
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Transport.Logger == nil {
		cfg.Transport.Logger = cfg.Logger
	}
	if cfg.Transaction.Logger == nil {
		cfg.Transaction.Logger = cfg.Logger
	}
	s.tp = transport.New(cfg.Transport, transport.HandlerFunc(func(in *transport.Inbound) { s.tl.HandleInbound(in) }))
	s.tl = transaction.New(s.tp, cfg.Transaction)
	s.tl.SetCore(s)
	s.queue = make(chan job, cfg.QueueSize)
	for range cfg.Workers {
		s.workers.Add(1)
		go s.work()
	}
	return s
}

// Listen adds a listener ("udp", "tcp", "tls") and returns its address.
func (s *Server) Listen(network, addr string) (netip.AddrPort, error) {
	return s.tp.Listen(network, addr)
}

// Transactions returns the transaction layer, for elements that send
// requests of their own (a proxy's client transactions).
func (s *Server) Transactions() *transaction.Layer { return s.tl }

// Transport returns the transport layer, for elements that forward
// messages statelessly (a proxy's ACKs for 2xx and stray responses).
func (s *Server) Transport() *transport.Layer { return s.tp }

// SetStrayHandler sets what receives ACKs for 2xx and responses that match
// no transaction (a proxy forwards them statelessly); by default they are
// dropped. Call it before Listen.
func (s *Server) SetStrayHandler(f func(*transport.Inbound)) { s.stray = f }

// OnClose registers f to run when the server closes, first, while the
// transaction and transport layers are still open and before the context
// handlers get is cancelled, so that f can still send and finish in order:
// a proxy cancels the branches of the calls it has not answered yet and
// answers their callers. Hooks run in the order registered, one after the
// other.
func (s *Server) OnClose(f func()) {
	s.mu.Lock()
	s.onClose = append(s.onClose, f)
	s.mu.Unlock()
}

// Close runs the OnClose hooks, ends the handlers' context, then stops the
// listeners, the transactions and the workers. The layers close after the
// hooks: closed first, they would leave what a closing handler still sends
// — a proxy's CANCELs (RFC 3261 §16.10), its final responses — nowhere to
// go.
func (s *Server) Close() error {
	var err error
	s.closed.Do(func() {
		s.mu.Lock()
		hooks := s.onClose
		s.mu.Unlock()
		for _, f := range hooks {
			f()
		}
		s.cancel()
		err = s.tp.Close()
		s.tl.Close()
		close(s.queue)
		s.workers.Wait()
	})
	return err
}

// HandleRequest implements transaction.Core: it queues the request for a
// worker, never blocking the transport's read loop for requests that may be
// refused under load.
func (s *Server) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	select {
	case s.queue <- job{tx, req}:
		return
	default:
	}
	switch req.Method {
	case sip.MethodInvite, sip.MethodRegister, sip.MethodSubscribe, sip.MethodPublish,
		sip.MethodMessage, sip.MethodOptions:
		// DESIGN.md: overload answers 503 with Retry-After for new work.
		resp := s.response(req, sip.StatusServiceUnavailable, "Overloaded")
		resp.Add("Retry-After", strconv.Itoa(s.cfg.RetryAfter))
		s.respond(tx, resp)
		return
	}
	defer func() { recover() }() // the queue closed during shutdown
	s.queue <- job{tx, req}
}

// HandleStray implements transaction.Core.
func (s *Server) HandleStray(in *transport.Inbound) {
	if s.stray != nil {
		s.stray(in)
	}
}

func (s *Server) work() {
	defer s.workers.Done()
	for j := range s.queue {
		s.serve(j.tx, j.req)
	}
}

// serve runs the handler and makes sure the request gets exactly one final
// response, unless the handler took that on with ErrAnswerLater.
func (s *Server) serve(tx *transaction.ServerTx, req *sip.Request) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panic", "method", req.Method, "call_id", req.CallID(), "panic", p, "stack", string(debug.Stack()))
			s.finish(tx, req, &sip.StatusError{Code: sip.StatusInternalServerError})
		}
	}()
	s.finish(tx, req, s.h.ServeSIP(s.ctx, tx, req))
}

func (s *Server) finish(tx *transaction.ServerTx, req *sip.Request, err error) {
	if answered(tx) {
		if err != nil && !errors.Is(err, ErrNotHandled) && !errors.Is(err, ErrAnswerLater) {
			s.log.Debug("handler error after its response", "call_id", req.CallID(), "err", err)
		}
		return
	}
	if errors.Is(err, ErrAnswerLater) {
		// The handler answers through tx itself, later (see ErrAnswerLater).
		return
	}
	var resp *sip.Response
	switch {
	case err == nil:
		s.log.Error("handler returned without a final response", "method", req.Method, "call_id", req.CallID())
		resp = s.response(req, sip.StatusInternalServerError, "")
	case errors.Is(err, ErrNotHandled):
		if !slices.Contains(s.cfg.Allow, req.Method) {
			// RFC 3261 §8.2.1: 405 with the methods we do allow.
			resp = s.response(req, sip.StatusMethodNotAllowed, "")
			resp.Add("Allow", s.allow)
		} else {
			resp = s.response(req, sip.StatusNotFound, "")
		}
	default:
		code, reason := sip.StatusOf(err)
		if code == sip.StatusInternalServerError {
			s.log.Error("handler error", "method", req.Method, "call_id", req.CallID(), "err", err)
		}
		resp = s.response(req, code, reason)
	}
	s.respond(tx, resp)
}

func (s *Server) respond(tx *transaction.ServerTx, resp *sip.Response) {
	if err := tx.Respond(resp); err != nil && !errors.Is(err, transaction.ErrFinal) {
		s.log.Debug("response not sent", "err", err)
	}
}

// response builds a response with a To tag (RFC 3261 §8.2.6.2).
func (s *Server) response(req *sip.Request, code int, reason string) *sip.Response {
	resp := sip.NewResponse(req, code, reason)
	if code > 100 && req.ToTag() == "" {
		resp.SetToTag(NewTag())
	}
	return resp
}

// answered reports whether a final response went out through tx.
func answered(tx *transaction.ServerTx) bool {
	switch tx.State() {
	case transaction.StateTrying, transaction.StateProceeding:
		return false
	}
	return true
}

// NewTag returns a random tag for From or To (RFC 3261 §19.3: at least 32
// bits of randomness).
func NewTag() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var _ transaction.Core = (*Server)(nil)
