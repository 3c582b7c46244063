package registrar

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/storage/sqlite"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// lastTransport is a transaction.Transport that serializes each response,
// as a real transport would, and keeps it by Call-ID for the sender.
type lastTransport struct {
	bufs sync.Pool
	last sync.Map // Call-ID → *sip.Response
}

func (t *lastTransport) SendRequest(*sip.Request, transport.Target) error { return nil }

func (t *lastTransport) SendResponse(resp *sip.Response, _ transport.Source) error {
	buf, _ := t.bufs.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf = resp.AppendTo((*buf)[:0])
	t.bufs.Put(buf)
	t.last.Store(resp.CallID(), resp)
	return nil
}

// regBench is the registrar of sipd serve with auth on: digest (MD5, qop
// auth) over the sqlite store's users, bindings in the same store, behind
// a transaction layer.
type regBench struct {
	b     *testing.B
	store *sqlite.Store
	layer *transaction.Layer
	tp    *lastTransport
	src   transport.Source
	users int // users u0 .. u(users-1) exist
	ha1   []string
	seq   atomic.Int64
}

func newRegBench(b *testing.B, withAuth bool) *regBench {
	b.Helper()
	store, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "sipd.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	cfg := Config{Domains: []string{testDomain}}
	if withAuth {
		cfg.Auth = auth.New(auth.Config{Algorithms: []string{auth.AlgorithmMD5}}, store.Users())
	}
	reg, err := New(cfg, store)
	if err != nil {
		b.Fatal(err)
	}
	rb := &regBench{
		b:     b,
		store: store,
		tp:    &lastTransport{},
		// TCP: the transaction layer keeps no state after the final
		// response (Timer J is 0), so the benchmark measures the registrar
		// and its store rather than a growing set of UDP transactions.
		src: transport.Source{
			Transport: "TCP",
			Remote:    netip.MustParseAddrPort("192.0.2.10:5062"),
			Local:     netip.MustParseAddrPort("192.0.2.1:5060"),
		},
	}
	rb.layer = transaction.New(rb.tp, transaction.Config{})
	rb.layer.SetCore(adapter{reg})
	b.Cleanup(rb.layer.Close)
	return rb
}

// addUsers creates n more users, as sipd user add does.
func (rb *regBench) addUsers(n int) {
	ctx := context.Background()
	for i := rb.users; i < rb.users+n; i++ {
		name := "u" + strconv.Itoa(i)
		u := auth.NewUser(name, testDomain, testPassword)
		if err := rb.store.Users().Put(ctx, u); err != nil {
			rb.b.Fatal(err)
		}
		rb.ha1 = append(rb.ha1, u.HA1MD5)
	}
	rb.users += n
}

