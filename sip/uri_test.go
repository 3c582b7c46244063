package sip

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want URI
	}{
		{"plain", "sip:alice@atlanta.com",
			URI{Scheme: "sip", User: "alice", Host: "atlanta.com"}},
		{"no user", "sip:atlanta.com",
			URI{Scheme: "sip", Host: "atlanta.com"}},
		{"sips", "sips:1212@gateway.com",
			URI{Scheme: "sips", User: "1212", Host: "gateway.com"}},
		{"scheme case", "SiP:alice@atlanta.com",
			URI{Scheme: "sip", User: "alice", Host: "atlanta.com"}},
		{"password and params", "sip:alice:secretword@atlanta.com;transport=tcp",
			URI{Scheme: "sip", User: "alice", Password: "secretword", HasPass: true, Host: "atlanta.com", Params: ";transport=tcp"}},
		{"empty password", "sip:alice:@atlanta.com",
			URI{Scheme: "sip", User: "alice", HasPass: true, Host: "atlanta.com"}},
		{"headers", "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
			URI{Scheme: "sips", User: "alice", Host: "atlanta.com", Headers: "subject=project%20x&priority=urgent"}},
		{"telephone-subscriber user", "sip:+1-212-555-1212:1234@gateway.com;user=phone",
			URI{Scheme: "sip", User: "+1-212-555-1212", Password: "1234", HasPass: true, Host: "gateway.com", Params: ";user=phone"}},
		{"ipv4", "sip:alice@192.0.2.4",
			URI{Scheme: "sip", User: "alice", Host: "192.0.2.4"}},
		{"method param and escaped header", "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
			URI{Scheme: "sip", Host: "atlanta.com", Params: ";method=REGISTER", Headers: "to=alice%40atlanta.com"}},
		// RFC 3261 §19.1.3: "The last sample URI above has a user field
		// value of "alice;day=tuesday"."
		{"semicolon in user", "sip:alice;day=tuesday@atlanta.com",
			URI{Scheme: "sip", User: "alice;day=tuesday", Host: "atlanta.com"}},
		{"what looks like a param is user", "sip:h.example;a=b@c",
			URI{Scheme: "sip", User: "h.example;a=b", Host: "c"}},
		{"ipv6 port params headers", "sip:alice:pw@[::1]:5070;lr;transport=tcp?subject=x",
			URI{Scheme: "sip", User: "alice", Password: "pw", HasPass: true, Host: "[::1]", Port: 5070, Params: ";lr;transport=tcp", Headers: "subject=x"}},
		{"port max", "sip:h.example:65535", URI{Scheme: "sip", Host: "h.example", Port: 65535}},
		{"port leading zero", "sip:h.example:05060", URI{Scheme: "sip", Host: "h.example", Port: 5060}},
		{"fqdn trailing dot", "sip:bob@example.com.", URI{Scheme: "sip", User: "bob", Host: "example.com."}},
		{"single label", "sip:localhost", URI{Scheme: "sip", Host: "localhost"}},
		{"hyphenated", "sip:a-1.b-c.example", URI{Scheme: "sip", Host: "a-1.b-c.example"}},
		{"ipv4 0 and 255", "sip:0.0.0.0:1", URI{Scheme: "sip", Host: "0.0.0.0", Port: 1}},
		{"ipv4-mapped ipv6", "sip:bob@[::ffff:192.0.2.128]", URI{Scheme: "sip", User: "bob", Host: "[::ffff:192.0.2.128]"}},
		// RFC 5118 §4.10: tolerate the extra colon of the RFC 3261 ABNF.
		{"ipv6 three colons", "sip:user@[2001:db8:::192.0.2.1]", URI{Scheme: "sip", User: "user", Host: "[2001:db8:::192.0.2.1]"}},
		{"ipv6 port unambiguous", "sip:[2001:db8::10]:5070", URI{Scheme: "sip", Host: "[2001:db8::10]", Port: 5070}},
		{"ipv6 port inside brackets", "sip:[2001:db8::10:5070]", URI{Scheme: "sip", Host: "[2001:db8::10:5070]"}},
		{"escaped param", "sip:host.example;%6C%72;n%61me=v%61lue%25%34%31",
			URI{Scheme: "sip", Host: "host.example", Params: ";%6C%72;n%61me=v%61lue%25%34%31"}},
		{"param chars", "sip:h.example;a-_.!~*'()[]/:&+$=a-_.!~*'()[]/:&+$",
			URI{Scheme: "sip", Host: "h.example", Params: ";a-_.!~*'()[]/:&+$=a-_.!~*'()[]/:&+$"}},
		{"header chars and empty value", "sip:h.example?a=&b=[]/?:+$-_.!~*'()%20",
			URI{Scheme: "sip", Host: "h.example", Headers: "a=&b=[]/?:+$-_.!~*'()%20"}},
		// RFC 4475 §3.1.1.2 (intmeth) Request-URI.
		{"intmeth", "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
			URI{Scheme: "sip", User: "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", Password: "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", HasPass: true, Host: "example.com"}},
		// RFC 4475 §3.1.1.3 (esc01).
		{"esc01 request-uri", "sip:sips%3Auser%40example.com@example.net",
			URI{Scheme: "sip", User: "sips%3Auser%40example.com", Host: "example.net"}},
		{"esc01 to", "sip:%75se%72@example.com",
			URI{Scheme: "sip", User: "%75se%72", Host: "example.com"}},
		{"esc01 from", "sip:I%20have%20spaces@example.net",
			URI{Scheme: "sip", User: "I%20have%20spaces", Host: "example.net"}},
		// RFC 4475 §3.1.1.4 (escnull).
		{"escnull", "sip:null-%00-null@example.com",
			URI{Scheme: "sip", User: "null-%00-null", Host: "example.com"}},
		// RFC 4475 §3.1.1.9 (semiuri): the '@' decides.
		{"semiuri", "sip:user;par=u%40example.net@example.com",
			URI{Scheme: "sip", User: "user;par=u%40example.net", Host: "example.com"}},
		// RFC 4475 §3.1.2.11 (escruri): a valid URI; that a Request-URI
		// must not have headers (RFC 3261 Table 1) is the request's check.
		{"escruri", "sip:user@example.com?Route=%3Csip:example.com%3E",
			URI{Scheme: "sip", User: "user", Host: "example.com", Headers: "Route=%3Csip:example.com%3E"}},
		// RFC 4475 §3.3.14 (regescrt).
		{"regescrt", "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
			URI{Scheme: "sip", User: "user", Host: "example.com", Headers: "Route=%3Csip:sip.example.com%3E"}},
		{"wsinv route", "sip:services.example.com;lr;unknownwith=value;unknown-no-value",
			URI{Scheme: "sip", Host: "services.example.com", Params: ";lr;unknownwith=value;unknown-no-value"}},

		// tel (RFC 3966).
		{"tel global", "tel:+358-555-1234567;postd=pp22",
			URI{Scheme: "tel", User: "+358-555-1234567", Params: ";postd=pp22"}},
		{"tel scheme case", "TEL:+1(201)555.0123",
			URI{Scheme: "tel", User: "+1(201)555.0123"}},
		{"tel local", "tel:7042;phone-context=example.com",
			URI{Scheme: "tel", User: "7042", Params: ";phone-context=example.com"}},
		{"tel local hex star hash", "tel:*1#A;phone-context=+1-201",
			URI{Scheme: "tel", User: "*1#A", Params: ";phone-context=+1-201"}},
		{"tel ext isub", "tel:+1-201-555-0123;ext=1234;isub=1411;x-y=%41",
			URI{Scheme: "tel", User: "+1-201-555-0123", Params: ";ext=1234;isub=1411;x-y=%41"}},

		// Other schemes stay opaque, the scheme as written.
		{"unkscm", "nobodyKnowsThisScheme:totallyopaquecontent",
			URI{Scheme: "nobodyKnowsThisScheme", Opaque: "totallyopaquecontent"}},
		{"novelsc", "soap.beep://192.0.2.103:3002",
			URI{Scheme: "soap.beep", Opaque: "//192.0.2.103:3002"}},
		{"unksm2 isbn", "isbn:2983792873", URI{Scheme: "isbn", Opaque: "2983792873"}},
		{"unksm2 http", "http://www.example.com", URI{Scheme: "http", Opaque: "//www.example.com"}},
		{"unksm2 name", "name:John_Smith", URI{Scheme: "name", Opaque: "John_Smith"}},
		{"mailto", "mailto:watson@bell-telephone.com", URI{Scheme: "mailto", Opaque: "watson@bell-telephone.com"}},
		{"http ipv6 query", "http://[::1]:80/a;b?c=%20d", URI{Scheme: "http", Opaque: "//[::1]:80/a;b?c=%20d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURI(tc.in)
			if err != nil {
				t.Fatalf("ParseURI(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseURI(%q)\n got  %+v\n want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseURIErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		reason string
		off    int
	}{
		{"empty", "", "empty uri", 0},
		{"no scheme", "alice@atlanta.com", "malformed scheme", 5},
		{"scheme starts with digit", "1sip:a@b", "malformed scheme", 0},
		{"bad scheme char", "s_p:a@b", "malformed scheme", 1},
		// RFC 4475 §3.1.2.7 (ltgtruri).
		{"ltgtruri", "<sip:user@example.com>", "uri enclosed in <>", 0},
		// RFC 4475 §3.1.2.8 (lwsruri).
		{"lwsruri", "sip:user@example.com; lr", "whitespace in uri", 21},
		{"leading space", " sip:a@b", "whitespace in uri", 0},
		{"trailing space", "sip:a@b ", "whitespace in uri", 7},
		{"space in user", "sip:al ice@b", "whitespace in uri", 6},
		{"tab in header", "sip:a@b?x=\t", "whitespace in uri", 10},
		{"crlf", "sip:a@b\r\n", "whitespace in uri", 7},
		{"empty host", "sip:", "missing host", 4},
		{"empty host after user", "sip:alice@", "missing host", 10},
		{"host then params only", "sip:;lr", "missing host", 4},
		{"empty user", "sip:@atlanta.com", "empty user", 4},
		{"empty user with password", "sip::pw@atlanta.com", "empty user", 4},
		{"two at signs", "sip:a@b@c", "malformed host", 7},
		{"second colon in userinfo", "sip:a:b:c@h", "malformed password", 7},
		{"bad char in password", "sip:a:b;c@h", "malformed password", 7},
		{"bad escape in user", "sip:a%4@h", "malformed escape", 5},
		{"bad escape hex", "sip:a%zz@h", "malformed escape", 5},
		{"underscore host", "sip:host_1.example", "malformed host", 8},
		{"numeric toplabel", "sip:a.123", "malformed host", 4},
		{"label starts with hyphen", "sip:-a.example", "malformed host", 4},
		{"label ends with hyphen", "sip:a-.example", "malformed host", 4},
		{"empty label", "sip:a..example", "malformed host", 4},
		{"only dot", "sip:.", "malformed host", 4},
		{"ipv4 octet too large", "sip:bob@444.555.666.777", "malformed host", 8},
		{"ipv4 leading zero", "sip:192.0.02.1", "malformed host", 4},
		{"ipv4 too few octets", "sip:192.0.2", "malformed host", 4},
		{"ipv4 too many octets", "sip:192.0.2.1.5", "malformed host", 4},
		{"percent in host", "sip:ex%61mple.com", "malformed host", 6},
		// RFC 5118 §4.2: an IPv6 address needs its brackets.
		{"ipv6 without brackets", "sip:2001:db8::10", "malformed host", 4},
		{"ipv6 unclosed", "sip:[::1", "malformed host", 4},
		{"ipv6 empty", "sip:[]", "malformed host", 4},
		{"ipv6 ipv4 inside brackets", "sip:[192.0.2.1]", "malformed host", 4},
		{"ipv6 zone", "sip:[fe80::1%25eth0]", "malformed host", 4},
		{"ipv6 too long", "sip:[1:2:3:4:5:6:7:8:9]", "malformed host", 4},
		{"ipv6 junk", "sip:[::g]", "malformed host", 4},
		{"ipv6 junk after", "sip:[::1]x", "malformed host", 9},
		{"port zero", "sip:h.example:0", "invalid port", 14},
		{"port too large", "sip:h.example:65536", "invalid port", 14},
		{"port huge", "sip:h.example:99999999999999999999999", "invalid port", 14},
		{"port empty", "sip:h.example:", "invalid port", 14},
		{"port junk", "sip:h.example:50x", "invalid port", 16},
		{"port negative", "sip:h.example:-1", "invalid port", 14},
		{"empty param", "sip:h.example;;lr", "malformed uri parameter", 14},
		{"trailing semicolon", "sip:h.example;", "malformed uri parameter", 14},
		{"empty param value", "sip:h.example;a=", "malformed uri parameter", 16},
		{"param with quote", `sip:h.example;a="b"`, "malformed uri parameter", 16},
		{"param with at", "sip:a@h.example;a=b@c", "malformed uri parameter", 19},
		{"param bad escape", "sip:h.example;a=%G0", "malformed escape", 16},
		{"empty headers", "sip:h.example?", "malformed uri header", 14},
		{"header without =", "sip:h.example?a", "malformed uri header", 15},
		{"header empty name", "sip:h.example?=b", "malformed uri header", 14},
		{"header trailing &", "sip:h.example?a=b&", "malformed uri header", 18},
		{"header double =", "sip:h.example?a=b=c", "malformed uri header", 17},
		{"header with <", "sip:h.example?Route=<sip:x>", "malformed uri header", 20},
		{"fragment", "sip:h.example#x", "malformed host", 13},
		{"nul", "sip:a\x00@h", "malformed host", 5},

		{"tel empty", "tel:", "malformed telephone number", 4},
		{"tel plus only", "tel:+", "malformed telephone number", 4},
		{"tel separators only", "tel:+--", "malformed telephone number", 4},
		{"tel letter in global", "tel:+1a", "malformed telephone number", 6},
		{"tel space", "tel:+1 201", "whitespace in uri", 6},
		{"tel local without context", "tel:7042", "missing phone-context", 8},
		{"tel empty param", "tel:+1;;a", "malformed tel parameter", 7},
		{"tel bad pname", "tel:+1;a_b=c", "malformed tel parameter", 7},
		{"tel ext letters", "tel:+1;ext=12a", "malformed tel parameter", 7},
		{"tel ext empty", "tel:+1;ext=", "malformed tel parameter", 7},
		{"tel ext no value", "tel:+1;ext", "malformed tel parameter", 7},
		{"tel bad context", "tel:1;phone-context=exa_mple", "malformed tel parameter", 6},
		{"tel headers", "tel:+1?a=b", "malformed telephone number", 6},

		{"opaque empty", "mailto:", "empty uri", 7},
		{"opaque space", "foo:a b", "whitespace in uri", 5},
		{"opaque quote", `foo:"a"`, "malformed uri", 4},
		{"opaque bad escape", "foo:a%", "malformed escape", 5},
		{"opaque angle", "foo:a>", "malformed uri", 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseURI(tc.in)
			if err == nil {
				t.Fatalf("ParseURI(%q) = %+v, want error %q", tc.in, u, tc.reason)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseURI(%q): error %T %v, want *ParseError", tc.in, err, err)
			}
			if pe.Reason != tc.reason || pe.Offset != tc.off || pe.Header != "" {
				t.Errorf("ParseURI(%q): %q at %d (header %q), want %q at %d", tc.in, pe.Reason, pe.Offset, pe.Header, tc.reason, tc.off)
			}
			if u != (URI{}) {
				t.Errorf("ParseURI(%q) returned %+v with its error", tc.in, u)
			}
		})
	}
}

// uriRoundTrips are inputs that String must reproduce byte for byte.
var uriRoundTrips = []string{
	"sip:alice@atlanta.com",
	"sip:alice:secretword@atlanta.com;transport=tcp",
	"sips:alice@atlanta.com?subject=project%20x&priority=urgent",
	"sip:+1-212-555-1212:1234@gateway.com;user=phone",
	"sips:1212@gateway.com",
	"sip:alice@192.0.2.4",
	"sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
	"sip:alice;day=tuesday@atlanta.com",
	"sip:alice:pw@[::1]:5070;lr;transport=tcp?subject=x",
	"sip:alice:@atlanta.com",
	"sip:[2001:db8::10]:5070",
	"sip:user@[2001:db8:::192.0.2.1]",
	"sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
	"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
	"sip:user;par=u%40example.net@example.com",
	"sip:h.example?a=&b=c",
	"tel:+358-555-1234567;postd=pp22",
	"tel:7042;phone-context=example.com",
	"soap.beep://192.0.2.103:3002",
	"nobodyKnowsThisScheme:totallyopaquecontent",
	"http://www.example.com",
}

func TestURIRoundTrip(t *testing.T) {
	for _, in := range uriRoundTrips {
		t.Run(in, func(t *testing.T) {
			u, err := ParseURI(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != in {
				t.Errorf("String() = %q, want %q", got, in)
			}
			if got := string(u.AppendTo([]byte("x"))); got != "x"+in {
				t.Errorf("AppendTo = %q, want %q", got, "x"+in)
			}
			if !u.Equal(u) {
				t.Errorf("%q not Equal to itself", in)
			}
		})
	}
}

func TestURIStringNormalized(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"scheme case", "SIPS:a@b", "sips:a@b"},
		{"tel scheme case", "Tel:+1", "tel:+1"},
		{"other scheme as written", "HTTP://x", "HTTP://x"},
		// Found by FuzzParseURI: port = 1*DIGIT allows leading zeros, which
		// String drops.
		{"fuzz port leading zeros", "sip:0:00@[::0]:0010;00", "sip:0:00@[::0]:10;00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseURI(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			v, err := ParseURI(u.String())
			if err != nil || !v.Equal(u) {
				t.Errorf("String() %q parses to %+v, %v", u.String(), v, err)
			}
		})
	}
}

