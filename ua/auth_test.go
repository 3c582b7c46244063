package ua

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/sdp"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/storage/memory"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// challenger is a UAS behind digest auth, as a proxy with its own
// phone would be: INVITE gets 407 until its credentials are good, then
// 200 with an SDP answer; MESSAGE gets 401 the same way. With stale set,
// the first good credentials are refused with stale=true: the clock jumps
// past the nonce's lifetime.
type challenger struct {
	a     *auth.Authenticator
	tl    *transaction.Layer
	stale atomic.Bool
	clock *fakeClock
	addr  netip.AddrPort
	mu    sync.Mutex
	acks  int
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (ch *challenger) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	proxy := req.Method == sip.MethodInvite
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	if req.Has(name) && ch.stale.CompareAndSwap(true, false) {
		ch.clock.add(time.Hour)
	}
	res, err := ch.a.Check(context.Background(), req, "", proxy)
	if err != nil || !res.OK {
		tx.Respond(ch.a.Challenge(req, "", proxy, res.Stale))
		return
	}
	r := sip.NewResponse(req, sip.StatusOK, "")
	r.SetToTag("uas1")
	if req.Method == sip.MethodInvite {
		ans, _, err := sdp.Answer(req.Body, sdp.AnswerConfig{Addr: netip.MustParseAddr("127.0.0.1"), Port: 40000})
		if err != nil {
			tx.Respond(sip.NewResponse(req, sip.StatusNotAcceptableHere, ""))
			return
		}
		ch.mu.Lock()
		r.Add("Contact", "<sip:uas@"+ch.addr.String()+">")
		ch.mu.Unlock()
		r.Add("Content-Type", "application/sdp")
		r.Body = ans
	}
	tx.Respond(r)
}

func (ch *challenger) HandleStray(in *transport.Inbound) {
	if r, ok := in.Msg.(*sip.Request); ok && r.Method == sip.MethodAck {
		ch.mu.Lock()
		ch.acks++
		ch.mu.Unlock()
	}
}

func startChallenger(t *testing.T) (*challenger, netip.AddrPort) {
	store := memory.New()
	store.Users().Put(context.Background(), auth.NewUser("alice", "example.com", "secret"))
	ch := &challenger{clock: &fakeClock{now: time.Now()}}
	ch.a = auth.New(auth.Config{Realm: "example.com", Clock: ch.clock.Now}, store.Users())
	tp := transport.New(transport.Config{}, transport.HandlerFunc(func(in *transport.Inbound) { ch.tl.HandleInbound(in) }))
	ch.tl = transaction.New(tp, transaction.Config{T1: 50 * time.Millisecond})
	ch.tl.SetCore(ch)
	addr, err := tp.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch.mu.Lock()
	ch.addr = addr
	ch.mu.Unlock()
	t.Cleanup(func() { ch.tl.Close(); tp.Close() })
	return ch, addr
}

// TestInviteProxyAuth: an INVITE challenged with 407 is ACKed by the
// transaction and sent again with CSeq+1, the same Call-ID and From tag,
// and Proxy-Authorization (RFC 3261 §22.3); the call then comes up.
func TestInviteProxyAuth(t *testing.T) {
	ch, addr := startChallenger(t)
	alice, rec := loopUA(t, Config{User: "alice", Domain: "example.com", Password: "secret"})
	uri, _ := sip.ParseURI("sip:uas@" + addr.String())
	c, err := alice.Invite(testCtx(t), uri, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	invs := rec.find(Out, sip.MethodInvite, 0)
	if len(invs) != 2 || rec.count(In, sip.MethodInvite, 407) != 1 {
		t.Fatalf("flow:\n%s", rec)
	}
	r1, r2 := invs[0].msg.(*sip.Request), invs[1].msg.(*sip.Request)
	cs1, _ := r1.CSeq()
	cs2, _ := r2.CSeq()
	if cs2.Seq != cs1.Seq+1 || r1.CallID() != r2.CallID() || r1.FromTag() != r2.FromTag() || !r2.Has("Proxy-Authorization") {
		t.Errorf("retry: CSeq %d->%d, Call-ID/From tag kept %v/%v, credentials %v",
			cs1.Seq, cs2.Seq, r1.CallID() == r2.CallID(), r1.FromTag() == r2.FromTag(), r2.Has("Proxy-Authorization"))
	}
	// Two ACKs: the transaction's for the 407, ours for the 200 (only the
	// latter reaches the core as a stray).
	if n := rec.count(Out, sip.MethodAck, 0); n != 2 {
		t.Errorf("%d ACKs", n)
	}
	eventually(t, 2*time.Second, "ACK of the 2xx", func() bool { ch.mu.Lock(); defer ch.mu.Unlock(); return ch.acks == 1 })
	if c.Negotiated().Remote != netip.MustParseAddrPort("127.0.0.1:40000") {
		t.Errorf("remote RTP %v", c.Negotiated().Remote)
	}
}

// TestMessageStaleNonce: credentials refused with stale=true are computed
// again with the new nonce (RFC 7616 §3.3), without giving up.
func TestMessageStaleNonce(t *testing.T) {
	ch, addr := startChallenger(t)
	ch.stale.Store(true)
	alice, rec := loopUA(t, Config{User: "alice", Domain: "example.com", Password: "secret"})
	uri, _ := sip.ParseURI("sip:uas@" + addr.String())
	if _, err := alice.Message(testCtx(t), uri, "text/plain", []byte("hi")); err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	if n := rec.count(In, sip.MethodMessage, 401); n != 2 {
		t.Errorf("%d 401s, want 2 (the second stale)", n)
	}
	msgs := rec.find(Out, sip.MethodMessage, 0)
	if len(msgs) != 3 {
		t.Fatalf("%d MESSAGEs", len(msgs))
	}
	c2, _ := sip.ParseCredentials(msgs[1].msg.(*sip.Request).Get("Authorization"))
	c3, _ := sip.ParseCredentials(msgs[2].msg.(*sip.Request).Get("Authorization"))
	if c2.Nonce == c3.Nonce || msgs[2].msg.(*sip.Request).Count("Authorization") != 1 {
		t.Errorf("stale retry reused the nonce or stacked credentials")
	}
}