// send builds a REGISTER of user i and hands it to the transaction layer
// as the transport would; cred is an Authorization value or nil.
func (rb *regBench) send(i int, cseq int, cred []byte) *sip.Response {
	user := "u" + strconv.Itoa(i)
	b := make([]byte, 0, 512)
	b = append(b, "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bK-b"...)
	b = strconv.AppendInt(b, rb.seq.Add(1), 10)
	b = append(b, ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:"...)
	b = append(b, user...)
	b = append(b, "@example.com>;tag=f1\r\nTo: <sip:"...)
	b = append(b, user...)
	b = append(b, "@example.com>\r\nCall-ID: c"...)
	b = append(b, user...)
	b = append(b, "@192.0.2.10\r\nCSeq: "...)
	b = strconv.AppendInt(b, int64(cseq), 10)
	b = append(b, " REGISTER\r\nContact: <sip:"...)
	b = append(b, user...)
	b = append(b, "@192.0.2.10:5062;transport=tcp>\r\nExpires: 3600\r\nUser-Agent: bench\r\n"...)
	if cred != nil {
		b = append(b, "Authorization: "...)
		b = append(b, cred...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: 0\r\n\r\n"...)
	req, err := sip.ParseRequest(b)
	if err != nil {
		rb.b.Fatal(err)
	}
	rb.layer.HandleInbound(&transport.Inbound{Msg: req, Source: rb.src})
	resp, ok := rb.tp.last.LoadAndDelete(req.CallID())
	if !ok {
		rb.b.Fatal("no response")
	}
	return resp.(*sip.Response)
}

// credentials returns the Authorization value of user i for the 401 ch
// and nonce-count nc, as a UA computes it.
func (rb *regBench) credentials(i int, ch *sip.Response, nc int) []byte {
	v := ch.Get("WWW-Authenticate")
	k := bytes.Index([]byte(v), []byte(`nonce="`))
	if k < 0 {
		rb.b.Fatalf("no nonce in %q", v)
	}
	nonce := v[k+7:]
	nonce = nonce[:bytes.IndexByte([]byte(nonce), '"')]
	ncs := "0000000" + strconv.Itoa(nc)
	ncs = ncs[len(ncs)-8:]
	const uri, cnonce = "sip:example.com", "0a4f113b"
	resp := auth.Response(auth.AlgorithmMD5, rb.ha1[i], nonce, ncs, cnonce, "auth", sip.MethodRegister, uri)
	b := make([]byte, 0, 256)
	b = append(b, `Digest username="u`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `",realm="example.com",nonce="`...)
	b = append(b, nonce...)
	b = append(b, `",uri="sip:example.com",response="`...)
	b = append(b, resp...)
	b = append(b, `",algorithm=MD5,cnonce="0a4f113b",qop=auth,nc=`...)
	return append(b, ncs...)
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time of every goroutine (the store's writer
// included) per operation since start: on a busy machine a steadier figure
// than the wall-clock ns/op, and the one the end-to-end harness compares.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// flow registers user i: REGISTER → 401, REGISTER with credentials → 200,
// refresh → 200.
func (rb *regBench) flow(i int) {
	b := rb.b
	ch := rb.send(i, 1, nil)
	if ch.StatusCode != sip.StatusUnauthorized {
		b.Fatalf("first REGISTER: %d", ch.StatusCode)
	}
	if resp := rb.send(i, 2, rb.credentials(i, ch, 1)); resp.StatusCode != sip.StatusOK {
		b.Fatalf("REGISTER with credentials: %d %s", resp.StatusCode, resp.Reason)
	} else if resp.Get("Contact") == "" {
		b.Fatal("200 without Contact")
	}
	if resp := rb.send(i, 3, rb.credentials(i, ch, 2)); resp.StatusCode != sip.StatusOK {
		b.Fatalf("refresh: %d %s", resp.StatusCode, resp.Reason)
	}
}

// BenchmarkRegister is the whole REGISTER path of the benchmark's
// register-auth scenario, in process, for a new user each iteration:
// REGISTER → 401, REGISTER with credentials → 200 (the binding committed
// to the sqlite store), then a refresh with the next nonce-count → 200.
// The request parsing and the UA's digest are inside the timer; each
// iteration is three requests.
func BenchmarkRegister(b *testing.B) {
	b.Run("auth", func(b *testing.B) {
		rb := newRegBench(b, true)
		const batch = 4096
		i := 0
		b.ReportAllocs()
		start := cpuTime(b)
		for b.Loop() {
			if i == rb.users {
				b.StopTimer()
				t := cpuTime(b)
				rb.addUsers(batch)
				start += cpuTime(b) - t // not the registrar's work
				b.StartTimer()
			}
			rb.flow(i)
			i++
		}
		reportCPU(b, start)
		if n, _, _ := rb.store.Count(context.Background()); n != i {
			b.Fatalf("%d bindings stored, want %d", n, i)
		}
	})
	// parallel: 64 flows at a time (the server runs up to 256), so
	// the store's writer commits them in groups.
	b.Run("auth-parallel", func(b *testing.B) {
		rb := newRegBench(b, true)
		rb.addUsers(b.N)
		var next atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(32)
		start := cpuTime(b)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(next.Add(1) - 1)
				rb.flow(i)
			}
		})
		b.StopTimer()
		reportCPU(b, start)
	})
	b.Run("noauth", func(b *testing.B) {
		rb := newRegBench(b, false)
		i := 0
		b.ReportAllocs()
		start := cpuTime(b)
		for b.Loop() {
			if resp := rb.send(i, 1, nil); resp.StatusCode != sip.StatusOK {
				b.Fatalf("REGISTER: %d %s", resp.StatusCode, resp.Reason)
			}
			i++
		}
		reportCPU(b, start)
	})
}

// BenchmarkRegisterMemory reports the heap kept per registration, after
// GC, once 20,000 users have registered through the transaction layer to
// the sqlite store (no auth, as the harness's memory test): over TCP, the
// binding alone; over UDP, with the server transactions the layer keeps
// for Timer J (64*T1, RFC 3261 §17.2.2), as in the harness.
func BenchmarkRegisterMemory(b *testing.B) {
	for _, tp := range []string{"TCP", "UDP"} {
		b.Run(tp, func(b *testing.B) {
			var per float64
			for b.Loop() {
				rb := newRegBench(b, false)
				rb.src.Transport = tp
				const n = 20_000
				before := heapInUse()
				for i := range n {
					if resp := rb.send(i, 1, nil); resp.StatusCode != sip.StatusOK {
						b.Fatalf("REGISTER: %d", resp.StatusCode)
					}
				}
				per = float64(heapInUse()-before) / n
				runtime.KeepAlive(rb)
			}
			b.ReportMetric(per, "bytes/registration")
		})
	}
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