func TestURIStringBuilt(t *testing.T) {
	tests := []struct {
		name string
		u    URI
		want string
	}{
		{"zero", URI{}, ""},
		{"host only defaults to sip", URI{Host: "example.com", Port: 5060}, "sip:example.com:5060"},
		{"password without HasPass", URI{Scheme: "sip", User: "a", Password: "b", Host: "h"}, "sip:a:b@h"},
		{"escaped user", URI{Scheme: "sips", User: EscapeUser("j@s0n"), Host: "h"}, "sips:j%40s0n@h"},
		{"tel", URI{Scheme: "tel", User: "+1-201", Params: ";ext=1"}, "tel:+1-201;ext=1"},
		{"opaque", URI{Scheme: "urn", Opaque: "service:sos"}, "urn:service:sos"},
		{"params set", URI{Scheme: "sip", Host: "h", Params: Params("").Set("lr", "")}, "sip:h;lr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.u.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestURIMethods(t *testing.T) {
	u, err := ParseURI("sips:%61lice%20b@[2001:db8::1]:5061;transport=tcp")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Hostport(); got != "[2001:db8::1]:5061" {
		t.Errorf("Hostport() = %q", got)
	}
	if got := u.UserUnescaped(); got != "alice b" {
		t.Errorf("UserUnescaped() = %q", got)
	}
	if !u.IsSIP() {
		t.Error("sips URI: IsSIP() = false")
	}
	if v, _ := u.Params.Get("transport"); v != "tcp" {
		t.Errorf("transport = %q", v)
	}
	u2, _ := ParseURI("sip:example.com")
	if got := u2.Hostport(); got != "example.com" {
		t.Errorf("Hostport() without port = %q", got)
	}
	for _, s := range []string{"tel:+1", "http://x", "nobodyKnowsThisScheme:x"} {
		u, err := ParseURI(s)
		if err != nil {
			t.Fatal(err)
		}
		if u.IsSIP() {
			t.Errorf("%s: IsSIP() = true", s)
		}
	}
	if !(URI{Scheme: "SIP", Host: "h"}).IsSIP() {
		t.Error("IsSIP ignores case of a built URI's scheme")
	}
}

// TestURIEqualRFC3261 holds every example of RFC 3261 §19.1.4, copied
// verbatim, and those RFC 5954 §4.2 adds.
func TestURIEqualRFC3261(t *testing.T) {
	// "The URIs within each of the following sets are equivalent:"
	equivalent := [][]string{
		{"sip:%61lice@atlanta.com;transport=TCP",
			"sip:alice@AtLanTa.CoM;Transport=tcp"},
		{"sip:carol@chicago.com",
			"sip:carol@chicago.com;newparam=5",
			"sip:carol@chicago.com;security=on"},
		{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
			"sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"},
		{"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
			"sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
		// RFC 5954 §4.2: "The following URIs are equivalent because the
		// underlying binary representation of the IP addresses are the
		// same although their textual representations vary:"
		{"sip:bob@[::ffff:192.0.2.128]",
			"sip:bob@[::ffff:c000:280]"},
		{"sip:bob@[2001:db8::9:1]",
			"sip:bob@[2001:db8::9:01]"},
		{"sip:bob@[0:0:0:0:0:FFFF:129.144.52.38]",
			"sip:bob@[::FFFF:129.144.52.38]"},
	}
	// "The URIs within each of the following sets are not equivalent:"
	notEquivalent := [][2]string{
		{"SIP:ALICE@AtLanTa.CoM;Transport=udp", // (different usernames)
			"sip:alice@AtLanTa.CoM;Transport=UDP"},
		{"sip:bob@biloxi.com", // (can resolve to different ports)
			"sip:bob@biloxi.com:5060"},
		{"sip:bob@biloxi.com", // (can resolve to different transports)
			"sip:bob@biloxi.com;transport=udp"},
		{"sip:bob@biloxi.com", // (can resolve to different port and transports)
			"sip:bob@biloxi.com:6000;transport=tcp"},
		{"sip:carol@chicago.com", // (different header component)
			"sip:carol@chicago.com?Subject=next%20meeting"},
		{"sip:bob@phone21.boxesbybob.com", // (even though that's what
			"sip:bob@192.0.2.4"}, // phone21.boxesbybob.com resolves to)
		// "Note that equality is not transitive: ...
		// sip:carol@chicago.com;security=on and
		// sip:carol@chicago.com;security=off are not equivalent"
		{"sip:carol@chicago.com;security=on",
			"sip:carol@chicago.com;security=off"},
	}
	for _, set := range equivalent {
		for _, a := range set {
			for _, b := range set {
				uriCheckEqual(t, a, b, true)
			}
		}
	}
	for _, p := range notEquivalent {
		uriCheckEqual(t, p[0], p[1], false)
		uriCheckEqual(t, p[1], p[0], false)
	}
	// "sip:carol@chicago.com and sip:carol@chicago.com;security=off are
	// equivalent"
	uriCheckEqual(t, "sip:carol@chicago.com", "sip:carol@chicago.com;security=off", true)
}

func TestURIEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"sip vs sips", "sip:alice@atlanta.com", "sips:alice@atlanta.com", false},
		{"scheme case", "SIPS:alice@atlanta.com", "sips:alice@atlanta.com", true},
		{"user case-sensitive", "sip:Alice@h", "sip:alice@h", false},
		{"escaped hex case", "sip:a%3ab@h", "sip:a%3Ab@h", true},
		{"esc01 to", "sip:%75se%72@example.com", "sip:user@example.com", true},
		{"escaped reserved differs", "sip:a%3Bb@h", "sip:a;b@h", false},
		{"escaped unreserved in password", "sip:a:%70w@h", "sip:a:pw@h", true},
		{"escnull differ", "sip:%00@host5.example.com", "sip:%00%00@host5.example.com", false},
		{"no user vs user", "sip:h.example", "sip:a@h.example", false},
		{"empty password vs none", "sip:a:@h", "sip:a@h", false},
		{"password differs", "sip:a:x@h", "sip:a:y@h", false},
		{"port differs", "sip:a@h:5060", "sip:a@h:5070", false},
		{"host differs", "sip:a@h1", "sip:a@h2", false},
		{"ipv4 vs mapped ipv6", "sip:a@192.0.2.1", "sip:a@[::ffff:192.0.2.1]", false},
		{"ipv6 case", "sip:a@[2001:DB8::1]", "sip:a@[2001:db8::1]", true},
		{"ipv6 zero forms", "sip:a@[::1]", "sip:a@[0:0::1]", true},
		{"ipv6 three colons", "sip:user@[2001:db8:::192.0.2.1]", "sip:user@[2001:db8::c000:201]", true},
		{"user param one side", "sip:+1@h;user=phone", "sip:+1@h", false},
		{"ttl param one side", "sip:a@h;ttl=1", "sip:a@h", false},
		{"method param one side", "sip:a@h;method=INVITE", "sip:a@h", false},
		{"maddr one side", "sip:a@h;maddr=239.255.255.1", "sip:a@h", false},
		{"maddr case", "sip:a@h;maddr=Example.COM", "sip:a@h;maddr=example.com", true},
		{"maddr ipv6 forms", "sip:a@h;maddr=[::1]", "sip:a@h;maddr=[0::1]", true},
		{"escaped param name", "sip:a@h;%74ransport=tcp", "sip:a@h;transport=TCP", true},
		{"escaped transport one side", "sip:a@h;%74ransport=tcp", "sip:a@h", false},
		{"lr one side ignored", "sip:a@h;lr", "sip:a@h", true},
		{"lr value mismatch", "sip:a@h;lr", "sip:a@h;lr=on", false},
		{"param value case", "sip:a@h;x=ABC", "sip:a@h;x=abc", true},
		{"param order", "sip:a@h;x=1;y=2", "sip:a@h;y=2;x=1", true},
		{"param value differs", "sip:a@h;x=1", "sip:a@h;x=2", false},
		{"headers vs none", "sip:a@h?x=1", "sip:a@h", false},
		{"header name case", "sip:a@h?Subject=x", "sip:a@h?subject=x", true},
		{"header compact name", "sip:a@h?s=x", "sip:a@h?Subject=x", true},
		{"header escaped name", "sip:a@h?%73ubject=x", "sip:a@h?subject=x", true},
		{"header value case", "sip:a@h?subject=X", "sip:a@h?subject=x", false},
		{"header value escape", "sip:a@h?subject=%41", "sip:a@h?subject=A", true},
		{"header counts", "sip:a@h?x=1&x=1&y=2", "sip:a@h?x=1&y=2&y=2", false},
		{"header extra", "sip:a@h?x=1", "sip:a@h?x=1&y=2", false},
		{"headers reordered", "sip:a@h?x=1&y=2", "sip:a@h?y=2&x=1", true},
		{"duplicate param reflexive", "sip:a@h;x=1;x=2", "sip:a@h;x=1;x=2", true},

		// RFC 3261 §19.1.6.
		{"tel params case", "tel:+358-555-1234567;postd=pp22", "tel:+358-555-1234567;POSTD=PP22", true},
		{"tel params order", "tel:+358-555-1234567;postd=pp22;isub=1411", "tel:+358-555-1234567;isub=1411;postd=pp22", true},
		{"sip from tel not equal", "sip:+358-555-1234567;postd=pp22@foo.com;user=phone", "sip:+358-555-1234567;POSTD=PP22@foo.com;user=phone", false},
		{"sip from tel reordered not equal", "sip:+358-555-1234567;postd=pp22;isub=1411@foo.com;user=phone", "sip:+358-555-1234567;isub=1411;postd=pp22@foo.com;user=phone", false},
		// RFC 3966 §4.
		{"tel separators", "tel:+1-201-555-0123", "tel:+1(201)555.0123", true},
		{"tel digits differ", "tel:+1-201-555-0123", "tel:+1-201-555-0124", false},
		{"tel global vs local", "tel:+1234;phone-context=+1", "tel:1234;phone-context=+1", false},
		{"tel local context", "tel:7042;phone-context=EXAMPLE.com", "tel:7042;phone-context=example.com", true},
		{"tel local context number", "tel:7042;phone-context=+1-201", "tel:7042;phone-context=+1201", true},
		{"tel local hex case", "tel:a1;phone-context=x.example", "tel:A1;phone-context=x.example", true},
		{"tel param only one side", "tel:+1;x=1", "tel:+1", false},
		{"tel ext separators", "tel:+1;ext=1-2", "tel:+1;ext=12", true},
		{"tel length differs", "tel:+12", "tel:+1", false},
		{"tel vs sip", "tel:+1", "sip:+1@h", false},

		{"opaque scheme case", "HTTP://www.example.com", "http://www.example.com", true},
		{"opaque rest exact", "http://www.example.com", "http://WWW.example.com", false},
		{"opaque vs sip", "foo:a@b", "sip:a@b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uriCheckEqual(t, tc.a, tc.b, tc.want)
			uriCheckEqual(t, tc.b, tc.a, tc.want)
		})
	}
}

