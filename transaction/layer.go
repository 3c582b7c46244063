package transaction

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// Transport is what the transaction layer needs from the transport layer;
// package transport's *Layer satisfies it. SendRequest may rewrite the top
// Via of req (transport and sent-by); the layer never calls it
// concurrently for one request. Neither method may call back into the
// Layer before it returns.
type Transport interface {
	SendRequest(req *sip.Request, dst transport.Target) error
	SendResponse(resp *sip.Response, src transport.Source) error
}

// Config holds the timer values of RFC 3261 Table 4 and the logger.
type Config struct {
	// T1 is the round-trip time estimate (RFC 3261 §17.1.1.1): the first
	// retransmission interval, and 64*T1 is the transaction timeout.
	// Default 500ms.
	T1 time.Duration
	// T2 is the longest interval between retransmissions of non-INVITE
	// requests and INVITE responses (§17.1.2.2). Default 4s.
	T2 time.Duration
	// T4 is how long a message may stay in the network (§17.1.2.2): the
	// value of Timers I and K over unreliable transports. Default 5s.
	T4 time.Duration
	// Logger receives debug records of dropped and stray messages; nil
	// discards them.
	Logger *slog.Logger
}

// Core is the transaction user that hears of new requests and of the
// messages no transaction takes.
type Core interface {
	// HandleRequest is called with a new server transaction for a
	// request that matched none (RFC 3261 §17.2.3), a CANCEL that matched
	// an INVITE server transaction included (§9.2). The TU answers
	// through tx.Respond, now or later, and must not change req (Clone it
	// first). The transaction lets go of req once a final response is
	// sent (tx.Request returns nil then): a TU that needs it later keeps
	// it. For an INVITE the layer has sent nothing yet: it sends 100
	// (Trying) itself if the TU has sent no response 200 ms after the
	// request arrived (§17.2.1). It is called from the transport's read
	// loop and must not block for long.
	HandleRequest(tx *ServerTx, req *sip.Request)
	// HandleStray is called, statelessly, with an ACK that no server
	// transaction absorbs (an ACK for a 2xx, §17.1.1.3 and RFC 6026
	// §8.7), a response that matches no client transaction (a 2xx
	// retransmitted after Timer M, §17.1.1.2 and RFC 6026 §8.4), and a
	// CANCEL that matches no transaction (§9.2, §16.10).
	HandleStray(in *transport.Inbound)
}

// ServerErrorHandler may be implemented by a Core to hear of server
// transaction failures the TU would not see otherwise: Timer H fired
// without an ACK (ErrTimeout, RFC 3261 §17.2.1), or the transport failed
// to send a response the layer sent on its own — a retransmission or the
// 100 (Trying) — (ErrTransport, §17.2.4). Errors of Respond are returned by
// it instead. It is called with no lock held.
type ServerErrorHandler interface {
	HandleServerError(tx *ServerTx, err error)
}

// trying100 is when an INVITE server transaction sends 100 (Trying) if the
// TU has not sent a response (RFC 3261 §17.2.1).
const trying100 = 200 * time.Millisecond

// Layer is the transaction layer: it holds the live transactions, matches
// inbound messages to them and runs their timers.
type Layer struct {
	tp    Transport
	t1    time.Duration
	t2    time.Duration
	t4    time.Duration
	log   *slog.Logger
	epoch time.Time

	timers timerHeap

	mu      sync.Mutex // see the package comment
	core    Core
	coreErr ServerErrorHandler
	closed  bool
	clients map[clientKey]*ClientTx
	servers map[serverKey]serverEntry
	legacy  map[legacyKey]*ServerTx
	peaks   struct{ clients, servers, legacy int } // the maps' sizes since made
	// completed holds the records of completed non-INVITE server
	// transactions in the order their Timer J fires (see completedTx).
	completed completedQueue
}

// serverEntry is a server transaction in Layer.servers: a ServerTx, or
// the compact record of a non-INVITE one that completed over an unreliable
// transport. One map for both, so that a request is matched with one
// lookup.
type serverEntry struct {
	tx  *ServerTx
	rec *completedTx
}

