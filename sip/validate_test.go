package sip

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidateRequestDepth: a request's Via values below the top one are
// not checked (RFC 3261 §16.3 step 1: components a proxy does not use are
// ignored and forwarded unchanged; §8.2.6.2: a UAS copies them as they
// are), while its From, To, Contact and Route still are, so that a request
// handled here gets its 400.
func TestValidateRequestDepth(t *testing.T) {
	const top = "Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport"
	for name, below := range map[string]string{
		"same field":     top + ", SIP/2.0/UDP ;;",
		"own field":      top + "\r\nVia: SIP/2.0 UDP host",
		"unterminated":   top + ", SIP/2.0/UDP h;x=\"open",
		"empty elements": top + ",,",
	} {
		r := mustRequest(t, strings.Replace(sampleInvite, top, below, 1))
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if v, err := r.TopVia(); err != nil || v.Branch() != "z9hG4bK74bf9" {
			t.Errorf("%s: TopVia = %+v, %v", name, v, err)
		}
		if _, err := r.Vias(); err == nil && name != "empty elements" {
			t.Errorf("%s: Vias reports no error", name)
		}
	}
	for name, edit := range map[string][2]string{
		"top Via":   {top, "Via: SIP/2.0/UDP ;;, SIP/2.0/UDP h"},
		"From":      {"From: Alice <sip:", "From: Alice, Jr. <sip:"},
		"To":        {"To: Bob <sip:bob@biloxi.example.com>", "To: \"Bob <sip:bob@biloxi.example.com>"},
		"Contact":   {"Contact: <sip:alice@client.atlanta.example.com;transport=udp>", "Contact: sip:alice@h?x=y"},
		"Route":     {"Allow:", "Route: <sip:p1 .example.com;lr>\r\nAllow:"},
		"To tag ;;": {"To: Bob <sip:bob@biloxi.example.com>", "To: Bob <sip:bob@biloxi.example.com>;;tag=1"},
	} {
		r := mustRequest(t, strings.Replace(sampleInvite, edit[0], edit[1], 1))
		err := r.Validate()
		if code, _ := StatusOf(err); err == nil || code != StatusBadRequest {
			t.Errorf("%s: Validate = %v, want a 400", name, err)
		}
	}
}

// TestValidateResponseDepth: a response needs its top two Via values (RFC
// 3261 §18.1.2, §16.7 step 3), CSeq and Call-ID, and its Warning codes are
// checked (RFC 4475 §3.1.2.5); From, To and Contact are passed on and
// checked only by whoever reads them.
func TestValidateResponseDepth(t *testing.T) {
	const third = "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1"
	const second = "Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2"
	ok := map[string][2]string{
		"third Via": {third, "Via: SIP/2.0/UDP pc33.atlanta.example.com;;branch=z9hG4bK776asdhds"},
		"From":      {"From: Alice <sip:", "From: Alice, Jr. <sip:"},
		"To":        {"To: Bob <sip:bob@biloxi.example.com>", "To: Bob <sip:bob@bi loxi.example.com>"},
		"Contact":   {"Contact: <sip:bob@192.0.2.4>", "Contact: <sip:bob@192.0.2.4>;;"},
	}
	for name, edit := range ok {
		r := mustResponse(t, strings.Replace(sampleResponse, edit[0], edit[1], 1))
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if v, err := r.TopVia(); err != nil || v.Host != "server10.biloxi.example.com" {
			t.Errorf("%s: TopVia = %+v, %v", name, v, err)
		}
	}
	r := mustResponse(t, strings.Replace(sampleResponse, ok["From"][0], ok["From"][1], 1))
	if _, err := r.From(); err == nil {
		t.Error("From of a malformed From: no error")
	}
	r = mustResponse(t, strings.Replace(sampleResponse, ok["Contact"][0], ok["Contact"][1], 1))
	if _, err := r.Contacts(); err == nil {
		t.Error("Contacts of a malformed Contact: no error")
	}
	for name, edit := range map[string][2]string{
		"second Via":     {second, "Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch"},
		"second in list": {";received=192.0.2.3", ";received=192.0.2.3, SIP/2.0/UDP ;;"},
		"CSeq":           {"CSeq: 314159 INVITE", "CSeq: 4294967296 INVITE"},
		"Call-ID":        {"Call-ID: a84b4c76e66710@pc33.atlanta.example.com", "Call-ID: a b"},
		"no To":          {"To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n", ""},
		"two From":       {"From:", "From: <sip:x@y>\r\nFrom:"},
		"Warning":        {"Contact:", "Warning: 1812 overture \"Kaboom\"\r\nContact:"},
	} {
		r := mustResponse(t, strings.Replace(sampleResponse, edit[0], edit[1], 1))
		if err := r.Validate(); err == nil {
			t.Errorf("%s: malformed response validated", name)
		}
	}
}

