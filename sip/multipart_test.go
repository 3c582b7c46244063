package sip

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// mpartTestMessage is the Content-Type value and the body of a message.
type mpartTestMessage struct {
	contentType string
	body        []byte
}

// mpartReadTestMessage reads a message file and cuts out its body (after
// the first empty line) and its Content-Type value, by plain string search.
func mpartReadTestMessage(path string) (mpartTestMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return mpartTestMessage{}, err
	}
	i := bytes.Index(data, []byte("\r\n\r\n"))
	if i < 0 {
		return mpartTestMessage{}, errors.New("no empty line")
	}
	hdr := string(data[:i])
	const name = "\r\nContent-Type:"
	j := strings.Index(hdr, name)
	if j < 0 {
		return mpartTestMessage{}, errors.New("no Content-Type")
	}
	ct, _, _ := strings.Cut(hdr[j+len(name):], "\r\n")
	return mpartTestMessage{contentType: strings.TrimSpace(ct), body: data[i+4:]}, nil
}

// TestParseMultipartMpart01 parses the body of RFC 4475 §3.1.1.11
// (mpart01): a text part and a binary part holding NUL and bare LF octets.
func TestParseMultipartMpart01(t *testing.T) {
	m, err := mpartReadTestMessage("../testdata/rfc4475/mpart01.dat")
	if err != nil {
		t.Fatal(err)
	}
	if m.contentType != "multipart/mixed;boundary=7a9cbec02ceef655" {
		t.Fatalf("Content-Type %q", m.contentType)
	}
	if len(m.body) != 553 { // its Content-Length
		t.Fatalf("body length %d", len(m.body))
	}
	parts, err := ParseMultipart(m.contentType, m.body)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	wantHeader := [][]MIMEField{
		{{"Content-Type", "text/plain"}, {"Content-Transfer-Encoding", "binary"}},
		{{"Content-Type", "application/octet-stream"}, {"Content-Transfer-Encoding", "binary"}},
	}
	for i, p := range parts {
		if !reflect.DeepEqual(p.Header, wantHeader[i]) {
			t.Errorf("part %d header %q", i, p.Header)
		}
		if !mpartWithin(p.Body, m.body) {
			t.Errorf("part %d body is a copy", i)
		}
	}
	if ct := parts[0].ContentType(); ct != "text/plain" {
		t.Errorf("part 0 Content-Type %q", ct)
	}
	if ct := parts[1].ContentType(); ct != "application/octet-stream" {
		t.Errorf("part 1 Content-Type %q", ct)
	}
	if got := parts[1].Get("content-transfer-encoding"); got != "binary" {
		t.Errorf("Get: %q", got)
	}
	if string(parts[0].Body) != "Hello" {
		t.Errorf("part 0 body %q", parts[0].Body)
	}

	// The binary part runs from after its empty line to the CRLF of the
	// close delimiter, which belongs to the delimiter.
	bin := parts[1].Body
	start := bytes.Index(m.body, []byte("application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"))
	end := bytes.Index(m.body, []byte("\r\n--7a9cbec02ceef655--"))
	if start < 0 || end < 0 {
		t.Fatal("test data changed")
	}
	start += len("application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n")
	if !bytes.Equal(bin, m.body[start:end]) {
		t.Fatalf("binary part differs:\n%q\nwant\n%q", bin, m.body[start:end])
	}
	if len(bin) != 342 || !bytes.HasPrefix(bin, []byte{0x30, 0x82, 0x01, 0x52}) || !bytes.HasSuffix(bin, []byte{0xbc, 0x99, 0xd0, 0x05}) {
		t.Errorf("binary part: %d bytes, % x ... % x", len(bin), bin[:4], bin[len(bin)-4:])
	}
	var nul, bareLF []int
	for i, c := range bin {
		if c == 0 {
			nul = append(nul, i)
		}
		if c == '\n' && (i == 0 || bin[i-1] != '\r') {
			bareLF = append(bareLF, i)
		}
	}
	if !reflect.DeepEqual(nul, []int{181, 210}) || !reflect.DeepEqual(bareLF, []int{88, 126, 245}) {
		t.Errorf("NUL at %v, bare LF at %v", nul, bareLF)
	}

	// Built again, it parses to the same parts; it is the same bytes, as
	// the original has no preamble and ends with the close delimiter.
	out := AppendMultipart(nil, "7a9cbec02ceef655", parts)
	if !bytes.Equal(out, m.body) {
		t.Errorf("AppendMultipart differs from the original:\n%q\n%q", out, m.body)
	}
	again, err := ParseMultipart(m.contentType, out)
	if err != nil {
		t.Fatal(err)
	}
	if !mpartPartsEqual(parts, again) {
		t.Error("round trip changed the parts")
	}
}

