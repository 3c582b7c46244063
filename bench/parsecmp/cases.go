package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	sipgo "github.com/emiago/sipgo/sip"
	"github.com/sipd/sipd/sip"
)

// The messages of sipd's own benchmarks, copied verbatim from
// sip/samples_test.go (an INVITE with SDP, a REGISTER, a 200 OK with three
// Vias).
var (
	sampleInvite = crlf(`INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport
Max-Forwards: 70
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:alice@client.atlanta.example.com;transport=udp>
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE
Supported: replaces, timer
User-Agent: sipd-test/1.0
Content-Type: application/sdp
Content-Length: 151

`) + "v=0\r\no=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

	sampleRegister = crlf(`REGISTER sip:registrar.biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;rport
Max-Forwards: 70
From: Bob <sip:bob@biloxi.example.com>;tag=456248
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 843817637684230@998sdasdh09
CSeq: 1826 REGISTER
Contact: <sip:bob@192.0.2.4>;expires=3600
Expires: 7200
User-Agent: sipd-test/1.0
Content-Length: 0

`)

	sampleResponse = crlf(`SIP/2.0 200 OK
Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3
Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0

`)
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// sample is one message under test.
type sample struct {
	name string
	data string
}

var samples = []sample{
	{"Invite", sampleInvite},
	{"Register", sampleRegister},
	{"Response", sampleResponse},
}

// keys is what both parsers must agree on for a message.
type keys struct {
	CallID     string
	CSeqSeq    uint32
	CSeqMethod string
	Branch     string
	FromTag    string
}

func (k keys) String() string {
	return fmt.Sprintf("Call-ID=%q CSeq=%d %s branch=%q from-tag=%q",
		k.CallID, k.CSeqSeq, k.CSeqMethod, k.Branch, k.FromTag)
}

// sipdKeys parses data with sipd and extracts the keys.
func sipdKeys(data []byte) (keys, error) {
	m, err := sip.Parse(data)
	if err != nil {
		return keys{}, fmt.Errorf("sipd: parse: %w", err)
	}
	h := m.Headers()
	v, err := h.TopVia()
	if err != nil {
		return keys{}, fmt.Errorf("sipd: top Via: %w", err)
	}
	c, err := h.CSeq()
	if err != nil {
		return keys{}, fmt.Errorf("sipd: CSeq: %w", err)
	}
	from, err := h.From()
	if err != nil {
		return keys{}, fmt.Errorf("sipd: From: %w", err)
	}
	tag, _ := from.Params.Get("tag")
	return keys{
		CallID:     h.CallID(),
		CSeqSeq:    c.Seq,
		CSeqMethod: c.Method,
		Branch:     v.Branch(),
		FromTag:    tag,
	}, nil
}

// sipgoParser is reused, as sipgo.ParseMessage does with its default parser.
var sipgoParser = sipgo.NewParser()

// sipgoKeys parses data with sipgo and extracts the keys.
func sipgoKeys(data []byte) (keys, error) {
	m, err := sipgoParser.ParseSIP(data)
	if err != nil {
		return keys{}, fmt.Errorf("sipgo: parse: %w", err)
	}
	via, callID, cseq, from := m.Via(), m.CallID(), m.CSeq(), m.From()
	switch {
	case via == nil:
		return keys{}, fmt.Errorf("sipgo: no Via")
	case callID == nil:
		return keys{}, fmt.Errorf("sipgo: no Call-ID")
	case cseq == nil:
		return keys{}, fmt.Errorf("sipgo: no CSeq")
	case from == nil:
		return keys{}, fmt.Errorf("sipgo: no From")
	}
	branch, _ := via.Params.Get("branch")
	tag, _ := from.Params.Get("tag")
	return keys{
		CallID:     callID.Value(),
		CSeqSeq:    cseq.SeqNo,
		CSeqMethod: string(cseq.MethodName),
		Branch:     branch,
		FromTag:    tag,
	}, nil
}

// sipdSerialize parses and serializes data with sipd.
func sipdSerialize(data []byte) ([]byte, error) {
	m, err := sip.Parse(data)
	if err != nil {
		return nil, err
	}
	return m.AppendTo(nil), nil
}

// sipgoSerialize parses and serializes data with sipgo.
func sipgoSerialize(data []byte) ([]byte, error) {
	m, err := sipgoParser.ParseSIP(data)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	m.StringWrite(&b)
	return b.Bytes(), nil
}

// checkSample parses s with both libraries, checks that they extract the
// same keys and that each library's serialization parses back to them.
func checkSample(s sample) (keys, error) {
	data := []byte(s.data)
	kd, err := sipdKeys(data)
	if err != nil {
		return keys{}, err
	}
	kg, err := sipgoKeys(data)
	if err != nil {
		return keys{}, err
	}
	if kd != kg {
		return keys{}, fmt.Errorf("parsers disagree:\n  sipd:  %v\n  sipgo: %v", kd, kg)
	}
	if kd.CallID == "" || kd.Branch == "" || kd.CSeqMethod == "" || kd.FromTag == "" {
		return keys{}, fmt.Errorf("empty key: %v", kd)
	}
	for _, lib := range []struct {
		name      string
		serialize func([]byte) ([]byte, error)
		keys      func([]byte) (keys, error)
	}{
		{"sipd", sipdSerialize, sipdKeys},
		{"sipgo", sipgoSerialize, sipgoKeys},
	} {
		out, err := lib.serialize(data)
		if err != nil {
			return keys{}, fmt.Errorf("%s: serialize: %w", lib.name, err)
		}
		k, err := lib.keys(out)
		if err != nil {
			return keys{}, fmt.Errorf("%s: re-parsing its own output: %w", lib.name, err)
		}
		if k != kd {
			return keys{}, fmt.Errorf("%s: own output re-parses to %v, want %v", lib.name, k, kd)
		}
	}
	return kd, nil
}

// Sinks keep the compiler from discarding the benchmarked work.
var (
	sinkBytes  []byte
	sinkString string
	sinkSeq    uint32
)

// Parse + serialize: sipd parses, then appends the wire form to a reused
// buffer.
func benchSipdParse(b *testing.B, msg string) {
	data := []byte(msg)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		m, err := sip.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		buf = m.AppendTo(buf[:0])
	}
	sinkBytes = buf
}

