package transaction

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// memSDP is a body of the size a softphone's offer has, so that a kept
// INVITE weighs what it weighs in a real call.
const memSDP = "v=0\r\n" +
	"o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example\r\n" +
	"s=-\r\n" +
	"c=IN IP4 192.0.2.101\r\n" +
	"t=0 0\r\n" +
	"m=audio 49172 RTP/AVP 0 8 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-16\r\n" +
	"a=ptime:20\r\n" +
	"a=sendrecv\r\n"

// memWire returns a request as it comes off the wire: a UAC's INVITE (with
// an offer) or BYE, with the Via of a proxy on top if branch is set.
func memWire(method, branch string, i int) []byte {
	if method == sip.MethodRegister {
		return memRegister(branch, i)
	}
	body := ""
	if method == sip.MethodInvite {
		body = memSDP
	}
	top := ""
	if branch != "" {
		top = "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=" + branch + "\r\n"
	}
	return fmt.Appendf(nil, "%s sip:bob@192.0.2.20:5060 SIP/2.0\r\n"+
		"%s"+
		"Via: SIP/2.0/UDP pc33.atlanta.example:5060;received=192.0.2.10;branch=z9hG4bK776asdhds%d\r\n"+
		"Record-Route: <sip:192.0.2.1;lr>\r\n"+
		"Max-Forwards: 69\r\n"+
		"To: Bob <sip:bob@biloxi.example>\r\n"+
		"From: Alice <sip:alice@atlanta.example>;tag=1928301774\r\n"+
		"Call-ID: a84b4c76e66710-%d@pc33.atlanta.example\r\n"+
		"CSeq: 314159 %s\r\n"+
		"Contact: <sip:alice@pc33.atlanta.example>\r\n"+
		"User-Agent: softphone/1.0\r\n"+
		"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY\r\n"+
		"Content-Type: application/sdp\r\n"+
		"Content-Length: %d\r\n\r\n%s", method, top, i, i, method, len(body), body)
}

// memRegister returns a REGISTER as the benchmark's SIPp UAC sends it
// (bench/sipp/register.xml), straight from the UA: no proxy Via.
func memRegister(branch string, i int) []byte {
	if branch == "" {
		branch = NewBranch()
	}
	return fmt.Appendf(nil, "REGISTER sip:192.0.2.1:5060 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 192.0.2.10:5070;branch=%s\r\n"+
		"From: <sip:user%d@192.0.2.1>;tag=4242SIPpTag00%d\r\n"+
		"To: <sip:user%d@192.0.2.1>\r\n"+
		"Call-ID: %d-4242@192.0.2.10\r\n"+
		"CSeq: 1 REGISTER\r\n"+
		"Contact: <sip:user%d@192.0.2.10:5070>\r\n"+
		"Expires: 3600\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n", branch, i, i, i, i, i)
}

// memScenario is one way a pair of transactions ends: the method and the
// final response.
type memScenario struct {
	name   string
	method string
	code   int
}

var memScenarios = []memScenario{
	{"INVITE-200", sip.MethodInvite, 200}, // both Accepted (Timers L and M)
	{"INVITE-486", sip.MethodInvite, 486}, // both Completed (Timers H and D)
	{"BYE-200", sip.MethodBye, 200},       // both Completed (Timers J and K)
	// Completed (Timers J and K), the 200 with the binding and a Date
	// as the registrar sends it (RFC 3261 §10.3 step 8).
	{"REGISTER-200", sip.MethodRegister, 200},
}