func TestParseMultipart(t *testing.T) {
	type part struct {
		header []MIMEField
		body   string
	}
	tests := []struct {
		name string
		ct   string
		body string
		want []part
	}{
		{
			name: "rfc2046 5.1.1 example",
			ct:   `multipart/mixed; boundary="simple boundary"`,
			body: "This is the preamble.  It is to be ignored, though it\r\n" +
				"is a handy place for composition agents to include an\r\n" +
				"explanatory note to non-MIME conformant readers.\r\n" +
				"\r\n" +
				"--simple boundary\r\n" +
				"\r\n" +
				"This is implicitly typed plain US-ASCII text.\r\n" +
				"It does NOT end with a linebreak.\r\n" +
				"--simple boundary\r\n" +
				"Content-type: text/plain; charset=us-ascii\r\n" +
				"\r\n" +
				"This is explicitly typed plain US-ASCII text.\r\n" +
				"It DOES end with a linebreak.\r\n" +
				"\r\n" +
				"--simple boundary--\r\n" +
				"\r\n" +
				"This is the epilogue.  It is also to be ignored.\r\n",
			want: []part{
				{nil, "This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak."},
				{[]MIMEField{{"Content-type", "text/plain; charset=us-ascii"}},
					"This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n"},
			},
		},
		{
			name: "sdp and isup",
			ct:   "Multipart/Mixed ; Boundary = unique-boundary-1 ; x=y",
			body: "--unique-boundary-1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n" +
				"--unique-boundary-1\r\nContent-Type: application/ISUP;version=nxv3;base=etsi121\r\n" +
				"Content-Disposition: signal;handling=optional\r\n\r\n\x01\x00\x49\x00\x00\x03\x02\x00\x07\r\n" +
				"--unique-boundary-1--",
			want: []part{
				{[]MIMEField{{"Content-Type", "application/sdp"}}, "v=0\r\n"},
				{[]MIMEField{{"Content-Type", "application/ISUP;version=nxv3;base=etsi121"},
					{"Content-Disposition", "signal;handling=optional"}}, "\x01\x00\x49\x00\x00\x03\x02\x00\x07"},
			},
		},
		{
			name: "transport padding, folded header, boundary look-alikes",
			ct:   "multipart/alternative;boundary=b",
			body: "--b \t\r\nX-A: one\r\n  two\r\n\tthree\r\nX-B :  v \r\n\r\n" +
				"--bb\r\n-- b\r\n--b x\r\n--b\r\n" + // not delimiters: content
				"--b\r\n\r\n\r\n\r\n" + // no header, empty line, a CRLF as body, the delimiter's CRLF
				"--b--  epilogue",
			want: []part{
				{[]MIMEField{{"X-A", "one two three"}, {"X-B", "v"}}, "--bb\r\n-- b\r\n--b x"},
				{nil, ""},
				{nil, "\r\n"},
			},
		},
		{
			name: "headers without an empty line, and an empty part",
			ct:   "multipart/mixed;boundary=\"q\\\"b\"",
			body: "--q\"b\r\nContent-Type: text/plain\r\n--q\"b\r\n--q\"b--\r\n",
			want: []part{
				{[]MIMEField{{"Content-Type", "text/plain"}}, ""},
				{nil, ""},
			},
		},
		{
			name: "bare LF is not a line end",
			ct:   "multipart/mixed;boundary=b",
			body: "--b\r\n\r\nx\n--b\ny\r\n--b--",
			want: []part{{nil, "x\n--b\ny"}},
		},
		{
			name: "rfc2387 related, unquoted start",
			ct:   `multipart/related;type="application/sdp";start=<sdp@example.com>;boundary=rel`,
			body: "--rel\r\nContent-Type: application/sdp\r\nContent-ID: <sdp@example.com>\r\n\r\nv=0\r\n\r\n--rel--\r\n",
			want: []part{{[]MIMEField{{"Content-Type", "application/sdp"}, {"Content-ID", "<sdp@example.com>"}}, "v=0\r\n"}},
		},
		{
			name: "boundary of 70 characters",
			ct:   "multipart/mixed;boundary=" + strings.Repeat("x", 70),
			body: "--" + strings.Repeat("x", 70) + "\r\n\r\nz\r\n--" + strings.Repeat("x", 70) + "--",
			want: []part{{nil, "z"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			parts, err := ParseMultipart(tt.ct, body)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != len(tt.want) {
				t.Fatalf("%d parts, want %d: %q", len(parts), len(tt.want), parts)
			}
			for i, w := range tt.want {
				p := parts[i]
				if !reflect.DeepEqual(p.Header, w.header) {
					t.Errorf("part %d header %q, want %q", i, p.Header, w.header)
				}
				if string(p.Body) != w.body {
					t.Errorf("part %d body %q, want %q", i, p.Body, w.body)
				}
				if !mpartWithin(p.Body, body) || cap(p.Body) != len(p.Body) {
					t.Errorf("part %d body is not a capped subslice", i)
				}
			}
			boundary, err := multipartBoundary(tt.ct)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseMultipart(tt.ct, AppendMultipart(nil, boundary, parts))
			if err != nil {
				t.Fatal(err)
			}
			if !mpartPartsEqual(parts, again) {
				t.Errorf("round trip: %q", again)
			}
		})
	}
}

func TestParseMultipartErrors(t *testing.T) {
	tests := []struct {
		name   string
		ct     string
		body   string
		header string
		reason string
	}{
		{"not multipart", "application/sdp", "v=0\r\n", "Content-Type", "not multipart"},
		{"message type", "message/sipfrag;boundary=b", "--b\r\n\r\nx\r\n--b--", "Content-Type", "not multipart"},
		{"empty content type", "", "", "Content-Type", "malformed media type"},
		{"no subtype", "multipart;boundary=b", "", "Content-Type", "malformed media type"},
		{"no boundary", "multipart/mixed", "--b\r\n\r\nx\r\n--b--", "Content-Type", "missing boundary"},
		{"no boundary, other params", "multipart/mixed; charset=utf-8", "", "Content-Type", "missing boundary"},
		{"empty boundary", `multipart/mixed;boundary=""`, "", "Content-Type", "malformed boundary"},
		{"boundary too long", "multipart/mixed;boundary=" + strings.Repeat("x", 71), "", "Content-Type", "malformed boundary"},
		{"boundary ends in space", `multipart/mixed;boundary="b "`, "", "Content-Type", "malformed boundary"},
		{"boundary with space", "multipart/mixed;boundary=a b", "", "Content-Type", "malformed boundary"},
		{"boundary with junk after quote", `multipart/mixed;boundary="a"b`, "", "Content-Type", "malformed boundary"},
		{"boundary with control", "multipart/mixed;boundary=\"a\x01b\"", "", "Content-Type", "malformed boundary"},
		{"unterminated quote", `multipart/mixed;boundary="b`, "", "Content-Type", "unterminated quoted-string in parameter"},
		{"boundary not found", "multipart/mixed;boundary=b", "--c\r\n\r\nx\r\n--c--", "", "multipart body: boundary not found"},
		{"empty body", "multipart/mixed;boundary=b", "", "", "multipart body: boundary not found"},
		{"boundary without line end", "multipart/mixed;boundary=b", "--b", "", "multipart body: boundary not found"},
		{"no close delimiter", "multipart/mixed;boundary=b", "--b\r\n\r\nx\r\n", "", "multipart body: no close delimiter"},
		{"truncated close delimiter", "multipart/mixed;boundary=b", "--b\r\n\r\nx\r\n--b-", "", "multipart body: no close delimiter"},
		{"bare LF after delimiter", "multipart/mixed;boundary=b", "--b\n\nx\n--b--", "", "multipart body: boundary not found"},
		{"no part", "multipart/mixed;boundary=b", "--b--\r\n", "", "multipart body: no body part"},
		{"header without colon", "multipart/mixed;boundary=b", "--b\r\nContent-Type text/plain\r\n\r\nx\r\n--b--", "", "multipart body: malformed part header"},
		{"header starts folded", "multipart/mixed;boundary=b", "--b\r\n X: y\r\n\r\nx\r\n--b--", "", "multipart body: malformed part header"},
		{"bare LF in header", "multipart/mixed;boundary=b", "--b\r\nX: y\nZ: w\r\n\r\nx\r\n--b--", "", "multipart body: malformed part header"},
		{"binary part without header", "multipart/mixed;boundary=b", "--b\r\n\x00\x01\r\n--b--", "", "multipart body: malformed part header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := ParseMultipart(tt.ct, []byte(tt.body))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %q, %v; want *ParseError", parts, err)
			}
			if pe.Header != tt.header || pe.Reason != tt.reason {
				t.Errorf("got header %q reason %q; want %q, %q", pe.Header, pe.Reason, tt.header, tt.reason)
			}
			if parts != nil {
				t.Errorf("parts %q with error", parts)
			}
		})
	}
}

