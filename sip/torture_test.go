package sip

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The RFC 4475 torture messages, one test case per manifest row. A valid
// message must parse and validate, and the values the RFC points out are
// checked; an invalid one must be refused with the status the RFC
// prescribes, or, where the RFC allows a liberal reading, be accepted with
// the flaw detected (the liberal check).
type tortureCase struct {
	status  int                           // 0: accept; else the status an error must carry
	check   func(t *testing.T, m Message) // semantic checks for accepted messages
	liberal func(t *testing.T, m Message) // for invalid ones the RFC lets us accept
	stream  bool                          // also frame it from a stream
}

var tortureCases = map[string]tortureCase{
	"wsinv.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		eq(t, "method", r.Method, "INVITE")
		eq(t, "ruri params", string(r.URI.Params), ";unknownparam")
		to, _ := r.To()
		eq(t, "To tag", to.Tag(), "1918181833n")
		eq(t, "To user", to.URI.User, "vivekg")
		from, _ := r.From()
		eq(t, "From display", from.Display, `J Rosenberg \"`)
		eq(t, "From tag", from.Tag(), "98asjd8")
		mf, _, _ := r.MaxForwards()
		eq(t, "Max-Forwards", mf, 68)
		cs, _ := r.CSeq()
		eq(t, "CSeq", cs, CSeq{9, "INVITE"})
		vias, err := r.Vias()
		if err != nil || len(vias) != 3 {
			t.Fatalf("Vias = %v, %v; want 3", vias, err)
		}
		eq(t, "via0", vias[0].Transport+" "+vias[0].Host+" "+vias[0].Branch(), "UDP 192.0.2.2 390skdjuw")
		eq(t, "via1", vias[1].Transport+" "+vias[1].Host+" "+vias[1].Branch(), "TCP spindle.example.com z9hG4bK9ikj8")
		eq(t, "via2", vias[2].Transport+" "+vias[2].Host+" "+vias[2].Branch(), "UDP 192.168.255.111 z9hG4bK30239")
		eq(t, "Subject present", r.Has("Subject"), true)
		eq(t, "Subject empty", r.Get("s"), "")
		eq(t, "folded unknown header", r.Get("NewFangledHeader"), "newfangled value continued newfangled value")
		eq(t, "unusual unknown header", r.Get("UnknownHeaderWithUnusualValue"), ";;,,;;,;")
		cs2, _ := r.Contacts()
		if len(cs2) != 1 {
			t.Fatalf("contacts %v", cs2)
		}
		eq(t, "Contact display", cs2[0].Display, `Quoted string ""`)
		q, _ := cs2[0].Params.Get("q")
		eq(t, "Contact q", q, "0.33")
		nv, _ := cs2[0].Params.Get("newparam")
		eq(t, "Contact newparam", nv, "newvalue")
		eq(t, "Contact secondparam", cs2[0].Params.Has("secondparam"), true)
		routes, _ := r.Routes()
		if len(routes) != 1 || routes[0].URI.Host != "services.example.com" || !routes[0].URI.Params.Has("lr") {
			t.Errorf("Route = %+v", routes)
		}
		eq(t, "Content-Type", r.ContentType(), "application/sdp")
		eq(t, "body length", len(r.Body), 150)
	}},
	"intmeth.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		eq(t, "method", r.Method, "!interesting-Method0123456789_*+`.%indeed'~")
		eq(t, "ruri user", r.URI.User, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
		eq(t, "ruri password", r.URI.Password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
		cs, _ := r.CSeq()
		eq(t, "CSeq method", cs.Method, r.Method)
		to, _ := r.To()
		eq(t, "To display", to.Display, "BEL:\x07 NUL:\x00 DEL:\x7f")
		from, _ := r.From()
		eq(t, "From display", from.Display, "token1~` token2'+_ token3*%!.-")
		eq(t, "From tag", from.Tag(), "_token~1'+`*%!-.")
		v, _ := r.TopVia()
		eq(t, "branch", v.Branch(), "z9hG4bK-.!%66*_+`'~")
		eq(t, "Call-ID", r.CallID(), `intmeth.word%ZK-!.*_+'@word`+"`"+`~)(><:\/"][?}{`)
		eq(t, "extension header", r.Get("extensionHeader-!.%*+_`'~"), "\ufeff大停電")
	}},
	"esc01.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		eq(t, "ruri user", r.URI.UserUnescaped(), "sips:user@example.com")
		eq(t, "ruri host", r.URI.Host, "example.net")
		to, _ := r.To()
		eq(t, "To user", to.URI.UserUnescaped(), "user")
		want, _ := ParseURI("sip:user@example.com")
		eq(t, "To equals sip:user@example.com", to.URI.Equal(want), true)
		from, _ := r.From()
		eq(t, "From user", from.URI.UserUnescaped(), "I have spaces")
		cs, _ := r.Contacts()
		if len(cs) != 1 {
			t.Fatalf("contacts %v", cs)
		}
		eq(t, "Contact user", cs[0].URI.UserUnescaped(), "caller")
		v, ok := cs[0].URI.Params.Get("n%61me")
		u, _ := Unescape(v)
		eq(t, "escaped param value unescaped once", u, "value%41")
		eq(t, "param present", ok, true)
		eq(t, "compact Content-Type", r.ContentType(), "application/sdp")
	}},
	"escnull.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		to, _ := r.To()
		eq(t, "To user", to.URI.UserUnescaped(), "null-\x00-null")
		cs, _ := r.Contacts()
		if len(cs) != 2 {
			t.Fatalf("want 2 contacts, got %v", cs)
		}
		eq(t, "contact 1", cs[0].URI.UserUnescaped(), "\x00")
		eq(t, "contact 2", cs[1].URI.UserUnescaped(), "\x00\x00")
		eq(t, "contacts differ", cs[0].URI.Equal(cs[1].URI), false)
	}},
	"esc02.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		eq(t, "method is not REGISTER", r.Method, "RE%47IST%45R")
		to, _ := r.To()
		eq(t, "To display", to.Display, "%Z%45")
		cs, _ := r.Contacts()
		eq(t, "exactly 2 Contacts", len(cs), 2)
		eq(t, "C%6Fntact kept as an unknown header", r.Get("C%6Fntact"), "<sip:alias2@host2.example.com>")
	}},
	"lwsdisp.dat": {check: func(t *testing.T, m Message) {
		from, _ := m.Headers().From()
		eq(t, "From display", from.Display, "caller")
		eq(t, "From user", from.URI.User, "caller")
	}},
	"longreq.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		to, _ := r.To()
		eq(t, "To display", to.Display, "I have a user name of "+strings.Repeat("extreme", 10)+" proportion")
		eq(t, "To port", to.URI.Port, 6000)
		eq(t, "To URI param", to.URI.Params.Has("unknownparam1"), true)
		eq(t, "To URI valueless param", to.URI.Params.Has("verylong"+strings.Repeat("long", 24)+"ParameterNameWithNoValue"), true)
		from, _ := r.From()
		eq(t, "From user", from.URI.User, strings.Repeat("amazinglylongcallername", 5))
		eq(t, "From tag", from.Tag(), "1"+strings.Repeat("298", 50)+"2424")
		eq(t, "From valueless param", from.Params.Has("unknownValuelessparamname"+strings.Repeat("paramname", 9)), true)
		eq(t, "Call-ID", r.CallID(), "longreq.one"+strings.Repeat("really", 20)+"longcallid")
		vias, err := r.Vias()
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "Via count", len(vias), 34)
		eq(t, "top Via", vias[0].Host, "sip33.example.com")
		eq(t, "last Via received", vias[33].Received(), "192.0.2.5")
		eq(t, "long branch", len(vias[33].Branch()) > 100, true)
		cs, _ := r.Contacts()
		eq(t, "Contacts", len(cs), 1)
		unknown := 0
		for f := range r.Fields() {
			if strings.HasPrefix(f.Name, "Unknown-LongLong") {
				unknown++
				eq(t, "unknown value", strings.HasPrefix(f.Value, "unknown-longlong"), true)
			}
		}
		eq(t, "unknown header", unknown, 1)
	}},
	"dblreq.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		eq(t, "method", r.Method, "REGISTER")
		eq(t, "body", len(r.Body), 0)
		if bytes.Contains(r.Bytes(), []byte("INVITE")) {
			t.Error("trailing octets would be forwarded")
		}
	}},
	"semiuri.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		eq(t, "ruri user", r.URI.User, "user;par=u%40example.net")
		eq(t, "ruri host", r.URI.Host, "example.com")
		eq(t, "ruri params", string(r.URI.Params), "")
		n := 0
		for range r.Values("Accept") {
			n++
		}
		eq(t, "Accept values", n, 6)
	}},
	"transports.dat": {check: func(t *testing.T, m Message) {
		vias, err := m.Headers().Vias()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range vias {
			got = append(got, v.Transport)
		}
		eq(t, "transports", strings.Join(got, " "), "UDP SCTP TLS UNKNOWN TCP")
	}},
	"mpart01.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		eq(t, "Content-Type", r.ContentType(), "multipart/mixed")
		eq(t, "body framed by Content-Length", len(r.Body), r.ContentLength())
		eq(t, "binary body holds NUL", bytes.IndexByte(r.Body, 0) >= 0, true)
	}, stream: true},
	"unreason.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Response)
		eq(t, "code", r.StatusCode, 200)
		eq(t, "reason", r.Reason, "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435")
	}},
	"noreason.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Response)
		eq(t, "code", r.StatusCode, 100)
		eq(t, "reason", r.Reason, "")
	}},
	"badinv01.dat": {status: 400},
	"clerr.dat":    {status: 400},
	"ncl.dat":      {status: 400},
	"scalar02.dat": {status: 400},
	"scalarlg.dat": {status: 400},
	"quotbal.dat":  {status: 400},
	"ltgtruri.dat": {status: 400},
	"lwsruri.dat":  {status: 400},
	"lwsstart.dat": {status: 400, liberal: canonicalRequestLine},
	"trws.dat":     {status: 400, liberal: canonicalRequestLine},
	"escruri.dat":  {status: 400},
	"baddate.dat": {status: 400, liberal: func(t *testing.T, m Message) {
		eq(t, "Date kept", strings.HasSuffix(m.Headers().Get("Date"), "EST"), true)
	}},
	"regbadct.dat":   {status: 400},
	"badaspec.dat":   {status: 400, liberal: func(t *testing.T, m Message) { to, _ := m.Headers().To(); eq(t, "To host", to.URI.Host, "example.org") }},
	"baddn.dat":      {status: 400},
	"badvers.dat":    {status: 505},
	"mismatch01.dat": {status: 400},
	"mismatch02.dat": {status: 501},
	"bigcode.dat":    {status: 400},
	"badbranch.dat": {status: 400, liberal: func(t *testing.T, m Message) {
		v, _ := m.Headers().TopVia()
		eq(t, "branch is only the cookie", v.Branch(), MagicCookie)
		eq(t, "not an RFC 3261 branch", v.HasRFC3261Branch(), false)
	}},
	"insuf.dat": {status: 400},
	"unkscm.dat": {check: func(t *testing.T, m Message) {
		u := m.(*Request).URI
		eq(t, "scheme", u.Scheme, "nobodyKnowsThisScheme")
		eq(t, "opaque", u.Opaque, "totallyopaquecontent")
		eq(t, "not SIP", u.IsSIP(), false)
	}},
	"novelsc.dat": {check: func(t *testing.T, m Message) {
		u := m.(*Request).URI
		eq(t, "scheme", u.Scheme, "soap.beep")
		eq(t, "opaque", u.Opaque, "//192.0.2.103:3002")
	}},
	"unksm2.dat": {check: func(t *testing.T, m Message) {
		h := m.Headers()
		to, _ := h.To()
		eq(t, "To scheme", to.URI.Scheme, "isbn")
		from, _ := h.From()
		eq(t, "From scheme", from.URI.Scheme, "http")
		cs, _ := h.Contacts()
		eq(t, "Contact scheme", cs[0].URI.Scheme, "name")
	}},
	"bext01.dat": {check: func(t *testing.T, m Message) {
		h := m.Headers()
		eq(t, "Require", strings.Join(h.OptionTags("Require"), ","), "nothingSupportsThis,nothingSupportsThisEither")
		eq(t, "Proxy-Require", strings.Join(h.OptionTags("Proxy-Require"), ","), "noProxiesSupportThis,norDoAnyProxiesSupportThis")
		eq(t, "HasOptionTag", h.HasOptionTag("Require", "NOTHINGsupportsthis"), true)
	}},
	"invut.dat": {check: func(t *testing.T, m Message) {
		eq(t, "Content-Type", m.Headers().ContentType(), "application/unknownformat")
		eq(t, "body", len(m.Payload()), 40)
	}},
	"regaut01.dat": {check: func(t *testing.T, m Message) {
		c, err := ParseCredentials(m.Headers().Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "scheme", c.Scheme, "NoOneKnowsThisScheme")
	}},
	"multi01.dat": {status: 400},
	"mcl01.dat":   {status: 400},
	"bcast.dat": {check: func(t *testing.T, m Message) {
		vias, _ := m.Headers().Vias()
		eq(t, "second Via host", vias[1].Host, "255.255.255.255")
	}},
	"zeromf.dat": {check: func(t *testing.T, m Message) {
		n, ok, err := m.Headers().MaxForwards()
		eq(t, "Max-Forwards", n, 0)
		eq(t, "present", ok && err == nil, true)
	}},
	"cparam01.dat": {check: func(t *testing.T, m Message) {
		cs, _ := m.Headers().Contacts()
		eq(t, "URI has no params", string(cs[0].URI.Params), "")
		eq(t, "header param", cs[0].Params.Has("unknownparam"), true)
		eq(t, "user", cs[0].URI.User, "+19725552222")
	}},
	"cparam02.dat": {check: func(t *testing.T, m Message) {
		cs, _ := m.Headers().Contacts()
		eq(t, "URI param", cs[0].URI.Params.Has("unknownparam"), true)
		eq(t, "no header params", string(cs[0].Params), "")
	}},
	"regescrt.dat": {check: func(t *testing.T, m Message) {
		cs, _ := m.Headers().Contacts()
		eq(t, "URI headers", cs[0].URI.Headers, "Route=%3Csip:sip.example.com%3E")
	}},
	"sdp01.dat": {check: func(t *testing.T, m Message) {
		if m.Headers().HasOptionTag("Accept", "application/sdp") {
			t.Error("Accept should not list application/sdp")
		}
	}},
	"inv2543.dat": {check: func(t *testing.T, m Message) {
		r := m.(*Request)
		v, _ := r.TopVia()
		eq(t, "no branch", v.Branch(), "")
		eq(t, "no From tag", r.FromTag(), "")
		eq(t, "no Content-Length", r.ContentLength(), -1)
		_, ok, _ := r.MaxForwards()
		eq(t, "no Max-Forwards", ok, false)
		eq(t, "body is the rest", bytes.HasSuffix(r.Body, []byte("m=audio 49217 RTP/AVP 0\r\n")), true)
	}},
	"extra/baddn-terminated.dat": {status: 400},
	"extra/test.dat":             {status: 400},
}

