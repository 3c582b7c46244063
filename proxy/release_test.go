package proxy

import (
	"runtime"
	"testing"
	"testing/synctest"
	"weak"

	"github.com/sipd/sipd/sip"
)

// TestReleaseAfterFinal: once the final response went upstream, the
// response context, which lives on with its branches' client transactions
// (32 s in Accepted after a 2xx, RFC 6026), no longer holds the request.
// A 2xx retransmission is still forwarded after that.
func TestReleaseAfterFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{})
		h.registerBob(1000)
		wp := func() weak.Pointer[sip.Request] {
			req := request{}.build(t)
			h.fromCaller(req)
			return weak.Make(req)
		}()
		synctest.Wait()
		inv := h.invite(0)
		h.answer(inv, sip.StatusOK)
		synctest.Wait()
		runtime.GC()
		runtime.GC()
		if wp.Value() != nil {
			t.Error("the INVITE is still reachable after its 200 went upstream")
		}
		// RFC 6026 §7.2: the retransmitted 200 still goes upstream.
		h.answer(inv, sip.StatusOK)
		synctest.Wait()
		if got := finals(h.tp.responses(), sip.MethodInvite); len(got) != 2 {
			t.Errorf("%d 200s upstream, want the 200 and its retransmission", len(got))
		}
	})
}
