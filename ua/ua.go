package ua

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/sdp"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// Direction says whether a traced message was received or sent.
type Direction uint8

// The two directions of Config.Trace.
const (
	In Direction = iota + 1
	Out
)

func (d Direction) String() string {
	if d == In {
		return "<-"
	}
	return "->"
}

// Errors callers branch on.
var (
	// ErrClosed: the UA was closed.
	ErrClosed = errors.New("ua: closed")
	// ErrCallEnded: the call is over, so nothing more can be sent in it.
	ErrCallEnded = errors.New("ua: call ended")
	// ErrPending: an offer/answer exchange or INVITE transaction is
	// already in progress in the dialog (RFC 3261 §14.1, RFC 3311 §5.1).
	ErrPending = errors.New("ua: request pending")
	// ErrNoTarget: the Request-URI or Route names no address the UA can
	// send to.
	ErrNoTarget = errors.New("ua: no target address")
	// ErrAuth: a challenge could not be answered (no password, an
	// unsupported algorithm) or the credentials were refused again.
	ErrAuth = errors.New("ua: authentication failed")
	// ErrNoAck: no ACK came for our 2xx within 64*T1 (RFC 3261
	// §13.3.1.4); the call was ended with BYE.
	ErrNoAck = errors.New("ua: no ACK for 2xx")
	// ErrNoPRACK: no PRACK came for a reliable provisional response within
	// 64*T1 (RFC 3262 §3); the INVITE was rejected with 500.
	ErrNoPRACK = errors.New("ua: no PRACK for reliable provisional response")
)

// ResponseError is the error of a request answered with a final response
// other than 2xx.
type ResponseError struct {
	Response *sip.Response
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("ua: %d %s", e.Response.StatusCode, e.Response.Reason)
}

// StatusCode returns the code of the final response of a failed request, or
// 0 when err is not a *ResponseError.
func StatusCode(err error) int {
	var re *ResponseError
	if errors.As(err, &re) {
		return re.Response.StatusCode
	}
	return 0
}

// Config configures a UA. The zero value of each field takes the default
// its comment names; User is required.
type Config struct {
	// Network and Listen name the listener the UA opens: "udp", "tcp",
	// ... and an address such as "127.0.0.1:0". Defaults "udp" and
	// "127.0.0.1:0".
	Network, Listen string

	// Transport, when set, replaces the listener: the UA sends through
	// it, the caller delivers what arrives with UA.HandleInbound, and
	// LocalAddr is the address the UA puts in its Contact and SDP. Tests
	// use it for an in-memory network.
	Transport transaction.Transport
	LocalAddr netip.AddrPort

	// Timers are the transaction layer's T1, T2 and T4; the UA uses the
	// same T1 and T2 for its own retransmissions (2xx, reliable 1xx).
	Timers transaction.Config

	// User, Domain and DisplayName make our address of record,
	// "DisplayName" <sip:User@Domain>, the From of requests outside a
	// dialog. Domain defaults to the listener's address.
	User, Domain, DisplayName string

	// Username and Password answer digest challenges (RFC 3261 §22);
	// Username defaults to User.
	Username, Password string

	// Proxy, when set, is an outbound proxy URI: every request outside a
	// dialog goes there, with a Route (loose routing, RFC 3261 §8.1.2).
	Proxy string

	// Resolver, when set, resolves host names by RFC 3263 (SRV, then
	// A/AAAA; *dns.Resolver is one), so that sip:example.com reaches the
	// servers its _sip._udp SRV records name. Without it a name is looked
	// up by the system resolver (A/AAAA) at port 5060 or 5061.
	Resolver Resolver

	// Advertise is the IP address written in Contact (and SDP) when the
	// listener is bound to 0.0.0.0 or ::, which no peer can send to; by
	// default the first address of an interface that is up and not
	// loopback, of the listener's family, else loopback.
	Advertise netip.Addr

	// MediaAddr is the address RTP is received on, written in SDP;
	// defaults to the listener's IP (or Advertise).
	MediaAddr netip.Addr
	// Codecs are offered and accepted, in order of preference;
	// sdp.DefaultCodecs() when empty.
	Codecs []sdp.Codec

	// NoMedia keeps calls to signaling: SDP names a port but no RTP
	// socket is opened (Call.Media is nil).
	NoMedia bool

	// MinSE is the smallest session interval accepted, in seconds (RFC
	// 4028 §5); 90 when zero, the RFC's minimum.
	MinSE uint32

	// OnInvite is called, in a goroutine of its own, with each new
	// incoming call; it answers with Ring, Progress, Answer or Reject.
	// When nil, incoming calls are rejected 480.
	OnInvite func(*IncomingCall)
	// OnMessage is called with each MESSAGE received outside a dialog
	// (RFC 3428) and returns the status to answer (200 when it returns
	// 0). When nil, MESSAGE is answered 200.
	OnMessage func(req *sip.Request) int
	// OnRefer decides whether to accept a REFER received in a call (RFC
	// 3515); nil accepts. An accepted REFER makes the UA call the Refer-To
	// target itself and report progress with NOTIFY.
	OnRefer func(c *Call, referTo sip.Address) bool
	// OnEvent is called, in a goroutine of its own, with what happens in
	// calls: see EventKind.
	OnEvent func(Event)

	// Trace, when set, sees every message sent and received, with the
	// remote address, for a readable call flow: a sent message after the
	// transport wrote its Via, and before any response to it. It is called
	// inline, under a lock of the UA's, and must neither block nor call the
	// UA.
	Trace func(dir Direction, msg sip.Message, remote netip.AddrPort)

	// UserAgent is the User-Agent header value; "sipd" when empty.
	UserAgent string
	Logger    *slog.Logger
}