// TestTagWithoutFullParse: FromTag and ToTag find the tag as ParseAddress
// would, in every form of address, without parsing the URI; a list of
// header parameters that is malformed gives no tag.
func TestTagWithoutFullParse(t *testing.T) {
	for _, c := range []struct{ to, tag string }{
		{"Bob <sip:bob@biloxi.example.com>;tag=a6c85cf", "a6c85cf"},
		{"<sip:bob@b.example.com;tag=uri>;tag=hdr", "hdr"},
		{"sip:bob@b.example.com;tag=hdr", "hdr"},
		{"sip:bob;tag=user@b.example.com;tag=hdr", "hdr"},
		{"sip:bob;tag=user@b.example.com", ""},
		{`"a <sip:x@y>;tag=q" <sip:bob@b.example.com> ; TAG = t1`, "t1"},
		{"Bob <sip:bob@b.example.com>;tag=\"quoted\";x", `"quoted"`},
		{"Bob <sip:bob@b.example.com>", ""},
		{"Bob <sip:bob@b.example.com>;;tag=x", ""},
		{"Bob <sip:bob@b.example.com junk;tag=x", ""},
		{"Bob <sip:bob@b.example.com> junk;tag=x", ""},
		{"tel:+1-201-555-0123;tag=t", "t"},
	} {
		r := mustResponse(t, strings.Replace(sampleResponse, "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf", "To: "+c.to, 1))
		if got := r.ToTag(); got != c.tag {
			t.Errorf("ToTag of %q = %q, want %q", c.to, got, c.tag)
		}
		if a, err := ParseAddress(c.to); err == nil && a.Tag() != c.tag {
			t.Errorf("ParseAddress(%q).Tag() = %q, ToTag %q", c.to, a.Tag(), c.tag)
		}
	}
}

// TestHostname: the one-pass hostname check keeps the grammar of RFC 3261
// §25.1 (labels neither empty nor starting or ending with "-", a toplabel
// that starts with a letter, one optional trailing dot).
func TestHostname(t *testing.T) {
	for h, want := range map[string]bool{
		"example.com": true, "example.com.": true, "a": true, "a-b.c0": true, "a-b.c": true,
		"0..": false, "0.": false, "a..": false, "a..b": false, ".a": false, "": false, ".": false,
		"-a.b": false, "a-.b": false, "a.-b": false, "a.b-": false, "1.2.3.4": false, "x.1a": false,
		"x.a1": true, "a_b.c": false, "a.b..": false,
	} {
		if got := uriIsHostname(h); got != want {
			t.Errorf("uriIsHostname(%q) = %v, want %v", h, got, want)
		}
	}
	for _, h := range []string{"192.0.2.1", "3com.com", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4.", "example.com", "9", ""} {
		_, ip := uriIPv4(h)
		if got := uriHostnameOrIPv4(h); got != (ip || uriIsHostname(h)) {
			t.Errorf("uriHostnameOrIPv4(%q) = %v", h, got)
		}
	}
}

