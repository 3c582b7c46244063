package registrar

import (
	"strings"
	"testing"
	"time"
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