// UA is a SIP user agent: it places and takes calls, registers, sends and
// receives MESSAGE and OPTIONS. Its methods are safe for concurrent use.
type UA struct {
	cfg     Config
	tp      *transport.Layer // nil with Config.Transport
	out     transaction.Transport
	tl      *transaction.Layer
	addr    netip.AddrPort // the listener
	public  netip.AddrPort // the listener as peers reach it (Contact)
	aor     sip.Address
	contact sip.URI
	proxy   *sip.URI
	t1, t2  time.Duration
	log     *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mediaPorts atomic.Uint32
	traceMu    sync.Mutex

	ready chan struct{} // closed when New is done; inbound waits for it

	mu     sync.Mutex
	closed bool
	calls  map[dialog.ID]*Call
}

// New starts a UA: it opens its listener (or uses Config.Transport) and is
// ready to send and receive.
func New(cfg Config) (*UA, error) {
	if cfg.User == "" {
		return nil, errors.New("ua: Config.User is required")
	}
	u := &UA{cfg: cfg, calls: make(map[dialog.ID]*Call), log: cfg.Logger, ready: make(chan struct{})}
	defer close(u.ready)
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	u.t1, u.t2 = cfg.Timers.T1, cfg.Timers.T2
	if u.t1 <= 0 {
		u.t1 = 500 * time.Millisecond
	}
	if u.t2 <= 0 {
		u.t2 = 4 * time.Second
	}
	if u.cfg.MinSE == 0 {
		u.cfg.MinSE = 90
	}
	if u.cfg.UserAgent == "" {
		u.cfg.UserAgent = "sipd"
	}
	if u.cfg.Username == "" {
		u.cfg.Username = cfg.User
	}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	var inner transaction.Transport
	if cfg.Transport != nil {
		if !cfg.LocalAddr.IsValid() {
			return nil, errors.New("ua: Config.LocalAddr is required with Config.Transport")
		}
		inner, u.addr = cfg.Transport, cfg.LocalAddr
	} else {
		network, listen := cfg.Network, cfg.Listen
		if network == "" {
			network = "udp"
		}
		if listen == "" {
			listen = "127.0.0.1:0"
		}
		u.tp = transport.New(transport.Config{Logger: cfg.Logger}, transport.HandlerFunc(u.HandleInbound))
		addr, err := u.tp.Listen(network, listen)
		if err != nil {
			u.tp.Close()
			return nil, err
		}
		u.addr, inner = addr, u.tp
	}
	u.out = traced{inner, u}
	u.tl = transaction.New(u.out, cfg.Timers)
	u.tl.SetCore(core{u})
	public := u.addr
	defer func() { u.public = public }()
	if public.Addr().IsUnspecified() {
		ip := cfg.Advertise
		if !ip.IsValid() {
			ip = hostAddr(public.Addr().Is4())
		}
		public = netip.AddrPortFrom(ip, public.Port())
	}
	if !u.cfg.MediaAddr.IsValid() || u.cfg.MediaAddr.IsUnspecified() {
		u.cfg.MediaAddr = public.Addr()
	}
	domain := cfg.Domain
	if domain == "" {
		domain = public.String()
	}
	aor, err := sip.ParseURI("sip:" + sip.EscapeUser(cfg.User) + "@" + domain)
	if err != nil {
		u.Close()
		return nil, fmt.Errorf("ua: address of record: %w", err)
	}
	u.aor = sip.Address{Display: cfg.DisplayName, URI: aor}
	c, err := sip.ParseURI("sip:" + sip.EscapeUser(cfg.User) + "@" + public.String())
	if err != nil {
		u.Close()
		return nil, err
	}
	if cfg.Network != "" && !strings.EqualFold(cfg.Network, "udp") {
		c.Params = c.Params.Set("transport", strings.ToLower(cfg.Network))
	}
	u.contact = c
	if cfg.Proxy != "" {
		p, err := sip.ParseURI(cfg.Proxy)
		if err != nil {
			u.Close()
			return nil, fmt.Errorf("ua: proxy: %w", err)
		}
		if !p.Params.Has("lr") {
			p.Params = p.Params.Set("lr", "")
		}
		u.proxy = &p
	}
	return u, nil
}

