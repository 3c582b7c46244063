package server

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// BenchmarkPipelineUDP pushes OPTIONS requests from a raw UDP peer through
// the whole server over loopback: the read loop, the parse, received/rport
// stamping, a new server transaction, the hand-off to a worker, a handler
// that answers 200, and the send of the response; the peer reads the
// responses. Up to window requests are in flight at once, as from a busy
// peer, so the server's read loop finds datagrams queued. One op is one
// request answered; allocs/op counts the peer too, which allocates nothing
// per request.
func BenchmarkPipelineUDP(b *testing.B) {
	for _, window := range []int{1, 64} {
		b.Run("window="+strconv.Itoa(window), func(b *testing.B) { benchPipeline(b, window) })
	}
}

func benchPipeline(b *testing.B, window int) {
	h := HandlerFunc(func(_ context.Context, tx *transaction.ServerTx, req *sip.Request) error {
		return tx.Respond(sip.NewResponse(req, sip.StatusOK, ""))
	})
	s := New(Config{}, h)
	defer s.Close()
	dst, err := s.Listen("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetReadBuffer(4 << 20)
	c.SetWriteBuffer(4 << 20)

	// The request's branch ends in a fixed-width counter, rewritten in
	// place for each request, so that each makes a new transaction and
	// the peer allocates nothing.
	const digits = 12
	local := c.LocalAddr().String()
	msg := []byte("OPTIONS sip:bench@" + dst.String() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";rport;branch=z9hG4bK-bench-000000000000\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bench@example.com>\r\n" +
		"Call-ID: bench-" + local + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	at := len("OPTIONS sip:bench@"+dst.String()+" SIP/2.0\r\nVia: SIP/2.0/UDP "+local+";rport;branch=z9hG4bK-bench-") + 0
	var seq uint64
	send := func() error {
		seq++
		v := seq
		for i := at + digits - 1; i >= at; i-- {
			msg[i] = byte('0' + v%10)
			v /= 10
		}
		_, err := c.WriteToUDPAddrPort(msg, dst)
		return err
	}

	tokens := make(chan struct{}, window)
	errc := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	n := b.N
	go func() {
		buf := make([]byte, 65535)
		for got := 0; got < n; got++ {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(buf); err != nil {
				errc <- err
				return
			}
			<-tokens
		}
		errc <- nil
	}()
	for range n {
		tokens <- struct{}{}
		if err := send(); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatalf("after %d requests: %v", n, err)
	}
	b.StopTimer()
	// On a shared machine wall time says little; the process's CPU time
	// (server and peer, user and system) per request says more.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(n), "cpu-ns/msg")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
