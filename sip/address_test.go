package sip

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		display string
		uri     string // the URI's String()
		params  Params
		wild    bool
	}{
		{"addr-spec", "sip:alice@atlanta.com", "", "sip:alice@atlanta.com", "", false},
		{"name-addr no display", "<sip:alice@atlanta.com>", "", "sip:alice@atlanta.com", "", false},
		{"quoted display", `"A. G. Bell" <sip:agb@bell-telephone.com> ;tag=a48s`,
			"A. G. Bell", "sip:agb@bell-telephone.com", ";tag=a48s", false},
		{"addr-spec with tag", "sip:+12125551212@server.phone2net.com;tag=887s",
			"", "sip:+12125551212@server.phone2net.com", ";tag=887s", false},
		{"token display", "Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8",
			"Anonymous", "sip:c8oqz84zk7z@privacy.org", ";tag=hyh8", false},
		{"contact params", `"Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600`,
			"Mr. Watson", "sip:watson@worcester.bell-telephone.com", ";q=0.7; expires=3600", false},
		{"mailto", `"Mr. Watson" <mailto:watson@bell-telephone.com> ;q=0.1`,
			"Mr. Watson", "mailto:watson@bell-telephone.com", ";q=0.1", false},
		{"sips with uri params", "<sips:bob@192.0.2.4;transport=tcp>;expires=60",
			"", "sips:bob@192.0.2.4;transport=tcp", ";expires=60", false},
		{"wildcard", "*", "", "", "", true},
		{"wildcard with lws", " \t* ", "", "", "", true},
		{"surrounding lws", "  <sip:a@b>  ", "", "sip:a@b", "", false},
		{"empty quoted display", `"" <sip:a@b>`, "", "sip:a@b", "", false},
		{"quoted display no space", `"Bob"<sip:a@b>`, "Bob", "sip:a@b", "", false},
		{"display with utf-8", `"Анна" <sip:a@b>`, "Анна", "sip:a@b", "", false},
		{"folded lws before <", "Bob\r\n <sip:a@b>", "Bob", "sip:a@b", "", false},
		{"folded quoted display", "\"a\r\n b\" <sip:a@b>", "a\r\n b", "sip:a@b", "", false},
		{"ipv6", `"Caller" <sip:caller@[2001:db8::1]>`, "Caller", "sip:caller@[2001:db8::1]", "", false},
		{"tel name-addr", "<tel:+1-201-555-0123>;tag=x", "", "tel:+1-201-555-0123", ";tag=x", false},
		{"tel addr-spec", "tel:+1-201-555-0123;tag=x", "", "tel:+1-201-555-0123", ";tag=x", false},
		{"addr-spec user with semicolon", "sip:user;par=x@example.com;tag=1",
			"", "sip:user;par=x@example.com", ";tag=1", false},
		{"addr-spec quoted param", `sip:a@b;x="<,?>"`, "", "sip:a@b", `;x="<,?>"`, false},
		{"params with lws", "<sip:a@b> ;\r\n tag = 1 ; lr", "", "sip:a@b", ";\r\n tag = 1 ; lr", false},

		// RFC 4475 fragments.
		{"wsinv to", "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
			"", "sip:vivekg@chair-dnrc.example.com", ";   tag    = 1918181833n", false},
		{"wsinv from", `"J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8`,
			`J Rosenberg \"`, "sip:jdrosen@example.com", "; tag = 98asjd8", false},
		{"wsinv contact", `"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam = newvalue ; secondparam ; q = 0.33`,
			`Quoted string ""`, "sip:jdrosen@example.com", "; newparam = newvalue ; secondparam ; q = 0.33", false},
		{"wsinv route", "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
			"", "sip:services.example.com;lr;unknownwith=value;unknown-no-value", "", false},
		{"intmeth to", "\"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>",
			"BEL:\x07 NUL:\x00 DEL:\x7f", "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com", "", false},
		{"intmeth from", "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.",
			"token1~` token2'+_ token3*%!.-", "sip:mundane@example.com", ";fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.", false},
		{"esc01 to", "sip:%75se%72@example.com", "", "sip:%75se%72@example.com", "", false},
		{"esc01 contact", "<sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>",
			"", "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31", "", false},
		{"esc02 display", `"%Z%45" <sip:resource@example.com>;tag=f232jadfj23`,
			"%Z%45", "sip:resource@example.com", ";tag=f232jadfj23", false},
		{"lwsdisp", "caller<sip:caller@example.com>;tag=323",
			"caller", "sip:caller@example.com", ";tag=323", false},
		{"unksm2 to", "isbn:2983792873", "", "isbn:2983792873", "", false},
		{"unksm2 from", "<http://www.example.com>;tag=3234233", "", "http://www.example.com", ";tag=3234233", false},
		{"unksm2 contact", "<name:John_Smith>", "", "name:John_Smith", "", false},
		// RFC 4475 §3.3.12: the parameter belongs to the header.
		{"cparam01", "sip:+19725552222@gw1.example.net;unknownparam",
			"", "sip:+19725552222@gw1.example.net", ";unknownparam", false},
		// RFC 4475 §3.3.13: inside <> it belongs to the URI.
		{"cparam02", "<sip:+19725552222@gw1.example.net;unknownparam>",
			"", "sip:+19725552222@gw1.example.net;unknownparam", "", false},
		{"regescrt", "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>",
			"", "sip:user@example.com?Route=%3Csip:sip.example.com%3E", "", false},
		{"badaspec from", `"Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423`,
			"Bell, Alexander", "sip:a.g.bell@example.com", ";tag=433423", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAddress(tc.in)
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tc.in, err)
			}
			if a.Display != tc.display {
				t.Errorf("Display = %q, want %q", a.Display, tc.display)
			}
			if got := a.URI.String(); got != tc.uri {
				t.Errorf("URI = %q, want %q", got, tc.uri)
			}
			if a.Params != tc.params {
				t.Errorf("Params = %q, want %q", a.Params, tc.params)
			}
			if a.Wildcard != tc.wild {
				t.Errorf("Wildcard = %v, want %v", a.Wildcard, tc.wild)
			}
			// The serialized form parses to the same address.
			b, err := ParseAddress(a.String())
			if err != nil {
				t.Fatalf("ParseAddress(%q) (from String): %v", a.String(), err)
			}
			if b.Display != a.Display || !b.URI.Equal(a.URI) || b.Params != a.Params || b.Wildcard != a.Wildcard {
				t.Errorf("String() %q parses to %+v, want %+v", a.String(), b, a)
			}
		})
	}
}