// Addr returns the address the UA listens on.
func (u *UA) Addr() netip.AddrPort { return u.addr }

// Contact returns the Contact URI of the UA.
func (u *UA) Contact() sip.URI { return u.contact }

// AOR returns our address of record, the From of requests outside a dialog.
func (u *UA) AOR() sip.Address { return u.aor }

// Close ends every call with BYE (waiting briefly for the answers), stops
// the transaction layer and the listener, and waits for the goroutines the
// UA started.
func (u *UA) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	calls := make([]*Call, 0, len(u.calls))
	for _, c := range u.calls {
		calls = append(calls, c)
	}
	u.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 4*u.t1)
	var wg sync.WaitGroup
	for _, c := range calls {
		// BYE, CANCEL or 480, as the call's state asks; all at once.
		wg.Go(func() {
			c.Hangup(ctx)
			c.end(nil)
		})
	}
	wg.Wait()
	cancel()
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
	u.cancel()
	u.wg.Wait()
	u.tl.Close()
	if u.tp != nil {
		u.tp.Close()
	}
	return nil
}

// goAsync runs f in a goroutine that Close waits for; it reports false
// when the UA is closed.
func (u *UA) goAsync(f func()) bool {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return false
	}
	u.wg.Add(1)
	u.mu.Unlock()
	go func() {
		defer u.wg.Done()
		f()
	}()
	return true
}

func (u *UA) emit(ev Event) {
	if u.cfg.OnEvent != nil {
		if ev.Request != nil {
			ev.Request = warm(ev.Request.Clone())
		}
		u.goAsync(func() { u.cfg.OnEvent(ev) })
	}
}

// HandleInbound takes a message from the transport; with Config.Transport
// the caller delivers every received message here (never from inside a
// send).
func (u *UA) HandleInbound(in *transport.Inbound) {
	<-u.ready
	if u.tl == nil {
		return
	}
	if u.cfg.Trace != nil {
		u.traceMu.Lock()
		u.cfg.Trace(In, in.Msg, in.Remote)
		u.traceMu.Unlock()
	}
	u.tl.HandleInbound(in)
}

// traced wraps the transport to show sent messages to Config.Trace.
type traced struct {
	inner transaction.Transport
	u     *UA
}

