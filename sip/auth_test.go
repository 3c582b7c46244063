package sip

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Challenge
	}{
		{
			// RFC 3261 §20.44.
			name: "rfc3261 WWW-Authenticate",
			in: `Digest realm="atlanta.com",
        domain="sip:boxesbybob.com", qop="auth",
        nonce="f84f1cec41e6cbe5aea9c8e88d359",
        opaque="", stale=FALSE, algorithm=MD5`,
			want: Challenge{Scheme: "Digest", Realm: "atlanta.com", Domain: "sip:boxesbybob.com",
				Nonce: "f84f1cec41e6cbe5aea9c8e88d359", Algorithm: "MD5", QOP: []string{"auth"}},
		},
		{
			// RFC 3261 §20.27.
			name: "rfc3261 Proxy-Authenticate",
			in: `Digest realm="atlanta.com",
       domain="sip:ss1.carrier.com", qop="auth",
       nonce="f84f1cec41e6cbe5aea9c8e88d359",
       opaque="", stale=FALSE, algorithm=MD5`,
			want: Challenge{Scheme: "Digest", Realm: "atlanta.com", Domain: "sip:ss1.carrier.com",
				Nonce: "f84f1cec41e6cbe5aea9c8e88d359", Algorithm: "MD5", QOP: []string{"auth"}},
		},
		{
			// RFC 3261 §22.2, folded as on the wire.
			name: "rfc3261 22.2",
			in: "Digest\r\n realm=\"biloxi.com\",\r\n qop=\"auth,auth-int\",\r\n" +
				" nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
			want: Challenge{Scheme: "Digest", Realm: "biloxi.com", QOP: []string{"auth", "auth-int"},
				Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", Opaque: "5ccc069c403ebaf9f0171e9517f40e41"},
		},
		{
			// RFC 7616 §3.9.1, first challenge.
			name: "rfc7616 SHA-256",
			in: `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ` +
				`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			want: Challenge{Scheme: "Digest", Realm: "http-auth@example.org", QOP: []string{"auth", "auth-int"},
				Algorithm: "SHA-256", Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
				Opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"},
		},
		{
			// RFC 7616 §3.9.2.
			name: "rfc7616 SHA-512-256 charset userhash",
			in: `Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, ` +
				`nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", ` +
				`opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true`,
			want: Challenge{Scheme: "Digest", Realm: "api@example.org", QOP: []string{"auth"},
				Algorithm: "SHA-512-256", Nonce: "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
				Opaque: "HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", Charset: "UTF-8", Userhash: true},
		},
		{
			// RFC 8760 §2.7 algorithm tokens.
			name: "rfc8760 SHA-256-sess",
			in:   `Digest realm="example.com", nonce="n", algorithm=SHA-256-sess, qop="auth"`,
			want: Challenge{Scheme: "Digest", Realm: "example.com", Nonce: "n", Algorithm: "SHA-256-sess", QOP: []string{"auth"}},
		},
		{
			name: "case-insensitive names and scheme, stale true",
			in:   `dIgEsT REALM="r" ,NONCE = "n", Stale=True, QoP=auth`,
			want: Challenge{Scheme: "dIgEsT", Realm: "r", Nonce: "n", Stale: true, QOP: []string{"auth"}},
		},
		{
			name: "token values, quoted algorithm",
			in:   `Digest realm=example.com, nonce=abc, algorithm="MD5-sess"`,
			want: Challenge{Scheme: "Digest", Realm: "example.com", Nonce: "abc", Algorithm: "MD5-sess"},
		},
		{
			name: "quoted-pair",
			in:   `Digest realm="a \"quoted\" \\ realm", nonce="x"`,
			want: Challenge{Scheme: "Digest", Realm: `a "quoted" \ realm`, Nonce: "x"},
		},
		{
			name: "unknown digest param kept",
			in:   `Digest realm="r", nonce="n", x-ext="v 1", y=tok`,
			want: Challenge{Scheme: "Digest", Realm: "r", Nonce: "n",
				Other: []AuthParam{{Name: "x-ext", Value: "v 1", Quoted: true}, {Name: "y", Value: "tok"}}},
		},
		{
			name: "other scheme keeps all params",
			in:   `Bearer realm="example", scope="openid profile", error=invalid_token`,
			want: Challenge{Scheme: "Bearer", Other: []AuthParam{
				{Name: "realm", Value: "example", Quoted: true},
				{Name: "scope", Value: "openid profile", Quoted: true},
				{Name: "error", Value: "invalid_token"}}},
		},
		{
			name: "scheme alone",
			in:   "Negotiate",
			want: Challenge{Scheme: "Negotiate"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenge(tt.in)
			if err != nil {
				t.Fatalf("ParseChallenge(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseChallenge(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
			again, err := ParseChallenge(got.String())
			if err != nil {
				t.Fatalf("reparse %q: %v", got.String(), err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip via %q\n got %#v\nwant %#v", got.String(), again, got)
			}
		})
	}
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Credentials
	}{
		{
			// RFC 3261 §20.7.
			name: "rfc3261 Authorization",
			in: `Digest username="Alice", realm="atlanta.com",
       nonce="84a4cc6f3082121f32b42a2187831a9e",
       response="7587245234b3434cc3412213e5f113a5432"`,
			want: Credentials{Scheme: "Digest", Username: "Alice", Realm: "atlanta.com",
				Nonce: "84a4cc6f3082121f32b42a2187831a9e", Response: "7587245234b3434cc3412213e5f113a5432"},
		},
		{
			// RFC 3261 §20.28.
			name: "rfc3261 Proxy-Authorization",
			in: `Digest username="Alice", realm="atlanta.com",
      nonce="c60f3082ee1212b402a21831ae",
      response="245f23415f11432b3434341c022"`,
			want: Credentials{Scheme: "Digest", Username: "Alice", Realm: "atlanta.com",
				Nonce: "c60f3082ee1212b402a21831ae", Response: "245f23415f11432b3434341c022"},
		},
		{
			// RFC 3261 §22.2, folded as on the wire.
			name: "rfc3261 22.2",
			in: "Digest username=\"bob\",\r\n realm=\"biloxi.com\",\r\n nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n" +
				" uri=\"sip:bob@biloxi.com\",\r\n qop=auth,\r\n nc=00000001,\r\n cnonce=\"0a4f113b\",\r\n" +
				" response=\"6629fae49393a05397450978507c4ef1\",\r\n opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
			want: Credentials{Scheme: "Digest", Username: "bob", Realm: "biloxi.com",
				Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", URI: "sip:bob@biloxi.com", QOP: "auth",
				NC: "00000001", CNonce: "0a4f113b", Response: "6629fae49393a05397450978507c4ef1",
				Opaque: "5ccc069c403ebaf9f0171e9517f40e41"},
		},
		{
			// RFC 7616 §3.9.1, SHA-256 answer.
			name: "rfc7616 SHA-256",
			in: `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ` +
				`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ` +
				`cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, ` +
				`response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ` +
				`opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			want: Credentials{Scheme: "Digest", Username: "Mufasa", Realm: "http-auth@example.org",
				URI: "/dir/index.html", Algorithm: "SHA-256", Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
				NC: "00000001", CNonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", QOP: "auth",
				Response: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
				Opaque:   "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"},
		},
		{
			// RFC 7616 §3.9.2, hashed user name.
			name: "rfc7616 userhash",
			in: `Digest username="488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec", ` +
				`realm="api@example.org", uri="/doe.json", algorithm=SHA-512-256, ` +
				`nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", nc=00000001, ` +
				`cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", qop=auth, ` +
				`response="ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd", ` +
				`opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", userhash=true`,
			want: Credentials{Scheme: "Digest", Username: "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec",
				Realm: "api@example.org", URI: "/doe.json", Algorithm: "SHA-512-256",
				Nonce: "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", NC: "00000001",
				CNonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", QOP: "auth",
				Response: "ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd",
				Opaque:   "HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", Userhash: true},
		},
		{
			// RFC 7616 §3.9.2, username* (RFC 5987 extended notation).
			name: "rfc7616 username*",
			in: `Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="api@example.org", uri="/doe.json", ` +
				`algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", nc=00000001, ` +
				`cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", qop=auth, ` +
				`response="ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd", ` +
				`opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", userhash=false`,
			want: Credentials{Scheme: "Digest", Realm: "api@example.org", URI: "/doe.json", Algorithm: "SHA-512-256",
				Nonce: "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", NC: "00000001",
				CNonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", QOP: "auth",
				Response: "ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd",
				Opaque:   "HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS",
				Other:    []AuthParam{{Name: "username*", Value: "UTF-8''J%C3%A4s%C3%B8n%20Doe"}}},
		},
		{
			// RFC 8760 §2.7: empty values before any challenge, as in a
			// first REGISTER.
			name: "rfc8760 empty response",
			in:   `Digest username="alice@example.com", realm="example.com", nonce="", uri="sip:example.com", response=""`,
			want: Credentials{Scheme: "Digest", Username: "alice@example.com", Realm: "example.com", URI: "sip:example.com"},
		},
		{
			// RFC 4475 §3.1.2.16 (regaut01): an unknown scheme is not an
			// error; its params are kept.
			name: "regaut01 unknown scheme",
			in:   "NoOneKnowsThisScheme opaque-data=here",
			want: Credentials{Scheme: "NoOneKnowsThisScheme", Other: []AuthParam{{Name: "opaque-data", Value: "here"}}},
		},
		{
			name: "LWS around = and ,",
			in:   "Digest username = \"u\" ,\trealm=\t\"r\" , nc = 0000000A ,qop=\"auth-int\"",
			want: Credentials{Scheme: "Digest", Username: "u", Realm: "r", NC: "0000000A", QOP: "auth-int"},
		},
		{
			name: "duplicate unknown params kept",
			in:   `Digest username="u", x=1, X="2"`,
			want: Credentials{Scheme: "Digest", Username: "u",
				Other: []AuthParam{{Name: "x", Value: "1"}, {Name: "X", Value: "2", Quoted: true}}},
		},
		{
			name: "utf-8 in quoted-string",
			in:   `Digest username="Jäsøn Doe", realm="r"`,
			want: Credentials{Scheme: "Digest", Username: "Jäsøn Doe", Realm: "r"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials(tt.in)
			if err != nil {
				t.Fatalf("ParseCredentials(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseCredentials(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
			again, err := ParseCredentials(got.String())
			if err != nil {
				t.Fatalf("reparse %q: %v", got.String(), err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip via %q\n got %#v\nwant %#v", got.String(), again, got)
			}
		})
	}
}

func TestParseAuthErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		reason string
		chal   bool // ParseChallenge; else ParseCredentials
	}{
		{"empty", "", "missing auth-scheme", false},
		{"blank", " \t ", "missing auth-scheme", true},
		{"scheme not token", "Dig@est realm=x", "malformed auth-scheme", true},
		{"no LWS after scheme", `Digest,realm="x"`, "malformed auth-scheme", false},
		{"param starts with comma", `Digest ,realm="x"`, "malformed auth-param", true},
		{"missing =", `Digest realm "x"`, "malformed auth-param", true},
		{"name alone", `Digest username`, "malformed auth-param", false},
		{"missing value", `Digest realm=, nonce="n"`, "malformed auth-param", true},
		{"value at end missing", `Digest realm=`, "malformed auth-param", true},
		{"unterminated quote", `Digest realm="atlanta.com, nonce="x`, "malformed auth-param", true},
		{"unterminated quote at end", `Digest username="bob`, "unterminated quoted-string", false},
		{"backslash at end", `Digest username="bob\`, "unterminated quoted-string", false},
		{"empty element", `Digest realm="r",, nonce="n"`, "malformed auth-param", true},
		{"trailing comma", `Digest realm="r", `, "malformed auth-param", true},
		{"junk after value", `Digest realm="r" nonce="n"`, "malformed auth-param", true},
		{"token then junk", `Digest nc=00000001;x`, "malformed auth-param", false},
		{"control char", "Digest username=\"a\x00b\"", "control character in quoted-string", false},
		{"escaped LF", "Digest username=\"a\\\nb\"", "control character in quoted-string", false},
		{"bare CR in quotes", "Digest realm=\"a\rb\"", "control character in quoted-string", true},
		{"duplicate realm", `Digest realm="a", REALM="b"`, "duplicate realm", true},
		{"duplicate nonce", `Digest username="u", nonce="a", nonce="a"`, "duplicate nonce", false},
		{"duplicate qop", `Digest realm="a", qop="auth", qop="auth-int"`, "duplicate qop", true},
		{"nc short", `Digest username="u", nc=0001`, "malformed nc", false},
		{"nc long", `Digest username="u", nc=000000001`, "malformed nc", false},
		{"nc not hex", `Digest username="u", nc=0000000g`, "malformed nc", false},
		{"credentials qop list", `Digest username="u", qop="auth,auth-int"`, "malformed qop", false},
		{"challenge qop empty", `Digest realm="r", qop=""`, "malformed qop", true},
		{"challenge qop empty element", `Digest realm="r", qop="auth,,auth-int"`, "malformed qop", true},
		{"challenge qop not token", `Digest realm="r", qop="auth int"`, "malformed qop", true},
		{"stale", `Digest realm="r", stale=maybe`, "malformed stale", true},
		{"userhash", `Digest username="u", userhash=yes`, "malformed userhash", false},
		{"algorithm not token", `Digest realm="r", algorithm="SHA 256"`, "malformed algorithm", true},
		{"charset not token", `Digest realm="r", charset="UTF 8"`, "malformed charset", true},
		{"username and username*", `Digest username="a", username*=UTF-8''a`, "both username and username*", false},
		{"username* and username", `Digest username*=UTF-8''a, username="a"`, "both username and username*", false},
		{"other scheme malformed", `Bearer error`, "malformed auth-param", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.chal {
				_, err = ParseChallenge(tt.in)
			} else {
				_, err = ParseCredentials(tt.in)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: got %v, want *ParseError", tt.in, err)
			}
			if pe.Reason != tt.reason {
				t.Errorf("%q: reason %q, want %q", tt.in, pe.Reason, tt.reason)
			}
			if pe.StatusCode() != StatusBadRequest {
				t.Errorf("%q: status %d", tt.in, pe.StatusCode())
			}
		})
	}
}

func TestChallengeString(t *testing.T) {
	tests := []struct {
		name string
		in   Challenge
		want string
	}{
		{
			name: "digest",
			in: Challenge{Realm: "biloxi.com", QOP: []string{"auth", "auth-int"},
				Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", Opaque: "5ccc069c403ebaf9f0171e9517f40e41"},
			want: `Digest realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ` +
				`opaque="5ccc069c403ebaf9f0171e9517f40e41", qop="auth,auth-int"`,
		},
		{
			name: "all fields",
			in: Challenge{Scheme: "Digest", Realm: "r", Domain: "sip:a.example sip:b.example", Nonce: "n",
				Opaque: "o", Stale: true, Algorithm: "SHA-256", QOP: []string{"auth"}, Charset: "UTF-8",
				Userhash: true, Other: []AuthParam{{Name: "x", Value: "y"}, {Name: "z", Value: "a b"}}},
			want: `Digest realm="r", domain="sip:a.example sip:b.example", nonce="n", opaque="o", ` +
				`stale=true, algorithm=SHA-256, qop="auth", charset=UTF-8, userhash=true, x=y, z="a b"`,
		},
		{
			name: "required params written empty",
			in:   Challenge{Scheme: "Digest"},
			want: `Digest realm="", nonce=""`,
		},
		{
			name: "escaping and control characters",
			in:   Challenge{Realm: "a\"b\\c\r\nVia: x", Nonce: "n\x00", Algorithm: "not a token"},
			want: `Digest realm="a\"b\\c  Via: x", nonce="n ", algorithm="not a token"`,
		},
		{
			name: "other scheme",
			in: Challenge{Scheme: "Bearer", Realm: "ignored",
				Other: []AuthParam{{Name: "realm", Value: "example", Quoted: true}, {Name: "error", Value: "invalid_token"}}},
			want: `Bearer realm="example", error=invalid_token`,
		},
		{
			name: "other scheme alone",
			in:   Challenge{Scheme: "Negotiate"},
			want: `Negotiate`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if got := string(tt.in.AppendTo([]byte("WWW-Authenticate: "))); got != "WWW-Authenticate: "+tt.want {
				t.Errorf("AppendTo: %s", got)
			}
		})
	}
}

func TestCredentialsString(t *testing.T) {
	tests := []struct {
		name string
		in   Credentials
		want string
	}{
		{
			name: "rfc3261 22.2",
			in: Credentials{Username: "bob", Realm: "biloxi.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
				URI: "sip:bob@biloxi.com", QOP: "auth", NC: "00000001", CNonce: "0a4f113b",
				Response: "6629fae49393a05397450978507c4ef1", Opaque: "5ccc069c403ebaf9f0171e9517f40e41"},
			want: `Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ` +
				`uri="sip:bob@biloxi.com", response="6629fae49393a05397450978507c4ef1", cnonce="0a4f113b", ` +
				`opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001`,
		},
		{
			name: "first request without challenge",
			in:   Credentials{Scheme: "Digest", Username: "alice", Realm: "example.com", URI: "sip:example.com"},
			want: `Digest username="alice", realm="example.com", nonce="", uri="sip:example.com", response=""`,
		},
		{
			name: "algorithm and userhash",
			in:   Credentials{Username: "u", Algorithm: "SHA-512-256", Userhash: true},
			want: `Digest username="u", realm="", nonce="", uri="", response="", algorithm=SHA-512-256, userhash=true`,
		},
		{
			name: "username* instead of username",
			in:   Credentials{Other: []AuthParam{{Name: "username*", Value: "UTF-8''J%C3%A4s%C3%B8n%20Doe"}}},
			want: `Digest realm="", nonce="", uri="", response="", username*=UTF-8''J%C3%A4s%C3%B8n%20Doe`,
		},
		{
			name: "regaut01",
			in:   Credentials{Scheme: "NoOneKnowsThisScheme", Other: []AuthParam{{Name: "opaque-data", Value: "here"}}},
			want: `NoOneKnowsThisScheme opaque-data=here`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestNonceCount(t *testing.T) {
	tests := []struct {
		nc   string
		want uint32
		ok   bool
	}{
		{"00000001", 1, true},
		{"0000000a", 10, true},
		{"0000000A", 10, true},
		{"ffffffff", 1<<32 - 1, true},
		{"", 0, false},
		{"1", 0, false},
		{"0000000x", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.nc, func(t *testing.T) {
			n, ok := Credentials{NC: tt.nc}.NonceCount()
			if n != tt.want || ok != tt.ok {
				t.Errorf("NonceCount(%q) = %d, %v; want %d, %v", tt.nc, n, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestAuthIsDigest(t *testing.T) {
	for _, s := range []string{"", "Digest", "digest", "DIGEST"} {
		if !(Challenge{Scheme: s}).IsDigest() || !(Credentials{Scheme: s}).IsDigest() {
			t.Errorf("IsDigest(%q) = false", s)
		}
	}
	if (Challenge{Scheme: "Basic"}).IsDigest() || (Credentials{Scheme: "Digestx"}).IsDigest() {
		t.Error("IsDigest true for another scheme")
	}
}

// TestParseCredentialsNoCopy checks that values that need no unescaping
// are substrings of the input.
func TestParseCredentialsNoCopy(t *testing.T) {
	in := `Digest username="bob", realm="biloxi.com", nonce="abc", uri="sip:bob@biloxi.com", response="0123"`
	c, err := ParseCredentials(in)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() { _, _ = ParseCredentials(in) })
	if allocs != 0 {
		t.Errorf("ParseCredentials allocates %v times", allocs)
	}
	if !strings.Contains(in, c.Username) || c.Username != "bob" {
		t.Errorf("username %q", c.Username)
	}
}

func BenchmarkParseCredentials(b *testing.B) {
	// RFC 3261 §22.2.
	in := `Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ` +
		`uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", ` +
		`response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseCredentials(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseChallenge(b *testing.B) {
	in := `Digest realm="biloxi.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ` +
		`opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm=SHA-256`
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseChallenge(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCredentialsAppendTo(b *testing.B) {
	c := Credentials{Scheme: "Digest", Username: "bob", Realm: "biloxi.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		URI: "sip:bob@biloxi.com", QOP: "auth", NC: "00000001", CNonce: "0a4f113b",
		Response: "6629fae49393a05397450978507c4ef1", Opaque: "5ccc069c403ebaf9f0171e9517f40e41"}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.AppendTo(buf[:0])
	}
}
