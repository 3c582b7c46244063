package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/sipd/sipd/location"
)

// Paging of list endpoints.
const (
	// DefaultLimit is the page size when the limit parameter is absent.
	DefaultLimit = 100
	// MaxLimit is the largest page size a client may ask for.
	MaxLimit = 1000
)

// shutdownTimeout bounds how long Close waits for requests in flight.
const shutdownTimeout = 5 * time.Second

// Config configures a Server.
type Config struct {
	// Addr is the TCP address to listen on, such as "127.0.0.1:8080"
	// (":0" or port 0 picks a free port). Required by Start. The API is
	// read-only, but it shows who is registered from where: keep it on
	// loopback or a private network.
	Addr string
	// Logger receives the server's logs, with component=admin. Nil
	// discards them.
	Logger *slog.Logger
}

// Server is the admin HTTP server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	loc     location.Store
	handler http.Handler
	now     func() time.Time // the clock for expires_in; tests replace it

	mu   sync.Mutex
	srv  *http.Server
	done chan struct{} // closed when Serve returns
}

// New returns a Server that shows the bindings of loc. It does not listen
// until Start.
func New(cfg Config, loc location.Store) *Server {
	s := &Server{cfg: cfg, loc: loc, now: time.Now}
	if cfg.Logger != nil {
		s.log = cfg.Logger.With("component", "admin")
	} else {
		s.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/registrations", get(http.HandlerFunc(s.registrations)))
	mux.Handle("/api/health", get(http.HandlerFunc(s.health)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	s.handler = mux
	return s
}

// Handler returns the API's handler, for tests and for mounting the API
// on another server.
func (s *Server) Handler() http.Handler {
	return s.handler
}

// Start listens on Config.Addr and serves in a goroutine. It returns the
// bound address, so a Config.Addr with port 0 tells the caller where the
// server is. A Server starts at most once.
func (s *Server) Start() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil, errors.New("admin: server already started")
	}
	if s.cfg.Addr == "" {
		return nil, errors.New("admin: no listen address")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, err // *net.OpError names the address
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.done = make(chan struct{})
	srv, done := s.srv, s.done
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin server stopped", "err", err)
		}
	}()
	addr := ln.Addr()
	if ta, ok := addr.(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		s.log.Warn("admin API listens beyond loopback; it shows every registration", "addr", addr.String())
	} else {
		s.log.Info("admin API listening", "addr", addr.String())
	}
	return addr, nil
}

// Close stops the server: it stops accepting, lets requests in flight
// finish for up to a few seconds, then closes the remaining connections.
// Close on a Server that never started does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	<-done
	return err
}

// Registration is one binding as /api/registrations shows it.
type Registration struct {
	AOR     string    `json:"aor"`
	Contact string    `json:"contact"`
	Expires time.Time `json:"expires"` // UTC, whole seconds (RFC 3339)
	// ExpiresIn is the number of seconds until Expires, rounded up, so a
	// live binding never shows 0.
	ExpiresIn int64   `json:"expires_in"`
	Q         float64 `json:"q"` // 0 to 1
	// Source is the address the REGISTER came from, Local the socket it
	// reached; "" when unknown.
	Source    string   `json:"source"`
	Transport string   `json:"transport"`
	Local     string   `json:"local"`
	UserAgent string   `json:"user_agent"`
	CallID    string   `json:"call_id"`
	CSeq      uint32   `json:"cseq"`
	Path      []string `json:"path"` // never null
	// Params are the other Contact parameters, each with its ';'.
	Params string `json:"params"`
}

// RegistrationsPage is the body of /api/registrations.
type RegistrationsPage struct {
	Total         int            `json:"total"` // unexpired bindings
	AORs          int            `json:"aors"`  // AORs having one
	Offset        int            `json:"offset"`
	Limit         int            `json:"limit"`
	Registrations []Registration `json:"registrations"` // never null
}

// Health is the body of /api/health.
type Health struct {
	Status string `json:"status"`
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
}

func (s *Server) registrations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, ok := intParam(q.Get("offset"), 0, 0, math.MaxInt)
	if !ok {
		writeError(w, http.StatusBadRequest, "offset must be a non-negative integer")
		return
	}
	limit, ok := intParam(q.Get("limit"), DefaultLimit, 0, MaxLimit)
	if !ok {
		writeError(w, http.StatusBadRequest, "limit must be an integer from 0 to "+strconv.Itoa(MaxLimit))
		return
	}
	ctx := r.Context()
	total, aors, err := s.loc.Count(ctx)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	// limit 0 asks only for the counts; Store.List returns nothing then.
	bs, err := s.loc.List(ctx, offset, limit)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	now := s.now()
	page := RegistrationsPage{
		Total:         total,
		AORs:          aors,
		Offset:        offset,
		Limit:         limit,
		Registrations: make([]Registration, 0, len(bs)),
	}
	for i := range bs {
		page.Registrations = append(page.Registrations, registration(&bs[i], now))
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.log.Error("location store", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "location store unavailable")
}

// registration converts b for the API, with expires_in counted from now.
func registration(b *location.Binding, now time.Time) Registration {
	in := b.Expires.Sub(now)
	secs := int64(in / time.Second)
	if in%time.Second > 0 {
		secs++
	}
	path := b.Path
	if path == nil {
		path = []string{}
	}
	return Registration{
		AOR:       b.AOR,
		Contact:   b.Contact,
		Expires:   b.Expires.UTC().Truncate(time.Second),
		ExpiresIn: max(secs, 0),
		Q:         float64(b.Q) / 1000,
		Source:    addrString(b.Source),
		Transport: b.Transport,
		Local:     addrString(b.Local),
		UserAgent: b.UserAgent,
		CallID:    b.CallID,
		CSeq:      b.CSeq,
		Path:      path,
		Params:    b.Params,
	}
}

// addrString is a.String(), or "" for the zero AddrPort (unknown).
func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// intParam parses a query parameter: def when absent or empty, else a
// decimal integer in [lo, hi].
func intParam(v string, def, lo, hi int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// get allows GET and HEAD (net/http drops the body of a HEAD answer) and
// answers 405 to the rest.
func get(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// writeJSON encodes v before writing anything, so that an encoding error
// still becomes a clean 500.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"cannot encode the answer"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}
