package transaction

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// nopTransport sends nothing and keeps nothing.
type nopTransport struct{}

func (nopTransport) SendRequest(*sip.Request, transport.Target) error   { return nil }
func (nopTransport) SendResponse(*sip.Response, transport.Source) error { return nil }

// answerCore answers every request 200 at once and, when cli is set,
// hands the response to that client layer as its transport would.
type answerCore struct{ cli *Layer }

func (c *answerCore) HandleRequest(tx *ServerTx, req *sip.Request) {
	resp := sip.NewResponse(req, sip.StatusOK, "")
	_ = tx.Respond(resp)
	if c.cli != nil {
		c.cli.HandleInbound(&transport.Inbound{Msg: resp, Source: tx.Source()})
	}
}
func (*answerCore) HandleStray(*transport.Inbound) {}

// silentCore takes requests and never answers.
type silentCore struct{}

func (silentCore) HandleRequest(*ServerTx, *sip.Request) {}
func (silentCore) HandleStray(*transport.Inbound)        {}

type nopHandler struct{}

func (nopHandler) HandleResponse(*ClientTx, *sip.Response) {}
func (nopHandler) HandleError(*ClientTx, error)            {}

// benchRequest returns a parsed OPTIONS with a fresh branch.
func benchRequest(b *testing.B, method, tr string) *sip.Request {
	wire := fmt.Sprintf("%s sip:bob@biloxi.example SIP/2.0\r\n"+
		"Via: SIP/2.0/%s pc33.atlanta.example:5060;branch=%s\r\n"+
		"Max-Forwards: 70\r\n"+
		"To: Bob <sip:bob@biloxi.example>\r\n"+
		"From: Alice <sip:alice@atlanta.example>;tag=1928301774\r\n"+
		"Call-ID: a84b4c76e66710@pc33.atlanta.example\r\n"+
		"CSeq: 1 %s\r\n"+
		"Content-Length: 0\r\n\r\n", method, tr, NewBranch(), method)
	req, err := sip.ParseRequest([]byte(wire))
	if err != nil {
		b.Fatal(err)
	}
	return req
}

// BenchmarkTransactionsPerSecond runs whole non-INVITE transactions: a
// client transaction sends an OPTIONS, a server transaction takes it, the
// TU answers 200, the client transaction gets the 200. One op is one such
// pair. Over TCP both end at once (Timers J and K are zero); over UDP they
// stay for Timers K (5 s) and J (32 s), so their timers and map entries
// pile up as in a loaded server. The request is built per op (a clone of a
// parsed template with a new branch, as a TU would) and the same objects
// are handed to both layers: no parsing is measured.
func BenchmarkTransactionsPerSecond(b *testing.B) {
	for _, tr := range []string{"TCP", "UDP"} {
		for _, par := range []bool{false, true} {
			name := tr
			if par {
				name += "-parallel"
			}
			b.Run(name, func(b *testing.B) { benchTransactions(b, tr, par) })
		}
	}
}

func benchTransactions(b *testing.B, tr string, parallel bool) {
	cli := New(nopTransport{}, Config{})
	srv := New(nopTransport{}, Config{})
	srv.SetCore(&answerCore{cli: cli})
	cli.SetCore(&answerCore{})
	tmpl := benchRequest(b, sip.MethodOptions, tr)
	dst := target(tr)
	run := func(next func() bool) {
		via, _ := tmpl.TopVia()
		in := &transport.Inbound{Source: source(tr)}
		for next() {
			req := tmpl.Clone()
			via.Params = sip.Params(";branch=" + NewBranch())
			req.SetTopVia(via)
			if _, err := cli.Request(req, dst, nopHandler{}); err != nil {
				b.Fatal(err)
			}
			in.Msg = req
			srv.HandleInbound(in) // the core answers and loops the 200 back
		}
	}
	b.ReportAllocs()
	start := time.Now()
	if parallel {
		b.RunParallel(func(pb *testing.PB) { run(pb.Next) })
	} else {
		run(b.Loop)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "txn/s")
	if tr == "TCP" {
		if err := checkEmpty(cli); err != nil {
			b.Error(err)
		}
		if err := checkEmpty(srv); err != nil {
			b.Error(err)
		}
	}
	cli.Close()
	srv.Close()
}

