package sip_test

import (
	"fmt"
	"strings"

	"github.com/sipd/sipd/sip"
)

func ExampleParse() {
	data := []byte("OPTIONS sip:bob@example.com SIP/2.0\r\n" +
		"v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK77;rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"f: <sip:alice@example.com>;tag=a1\r\n" +
		"t: <sip:bob@example.com>\r\n" +
		"i: call-42\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"l: 0\r\n\r\n")
	m, err := sip.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	req := m.(*sip.Request)
	if err := req.Validate(); err != nil {
		fmt.Println(sip.StatusOf(err))
		return
	}
	via, _ := req.TopVia()
	cseq, _ := req.CSeq()
	fmt.Println(req.Method, req.URI.Host, via.Branch(), req.CallID(), cseq.Seq, req.FromTag())
	// Output: OPTIONS example.com z9hG4bK77 call-42 1 a1
}

func ExampleNewResponse() {
	req, _ := sip.ParseRequest([]byte("INVITE sip:bob@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" +
		"From: <sip:alice@example.com>;tag=a1\r\n" +
		"To: <sip:bob@example.com>\r\n" +
		"Call-ID: c1\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n"))
	resp := sip.NewResponse(req, sip.StatusRinging, "")
	resp.SetToTag("b7")
	fmt.Print(strings.ReplaceAll(resp.String(), "\r\n", "\n"))
	// Output:
	// SIP/2.0 180 Ringing
	// Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
	// From: <sip:alice@example.com>;tag=a1
	// To: <sip:bob@example.com>;tag=b7
	// Call-ID: c1
	// CSeq: 1 INVITE
	// Content-Length: 0
}

func ExampleURI_Equal() {
	a, _ := sip.ParseURI("sip:%61lice@AtLanTa.CoM;Transport=UDP")
	b, _ := sip.ParseURI("SIP:alice@atlanta.com;transport=udp")
	c, _ := sip.ParseURI("sip:alice@atlanta.com:5060;transport=udp")
	fmt.Println(a.Equal(b), b.Equal(c))
	// Output: true false
}