// The trace lock is held across a send and its trace, and taken before an
// inbound message is traced, so the trace shows a request before the
// response that a fast peer sends back to it.
func (t traced) SendRequest(req *sip.Request, dst transport.Target) error {
	if t.u.cfg.Trace == nil {
		return t.inner.SendRequest(req, dst)
	}
	t.u.traceMu.Lock()
	defer t.u.traceMu.Unlock()
	err := t.inner.SendRequest(req, dst)
	if err == nil {
		t.u.cfg.Trace(Out, req, dst.Addr)
	}
	return err
}

func (t traced) SendResponse(resp *sip.Response, src transport.Source) error {
	if t.u.cfg.Trace == nil {
		return t.inner.SendResponse(resp, src)
	}
	t.u.traceMu.Lock()
	defer t.u.traceMu.Unlock()
	err := t.inner.SendResponse(resp, src)
	if err == nil {
		t.u.cfg.Trace(Out, resp, src.Remote)
	}
	return err
}

// addCall and removeCall keep the dialogs in-dialog requests are matched to.
func (u *UA) addCall(id dialog.ID, c *Call) {
	u.mu.Lock()
	u.calls[id] = c
	u.mu.Unlock()
}

func (u *UA) removeCall(id dialog.ID, c *Call) {
	u.mu.Lock()
	if u.calls[id] == c {
		delete(u.calls, id)
	}
	u.mu.Unlock()
}

func (u *UA) findCall(id dialog.ID) *Call {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[id]
}