func canonicalRequestLine(t *testing.T, m Message) {
	t.Helper()
	line, _, _ := strings.Cut(m.String(), "\r\n")
	if strings.Contains(line, "  ") || strings.HasSuffix(line, " ") {
		t.Errorf("request line would be forwarded as %q", line)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

type manifestRow struct {
	file, verdict, sha string
	octets             int
}

func readManifest(t *testing.T) []manifestRow {
	t.Helper()
	f, err := os.Open("../testdata/rfc4475/manifest.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	sc.Scan() // column names
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 8 {
			t.Fatalf("manifest line %q has %d columns", sc.Text(), len(c))
		}
		n, _ := strconv.Atoi(c[6])
		rows = append(rows, manifestRow{file: c[0], verdict: c[1], octets: n, sha: c[7]})
	}
	return rows
}

// validate runs what a server runs on a received datagram: Parse, then
// Validate. It returns the message (if it parsed) and the error.
func validate(data []byte) (Message, error) {
	m, err := Parse(data)
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *Request:
		err = m.Validate()
	case *Response:
		err = m.Validate()
	}
	return m, err
}

func TestRFC4475(t *testing.T) {
	rows := readManifest(t)
	if len(rows) != 51 {
		t.Fatalf("manifest has %d rows, want 51", len(rows))
	}
	seen := map[string]bool{}
	for _, row := range rows {
		seen[row.file] = true
		t.Run(row.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("../testdata/rfc4475", row.file))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != row.sha || len(data) != row.octets {
				t.Fatalf("file is not byte-exact (sha256 or size differs): check .gitattributes")
			}
			tc, ok := tortureCases[row.file]
			if !ok {
				t.Fatalf("no expectation for %s", row.file)
			}
			if (row.verdict == "valid") != (tc.status == 0) {
				t.Fatalf("expectation disagrees with manifest verdict %q", row.verdict)
			}
			m, err := validate(data)
			switch {
			case tc.status == 0:
				if err != nil {
					t.Fatalf("valid message refused: %v", err)
				}
				tc.check(t, m)
				// An untouched message serializes back as it came
				// (dblreq: without the trailing octets).
				if want := data[:len(m.String())]; m.String() != string(want) {
					t.Errorf("round trip differs:\n%q\nwant\n%q", m.String(), want)
				}
				if tc.stream {
					var f Framer
					f.Write(data)
					msg, _, err := f.Next()
					if err != nil || !bytes.Equal(msg, data[:len(msg)]) || len(msg) != len(m.String()) {
						t.Errorf("stream framing: %d bytes, %v", len(msg), err)
					}
				}
			case err != nil:
				code, reason := StatusOf(err)
				if code != tc.status {
					t.Errorf("status %d (%s), want %d", code, reason, tc.status)
				}
				if reason == "" {
					t.Error("no reason phrase")
				}
			case tc.liberal != nil:
				tc.liberal(t, m)
			default:
				t.Fatalf("invalid message accepted; want %d", tc.status)
			}
		})
	}
	for f := range tortureCases {
		if !seen[f] {
			t.Errorf("expectation for %s, which the manifest lacks", f)
		}
	}
}