// TestWellFormedAddress: the one-pass check takes the usual shapes of
// From, To and Contact (as SIPp, baresip and our own stack write them),
// with the header parameters ParseAddress finds, and leaves what it does
// not know to ParseAddress.
func TestWellFormedAddress(t *testing.T) {
	for s, params := range map[string]string{
		"Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl":        ";tag=9fxced76sl",
		"sipp <sip:sipp@127.0.0.1:5061>;tag=1234SIPpTag001":           ";tag=1234SIPpTag001",
		"sut <sip:service@127.0.0.1:5060>":                            "",
		"sip:sipp@127.0.0.1:5061":                                     "",
		"sip:sipp@127.0.0.1:5061;expires=60":                          ";expires=60",
		"<sip:alice@client.atlanta.example.com;transport=udp>":        "",
		"<sips:+12125551212@gw.example.com:5061;user=phone;lr>;q=0.5": ";q=0.5",
		`"Alice Liddell" <sip:alice@a.example.com>;tag=x;rport`:       ";tag=x;rport",
		"  Bob  Smith <sip:bob@b.example.com>  ":                      "",
		"<sip:192.0.2.4>":                                             "",
	} {
		p, ok := wellFormedAddress(s)
		if !ok || string(p) != params {
			t.Errorf("wellFormedAddress(%q) = %q, %v; want %q", s, p, ok, params)
		}
		if a, err := ParseAddress(s); err != nil || string(a.Params) != params {
			t.Errorf("ParseAddress(%q) = %q, %v", s, a.Params, err)
		}
	}
	// Left to ParseAddress: valid in forms the check does not take, or
	// malformed.
	for _, s := range []string{
		"*", "sip:user;par=x@example.com", "<sip:user:pass@h>", "SIP:a@b", "<sip:%61@b>",
		`"a\"b" <sip:a@b>`, "<sip:a@[::1]>", "<sip:a@b?subject=x>", "A <sip:a@b> ;tag=1",
		"tel:+1-201-555-0123", "<sip:a@b>;tag=\"q\"", "Bell, Alexander <sip:a@b>", "<sip:a@b",
		"<sip:a@b;;x>", "<sip:@b>", "<sip:a@-b>", "<sip:a@b:0>", "<sip:a@b:65536>", "sip:a@b c",
		"<sip:a@b>x", "\"unterminated <sip:a@b>", "<sip:a@b >", "sip:a@b;tag=a@b",
	} {
		if p, ok := wellFormedAddress(s); ok {
			t.Errorf("wellFormedAddress(%q) took it (%q)", s, p)
		}
	}
}

// FuzzSplitValue: splitValue's search for a value without commas or
// quotes gives what the byte-by-byte loop gives.
func FuzzSplitValue(f *testing.F) {
	for _, s := range []string{
		"", "a", "<sip:a@b>", "<sip:a@b", "a>b<", "sip:a@b>", "SIP/2.0/UDP h;branch=z9", "a, b",
		`"x, y" <sip:a@b>, c`, "<sip:a,b@c>, d", " <a> ", ">", "<", "<<>", "<><",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v1, r1, m1, ok1 := splitValue(s)
		v2, r2, m2, ok2 := splitValueLoop(s)
		if v1 != v2 || r1 != r2 || m1 != m2 || ok1 != ok2 {
			t.Fatalf("splitValue(%q) = %q %q %v %v, loop gives %q %q %v %v", s, v1, r1, m1, ok1, v2, r2, m2, ok2)
		}
	})
}

// FuzzParseVia: the one-pass form of ParseVia gives what the grammar
// gives, Via and error alike.
func FuzzParseVia(f *testing.F) {
	for _, s := range []string{
		"SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport",
		"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776asdhds;received=192.0.2.1",
		"SIP/2.0/TCP h:0;branch=x", "SIP/2.0/UDP [::1]:5060", "SIP / 2.0 / UDP h ; branch = x",
		"SIP/2.0/UDP h;;", "SIP/2.0/UDP h;ttl=256", "SIP/2.0/UDP a..b", "SIP/2.0/UDP 1.2.3.4:65536",
		"SIP/2.0/WS x.invalid;rport=0", "SIP/2.0/UDP h ", "SIP/2.0/UDP h;branch=\"q\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v1, err1 := ParseVia(s)
		v2, err2 := parseViaGrammar(s)
		if v1 != v2 || (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("ParseVia(%q) = %+v, %v; the grammar gives %+v, %v", s, v1, err1, v2, err2)
		}
	})
}

