package transport

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// TestUDPBatchedReads: datagrams queued on the socket while the handler is
// busy are read several at a time (on Linux, recvmmsg) and handed up one
// by one, in the order sent, each with its own source, a CRLF keep-alive
// among them skipped.
func TestUDPBatchedReads(t *testing.T) {
	const n = 3 * udpBatchSize
	first := make(chan struct{})
	release := make(chan struct{})
	got := make(chan *Inbound, n+1)
	l := New(Config{}, HandlerFunc(func(in *Inbound) {
		if in.Msg.(*sip.Request).CallID() == "batch-0" {
			close(first)
			<-release // hold the read loop while the rest queue up
		}
		got <- in
	}))
	defer l.Close()
	addr, err := l.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := newUDPClient(t, "127.0.0.1"), newUDPClient(t, "127.0.0.1")
	c1.send(addr, rawRequest(sip.MethodOptions, "batch-0", "SIP/2.0/UDP client.invalid;branch=z9hG4bKb0", ""))
	select {
	case <-first:
	case <-time.After(waitFor):
		t.Fatal("the first request did not arrive")
	}
	from := map[string]*udpClient{}
	for i := 1; i <= n; i++ {
		c := c1
		if i%2 == 0 {
			c = c2
		}
		if i == n/2 {
			c.send(addr, "\r\n\r\n")
		}
		id := "batch-" + strconv.Itoa(i)
		from[id] = c
		c.send(addr, rawRequest(sip.MethodOptions, id, "SIP/2.0/UDP client.invalid;branch=z9hG4bKb"+strconv.Itoa(i), ""))
	}
	close(release)
	for i := 0; i <= n; i++ {
		select {
		case in := <-got:
			id := in.Msg.(*sip.Request).CallID()
			if want := "batch-" + strconv.Itoa(i); id != want {
				t.Fatalf("request %d is %s, want %s", i, id, want)
			}
			if c := from[id]; c != nil && in.Remote != c.addr() {
				t.Errorf("%s from %v, want %v", id, in.Remote, c.addr())
			}
		case <-time.After(waitFor):
			t.Fatalf("only %d requests arrived", i)
		}
	}
	u := l.state.Load().udp[0]
	l.Close()
	st := u.stats.Load()
	if st == nil || st.datagrams != n+2 { // the CRLF counts as a datagram read
		t.Fatalf("stats %+v, want %d datagrams", st, n+2)
	}
	if batching := runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64"); batching && st.reads > st.datagrams/2 {
		t.Errorf("%d reads for %d datagrams: not batched", st.reads, st.datagrams)
	}
}
