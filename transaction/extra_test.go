package transaction

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// TestInviteServerTrying100: §17.2.1 — the layer sends 100 (Trying) 200 ms
// after the INVITE when the TU has sent nothing, built by §8.2.6 without a
// To tag, and the TU's own provisional response later replaces it.
func TestInviteServerTrying100(t *testing.T) {
	inBubble(t, func(h *harness) {
		inv := request(t, sip.MethodInvite, "UDP", NewBranch(), msgOpts{})
		inv.Add("Timestamp", "54")
		inv, _ = sip.ParseRequest(inv.Bytes())
		h.inject(inv, "UDP")
		h.until(ms(199))
		if n := len(h.tp.all()); n != 0 {
			t.Fatalf("%d messages sent before 200 ms", n)
		}
		h.until(ms(200))
		m := h.tp.last(t, "", 100)
		if m.at != ms(200) {
			t.Errorf("100 sent at %v, want 200ms", m.at)
		}
		r, err := sip.ParseResponse([]byte(m.wire))
		if err != nil {
			t.Fatal(err)
		}
		if r.ToTag() != "" || r.Get("Timestamp") != "54" || r.CallID() != inv.CallID() || m.src != source("UDP") {
			t.Errorf("100 Trying: To tag %q, Timestamp %q, Call-ID %q, to %v", r.ToTag(), r.Get("Timestamp"), r.CallID(), m.src)
		}
		tx := h.core.requests()[0]
		if err := tx.Respond(answer(t, tx.Request(), 180, "u")); err != nil {
			t.Fatal(err)
		}
		h.until(s(1))
		h.inject(request(t, sip.MethodInvite, "UDP", sip.MagicCookie+"x", msgOpts{}), "UDP") // another transaction
		if err := equal("sent", codes(h.tp.all()), []int{100, 180}); err != nil {
			t.Error(err)
		}
	})
}

// viaRewriter stands for the real transport moving a large UDP request to
// TCP (RFC 3261 §18.1.1): it rewrites the top Via's transport.
type viaRewriter struct{ *fakeTransport }

func (v viaRewriter) SendRequest(req *sip.Request, dst transport.Target) error {
	if via, err := req.TopVia(); err == nil && req.Method != sip.MethodAck {
		via.Transport = "TCP"
		req.SetTopVia(via)
	}
	return v.fakeTransport.SendRequest(req, dst)
}

// TestClientMovedToTCP: when the transport sent the INVITE over TCP, the
// transaction does not retransmit it, and the ACK goes to the same
// transport (§17.1.1.2).
func TestClientMovedToTCP(t *testing.T) {
	inBubble(t, func(h *harness) {
		l := New(viaRewriter{h.tp}, Config{})
		h.l = l
		rh := &recHandler{start: h.start}
		if _, err := l.Request(request(t, sip.MethodInvite, "UDP", NewBranch(), msgOpts{}), target("UDP"), rh); err != nil {
			t.Fatal(err)
		}
		h.until(s(5))
		if got := h.tp.requestTimes(sip.MethodInvite); len(got) != 1 {
			t.Errorf("INVITE sent at %v, want once", got)
		}
		h.inject(response(t, h.tp.last(t, sip.MethodInvite, 0).wire, 486, "x"), "TCP")
		ack := h.tp.last(t, sip.MethodAck, 0)
		if ack.dst.Transport != "TCP" || ack.dst.Addr != target("UDP").Addr {
			t.Errorf("ACK sent to %+v, want TCP to %v", ack.dst, target("UDP").Addr)
		}
		h.checkEmpty() // Timer D is zero over TCP
	})
}

// TestConcurrent runs many transactions from several goroutines, with
// retransmissions racing the TU and each other, for the race detector; the
// bubble's fake clock then runs every timer out.
func TestConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tp := newFakeTransport()
		srv := New(tp, Config{})
		core := &recCore{start: time.Now()}
		core.onRequest = func(tx *ServerTx, req *sip.Request) {
			go func() {
				code := 200
				if req.Method == sip.MethodInvite {
					_ = tx.Respond(sip.NewResponse(req, 180, ""))
					code = 486
				}
				resp := sip.NewResponse(req, code, "")
				_ = resp.SetToTag("c")
				_ = tx.Respond(resp)
			}()
		}
		srv.SetCore(core)
		cli := New(tp, Config{})
		cli.SetCore(core)
		const workers, each = 8, 50
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					method := sip.MethodOptions
					if i%2 == 0 {
						method = sip.MethodInvite
					}
					req := request(t, method, "UDP", NewBranch(), msgOpts{callID: fmt.Sprint(w, "-", i)})
					wire := req.String()
					for range 3 { // the request and two retransmissions, at once
						r, _ := sip.ParseRequest([]byte(wire))
						wg.Go(func() { srv.HandleInbound(&transport.Inbound{Msg: r, Source: source("UDP")}) })
					}
					rh := &recHandler{start: time.Now()}
					tx, err := cli.Request(req, target("UDP"), rh)
					if err != nil {
						t.Error(err)
						continue
					}
					for _, code := range []int{180, 486, 486} {
						if method != sip.MethodInvite && code != 180 {
							code = 200
						}
						r := response(t, wire, code, "c")
						wg.Go(func() { cli.HandleInbound(&transport.Inbound{Msg: r, Source: source("UDP")}) })
					}
					if i%5 == 0 {
						wg.Go(func() { _ = tx.Cancel(); _ = tx.State() })
					}
					if i%7 == 0 {
						time.Sleep(time.Duration(i) * time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
		time.Sleep(100 * time.Second)
		synctest.Wait()
		if n := len(core.requests()); n != workers*each {
			t.Errorf("TU got %d requests, want %d", n, workers*each)
		}
		for _, l := range []*Layer{srv, cli} {
			if err := checkEmpty(l); err != nil {
				t.Error(err)
			}
		}
	})
}
