package location

import (
	"testing"

	"github.com/sipd/sipd/sip"
)

func TestCanonicalAOR(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{in: "sip:alice@example.com", want: "sip:alice@example.com"},
		{in: "sip:alice@EXAMPLE.Com", want: "sip:alice@example.com"},
		{in: "SIP:alice@example.com", want: "sip:alice@example.com"},
		{in: "sips:alice@example.com", want: "sip:alice@example.com"},
		{in: "sip:Alice@example.com", want: "sip:Alice@example.com"},
		{in: "sip:alice:pw@example.com:5061;transport=tls;user=phone?Subject=x", want: "sip:alice@example.com"},
		{in: "sip:%61%6c%69%63%65@example.com", want: "sip:alice@example.com"},
		{in: "sip:j%40s0n@example.com", want: "sip:j%40s0n@example.com"},
		{in: "sip:null-%00-null@example.com", want: "sip:null-%00-null@example.com"},
		{in: "sip:a%2cb@example.com", want: "sip:a,b@example.com"},
		{in: "sip:user;par=u%40example.net@example.com", want: "sip:user;par=u%40example.net@example.com"},
		{in: "sip:+1-972-555-2222@gw1.example.net;user=phone", want: "sip:+1-972-555-2222@gw1.example.net"},
		{in: "sip:alice@[2001:DB8::1]", want: "sip:alice@[2001:db8::1]"},
		{in: "tel:+15551234", err: ErrNotSIP},
		{in: "isbn:2983792873", err: ErrNotSIP},
		{in: "sip:example.com", err: ErrNoUser},
	} {
		u, err := sip.ParseURI(tc.in)
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", tc.in, err)
		}
		got, err := CanonicalAOR(u)
		if got != tc.want || err != tc.err {
			t.Errorf("CanonicalAOR(%s) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	// A URI built in code, with an escape the parser would refuse.
	if _, err := CanonicalAOR(sip.URI{Scheme: "sip", User: "a%zz", Host: "example.com"}); err != ErrBadEscape {
		t.Errorf("bad escape: %v, want ErrBadEscape", err)
	}
	if _, err := CanonicalAOR(sip.URI{Scheme: "sip", User: "a"}); err != ErrNoHost && err != ErrNotSIP {
		t.Errorf("no host: %v", err)
	}
}
