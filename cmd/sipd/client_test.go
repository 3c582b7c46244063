package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// parsed is what the parse tests compare.
type parsed struct {
	target, listen, transport string
}

func TestParseClientCommands(t *testing.T) {
	tests := []struct {
		name  string
		parse func(args []string) (parsed, error)
		args  []string
		want  parsed
		err   string // "" for success
	}{
		{name: "options URI", parse: parseOptionsT, args: []string{"sip:127.0.0.1:5060"},
			want: parsed{"sip:127.0.0.1:5060", "127.0.0.1:0", "udp"}},
		{name: "options host:port gets the scheme", parse: parseOptionsT, args: []string{"127.0.0.1:5070"},
			want: parsed{"sip:127.0.0.1:5070", "127.0.0.1:0", "udp"}},
		{name: "options over tcp, flags after the URI", parse: parseOptionsT, args: []string{"sip:bob@127.0.0.1:5070", "--transport", "TCP", "--listen", "127.0.0.2:0"},
			want: parsed{"sip:bob@127.0.0.1:5070;transport=tcp", "127.0.0.2:0", "tcp"}},
		{name: "options keeps the URI's transport", parse: parseOptionsT, args: []string{"--transport", "tcp", "sip:127.0.0.1;transport=udp"},
			want: parsed{"sip:127.0.0.1;transport=udp", "127.0.0.1:0", "tcp"}},
		{name: "options without URI", parse: parseOptionsT, args: nil, err: "want one URI"},
		{name: "options two URIs", parse: parseOptionsT, args: []string{"sip:a@b", "sip:c@d"}, err: "want one URI"},
		{name: "options bad transport", parse: parseOptionsT, args: []string{"--transport", "sctp", "sip:a@b"}, err: "want udp, tcp or tls"},
		{name: "options not a SIP URI", parse: parseOptionsT, args: []string{"mailto:bob@example.com"}, err: "is not a SIP URI"},
		{name: "options bad --from", parse: parseOptionsT, args: []string{"--from", "sip:example.com", "sip:a@b"}, err: "--from"},
		{name: "options zero timeout", parse: parseOptionsT, args: []string{"--timeout", "0s", "sip:a@b"}, err: "--timeout"},
		{name: "options unknown flag", parse: parseOptionsT, args: []string{"--frob", "sip:a@b"}, err: "flag provided but not defined"},

		{name: "message", parse: parseMessageT, args: []string{"sip:bob@127.0.0.1:5060", "hello there"},
			want: parsed{"sip:bob@127.0.0.1:5060", "127.0.0.1:0", "udp"}},
		{name: "message without text", parse: parseMessageT, args: []string{"sip:bob@127.0.0.1"}, err: "want a URI and a text"},

		{name: "register", parse: parseRegisterT, args: []string{"--user", "alice", "--password", "secret", "--registrar", "sip:127.0.0.1:5060"},
			want: parsed{"sip:127.0.0.1:5060", "127.0.0.1:0", "udp"}},
		{name: "register needs --user", parse: parseRegisterT, args: []string{"--registrar", "sip:127.0.0.1"}, err: "--user is required"},
		{name: "register needs --registrar", parse: parseRegisterT, args: []string{"--user", "alice"}, err: "--registrar is required"},
		{name: "register expires in whole seconds", parse: parseRegisterT, args: []string{"--user", "a", "--registrar", "127.0.0.1", "--expires", "1500ms"}, err: "whole seconds"},
		{name: "register --all needs --unregister", parse: parseRegisterT, args: []string{"--user", "a", "--registrar", "127.0.0.1", "--all"}, err: "--all goes with --unregister"},
		{name: "register takes no argument", parse: parseRegisterT, args: []string{"--user", "a", "--registrar", "127.0.0.1", "extra"}, err: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The parse functions print the flag package's errors to stderr; the
// tests look at the returned error, which says the same.
func parseOptionsT(args []string) (p parsed, err error) {
	c, err := parseOptions(args, &bytes.Buffer{})
	if err != nil {
		return p, err
	}
	return parsed{c.target.String(), c.listen, c.transport}, nil
}

func parseMessageT(args []string) (p parsed, err error) {
	c, err := parseMessage(args, &bytes.Buffer{})
	if err != nil {
		return p, err
	}
	if c.text != args[1] {
		return p, fmt.Errorf("text %q, want %q", c.text, args[1])
	}
	return parsed{c.target.String(), c.listen, c.transport}, nil
}

func parseRegisterT(args []string) (p parsed, err error) {
	c, err := parseRegister(args, &bytes.Buffer{})
	if err != nil {
		return p, err
	}
	return parsed{c.registrar.String(), c.listen, c.transport}, nil
}

func TestRegisterFlags(t *testing.T) {
	c, err := parseRegister([]string{"--user", "alice", "--registrar", "127.0.0.1:5080", "--expires", "90s", "--from", "Alice <sip:alice@example.com>"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.user != "alice" || c.expires != 90*time.Second || c.registrar.String() != "sip:127.0.0.1:5080" || c.unregister {
		t.Errorf("parsed %+v", c)
	}
	a, err := c.fromAddress()
	if err != nil || a.Display != "Alice" || a.URI.String() != "sip:alice@example.com" {
		t.Errorf("--from gives %+v, %v", a, err)
	}
}

// TestClientExitCodes: usage errors exit 2, with the reason on stderr;
// -h exits 0.
func TestClientExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"options"}, 2, "sipd options: want one URI"},
		{[]string{"options", "-h"}, 0, "usage: sipd options"},
		{[]string{"options", "--nope", "sip:x@y"}, 2, "flag provided but not defined: -nope"},
		{[]string{"message", "sip:x@y"}, 2, "sipd message: want a URI and a text"},
		{[]string{"register", "--registrar", "sip:127.0.0.1"}, 2, "sipd register: --user is required"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if code := run(tt.args, &out, &errb); code != tt.code || !strings.Contains(errb.String(), tt.err) {
			t.Errorf("sipd %v: exit %d, stderr %q; want %d, %q", tt.args, code, errb.String(), tt.code, tt.err)
		}
	}
}