// Parse + serialize: sipgo parses, then writes the wire form with
// StringWrite (its allocation-saving writer form of String) into a reused
// buffer.
func benchSipgoParse(b *testing.B, msg string) {
	data := []byte(msg)
	var buf bytes.Buffer
	buf.Grow(4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		m, err := sipgoParser.ParseSIP(data)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		m.StringWrite(&buf)
	}
	sinkBytes = buf.Bytes()
}

// Transaction key: parse, then the top Via's branch, Call-ID and CSeq.
func benchSipdTxKey(b *testing.B, msg string) {
	data := []byte(msg)
	b.ReportAllocs()
	for b.Loop() {
		m, err := sip.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		h := m.Headers()
		v, err := h.TopVia()
		if err != nil {
			b.Fatal(err)
		}
		branch, callID := v.Branch(), h.CallID()
		if branch == "" || callID == "" {
			b.Fatal("missing key")
		}
		c, err := h.CSeq()
		if err != nil {
			b.Fatal(err)
		}
		sinkString, sinkSeq = branch, c.Seq
	}
}

func benchSipgoTxKey(b *testing.B, msg string) {
	data := []byte(msg)
	b.ReportAllocs()
	for b.Loop() {
		m, err := sipgoParser.ParseSIP(data)
		if err != nil {
			b.Fatal(err)
		}
		via, callID, cseq := m.Via(), m.CallID(), m.CSeq()
		if via == nil || callID == nil || cseq == nil {
			b.Fatal("missing key")
		}
		branch, _ := via.Params.Get("branch")
		if branch == "" || callID.Value() == "" {
			b.Fatal("missing key")
		}
		sinkString, sinkSeq = branch, cseq.SeqNo
	}
}

// operation is one measured operation, implemented for both libraries.
type operation struct {
	name  string
	sipd  func(*testing.B, string)
	sipgo func(*testing.B, string)
}

var operations = []operation{
	{"parse+serialize", benchSipdParse, benchSipgoParse},
	{"transaction-key", benchSipdTxKey, benchSipgoTxKey},
}
