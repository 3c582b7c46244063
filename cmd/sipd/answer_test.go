package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseCallAndAnswer(t *testing.T) {
	tests := []struct {
		name string
		cmd  string
		args []string
		err  string // "" for success
	}{
		{"call", "call", []string{"sip:bob@127.0.0.1:5062", "--play", "x.wav", "--record", "y.wav", "--duration", "10s", "--user", "a", "--password", "b"}, ""},
		{"call with a tone", "call", []string{"--tone", "440", "127.0.0.1:5062"}, ""},
		{"call --play and --tone", "call", []string{"sip:b@h", "--play", "x.wav", "--tone", "440"}, "--play and --tone: give one"},
		{"call tone above Nyquist", "call", []string{"sip:b@h", "--tone", "4000"}, "want a frequency between 0 and 4000 Hz"},
		{"call negative duration", "call", []string{"sip:b@h", "--duration", "-1s"}, "--duration"},
		{"call without URI", "call", nil, "want one URI"},
		{"call bad proxy", "call", []string{"sip:b@h", "--proxy", "mailto:x@y"}, "--proxy"},
		{"answer", "answer", []string{"--listen", "127.0.0.1:5070", "--once", "--100rel", "--record", "in.wav", "--tone", "600"}, ""},
		{"answer --once and --count", "answer", []string{"--once", "--count", "3"}, "--once and --count 3"},
		{"answer negative count", "answer", []string{"--count", "-1"}, "cannot be negative"},
		{"answer --reject 200", "answer", []string{"--reject", "200"}, "want a final status from 300 to 699"},
		{"answer --registrar without --user", "answer", []string{"--registrar", "sip:example.com"}, "--registrar needs --user"},
		{"answer argument", "answer", []string{"extra"}, "unexpected argument"},
		{"answer tls key without cert", "answer", []string{"--transport", "tls", "--tls-key", "k.pem"}, "--tls-cert and --tls-key go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.cmd == "call" {
				_, err = parseCall(tt.args, &bytes.Buffer{})
			} else {
				_, err = parseAnswer(tt.args, &bytes.Buffer{})
			}
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one with %q", err, tt.err)
			}
		})
	}
}

func TestAnswerDefaults(t *testing.T) {
	c, err := parseAnswer([]string{"--once"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:5060" || c.count != 1 || c.duration != 0 || c.rel100 || c.expires != time.Hour {
		t.Errorf("defaults: %+v", c)
	}
	cc, err := parseCall([]string{"sip:b@h"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cc.listen != "127.0.0.1:0" || cc.timeout != time.Minute || cc.duration != 0 {
		t.Errorf("call defaults: %+v", cc)
	}
}

func TestRecordName(t *testing.T) {
	tests := []struct {
		record   string
		n, count int
		want     string
	}{
		{"in.wav", 1, 1, "in.wav"},
		{"in.wav", 2, 3, "in-2.wav"},
		{"dir/in.wav", 1, 0, "dir/in-1.wav"},
		{"noext", 4, 0, "noext-4"},
		{"", 1, 0, ""},
	}
	for _, tt := range tests {
		if got := recordName(tt.record, tt.n, tt.count); got != tt.want {
			t.Errorf("recordName(%q, %d, %d) = %q, want %q", tt.record, tt.n, tt.count, got, tt.want)
		}
	}
}