// New returns a transaction layer that sends through tp. Set the Core
// with SetCore before the transport delivers requests.
func New(tp Transport, cfg Config) *Layer {
	l := &Layer{
		tp:      tp,
		t1:      cfg.T1,
		t2:      cfg.T2,
		t4:      cfg.T4,
		epoch:   time.Now(),
		clients: make(map[clientKey]*ClientTx),
		servers: make(map[serverKey]serverEntry),
		legacy:  make(map[legacyKey]*ServerTx),
	}
	if l.t1 <= 0 {
		l.t1 = 500 * time.Millisecond
	}
	if l.t2 <= 0 {
		l.t2 = 4 * time.Second
	}
	if l.t4 <= 0 {
		l.t4 = 5 * time.Second
	}
	l.timers.init(l)
	l.completed.l = l
	l.completed.tm.owner = &l.completed
	if cfg.Logger != nil {
		l.log = cfg.Logger.With("component", "transaction")
	} else {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l
}

// SetCore sets the TU that gets new requests and stray messages. If it
// also implements ServerErrorHandler, it hears of server transaction
// failures.
func (l *Layer) SetCore(c Core) {
	eh, _ := c.(ServerErrorHandler)
	l.mu.Lock()
	l.core, l.coreErr = c, eh
	l.mu.Unlock()
}

// Close terminates every transaction without telling the TU, stops their
// timers and makes the layer drop whatever comes after.
func (l *Layer) Close() {
	l.mu.Lock()
	l.closed = true
	cs := make([]*ClientTx, 0, len(l.clients))
	for _, tx := range l.clients {
		cs = append(cs, tx)
	}
	ss := make([]*ServerTx, 0, len(l.servers)+len(l.legacy))
	for _, e := range l.servers {
		if e.tx != nil {
			ss = append(ss, e.tx)
		}
	}
	for _, tx := range l.legacy {
		ss = append(ss, tx)
	}
	l.closeCompletedLocked()
	l.mu.Unlock()
	for _, tx := range cs {
		tx.mu.Lock()
		tx.terminateLocked()
		tx.mu.Unlock()
	}
	for _, tx := range ss {
		tx.mu.Lock()
		tx.terminateLocked()
		tx.mu.Unlock()
	}
	l.timers.close()
}

// now is the monotonic time since the layer's epoch; timer deadlines are
// kept in it.
func (l *Layer) now() time.Duration { return time.Since(l.epoch) }

// timerD is Timer D over unreliable transports: "at least 32 seconds"
// (RFC 3261 §17.1.1.2), and no less than Timer H of a server using our T1.
func (l *Layer) timerD() time.Duration { return max(32*time.Second, 64*l.t1) }

// nonInvite100 is when a non-INVITE server transaction sends 100 if the
// TU has not answered: the time a client's Timer E takes to reach T2,
// T1+2*T1+4*T1 = 3.5s for the defaults (RFC 4320 §4.1).
func (l *Layer) nonInvite100() time.Duration {
	var at time.Duration
	for d := l.t1; ; {
		at += d
		if d *= 2; d >= l.t2 {
			return at
		}
	}
}

// NewBranch returns a new branch parameter value: the magic cookie and 22
// characters of base64url carrying 128 random bits, unique across space
// and time as RFC 3261 §8.1.1.7 asks.
func NewBranch() string {
	const n = len(sip.MagicCookie)
	var r [16]byte
	rand.Read(r[:])
	var b [n + 22]byte
	copy(b[:], sip.MagicCookie)
	base64.RawURLEncoding.Encode(b[n:], r[:])
	return string(b[:])
}

// clientKey identifies a client transaction (RFC 3261 §17.1.3): the branch
// of the top Via and the method, since a CANCEL shares its INVITE's branch.
// Whether sent-by is ours is the transport's check (§18.1.2).
type clientKey struct {
	branch string
	method string
}

// serverKey identifies a server transaction created by a request whose
// branch has the magic cookie (RFC 3261 §17.2.3): branch, sent-by and
// method, with INVITE standing for ACK, written "branch host port method"
// with the port as a uvarint (a branch, a host and a method hold no space,
// RFC 3261 §25.1, so the method is what follows the last one). One
// string, rather than a struct of four fields, keeps the map entry small
// — server transactions are the most numerous, lingering for Timer J — and
// the key one allocation.
type serverKey string

// serverID is a serverKey in parts, as a received request has them.
type serverID struct {
	branch string
	host   string
	port   int
	method string
}

// appendTo appends the serverKey of id to b.
func (id *serverID) appendTo(b []byte) []byte {
	b = append(b, id.branch...)
	b = append(b, ' ')
	b = append(b, id.host...)
	b = append(b, ' ')
	b = binary.AppendUvarint(b, uint64(id.port))
	b = append(b, ' ')
	return append(b, id.method...)
}

// method returns the method of the key.
func (k serverKey) method() string {
	return string(k[strings.LastIndexByte(string(k), ' ')+1:])
}

// legacyKey identifies a server transaction for a request from an RFC 2543
// element, without the magic cookie (RFC 3261 §17.2.3): Request-URI, To
// tag, From tag, Call-ID, CSeq number and method (INVITE standing for ACK
// and, in MatchCancel, for CANCEL) and the top Via. The values are compared
// as written, which holds for retransmissions.
type legacyKey struct {
	uri     sip.URI
	toTag   string
	fromTag string
	callID  string
	seq     uint32
	method  string
	via     viaID
}

// viaID is a top Via as written, with its parameters (branch, received,
// rport included).
type viaID struct {
	transport string
	host      string
	port      int
	params    sip.Params
}

// reqID is the key of the server transaction a request belongs to.
type reqID struct {
	rfc3261 bool
	key     serverID
	lkey    legacyKey
}

func makeReqID(req *sip.Request, via *sip.Via, cs sip.CSeq) reqID {
	if via.HasRFC3261Branch() {
		return reqID{rfc3261: true, key: serverID{
			branch: via.Branch(), host: via.Host, port: via.Port, method: req.Method,
		}}
	}
	return reqID{lkey: legacyKey{
		uri:     req.URI,
		toTag:   req.ToTag(),
		fromTag: req.FromTag(),
		callID:  req.CallID(),
		seq:     cs.Seq,
		method:  req.Method,
		via:     viaID{via.Transport, via.Host, via.Port, via.Params},
	}}
}

// own makes the strings of an RFC 2543 key the transaction's own: those
// of a parsed request are views of its whole received buffer, which a key
// kept for the transaction's life would hold in memory after the
// transaction let go of the request. The copies share one allocation. (A
// serverKey is a new string already.)
func (id *reqID) own() {
	k := &id.lkey
	k.method = internMethod(k.method)
	u := &k.uri
	cloneStrings(&u.Scheme, &u.User, &u.Password, &u.Host, (*string)(&u.Params), &u.Headers, &u.Opaque,
		&k.toTag, &k.fromTag, &k.callID, &k.via.transport, &k.via.host, (*string)(&k.via.params))
}

// cloneStrings replaces the strings with copies in one new allocation.
func cloneStrings(ss ...*string) {
	n := 0
	for _, p := range ss {
		n += len(*p)
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range ss {
		b.WriteString(*p)
	}
	all := b.String()
	for _, p := range ss {
		*p, all = all[:len(*p)], all[len(*p):]
	}
}

// internMethod returns the constant for a method of RFC 3261 or a common
// extension, which holds no buffer in memory, or else a copy of m.
func internMethod(m string) string {
	switch m {
	case sip.MethodInvite:
		return sip.MethodInvite
	case sip.MethodAck:
		return sip.MethodAck
	case sip.MethodBye:
		return sip.MethodBye
	case sip.MethodCancel:
		return sip.MethodCancel
	case sip.MethodOptions:
		return sip.MethodOptions
	case sip.MethodRegister:
		return sip.MethodRegister
	case sip.MethodPrack:
		return sip.MethodPrack
	case sip.MethodSubscribe:
		return sip.MethodSubscribe
	case sip.MethodNotify:
		return sip.MethodNotify
	case sip.MethodPublish:
		return sip.MethodPublish
	case sip.MethodInfo:
		return sip.MethodInfo
	case sip.MethodRefer:
		return sip.MethodRefer
	case sip.MethodMessage:
		return sip.MethodMessage
	case sip.MethodUpdate:
		return sip.MethodUpdate
	}
	return strings.Clone(m)
}

// withMethod returns the id with another method: an ACK and a CANCEL look
// up their INVITE with it.
func (id reqID) withMethod(m string) reqID {
	id.key.method, id.lkey.method = m, m
	return id
}

// serverLocked returns the server transaction of id: a ServerTx, or the
// record of a completed non-INVITE one. l.mu is held.
func (l *Layer) serverLocked(id *reqID) serverEntry {
	if id.rfc3261 {
		var buf [128]byte
		return l.servers[serverKey(id.key.appendTo(buf[:0]))]
	}
	return serverEntry{tx: l.legacy[id.lkey]}
}

// retransmission hands a retransmitted request to the transaction it
// matched (§17.2.1, §17.2.2); it reports false if that one has ended
// meanwhile.
func (e serverEntry) retransmission(l *Layer) bool {
	if e.rec != nil {
		return e.rec.retransmit(l)
	}
	return e.tx.retransmission()
}

// HandleInbound matches a message from the transport to a transaction and
// dispatches it; it implements transport.Handler.
func (l *Layer) HandleInbound(in *transport.Inbound) {
	switch m := in.Msg.(type) {
	case *sip.Response:
		l.handleResponse(in, m)
	case *sip.Request:
		l.handleRequest(in, m)
	}
}

func (l *Layer) handleResponse(in *transport.Inbound, resp *sip.Response) {
	via, err := resp.TopVia()
	if err != nil {
		l.drop(in, "response without a usable Via", err)
		return
	}
	cs, err := resp.CSeq()
	if err != nil {
		l.drop(in, "response without a usable CSeq", err)
		return
	}
	// RFC 3261 §17.1.3: the branch of the top Via and the CSeq method.
	k := clientKey{branch: via.Branch(), method: cs.Method}
	l.mu.Lock()
	tx, core, closed := l.clients[k], l.core, l.closed
	l.mu.Unlock()
	if closed || tx != nil && tx.receive(resp) {
		return
	}
	// §17.1.1.2: a response that matches no client transaction goes to
	// the core (RFC 6026 §8.9: which drops it unless it is a stateless
	// proxy).
	if core != nil {
		core.HandleStray(in)
	}
}

func (l *Layer) handleRequest(in *transport.Inbound, req *sip.Request) {
	via, err := req.TopVia()
	if err != nil {
		l.drop(in, "request without a usable Via", err)
		return
	}
	cs, err := req.CSeq()
	if err != nil {
		l.drop(in, "request without a usable CSeq", err)
		return
	}
	id := makeReqID(req, &via, cs)
	// A transaction found may terminate before it takes the request;
	// then it has left the maps and the next lookup will not find it.
	for range 3 {
		var done bool
		switch req.Method {
		case sip.MethodAck:
			done = l.handleAck(in, req, &id)
		case sip.MethodCancel:
			done = l.handleCancel(in, req, &id)
		default:
			done = l.handleOther(in, req, &id)
		}
		if done {
			return
		}
	}
}

// handleAck gives an ACK to its INVITE server transaction, or to the core.
func (l *Layer) handleAck(in *transport.Inbound, req *sip.Request, id *reqID) bool {
	// RFC 3261 §17.2.3: an ACK matches the INVITE server transaction; for
	// a 2xx the ACK has a branch of its own (§13.2.2.4) and matches none.
	inv := id.withMethod(sip.MethodInvite)
	l.mu.Lock()
	tx := l.serverLocked(&inv).tx // an INVITE's: never a record
	if tx == nil && !inv.rfc3261 && inv.lkey.toTag != "" {
		// An RFC 2543 ACK carries the To tag of the response; an initial
		// INVITE had none.
		inv.lkey.toTag = ""
		tx = l.legacy[inv.lkey]
	}
	core, closed := l.core, l.closed
	l.mu.Unlock()
	if closed {
		return true
	}
	if tx != nil {
		switch tx.ack(id.rfc3261, id.lkey.toTag) {
		case ackAbsorbed:
			return true
		case ackGone:
			return false
		}
	}
	if core != nil {
		core.HandleStray(in)
	}
	return true
}

// handleCancel gives a retransmitted CANCEL to its transaction, makes a
// server transaction for a CANCEL that matches an INVITE (§9.2), and gives
// any other CANCEL to the core.
func (l *Layer) handleCancel(in *transport.Inbound, req *sip.Request, id *reqID) bool {
	inv := id.withMethod(sip.MethodInvite)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return true
	}
	if e := l.serverLocked(id); e != (serverEntry{}) {
		l.mu.Unlock()
		return e.retransmission(l)
	}
	invTx, core := l.serverLocked(&inv).tx, l.core
	if invTx == nil || core == nil {
		l.mu.Unlock()
		if core != nil {
			core.HandleStray(in)
		}
		return true
	}
	tx := l.newServerTxLocked(in, req, id)
	l.mu.Unlock()
	invTx.markCancelled()
	l.start(tx, req, core)
	return true
}

// handleOther absorbs a retransmission or makes a new server transaction.
func (l *Layer) handleOther(in *transport.Inbound, req *sip.Request, id *reqID) bool {
	l.mu.Lock()
	if e := l.serverLocked(id); e != (serverEntry{}) {
		l.mu.Unlock()
		return e.retransmission(l)
	}
	core := l.core
	if core == nil || l.closed {
		l.mu.Unlock()
		l.drop(in, "request with no core to take it", nil)
		return true
	}
	tx := l.newServerTxLocked(in, req, id)
	l.mu.Unlock()
	l.start(tx, req, core)
	return true
}

// MatchCancel returns the server transaction a CANCEL cancels: the INVITE
// server transaction it matches by the rules of RFC 3261 §17.2.3 applied
// as if its method were INVITE (§9.2). Only INVITEs are found; a CANCEL has
// no effect on other methods (§9.2), though the TU would answer it 200.
func (l *Layer) MatchCancel(cancel *sip.Request) (*ServerTx, bool) {
	via, err := cancel.TopVia()
	if err != nil {
		return nil, false
	}
	cs, err := cancel.CSeq()
	if err != nil {
		return nil, false
	}
	id := makeReqID(cancel, &via, cs).withMethod(sip.MethodInvite)
	l.mu.Lock()
	tx := l.serverLocked(&id).tx // an INVITE's: never a record
	l.mu.Unlock()
	if tx == nil || tx.State() == StateTerminated {
		return nil, false
	}
	return tx, true
}

func (l *Layer) drop(in *transport.Inbound, why string, err error) {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.log.Debug("dropped message", "reason", why, "error", err,
		"transport", in.Transport, "remote", in.Remote)
}

func (l *Layer) removeClient(tx *ClientTx) {
	l.mu.Lock()
	if l.clients[tx.key] == tx {
		delete(l.clients, tx.key)
		l.clients = shrunk(l.clients, &l.peaks.clients)
	}
	l.mu.Unlock()
}

func (l *Layer) removeServer(tx *ServerTx) {
	l.mu.Lock()
	if tx.leg != nil {
		if l.legacy[tx.leg.key] == tx {
			delete(l.legacy, tx.leg.key)
			l.legacy = shrunk(l.legacy, &l.peaks.legacy)
		}
	} else if l.servers[tx.key].tx == tx {
		delete(l.servers, tx.key)
		l.servers = shrunk(l.servers, &l.peaks.servers)
	}
	l.mu.Unlock()
}

// shrinkFrom is the size from which a map that emptied is made anew.
const shrinkFrom = 4096

// shrunk returns m, or a copy of it once it holds less than a sixteenth of
// its peak size: a Go map keeps the room of the most entries it ever held
// (some 160 bytes per transaction for the client and server maps), which a
// burst of load would leave behind. The copy costs at most a sixteenth of
// the deletions since the peak.
func shrunk[K comparable, V any](m map[K]V, peak *int) map[K]V {
	if *peak < shrinkFrom || len(m) >= *peak/16 {
		return m
	}
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	*peak = len(m)
	return c
}

var _ transport.Handler = (*Layer)(nil)
