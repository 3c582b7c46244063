package registrar

import (
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings of the error, all of them; none: valid
	}{
		{name: "zero value"},
		{name: "domains", cfg: Config{Domains: []string{"example.com", "EXAMPLE.org", "192.0.2.1", "[2001:db8::1]"}}},
		{name: "explicit expiries", cfg: Config{DefaultExpires: 600 * time.Second, MinExpires: time.Second, MaxExpires: 600 * time.Second}},
		{name: "bad domains", cfg: Config{Domains: []string{"", "sip:example.com", "example.com:5060", "a b", "alice@example.com"}},
			want: []string{`domain ""`, `domain "sip:example.com"`, `domain "example.com:5060"`, `domain "a b"`, `domain "alice@example.com"`}},
		{name: "negative", cfg: Config{DefaultExpires: -1, MaxContacts: -1}, want: []string{"negative default expires", "negative max contacts"}},
		{name: "fractions of a second", cfg: Config{MinExpires: 1500 * time.Millisecond}, want: []string{"whole number of seconds"}},
		{name: "min above one hour", cfg: Config{MinExpires: 2 * time.Hour, DefaultExpires: 2 * time.Hour}, want: []string{"above one hour"}},
		{name: "min above max", cfg: Config{MinExpires: 30 * time.Minute, MaxExpires: 10 * time.Minute}, want: []string{"min expires 30m0s above max expires 10m0s"}},
		{name: "default outside", cfg: Config{DefaultExpires: 30 * time.Second}, want: []string{"default expires 30s outside"}},
		{name: "max above 2**32-1", cfg: Config{MaxExpires: (1 << 32) * time.Second}, want: []string{"max expires"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %v, want it to say %q", err, w)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{MaxContacts: -1}, newMemStore(time.Now)); err == nil {
		t.Error("New accepted an invalid config")
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New accepted a nil store")
	}
}

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

func TestAppendQ(t *testing.T) {
	for q, want := range map[int]string{0: "0", 1: "0.001", 10: "0.01", 100: "0.1", 125: "0.125", 500: "0.5", 999: "0.999", 1000: "1"} {
		if got := string(appendQ(nil, q)); got != want {
			t.Errorf("appendQ(%d) = %q, want %q", q, got, want)
		}
	}
}