func TestParseAddressFields(t *testing.T) {
	a, err := ParseAddress(`"Bob" <sips:bob:pw@[2001:db8::1]:5061;transport=tcp?subject=hi>;tag=a1;q=0.5;expires=3600`)
	if err != nil {
		t.Fatal(err)
	}
	want := URI{Scheme: "sips", User: "bob", Password: "pw", HasPass: true, Host: "[2001:db8::1]", Port: 5061,
		Params: ";transport=tcp", Headers: "subject=hi"}
	if a.URI != want {
		t.Errorf("URI = %+v, want %+v", a.URI, want)
	}
	if a.Tag() != "a1" {
		t.Errorf("Tag() = %q", a.Tag())
	}
	if q, ok := a.Q(); !ok || q != 0.5 {
		t.Errorf("Q() = %v, %v", q, ok)
	}
	if e, ok := a.Expires(); !ok || e != 3600 {
		t.Errorf("Expires() = %v, %v", e, ok)
	}
}

func TestParseAddressErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		reason string
		off    int
	}{
		{"empty", "", "empty address", 0},
		{"only lws", " \t ", "empty address", 3},
		// RFC 4475 §3.1.2.6 (quotbal).
		{"quotbal", `"Mr. J. User <sip:j.user@example.com>`, "unterminated quoted-string", 0},
		{"quote ends in backslash", `"abc\`, "unterminated quoted-string", 0},
		{"raw control char in quotes", "\"a\x01b\" <sip:a@b>", "malformed quoted-string", 0},
		{"bare cr in quotes", "\"a\rb\" <sip:a@b>", "malformed quoted-string", 0},
		{"quoted-pair of lf", "\"a\\\nb\" <sip:a@b>", "malformed quoted-string", 0},
		{"quoted display without <", `"Bob" sip:bob@example.com`, "missing <", 6},
		// RFC 4475 §3.1.2.15 (baddn).
		{"baddn from", "Bell, Alexander <sip:a.g.bell@bell-tel.com>;tag=43", "malformed display name", 4},
		{"baddn to", "Watson, Thomas <sip:t.watson@example.org>", "malformed display name", 6},
		{"colon in display", "Dr: Who <sip:who@example.org>", "malformed display name", 2},
		{"at in display", "who@home <sip:who@example.org>", "malformed display name", 3},
		{"bare cr in display", "a\rb <sip:who@example.org>", "malformed display name", 1},
		{"display without uri", "Bob Smith", "whitespace in uri", 3},
		{"display without <", "Bob sip:bob@example.com", "whitespace in uri", 3},
		// RFC 4475 §3.1.2.14 (badaspec).
		{"badaspec", `"Watson, Thomas" < sip:t.watson@example.org >`, "whitespace in uri", 18},
		{"space before >", "<sip:a@b >", "whitespace in uri", 8},
		{"lt without gt", "<sip:a@b", "missing >", 0},
		{"display lt without gt", "Bob <sip:a@b;tag=1", "missing >", 4},
		{"empty brackets", "<>", "empty uri", 1},
		{"uri error offset", "Bob <sip:a@b:99999>", "invalid port", 13},
		{"junk after >", "<sip:a@b>x", "junk after address", 9},
		{"junk after > and lws", "<sip:a@b> x", "junk after address", 10},
		{"second uri", "<sip:a@b> <sip:c@d>", "junk after address", 10},
		// RFC 4475 §3.1.2.13 (regbadct).
		{"regbadct", "sip:user@example.com?Route=%3Csip:sip.example.com%3E", "uri with ',' or '?' not in <>", 20},
		{"comma in addr-spec user", "sip:a,b@example.com", "uri with ',' or '?' not in <>", 5},
		{"question mark in addr-spec user", "sip:a?b@example.com", "uri with ',' or '?' not in <>", 5},
		{"space inside addr-spec", "sip:user@example .org", "whitespace in addr-spec", 16},
		{"bad addr-spec", "sip:user@exa_mple.org", "malformed host", 12},
		// RFC 4475 §3.1.2.1 (badinv01).
		{"badinv01 contact", `"Joe" <sip:joe@example.org>;;;;`, "empty parameter", 27},
		{"trailing semicolon", "<sip:a@b>;", "empty parameter", 9},
		{"bad param name", "<sip:a@b>;t(g=1", "malformed parameter name", 9},
		{"bad param value", "<sip:a@b>;tag=a,b", "malformed parameter value", 9},
		{"unterminated quoted param", `<sip:a@b>;x="a`, "unterminated quoted-string in parameter", 9},
		{"addr-spec params bad", "sip:a@b;tag=x@y", "malformed parameter value", 7},
		{"star with params", "*;expires=0", "malformed scheme", 0},
		{"star in list", "*, <sip:a@b>", "malformed display name", 1},
		{"ltgt uri of uri", "<<sip:a@b>>", "uri enclosed in <>", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAddress(tc.in)
			if err == nil {
				t.Fatalf("ParseAddress(%q) = %+v, want error %q", tc.in, a, tc.reason)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v, want *ParseError", err, err)
			}
			if pe.Reason != tc.reason || pe.Offset != tc.off {
				t.Errorf("ParseAddress(%q): %q at %d, want %q at %d", tc.in, pe.Reason, pe.Offset, tc.reason, tc.off)
			}
		})
	}
}