// BenchmarkMemoryPerInviteServerTx makes 10000 live INVITE server
// transactions (over UDP; the TU has not answered) and reports the heap
// each takes: "B/tx" is the transaction's own (struct, timer, map entry)
// just after it was made, with the 100 Trying timer pending; "B/tx-trying"
// the same once the 100 Trying went out; "B/tx+req" adds the parsed
// INVITE the transaction keeps alive.
func BenchmarkMemoryPerInviteServerTx(b *testing.B) {
	const n = 10000
	var fresh, trying, withReq float64
	for b.Loop() {
		var m0, m1, m2, m3 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		ins := make([]transport.Inbound, n)
		for i := range ins {
			ins[i] = transport.Inbound{Msg: benchRequest(b, sip.MethodInvite, "UDP"), Source: source("UDP")}
		}
		l := New(nopTransport{}, Config{})
		l.SetCore(silentCore{})
		runtime.GC()
		runtime.ReadMemStats(&m1)
		for i := range ins {
			l.HandleInbound(&ins[i])
		}
		runtime.GC()
		runtime.ReadMemStats(&m2)
		time.Sleep(trying100 + 50*time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(&m3)
		l.mu.Lock()
		live := len(l.servers)
		l.mu.Unlock()
		if live != n {
			b.Fatalf("%d live transactions, want %d", live, n)
		}
		fresh = float64(m2.HeapAlloc-m1.HeapAlloc) / n
		trying = float64(m3.HeapAlloc-m1.HeapAlloc) / n
		// The Inbound slice is the benchmark's, not the transaction's.
		withReq = float64(m2.HeapAlloc-m0.HeapAlloc)/n - float64(unsafe.Sizeof(transport.Inbound{}))
		runtime.KeepAlive(ins)
		l.Close()
	}
	b.ReportMetric(fresh, "B/tx")
	b.ReportMetric(trying, "B/tx-trying")
	b.ReportMetric(withReq, "B/tx+req")
}

// BenchmarkServerTxRetransmit absorbs a retransmitted request: lookup and
// resending the final response.
func BenchmarkServerTxRetransmit(b *testing.B) {
	l := New(nopTransport{}, Config{})
	l.SetCore(&answerCore{})
	req := benchRequest(b, sip.MethodOptions, "UDP")
	in := &transport.Inbound{Msg: req, Source: source("UDP")}
	l.HandleInbound(in)
	b.ReportAllocs()
	for b.Loop() {
		l.HandleInbound(in)
	}
	l.Close()
}

// BenchmarkTimer measures what a transaction's timer costs on the
// runtime's heap of timers: making an AfterFunc timer, resetting it once
// (as a state change does) and stopping it, with 0 or 100000 other timers
// pending.
func BenchmarkTimer(b *testing.B) {
	for _, live := range []int{0, 100000} {
		b.Run(fmt.Sprintf("pending=%d", live), func(b *testing.B) {
			others := make([]*time.Timer, live)
			for i := range others {
				others[i] = time.AfterFunc(time.Hour+time.Duration(i)*time.Millisecond, func() {})
			}
			f := func() {}
			b.ReportAllocs()
			for b.Loop() {
				t := time.AfterFunc(500*time.Millisecond, f)
				t.Reset(32 * time.Second)
				t.Stop()
			}
			for _, t := range others {
				t.Stop()
			}
		})
	}
}

// nopTimed is a transaction whose timer does nothing.
type nopTimed struct{}

func (nopTimed) onTimer() {}

// BenchmarkTimerHeap measures what a transaction's timer costs on its
// layer's heap, as BenchmarkTimer does on the runtime's: entering the heap,
// moving once (as a state change does) and leaving, with 0 or 100000 other
// timers pending.
func BenchmarkTimerHeap(b *testing.B) {
	for _, live := range []int{0, 100000} {
		b.Run(fmt.Sprintf("pending=%d", live), func(b *testing.B) {
			l := New(nopTransport{}, Config{})
			defer l.Close()
			now := l.now()
			others := make([]txTimer, live)
			for i := range others {
				others[i].owner = nopTimed{}
				others[i].end = now + time.Hour + time.Duration(i)*time.Millisecond
				l.timers.reset(&others[i], now)
			}
			tm := &txTimer{owner: nopTimed{}}
			b.ReportAllocs()
			for b.Loop() {
				tm.rtx = now + 500*time.Millisecond
				l.timers.reset(tm, now)
				tm.rtx, tm.end = 0, now+32*time.Second
				l.timers.reset(tm, now)
				l.timers.stop(tm)
			}
			for i := range others {
				l.timers.stop(&others[i])
			}
		})
	}
}
