package redirect

import (
	"strings"
	"testing"

	"github.com/sipd/sipd/storage/memory"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings of the error, all of them; none: valid
	}{
		{name: "zero value"},
		{name: "domains", cfg: Config{Domains: []string{"example.com", "EXAMPLE.org", "192.0.2.1", "[2001:db8::1]"}}},
		{name: "bad domains", cfg: Config{Domains: []string{"", "sip:example.com", "example.com:5060", "a b", "alice@example.com", "example.com;lr"}},
			want: []string{`domain ""`, `domain "sip:example.com"`, `domain "example.com:5060"`, `domain "a b"`,
				`domain "alice@example.com"`, `domain "example.com;lr"`}},
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
			if !strings.HasPrefix(err.Error(), "redirect: ") {
				t.Errorf("Validate = %v, want the redirect: prefix", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	store := memory.New()
	if _, err := New(Config{Domains: []string{"bad host"}}, store, nil); err == nil {
		t.Error("New accepted an invalid config")
	}
	if _, err := New(Config{}, nil, store.Users()); err == nil {
		t.Error("New accepted a nil location store")
	}
	if _, err := New(Config{}, store, nil); err != nil {
		t.Errorf("New with a nil UserStore: %v", err)
	}
}