// TestParseViaUsual: the Vias elements write take the one-pass way.
func TestParseViaUsual(t *testing.T) {
	for _, s := range []string{
		"SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport",
		"SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0",
		"SIP/2.0/TCP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3",
	} {
		v, ok := parseViaUsual(s)
		if !ok || v.String() != s {
			t.Errorf("parseViaUsual(%q) = %+v, %v", s, v, ok)
		}
	}
}

// FuzzHeaderName: a header line parses exactly when its name is a token
// (RFC 3261 §7.3.1), whether or not sipd knows the name; parse skips the
// character check for known names.
func FuzzHeaderName(f *testing.F) {
	for _, s := range []string{"Via", "vIA", "v", "Call-ID", "CALL-ID", "i", "X-Custom", "Call ID", "Vi@", "", "Max-Forwardſ", "Call-\u212aD", " Via"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if strings.ContainsAny(name, ":\r\n") {
			return
		}
		_, err := parseField(name+": x", 0, false)
		want := isToken(strings.TrimRight(name, " \t"))
		if (err == nil) != want {
			t.Fatalf("parseField(%q) = %v; name is a token: %v", name, err, want)
		}
	})
}

// TestManyHeaderLines: parse finds the line ends once, for the first 64
// lines, and searches for the rest; folded lines and the lines beyond
// the 64th come out whole.
func TestManyHeaderLines(t *testing.T) {
	var b strings.Builder
	b.WriteString(strings.Replace(sampleRegister, "\r\n\r\n", "\r\n", 1))
	for i := range 70 {
		fmt.Fprintf(&b, "X-Line-%d: v%d\r\n", i, i)
		if i%9 == 0 {
			fmt.Fprintf(&b, " folded%d\r\n\tagain\r\n", i)
		}
	}
	b.WriteString("Subject: last\r\n\r\n")
	r := mustRequest(t, b.String())
	for i := range 70 {
		want := fmt.Sprintf("v%d", i)
		if i%9 == 0 {
			want += fmt.Sprintf(" folded%d again", i)
		}
		if got := r.Get(fmt.Sprintf("X-Line-%d", i)); got != want {
			t.Errorf("X-Line-%d = %q, want %q", i, got, want)
		}
	}
	if r.Get("Subject") != "last" || r.String() != b.String() {
		t.Errorf("Subject %q; round trip differs: %v", r.Get("Subject"), r.String() != b.String())
	}
	if err := r.Validate(); err != nil {
		t.Error(err)
	}
}

// FuzzParamsGet: Get's search of parameters without quoted-strings finds
// what the parameter-by-parameter loop finds.
func FuzzParamsGet(f *testing.F) {
	for _, s := range []string{
		";branch=z9hG4bK74bf9;rport", ";rport;received=192.0.2.1", " ; tag = x ;lr", ";a=b=c;tag", ";;tag=1",
		"junk;tag=1", ";TAG=Up", ";x=\"q;tag=2\";tag=3", ";tag", "", ";", ";=v;tag=w",
	} {
		f.Add(s, "tag")
		f.Add(s, "branch")
	}
	f.Fuzz(func(t *testing.T, s, name string) {
		v1, ok1 := Params(s).Get(name)
		v2, ok2 := getLoop(s, name)
		if v1 != v2 || ok1 != ok2 {
			t.Fatalf("Params(%q).Get(%q) = %q, %v; the loop gives %q, %v", s, name, v1, ok1, v2, ok2)
		}
	})
}
