package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{name: "no args prints version", args: nil, code: 0, out: "sipd "},
		{name: "version", args: []string{"version"}, code: 0, out: "sipd "},
		{name: "--version", args: []string{"--version"}, code: 0, out: "sipd "},
		{name: "help", args: []string{"help"}, code: 0, out: "usage: sipd"},
		{name: "unknown", args: []string{"frobnicate"}, code: 2, err: `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != tt.code {
				t.Fatalf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("stdout %q does not contain %q", out.String(), tt.out)
			}
			if !strings.Contains(errb.String(), tt.err) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.err)
			}
		})
	}
}
