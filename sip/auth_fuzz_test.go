package sip

import (
	"errors"
	"reflect"
	"testing"
)

var authFuzzSeeds = []string{
	`Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5`,
	`Digest realm="biloxi.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
	`Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
	`Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true`,
	`Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="api@example.org", uri="/doe.json", nc=00000001, userhash=false`,
	`Digest username="a\"b\\c", realm="x"`,
	"NoOneKnowsThisScheme opaque-data=here",
	"Digest\r\n realm = \"r\" ,\tnonce=n",
	"Bearer",
}

// FuzzDigestParams: no input panics, errors are *ParseError, and whatever
// parses as a challenge or as credentials serializes to a value that parses
// to the same result and serializes to the same text again.
func FuzzDigestParams(f *testing.F) {
	for _, s := range authFuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseChallenge(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseChallenge(%q): %T %v", s, err, err)
			}
		} else {
			out := c.String()
			c2, err := ParseChallenge(out)
			if err != nil {
				t.Fatalf("ParseChallenge(%q) -> %q: %v", s, out, err)
			}
			if !reflect.DeepEqual(c, c2) {
				t.Fatalf("challenge round trip of %q via %q:\n%#v\n%#v", s, out, c, c2)
			}
			if out2 := c2.String(); out2 != out {
				t.Fatalf("challenge not stable: %q, %q", out, out2)
			}
		}

		cr, err := ParseCredentials(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseCredentials(%q): %T %v", s, err, err)
			}
			return
		}
		out := cr.String()
		cr2, err := ParseCredentials(out)
		if err != nil {
			t.Fatalf("ParseCredentials(%q) -> %q: %v", s, out, err)
		}
		if !reflect.DeepEqual(cr, cr2) {
			t.Fatalf("credentials round trip of %q via %q:\n%#v\n%#v", s, out, cr, cr2)
		}
		if out2 := cr2.String(); out2 != out {
			t.Fatalf("credentials not stable: %q, %q", out, out2)
		}
	})
}
