package transaction

import (
	"runtime"
	"testing"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// mapBurst makes n live server and n live client transactions, ends all but
// keep of each, and returns the heap the layer holds then, per transaction
// it held at the peak.
func mapBurst(tb testing.TB, n, keep int) float64 {
	settle()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	l := New(nopTransport{}, Config{})
	l.SetCore(silentCore{})
	var cts []*ClientTx
	for i := range n {
		req, err := sip.ParseRequest(memWire(sip.MethodInvite, NewBranch(), i))
		if err != nil {
			tb.Fatal(err)
		}
		l.HandleInbound(&transport.Inbound{Msg: req, Source: source("TCP")})
		c := req.Clone()
		c.PushVia(sip.Via{Proto: sip.Version, Transport: "TCP", Host: "192.0.2.1", Port: 5060,
			Params: sip.Params(";branch=" + NewBranch())})
		tx, err := l.Request(c, target("TCP"), nopHandler{})
		if err != nil {
			tb.Fatal(err)
		}
		cts = append(cts, tx)
	}
	l.mu.Lock()
	var sts []*ServerTx
	for _, e := range l.servers {
		sts = append(sts, e.tx)
	}
	l.mu.Unlock()
	for _, tx := range sts[keep:] {
		tx.mu.Lock()
		tx.terminateLocked()
		tx.mu.Unlock()
	}
	for _, tx := range cts[keep:] {
		tx.mu.Lock()
		tx.terminateLocked()
		tx.mu.Unlock()
	}
	sts, cts = nil, nil
	settle()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(l)
	l.Close()
	return float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n)
}

// BenchmarkMapsAfterBurst reports the heap a layer keeps after a burst of
// 100000 INVITE server and client transactions of which 100 each remain,
// per transaction of the burst. Run it with -benchtime=1x.
func BenchmarkMapsAfterBurst(b *testing.B) {
	var per float64
	for b.Loop() {
		per = mapBurst(b, 100000, 100)
	}
	b.ReportMetric(per, "B/tx-of-burst")
}

// TestMapsShrinkAfterBurst: once a burst of transactions ended, the maps
// are made anew at the size of what remains, and what remains is still
// found: a retransmitted request is absorbed by its transaction, a
// response reaches its client transaction.
func TestMapsShrinkAfterBurst(t *testing.T) {
	const n, keep = 2 * shrinkFrom, 50
	l := New(nopTransport{}, Config{})
	defer l.Close()
	core := &recCore{}
	l.SetCore(core)
	reqs := make([]*sip.Request, n)
	rh := &recHandler{}
	cts := make([]*ClientTx, n)
	for i := range n {
		reqs[i] = request(t, sip.MethodOptions, "TCP", NewBranch(), msgOpts{})
		l.HandleInbound(&transport.Inbound{Msg: reqs[i], Source: source("TCP")})
		var err error
		if cts[i], err = l.Request(request(t, sip.MethodOptions, "TCP", NewBranch(), msgOpts{}), target("TCP"), rh); err != nil {
			t.Fatal(err)
		}
	}
	sts := core.requests()
	for i := keep; i < n; i++ {
		// Over TCP a final response ends both at once (Timers J and K).
		if err := sts[i].Respond(answer(t, reqs[i], 200, "x")); err != nil {
			t.Fatal(err)
		}
		l.HandleInbound(&transport.Inbound{Msg: sip.NewResponse(cts[i].Request(), 200, ""), Source: source("TCP")})
	}
	l.mu.Lock()
	ns, nc, ps, pc := len(l.servers), len(l.clients), l.peaks.servers, l.peaks.clients
	l.mu.Unlock()
	if ns != keep || nc != keep {
		t.Fatalf("%d server and %d client transactions left, want %d", ns, nc, keep)
	}
	if ps > n/16 || pc > n/16 {
		t.Errorf("maps not made anew: peaks %d and %d after a burst of %d down to %d", ps, pc, n, keep)
	}
	for i := range keep {
		l.HandleInbound(&transport.Inbound{Msg: reqs[i], Source: source("TCP")})
		l.HandleInbound(&transport.Inbound{Msg: sip.NewResponse(cts[i].Request(), 180, ""), Source: source("TCP")})
		if cts[i].State() != StateProceeding {
			t.Fatalf("client transaction %d in %v after a 180, want Proceeding", i, cts[i].State())
		}
	}
	if got := len(core.requests()); got != n {
		t.Errorf("TU got %d requests, want %d: retransmissions not absorbed", got, n)
	}
}
