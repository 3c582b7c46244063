package main

import (
	"strings"
	"testing"
)

// TestRegisterCommand: register with digest authentication at an
// in-process sipd serve (401, then 200), a wrong password (401 twice,
// exit 1), and removing every binding with --unregister --all.
func TestRegisterCommand(t *testing.T) {
	srv := startServe(t, "registrar", map[string]string{"alice": "secret"})
	proxy := "sip:" + srv.String()
	tests := []struct {
		name   string
		args   []string
		code   int
		arrows []string // the arrow lines' messages, in order
		out    string
		err    string
	}{
		{name: "register", args: []string{"--password", "secret"}, code: 0,
			arrows: []string{"→ REGISTER sip:example.com", "← 401 Unauthorized", "→ REGISTER sip:example.com", "← 200 OK"},
			out:    "registered sip:alice@example.com at sip:alice@127.0.0.1:"},
		{name: "wrong password", args: []string{"--password", "nope"}, code: 1,
			arrows: []string{"→ REGISTER", "← 401 Unauthorized", "→ REGISTER", "← 401 Unauthorized"},
			err:    "sipd register: authentication failed: 401 Unauthorized"},
		{name: "no password", args: nil, code: 1,
			arrows: []string{"→ REGISTER", "← 401 Unauthorized"},
			err:    "sipd register: authentication failed: 401 Unauthorized"},
		{name: "hold, then unregister", args: []string{"--password", "secret", "--expires", "60s", "--hold", "300ms"}, code: 0,
			arrows: []string{"→ REGISTER", "← 401 Unauthorized", "→ REGISTER", "← 200 OK",
				"→ REGISTER", "← 401 Unauthorized", "→ REGISTER", "← 200 OK"},
			out: "unregistered sip:alice@example.com after 0 refreshes"},
		{name: "unregister all", args: []string{"--password", "secret", "--unregister", "--all"}, code: 0,
			arrows: []string{"→ REGISTER", "← 401 Unauthorized", "→ REGISTER", "← 200 OK"},
			out:    "unregistered sip:alice@example.com: every binding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"register", "--user", "alice", "--registrar", "sip:example.com", "--proxy", proxy}, tt.args...)
			code, out, errOut := runCmd(args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
				t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
			}
			var arrows []string
			for _, l := range strings.Split(out, "\n") {
				if i := strings.IndexAny(l, "→←"); i >= 0 {
					arrows = append(arrows, l[i:])
				}
			}
			if len(arrows) != len(tt.arrows) {
				t.Fatalf("%d messages, want %d:\n%s", len(arrows), len(tt.arrows), out)
			}
			for i, a := range arrows {
				if !strings.HasPrefix(a, tt.arrows[i]) {
					t.Errorf("message %d: %q, want %q...", i, a, tt.arrows[i])
				}
			}
		})
	}
}