func TestAppendMultipart(t *testing.T) {
	parts := []Part{
		{Header: []MIMEField{{"Content-Type", "application/sdp"}}, Body: []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n")},
		{Header: []MIMEField{{"Content-Type", "application/octet-stream"}, {"X-Injected", "a\r\nVia: b"}},
			Body: []byte("\x00\n\r\x00")},
		{Body: []byte("no header")},
	}
	got := AppendMultipart([]byte("prefix"), "sep-42", parts)
	want := "prefix--sep-42\r\nContent-Type: application/sdp\r\n\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n\r\n" +
		"--sep-42\r\nContent-Type: application/octet-stream\r\nX-Injected: a  Via: b\r\n\r\n\x00\n\r\x00\r\n" +
		"--sep-42\r\n\r\nno header\r\n" +
		"--sep-42--\r\n"
	if string(got) != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	back, err := ParseMultipart("multipart/mixed;boundary=sep-42", got[len("prefix"):])
	if err != nil {
		t.Fatal(err)
	}
	parts[1].Header[1].Value = "a  Via: b"
	if !mpartPartsEqual(back, parts) {
		t.Errorf("round trip:\n%q\n%q", back, parts)
	}
	if ct := back[2].ContentType(); ct != "" {
		t.Errorf("ContentType of a part without one: %q", ct)
	}
}

func BenchmarkParseMultipart(b *testing.B) {
	m, err := mpartReadTestMessage("../testdata/rfc4475/mpart01.dat")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(m.body)))
	for b.Loop() {
		if _, err := ParseMultipart(m.contentType, m.body); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseMultipart: no input panics, errors are *ParseError, every part
// body lies within the body given, and the parts written again with
// AppendMultipart parse to the same parts.
func FuzzParseMultipart(f *testing.F) {
	f.Add("multipart/mixed;boundary=b", []byte("--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"))
	f.Add(`multipart/related; boundary="a b"`, []byte("pre\r\n--a b \r\n\r\nx\r\n--a b\r\nA: 1\r\n 2\r\n\r\n\x00\n\r\n--a b--"))
	f.Add("multipart/mixed;boundary=b", []byte("--b\r\n--b\r\nX: y\r\n--bb\r\n--b--"))
	if data, err := mpartReadTestMessage("../testdata/rfc4475/mpart01.dat"); err == nil {
		f.Add(data.contentType, data.body)
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		parts, err := ParseMultipart(ct, body)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseMultipart: %T %v", err, err)
			}
			return
		}
		if len(parts) == 0 {
			t.Fatal("no parts and no error")
		}
		for i, p := range parts {
			if !mpartWithin(p.Body, body) {
				t.Fatalf("part %d body is not within the body", i)
			}
			if cap(p.Body) != len(p.Body) {
				t.Fatalf("part %d body has spare capacity %d", i, cap(p.Body)-len(p.Body))
			}
		}
		boundary, err := multipartBoundary(ct)
		if err != nil {
			t.Fatalf("boundary: %v", err)
		}
		out := AppendMultipart(nil, boundary, parts)
		parts2, err := ParseMultipart(ct, out)
		if err != nil {
			t.Fatalf("rebuilt body does not parse: %v\n%q", err, out)
		}
		if !mpartPartsEqual(parts, parts2) {
			t.Fatalf("round trip:\n%q\n%#v\n%#v", out, parts, parts2)
		}
	})
}

// mpartWithin reports whether sub lies within b's memory.
func mpartWithin(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	s := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return s >= lo && s+uintptr(len(sub)) <= lo+uintptr(len(b))
}

func mpartPartsEqual(a, b []Part) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i].Header, b[i].Header) || !bytes.Equal(a[i].Body, b[i].Body) {
			return false
		}
	}
	return true
}