func TestAddressString(t *testing.T) {
	tests := []struct {
		name string
		in   Address
		want string
	}{
		{"wildcard", Address{Wildcard: true}, "*"},
		{"no display", Address{URI: URI{Scheme: "sip", User: "a", Host: "b"}}, "<sip:a@b>"},
		{"token display", Address{Display: "Bob Smith", URI: URI{Scheme: "sip", Host: "b"}, Params: ";tag=1"}, "Bob Smith <sip:b>;tag=1"},
		{"display with comma", Address{Display: "Bell, Alexander", URI: URI{Scheme: "sip", Host: "b"}}, `"Bell, Alexander" <sip:b>`},
		{"display with quote and backslash", Address{Display: `a"b\c`, URI: URI{Scheme: "sip", Host: "b"}}, `"a\"b\\c" <sip:b>`},
		{"display with two spaces", Address{Display: "a  b", URI: URI{Scheme: "sip", Host: "b"}}, `"a  b" <sip:b>`},
		{"display with control chars", Address{Display: "BEL:\x07 NUL:\x00 DEL:\x7f", URI: URI{Scheme: "sip", Host: "b"}}, "\"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:b>"},
		{"display with bare newline", Address{Display: "a\nb", URI: URI{Scheme: "sip", Host: "b"}}, `"a b" <sip:b>`},
		{"display with fold", Address{Display: "a\r\n b", URI: URI{Scheme: "sip", Host: "b"}}, "\"a\r\n b\" <sip:b>"},
		{"tel", Address{URI: URI{Scheme: "tel", User: "+1"}, Params: ";tag=x"}, "<tel:+1>;tag=x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if got := string(tc.in.AppendTo([]byte("To: "))); got != "To: "+tc.want {
				t.Errorf("AppendTo = %q", got)
			}
		})
	}
	// Setting a tag, as Header.SetToTag does.
	a, err := ParseAddress("sip:bob@biloxi.com")
	if err != nil {
		t.Fatal(err)
	}
	a.Params = a.Params.Set("tag", "a6c85cf")
	if got := a.String(); got != "<sip:bob@biloxi.com>;tag=a6c85cf" {
		t.Errorf("with tag: %q", got)
	}
}

