package siptest_test

import (
	"fmt"
	"net/netip"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/siptest"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// okCore answers every request 200 (OK) at once.
type okCore struct{}

func (okCore) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	resp := sip.NewResponse(req, sip.StatusOK, "")
	resp.SetToTag("uas1")
	tx.Respond(resp)
}

func (okCore) HandleStray(*transport.Inbound) {}

func Example() {
	tp := &siptest.Transport{}
	tl := transaction.New(tp, transaction.Config{})
	defer tl.Close()
	tl.SetCore(okCore{})

	req, err := sip.ParseRequest([]byte("OPTIONS sip:example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ex-1\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:alice@example.com>;tag=a1\r\n" +
		"To: <sip:example.com>\r\n" +
		"Call-ID: ex-1@192.0.2.10\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n"))
	if err != nil {
		panic(err)
	}
	src := transport.Source{
		Transport: transport.UDP,
		Remote:    netip.MustParseAddrPort("192.0.2.10:5060"),
		Local:     netip.MustParseAddrPort("192.0.2.1:5060"),
	}
	siptest.Deliver(tl, req, src)

	for _, r := range tp.Responses() {
		fmt.Println(r.Msg.StatusCode, r.Msg.ToTag(), r.Source.Remote)
	}
	fmt.Println(len(tp.Take("z9hG4bK-ex-1")), len(tp.Responses()))
	// Output:
	// 200 uas1 192.0.2.10:5060
	// 1 0
}