func uriCheckEqual(t *testing.T, a, b string, want bool) {
	t.Helper()
	ua, err := ParseURI(a)
	if err != nil {
		t.Fatalf("ParseURI(%q): %v", a, err)
	}
	ub, err := ParseURI(b)
	if err != nil {
		t.Fatalf("ParseURI(%q): %v", b, err)
	}
	if got := ua.Equal(ub); got != want {
		t.Errorf("%q.Equal(%q) = %v, want %v", a, b, got, want)
	}
}

func TestParseURIAllocs(t *testing.T) {
	for _, s := range []string{
		"sip:alice@example.com;transport=tcp",
		"sips:alice:pw@[2001:db8::1]:5061;lr?subject=x",
		"tel:+1-201-555-0123;ext=1",
		"urn:service:sos",
	} {
		n := testing.AllocsPerRun(100, func() {
			if _, err := ParseURI(s); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("ParseURI(%q): %v allocations, want 0", s, n)
		}
	}
	a, _ := ParseURI("sip:%61lice@example.com;transport=TCP")
	b, _ := ParseURI("sip:alice@EXAMPLE.com;Transport=tcp")
	if n := testing.AllocsPerRun(100, func() { a.Equal(b) }); n != 0 {
		t.Errorf("Equal: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = a.String() }); n > 1 {
		t.Errorf("String: %v allocations, want at most 1", n)
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"alice", "alice", true},
		{"%61lice", "alice", true},
		{"I%20have%20spaces", "I have spaces", true},
		{"sips%3Auser%40example.com", "sips:user@example.com", true},
		{"null-%00-null", "null-\x00-null", true},
		{"v%61lue%25%34%31", "value%41", true}, // decoded once (RFC 4475 §3.1.1.3)
		{"%e5%a4%a7", "大", true},
		{"%", "%", false},
		{"a%4", "a%4", false},
		{"%zz", "%zz", false},
		{"ok%41%", "ok%41%", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := Unescape(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Unescape(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { Unescape("no-escapes-here") }); n != 0 {
		t.Errorf("Unescape without '%%': %v allocations", n)
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) string
		in   string
		want string
	}{
		{"user at", EscapeUser, "j@s0n", "j%40s0n"}, // RFC 3261 §19.1.2
		{"user keeps user-unreserved", EscapeUser, "a;b?c/d&e=f+g$h,i", "a;b?c/d&e=f+g$h,i"},
		{"user escapes percent", EscapeUser, "100%", "100%25"},
		{"user space colon", EscapeUser, "I have:x", "I%20have%3Ax"},
		{"user nul utf8", EscapeUser, "\x00大", "%00%E5%A4%A7"},
		{"password", EscapePassword, "p;w:?", "p%3Bw%3A%3F"},
		{"password keeps", EscapePassword, "&=+$,", "&=+$,"},
		{"param", EscapeParam, "a=b;c", "a%3Db%3Bc"},
		{"param keeps", EscapeParam, "[]/:&+$", "[]/:&+$"},
		{"header", EscapeHeader, "<sip:a@b>", "%3Csip:a%40b%3E"},
		{"header amp", EscapeHeader, "a&b=c", "a%26b%3Dc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.f(tc.in)
			if got != tc.want {
				t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if back, ok := Unescape(got); !ok || back != tc.in {
				t.Errorf("Unescape(%q) = %q, %v; want %q", got, back, ok, tc.in)
			}
		})
	}
	// Every byte survives EscapeUser in a URI.
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	u, err := ParseURI("sip:" + EscapeUser(all.String()) + "@h")
	if err != nil {
		t.Fatal(err)
	}
	if u.UserUnescaped() != all.String() {
		t.Error("EscapeUser: not every byte comes back")
	}
}

// TestURICharClasses checks the URI character table against the tables of
// lex.go, which spell out the same ABNF rules.
func TestURICharClasses(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		check := func(name string, got, want bool) {
			if got != want {
				t.Errorf("%s(%q) = %v, lex.go says %v", name, b, got, want)
			}
		}
		check("unreserved", uriClass[b]&ucUnres != 0, unreserved[b])
		check("user", uriClass[b]&ucUser != 0, unreserved[b] || userUnres[b])
		check("password", uriClass[b]&ucPass != 0, unreserved[b] || passwordOnly[b])
		check("paramchar", uriClass[b]&ucParam != 0, unreserved[b] || paramUnres[b])
		check("hnv", uriClass[b]&ucHnv != 0, unreserved[b] || hnvUnres[b])
		check("hostname", uriClass[b]&ucHost != 0, hostChars[b] && b != ':')
	}
}

func BenchmarkParseURI(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"typical", "sip:alice@example.com;transport=tcp"},
		{"full", "sips:alice:pw@[2001:db8::1]:5061;lr;maddr=192.0.2.1?subject=project%20x&priority=urgent"},
	} {
		s := bc.s
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				if _, err := ParseURI(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkURIEqual(b *testing.B) {
	x, _ := ParseURI("sip:%61lice@atlanta.com;transport=TCP;lr")
	y, _ := ParseURI("sip:alice@AtLanTa.CoM;lr;Transport=tcp")
	b.ReportAllocs()
	for b.Loop() {
		if !x.Equal(y) {
			b.Fatal("not equal")
		}
	}
}
