package siptest

import (
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

var (
	testSrc = transport.Source{
		Transport: transport.UDP,
		Remote:    netip.MustParseAddrPort("192.0.2.10:5060"),
		Local:     netip.MustParseAddrPort("192.0.2.1:5060"),
	}
	testDst = transport.Target{Transport: transport.TCP, Addr: netip.MustParseAddrPort("198.51.100.7:5060")}
)

func request(t testing.TB, method, branch string) *sip.Request {
	t.Helper()
	req, err := sip.ParseRequest([]byte(method + " sip:bob@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=" + branch + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:alice@example.com>;tag=a1\r\n" +
		"To: <sip:bob@example.com>\r\n" +
		"Call-ID: " + branch + "@192.0.2.10\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Content-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestTransportRecordsRequests(t *testing.T) {
	var tp Transport // the zero value is ready
	req := request(t, sip.MethodInvite, "z9hG4bK-1")
	if err := tp.SendRequest(req, testDst); err != nil {
		t.Fatal(err)
	}
	got := tp.Requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	if got[0].Target != testDst {
		t.Errorf("target %+v, want %+v", got[0].Target, testDst)
	}
	if got[0].Msg == req {
		t.Error("recorded the request sent, not a copy parsed again")
	}
	if got[0].Msg.Method != sip.MethodInvite || got[0].Msg.CallID() != req.CallID() {
		t.Errorf("recorded %s", got[0].Msg)
	}
	if got[0].At.IsZero() {
		t.Error("no time recorded")
	}
	got[0].Msg = nil
	if tp.Requests()[0].Msg == nil {
		t.Error("Requests returned the record itself, not a copy")
	}
}

func TestTransportRejectsWhatDoesNotParse(t *testing.T) {
	var tp Transport
	if err := tp.SendRequest(&sip.Request{}, testDst); err == nil {
		t.Error("SendRequest of an empty request: no error")
	}
	if err := tp.SendResponse(&sip.Response{}, testSrc); err == nil {
		t.Error("SendResponse of an empty response: no error")
	}
	if n, m := len(tp.Requests()), len(tp.Responses()); n != 0 || m != 0 {
		t.Errorf("recorded %d requests and %d responses, want none", n, m)
	}
}

func TestTakeByBranch(t *testing.T) {
	var tp Transport
	a, b := request(t, sip.MethodInvite, "z9hG4bK-a"), request(t, sip.MethodOptions, "z9hG4bK-b")
	for _, r := range []*sip.Response{
		sip.NewResponse(a, sip.StatusRinging, ""),
		sip.NewResponse(b, sip.StatusOK, ""),
		sip.NewResponse(a, sip.StatusBusyHere, ""),
	} {
		if err := tp.SendResponse(r, testSrc); err != nil {
			t.Fatal(err)
		}
	}
	if rs := tp.Responses(); len(rs) != 3 || rs[0].Source != testSrc {
		t.Fatalf("Responses %v, want 3 from %+v", rs, testSrc)
	}
	got := tp.Take("z9hG4bK-a")
	if len(got) != 2 || got[0].StatusCode != 180 || got[1].StatusCode != 486 {
		t.Fatalf("Take(a) = %v, want 180 and 486 in order", got)
	}
	if got := tp.Take("z9hG4bK-a"); len(got) != 0 {
		t.Errorf("second Take(a) = %v, want none", got)
	}
	if rs := tp.Responses(); len(rs) != 1 || rs[0].Msg.StatusCode != 200 {
		t.Errorf("left %v, want b's 200", rs)
	}
}

func TestTransportConcurrentUse(t *testing.T) {
	var tp Transport
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req := request(t, sip.MethodOptions, fmt.Sprintf("z9hG4bK-c%d", i))
			if err := tp.SendRequest(req, testDst); err != nil {
				t.Error(err)
			}
			if err := tp.SendResponse(sip.NewResponse(req, sip.StatusOK, ""), testSrc); err != nil {
				t.Error(err)
			}
			_ = tp.Requests()
			_ = tp.Take(fmt.Sprintf("z9hG4bK-c%d", (i+1)%n))
		})
	}
	wg.Wait()
	taken := 0
	for i := range n {
		taken += len(tp.Take(fmt.Sprintf("z9hG4bK-c%d", i)))
	}
	if len(tp.Requests()) != n {
		t.Errorf("%d requests, want %d", len(tp.Requests()), n)
	}
	if len(tp.Responses()) != 0 || taken > n {
		t.Errorf("%d responses left, %d taken at the end, want 0 and at most %d", len(tp.Responses()), taken, n)
	}
}

// answerCore answers each request with the codes in order.
type answerCore struct{ codes []int }

func (c answerCore) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	for _, code := range c.codes {
		resp := sip.NewResponse(req, code, "")
		if code > 100 {
			resp.SetToTag("t1")
		}
		tx.Respond(resp)
	}
}

func (answerCore) HandleStray(*transport.Inbound) {}

// fatalTB records a Fatalf and ends its goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		codes  []int
		fail   string // what Fatalf says; "" for none
	}{
		{"one final", sip.MethodOptions, []int{200}, ""},
		{"none", sip.MethodOptions, nil, "got 0 responses to OPTIONS"},
		// RFC 4320 §4.1: only an INVITE transaction sends a 180.
		{"provisional and final", sip.MethodInvite, []int{180, 486}, "got 2 responses to INVITE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tp Transport
			tl := transaction.New(&tp, transaction.Config{})
			t.Cleanup(tl.Close)
			tl.SetCore(answerCore{tc.codes})
			req := request(t, tc.method, "z9hG4bK-rt")
			tb := &fatalTB{TB: t}
			var resp *sip.Response
			done := make(chan struct{})
			go func() {
				defer close(done)
				resp = tp.RoundTrip(tb, tl, req, testSrc)
			}()
			<-done
			if tc.fail == "" {
				if tb.msg != "" || resp == nil || resp.StatusCode != 200 {
					t.Fatalf("RoundTrip = %v, failure %q; want the 200", resp, tb.msg)
				}
				if len(tp.Responses()) != 0 {
					t.Error("RoundTrip left its response in the record")
				}
				return
			}
			if !strings.Contains(tb.msg, tc.fail) {
				t.Errorf("failure %q, want one containing %q", tb.msg, tc.fail)
			}
		})
	}
}

func TestRoundTripWithoutVia(t *testing.T) {
	var tp Transport
	tl := transaction.New(&tp, transaction.Config{})
	t.Cleanup(tl.Close)
	tl.SetCore(answerCore{[]int{200}})
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tp.RoundTrip(tb, tl, &sip.Request{Method: sip.MethodOptions}, testSrc)
	}()
	<-done
	if !strings.Contains(tb.msg, "without Via") {
		t.Errorf("failure %q, want one about the missing Via", tb.msg)
	}
}