// memAfterFinal makes n client and n server transactions of a scenario
// over UDP, each with its own parsed request as a proxy has it, completes
// them with their final response and measures the live heap while they sit
// in their post-final states, per transaction. Nothing but the layers
// keeps the messages.
func memAfterFinal(tb testing.TB, sc memScenario, n int) (client, server float64) {
	measure := func(f func(l *Layer)) float64 {
		var m0, m1 runtime.MemStats
		l := New(nopTransport{}, Config{})
		settle()
		runtime.ReadMemStats(&m0)
		f(l)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		l.mu.Lock()
		live := len(l.clients) + len(l.servers)
		l.mu.Unlock()
		if live != n {
			tb.Fatalf("%s: %d live transactions, want %d", sc.name, live, n)
		}
		runtime.KeepAlive(l)
		defer l.Close()
		return float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n)
	}
	client = measure(func(l *Layer) {
		for i := range n {
			// A proxy's branch: the parsed request with its Via pushed.
			req, err := sip.ParseRequest(memWire(sc.method, "", i))
			if err != nil {
				tb.Fatal(err)
			}
			req.PushVia(sip.Via{Proto: sip.Version, Transport: "UDP", Host: "192.0.2.1", Port: 5060,
				Params: sip.Params(";branch=" + NewBranch())})
			if _, err := l.Request(req, target("UDP"), nopHandler{}); err != nil {
				tb.Fatal(err)
			}
			resp, err := sip.ParseResponse(memAnswer(req, sc.code).Bytes()) // as it comes back
			if err != nil {
				tb.Fatal(err)
			}
			l.HandleInbound(&transport.Inbound{Msg: resp, Source: source("UDP")})
		}
	})
	server = measure(func(l *Layer) {
		l.SetCore(memCore{code: sc.code})
		for i := range n {
			req, err := sip.ParseRequest(memWire(sc.method, NewBranch(), i))
			if err != nil {
				tb.Fatal(err)
			}
			l.HandleInbound(&transport.Inbound{Msg: req, Source: source("UDP")})
		}
	})
	return client, server
}

// settle lets the runtime drop what earlier measurements left: a stopped
// runtime timer stays in its P's heap, with what its callback holds, until
// that P next runs its timers.
func settle() {
	for range 3 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	runtime.GC()
}

// memCore answers every request with its code and a To tag, as a UAS
// would.
type memCore struct{ code int }

func (c memCore) HandleRequest(tx *ServerTx, req *sip.Request) {
	_ = tx.Respond(memAnswer(req, c.code))
}

// memAnswer is the response of memCore, and the one the client side of
// memAfterFinal gets.
func memAnswer(req *sip.Request, code int) *sip.Response {
	resp := sip.NewResponse(req, code, "")
	resp.SetToTag("a6c85cf")
	if req.Method == sip.MethodRegister && code == sip.StatusOK {
		resp.Add("Contact", req.Get("Contact")+";expires=3600")
		resp.Add("Date", "Mon, 23 Nov 2026 16:45:21 GMT")
	}
	return resp
}
func (memCore) HandleStray(*transport.Inbound) {}

// BenchmarkMemoryAfterFinal reports the live heap each transaction holds
// once its final response went out or came in, for 2000 pairs of each
// scenario over UDP: "B/client-tx" and "B/server-tx", request, response,
// ACK, timer and map entry included. Run it with -benchtime=1x.
func BenchmarkMemoryAfterFinal(b *testing.B) {
	for _, sc := range memScenarios {
		b.Run(sc.name, func(b *testing.B) {
			var c, s float64
			for b.Loop() {
				c, s = memAfterFinal(b, sc, 2000)
			}
			b.ReportMetric(c, "B/client-tx")
			b.ReportMetric(s, "B/server-tx")
		})
	}
}