func TestAddressParams(t *testing.T) {
	tests := []struct {
		params  Params
		q       float64
		qok     bool
		exp     int
		expok   bool
		wantTag string
	}{
		{"", 0, false, 0, false, ""},
		{";q=1;expires=0;tag=x", 1, true, 0, true, "x"},
		{";q=1.000;expires=4294967295", 1, true, 4294967295, true, ""},
		{";q=0.7; expires=3600", 0.7, true, 3600, true, ""},
		{";q=0", 0, true, 0, false, ""},
		{";q=0.", 0, true, 0, false, ""},
		{";q=0.125", 0.125, true, 0, false, ""},
		{";Q=0.33", 0.33, true, 0, false, ""},
		{";q=1.5;expires=4294967296", 0, false, 0, false, ""},
		{";q=0.1234;expires=-1", 0, false, 0, false, ""},
		{";q=2;expires=", 0, false, 0, false, ""},
		{";q=.5", 0, false, 0, false, ""},
		{";q=0.a", 0, false, 0, false, ""},
		{";q", 0, false, 0, false, ""},
	}
	for _, tc := range tests {
		t.Run(string(tc.params), func(t *testing.T) {
			a := Address{Params: tc.params}
			if q, ok := a.Q(); q != tc.q || ok != tc.qok {
				t.Errorf("Q() = %v, %v; want %v, %v", q, ok, tc.q, tc.qok)
			}
			if e, ok := a.Expires(); e != tc.exp || ok != tc.expok {
				t.Errorf("Expires() = %v, %v; want %v, %v", e, ok, tc.exp, tc.expok)
			}
			if a.Tag() != tc.wantTag {
				t.Errorf("Tag() = %q, want %q", a.Tag(), tc.wantTag)
			}
		})
	}
}

// TestAddressLongreq parses the long values of RFC 4475 §3.1.1.7.
func TestAddressLongreq(t *testing.T) {
	to := `"I have a user name of ` + strings.Repeat("extreme", 10) + ` proportion"<sip:user@example.com:6000;unknownparam1=very` +
		strings.Repeat("long", 20) + "value;longparam" + strings.Repeat("name", 25) + "=shortvalue;very" +
		strings.Repeat("long", 25) + "ParameterNameWithNoValue>"
	a, err := ParseAddress(to)
	if err != nil {
		t.Fatal(err)
	}
	if a.Display != "I have a user name of "+strings.Repeat("extreme", 10)+" proportion" || a.URI.Port != 6000 ||
		!a.URI.Params.Has("very"+strings.Repeat("long", 25)+"ParameterNameWithNoValue") {
		t.Errorf("longreq To = %+v", a)
	}
	from := "sip:" + strings.Repeat("amazinglylongcallername", 5) + "@example.net;tag=12" + strings.Repeat("982", 50) +
		"424;unknownheaderparam" + strings.Repeat("name", 20) + "=unknowheaderparamvalue" + strings.Repeat("long", 20) +
		";unknownValuelessparamname" + strings.Repeat("paramname", 9)
	a, err = ParseAddress(from)
	if err != nil {
		t.Fatal(err)
	}
	if a.URI.User != strings.Repeat("amazinglylongcallername", 5) || a.Tag() != "12"+strings.Repeat("982", 50)+"424" {
		t.Errorf("longreq From = %+v", a)
	}
}

func TestParseAddressAllocs(t *testing.T) {
	for _, s := range []string{
		`"Alice" <sip:alice@atlanta.com>;tag=1928301774`,
		"sip:bob@biloxi.com;tag=a6c85cf",
		"Bob <sips:bob@192.0.2.4;transport=tcp>;expires=60",
	} {
		n := testing.AllocsPerRun(100, func() {
			if _, err := ParseAddress(s); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("ParseAddress(%q): %v allocations, want 0", s, n)
		}
	}
}

func BenchmarkParseAddress(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"name-addr", `"Alice" <sip:alice@atlanta.com>;tag=1928301774`},
		{"addr-spec", "sip:bob@biloxi.com;tag=a6c85cf"},
		{"contact", `"Mr. Watson" <sip:watson@worcester.bell-telephone.com;transport=tcp>;q=0.7;expires=3600`},
	} {
		s := bc.s
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				if _, err := ParseAddress(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
