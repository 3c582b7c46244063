package sip

import "testing"

func benchParseSerialize(b *testing.B, msg string) {
	data := []byte(msg)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		m, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		buf = m.AppendTo(buf[:0])
	}
}

func BenchmarkParseInvite(b *testing.B)   { benchParseSerialize(b, sampleInvite) }
func BenchmarkParseRegister(b *testing.B) { benchParseSerialize(b, sampleRegister) }
func BenchmarkParseResponse(b *testing.B) { benchParseSerialize(b, sampleResponse) }

// BenchmarkTransactionKey is what a transaction lookup needs of a received
// message: parse, then the top Via's branch, Call-ID and CSeq.
func BenchmarkTransactionKey(b *testing.B) {
	data := []byte(sampleInvite)
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		h := m.Headers()
		v, err := h.TopVia()
		if err != nil || v.Branch() == "" || h.CallID() == "" {
			b.Fatal("missing key")
		}
		if _, err := h.CSeq(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProxyForward is a stateful proxy's edit of a request: parse,
// validate, decrement Max-Forwards, add Record-Route and Via, serialize.
func BenchmarkProxyForward(b *testing.B) {
	data := []byte(sampleInvite)
	buf := make([]byte, 0, 4096)
	via := Via{Transport: "UDP", Host: "192.0.2.10", Port: 5060, Params: ";branch=z9hG4bKproxy1"}
	b.ReportAllocs()
	for b.Loop() {
		r := validRequest(b, data)
		r.DecMaxForwards()
		r.Prepend("Record-Route", "<sip:192.0.2.10;lr>")
		r.PushVia(via)
		buf = r.AppendTo(buf[:0])
	}
}

// BenchmarkValidateTopVia is what the transport does with each request it
// receives: parse, validate, then read the top Via.
func BenchmarkValidateTopVia(b *testing.B) {
	data := []byte(sampleInvite)
	b.ReportAllocs()
	for b.Loop() {
		r := validRequest(b, data)
		if _, err := r.TopVia(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProxyForwardKeys is BenchmarkProxyForward with what a stateful
// proxy reads after its edits: the transaction key (top Via branch, CSeq)
// and the dialog tags.
func BenchmarkProxyForwardKeys(b *testing.B) {
	data := []byte(sampleInvite)
	buf := make([]byte, 0, 4096)
	via := Via{Transport: "UDP", Host: "192.0.2.10", Port: 5060, Params: ";branch=z9hG4bKproxy1"}
	b.ReportAllocs()
	for b.Loop() {
		r := validRequest(b, data)
		r.DecMaxForwards()
		r.Prepend("Record-Route", "<sip:192.0.2.10;lr>")
		top, err := r.TopVia()
		if err != nil || top.Branch() == "" {
			b.Fatal("no branch")
		}
		if _, err := r.CSeq(); err != nil {
			b.Fatal(err)
		}
		if r.FromTag() == "" || r.ToTag() != "" {
			b.Fatal("tags")
		}
		r.PushVia(via)
		buf = r.AppendTo(buf[:0])
	}
}

// BenchmarkParseVia parses a received Via as a proxy sees it, stamped
// with received and rport (RFC 3261 §18.2.1, RFC 3581).
func BenchmarkParseVia(b *testing.B) {
	const s = "SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport=5060;received=192.0.2.101"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseVia(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProxyResponse is a proxy's handling of a response, as the
// transport and a stateless proxy do it (RFC 3261 §18.1.2, §16.7): parse,
// validate, read the top Via, remove it, serialize.
func BenchmarkProxyResponse(b *testing.B) {
	data := []byte(sampleResponse)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		r := validResponse(b, data)
		if _, err := r.TopVia(); err != nil {
			b.Fatal(err)
		}
		r.PopVia()
		buf = r.AppendTo(buf[:0])
	}
}

// validRequest parses and validates data, as the transport does with each
// request it receives.
func validRequest(b *testing.B, data []byte) *Request {
	r, err := ParseRequest(data)
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// validResponse is validRequest for a response.
func validResponse(b *testing.B, data []byte) *Response {
	r, err := ParseResponse(data)
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		b.Fatal(err)
	}
	return r
}