// TestReleaseAfterFinal: once the final response went out or came in, a
// transaction lets go of its request — Request returns nil and the
// request and the buffer it was parsed from can be collected — while it lingers in Completed or Accepted,
// and it still does what those states ask (checked by the state tests).
func TestReleaseAfterFinal(t *testing.T) {
	for _, sc := range memScenarios {
		t.Run(sc.name, func(t *testing.T) {
			cl := New(nopTransport{}, Config{})
			defer cl.Close()
			req, err := sip.ParseRequest(memWire(sc.method, "", 1))
			if err != nil {
				t.Fatal(err)
			}
			req.PushVia(sip.Via{Proto: sip.Version, Transport: "UDP", Host: "192.0.2.1", Port: 5060,
				Params: sip.Params(";branch=" + NewBranch())})
			ctx, err := cl.Request(req, target("UDP"), nopHandler{})
			if err != nil {
				t.Fatal(err)
			}
			if ctx.Request() != req {
				t.Fatal("client Request() before the final response is not the request")
			}
			resp := sip.NewResponse(req, sc.code, "")
			resp.SetToTag("a6c85cf")
			resp, _ = sip.ParseResponse(resp.Bytes())
			cw, cbuf := weak.Make(req), weak.Make(unsafe.StringData(req.CallID()))
			req = nil
			cl.HandleInbound(&transport.Inbound{Msg: resp, Source: source("UDP")})

			sl := New(nopTransport{}, Config{})
			defer sl.Close()
			var stx *ServerTx
			var sw weak.Pointer[sip.Request]
			var sbuf weak.Pointer[byte]
			sl.SetCore(coreFunc(func(tx *ServerTx, req *sip.Request) {
				stx, sw, sbuf = tx, weak.Make(req), weak.Make(unsafe.StringData(req.CallID()))
				if tx.Request() != req {
					t.Error("server Request() before the final response is not the request")
				}
				memCore{code: sc.code}.HandleRequest(tx, req)
			}))
			in, err := sip.ParseRequest(memWire(sc.method, NewBranch(), 1))
			if err != nil {
				t.Fatal(err)
			}
			sl.HandleInbound(&transport.Inbound{Msg: in, Source: source("UDP")})
			in = nil

			runtime.GC()
			runtime.GC()
			want := StateCompleted
			if sc.code < 300 && sc.method == sip.MethodInvite {
				want = StateAccepted
			}
			if ctx.State() != want || stx.State() != want {
				t.Fatalf("states %v and %v, want %v", ctx.State(), stx.State(), want)
			}
			if ctx.Request() != nil || stx.Request() != nil {
				t.Error("Request() is not nil after the final response")
			}
			if cw.Value() != nil {
				t.Error("the client transaction keeps its request after the final response")
			}
			if sw.Value() != nil {
				t.Error("the server transaction keeps its request after the final response")
			}
			// Nor the buffer the request was parsed from, whose views the
			// keys and the responses built from it hold.
			if cbuf.Value() != nil {
				t.Error("the client transaction keeps the received bytes of its request")
			}
			if sbuf.Value() != nil {
				t.Error("the server transaction keeps the received bytes of its request")
			}
			if ctx.Method() != sc.method || stx.Method() != sc.method {
				t.Errorf("Method() = %q and %q, want %q", ctx.Method(), stx.Method(), sc.method)
			}
			runtime.KeepAlive(resp)
		})
	}
}

// coreFunc is a Core made of a function.
type coreFunc func(tx *ServerTx, req *sip.Request)

func (f coreFunc) HandleRequest(tx *ServerTx, req *sip.Request) { f(tx, req) }
func (coreFunc) HandleStray(*transport.Inbound)                 {}

// TestServerRetransmitsSameBytes: the response a server transaction keeps
// in wire form goes out again byte for byte — the provisional one for a
// retransmitted INVITE in Proceeding (§17.2.1), the final one for Timer G
// and for a retransmitted INVITE in Completed, the final one to a
// retransmitted non-INVITE (§17.2.2).
func TestServerRetransmitsSameBytes(t *testing.T) {
	check := func(t *testing.T, h *harness, code, want int) {
		t.Helper()
		var wires []string
		for _, m := range h.tp.all() {
			if m.code == code {
				wires = append(wires, m.wire)
			}
		}
		if len(wires) != want {
			t.Fatalf("%d sent %d times, want %d", code, len(wires), want)
		}
		for _, w := range wires[1:] {
			if w != wires[0] {
				t.Errorf("retransmitted %d:\n%s\nfirst:\n%s", code, w, wires[0])
			}
		}
	}
	t.Run("INVITE", func(t *testing.T) {
		inBubble(t, func(h *harness) {
			branch := NewBranch()
			inv := func() *sip.Request { return request(t, sip.MethodInvite, "UDP", branch, msgOpts{}) }
			h.inject(inv(), "UDP")
			tx := h.core.requests()[0]
			ring := answer(t, h.core.reqOf(tx), 180, "uas1")
			ring.Add("Allow", "INVITE, ACK, BYE")
			if err := tx.Respond(ring); err != nil {
				t.Fatal(err)
			}
			h.inject(inv(), "UDP")
			check(t, h, 180, 2)
			if err := tx.Respond(answer(t, h.core.reqOf(tx), 486, "uas1")); err != nil {
				t.Fatal(err)
			}
			h.until(ms(600)) // Timer G at 500 ms
			h.inject(inv(), "UDP")
			check(t, h, 486, 3)
		})
	})
	t.Run("BYE", func(t *testing.T) {
		inBubble(t, func(h *harness) {
			branch := NewBranch()
			h.inject(request(t, sip.MethodBye, "UDP", branch, msgOpts{toTag: "uas1"}), "UDP")
			tx := h.core.requests()[0]
			if err := tx.Respond(answer(t, h.core.reqOf(tx), 200, "")); err != nil {
				t.Fatal(err)
			}
			h.inject(request(t, sip.MethodBye, "UDP", branch, msgOpts{toTag: "uas1"}), "UDP")
			check(t, h, 200, 2)
		})
	})
}