// Calls returns the calls (early and confirmed dialogs) the UA has now.
func (u *UA) Calls() []*Call {
	u.mu.Lock()
	defer u.mu.Unlock()
	seen := map[*Call]bool{}
	var out []*Call
	for _, c := range u.calls {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// Resolver resolves a SIP URI into the targets to try, in order (RFC
// 3263 §4); *dns.Resolver is one.
type Resolver interface {
	Resolve(ctx context.Context, u sip.URI) ([]transport.Target, error)
}

// target resolves where a request to uri goes (RFC 3263 reduced to what
// a UA on a LAN needs): the maddr or host as an IP address, or a name
// looked up in DNS, at the port of the URI or 5060 (5061 for sips), over
// the transport parameter's transport, UDP by default. With a Resolver a
// name goes through RFC 3263 instead, and the first target is used.
func (u *UA) target(uri sip.URI) (transport.Target, error) {
	if !uri.IsSIP() {
		return transport.Target{}, fmt.Errorf("%w: %s", ErrNoTarget, uri.String())
	}
	if _, err := netip.ParseAddr(strings.Trim(uri.Host, "[]")); err != nil && u.cfg.Resolver != nil {
		if _, ok := uri.Params.Get("maddr"); !ok {
			ctx, cancel := context.WithTimeout(u.ctx, 5*time.Second)
			ts, err := u.cfg.Resolver.Resolve(ctx, uri)
			cancel()
			if err != nil || len(ts) == 0 {
				return transport.Target{}, fmt.Errorf("%w: %s: %v", ErrNoTarget, uri.Host, err)
			}
			return ts[0], nil
		}
	}
	tr := transport.UDP
	if v, ok := uri.Params.Get("transport"); ok {
		tr = strings.ToUpper(v)
	} else if uri.Scheme == "sips" {
		tr = transport.TLS
	}
	host := uri.Host
	if m, ok := uri.Params.Get("maddr"); ok && m != "" {
		host = m
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	port := uri.Port
	if port == 0 {
		port = 5060
		if tr == transport.TLS {
			port = 5061
		}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		ctx, cancel := context.WithTimeout(u.ctx, 5*time.Second)
		ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		cancel()
		if lerr != nil || len(ips) == 0 {
			return transport.Target{}, fmt.Errorf("%w: %s: %v", ErrNoTarget, host, lerr)
		}
		ip = ips[0]
		for _, a := range ips {
			if a.Is4() == u.addr.Addr().Is4() {
				ip = a
				break
			}
		}
	}
	return transport.Target{Transport: tr, Addr: netip.AddrPortFrom(ip.Unmap(), uint16(port))}, nil
}

// targetOf is where req goes: its first Route, else its Request-URI (RFC
// 3261 §8.1.2).
func (u *UA) targetOf(req *sip.Request) (transport.Target, error) {
	if rs, err := req.Routes(); err == nil && len(rs) > 0 {
		return u.target(rs[0].URI)
	}
	return u.target(req.URI)
}

// hostAddr returns the first address of an up, non-loopback interface of
// the family asked for, else loopback.
func hostAddr(v4 bool) netip.Addr {
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := p.Addr()
			if ip.Is4() == v4 && !ip.IsLinkLocalUnicast() {
				return ip
			}
		}
	}
	if v4 {
		return netip.MustParseAddr("127.0.0.1")
	}
	return netip.IPv6Loopback()
}

// dialogTarget is where a request in dialog d goes: to the Request-URI
// when the route set starts with a strict router, whose URI the dialog
// made the Request-URI (RFC 3261 §12.2.1.1, §8.1.2); else as targetOf.
func (u *UA) dialogTarget(d *dialog.Dialog, req *sip.Request) (transport.Target, error) {
	if d != nil {
		if rs := d.RouteSet(); len(rs) > 0 && !rs[0].URI.Params.Has("lr") {
			return u.target(req.URI)
		}
	}
	return u.targetOf(req)
}

// newTag returns a random tag (RFC 3261 §19.3: at least 32 random bits).
func newTag() string { return rand.Text()[:16] }

// newCallID returns a globally unique Call-ID (RFC 3261 §8.1.1.4).
func (u *UA) newCallID() string { return rand.Text() + "@" + u.public.Addr().String() }

// NewRequest builds a request outside any dialog from our address of
// record to the URI to (RFC 3261 §8.1.1): To without tag, From with a new
// tag, a new Call-ID, CSeq 1, Max-Forwards 70, a Via with a new branch,
// our Contact for INVITE, REGISTER, SUBSCRIBE and REFER, and a Route to
// Config.Proxy when set. Change what you like and pass it to Do (or Invite
// for an INVITE through InviteOptions).
func (u *UA) NewRequest(method string, to sip.URI) *sip.Request {
	return u.newRequest(method, to, sip.Address{URI: to}, u.newCallID(), 1)
}

func (u *UA) newRequest(method string, ruri sip.URI, to sip.Address, callID string, seq uint32) *sip.Request {
	r := sip.NewRequest(method, ruri)
	r.PushVia(sip.Via{Transport: "UDP", Host: dialog.PlaceholderHost, Params: sip.Params(";branch=" + transaction.NewBranch())})
	r.Add("Max-Forwards", "70")
	if u.proxy != nil {
		r.Add("Route", (&sip.Address{URI: *u.proxy}).String())
	}
	from := u.aor
	from.Params = from.Params.Set("tag", newTag())
	r.Add("From", from.String())
	r.Add("To", to.String())
	r.Add("Call-ID", callID)
	r.Add("CSeq", strconv.FormatUint(uint64(seq), 10)+" "+method)
	switch method {
	case sip.MethodInvite, sip.MethodRegister, sip.MethodSubscribe, sip.MethodRefer:
		r.Add("Contact", (&sip.Address{URI: u.contact}).String())
	}
	r.Add("User-Agent", u.cfg.UserAgent)
	return r
}

// Allowed methods and supported option tags, for Allow and Supported.
const (
	allowed   = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, PRACK, REFER, NOTIFY"
	supported = "100rel, replaces, timer"
)

// knownTags are the option tags a request may Require of us (RFC 3261
// §8.2.2.3).
func knownTag(t string) bool {
	switch strings.ToLower(t) {
	case "100rel", "replaces", "timer":
		return true
	}
	return false
}

// decorate adds the fields every request of ours carries.
func decorate(r *sip.Request) {
	if !r.Has("Allow") && (r.Method == sip.MethodInvite || r.Method == sip.MethodUpdate || r.Method == sip.MethodOptions) {
		r.Add("Allow", allowed)
	}
	if !r.Has("Supported") && r.Method != sip.MethodAck && r.Method != sip.MethodCancel {
		r.Add("Supported", supported)
	}
}

// warm parses the fields a sip message caches on first read, so that
// goroutines may then read it at once (reads of a cold message write
// the cache).
func warm(r *sip.Request) *sip.Request {
	r.TopVia()
	r.CSeq()
	r.From()
	r.To()
	return r
}
