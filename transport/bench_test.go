package transport

import (
	"testing"

	"github.com/sipd/sipd/sip"
)

// BenchmarkUDPRoundTrip: a request from A to B over loopback UDP, B's
// answer back to A: two sends, two reads, two parses, the Via stamped and
// checked, per iteration.
func BenchmarkUDPRoundTrip(b *testing.B) { benchmarkRoundTrip(b, "udp") }

// BenchmarkWSRoundTrip: the same over one WebSocket connection: framing,
// masking and unmasking instead of datagrams.
func BenchmarkWSRoundTrip(b *testing.B) { benchmarkRoundTrip(b, "ws") }

func benchmarkRoundTrip(b *testing.B, network string) {
	done := make(chan struct{}, 1)
	var lb *Layer
	lb = New(Config{}, HandlerFunc(func(in *Inbound) {
		resp := sip.NewResponse(in.Msg.(*sip.Request), sip.StatusOK, "")
		if err := lb.SendResponse(resp, in.Source); err != nil {
			b.Error(err)
		}
	}))
	la := New(Config{}, HandlerFunc(func(in *Inbound) { done <- struct{}{} }))
	defer la.Close()
	defer lb.Close()
	if _, err := la.Listen(network, "127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	bAddr, err := lb.Listen(network, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	req := newRequest(b, sip.MethodOptions, "bench@example.com", "SIP/2.0/UDP x.invalid;branch=z9hG4bKbench;rport", nil)
	dst := Target{Transport: transportName(network), Addr: bAddr}
	b.ReportAllocs()
	b.SetBytes(int64(len(req.String())))
	for b.Loop() {
		if err := la.SendRequest(req, dst); err != nil {
			b.Fatal(err)
		}
		<-done
	}
}
