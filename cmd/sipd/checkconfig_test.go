package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	good := write("good.toml", "domain = [\"example.com\"]\n[registrar]\nmax_contacts = 3\n")
	bad := write("bad.toml", "domain = [\"example.com\"]\nmode = \"stateless\"\nbogus = 1\n[registrar]\nmin_expires = \"10m\"\nmax_expires = \"5m\"\n")
	broken := write("broken.toml", "domain = [\"example.com\"\n")
	tests := []struct {
		name string
		args []string
		code int
		out  string   // stdout, exactly
		errs []string // the lines of stderr, exactly
		err  string   // a part of stderr, when errs is nil
	}{
		{name: "good", args: []string{good}, code: 0, out: good + ": ok\n"},
		{name: "example", args: []string{"../../docs/sipd.example.toml"}, code: 0, out: "../../docs/sipd.example.toml: ok\n"},
		{name: "every error at once", args: []string{bad}, code: 1, errs: []string{
			bad + `:2:8: mode: "stateless" needs auth = "off": the stateless proxy does not authenticate the requests it forwards`,
			bad + `:3:1: bogus: unknown key`,
			bad + `:5:15: registrar.min_expires: min_expires 10m is above max_expires 5m`,
		}},
		{name: "syntax error", args: []string{broken}, code: 1, err: broken + ":1:24: syntax: expected a comma"},
		{name: "missing file", args: []string{filepath.Join(dir, "none.toml")}, code: 1, err: "no such file"},
		{name: "no file", args: nil, code: 2, err: "usage: sipd check-config FILE"},
		{name: "two files", args: []string{good, bad}, code: 2, err: "usage: sipd check-config FILE"},
		{name: "help", args: []string{"-h"}, code: 0, err: "usage: sipd check-config FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := runCheckConfig(tt.args, &out, &errb); code != tt.code {
				t.Errorf("exit code %d, want %d\nstderr: %s", code, tt.code, errb.String())
			}
			if out.String() != tt.out {
				t.Errorf("stdout %q, want %q", out.String(), tt.out)
			}
			if tt.errs != nil {
				if got, want := errb.String(), strings.Join(tt.errs, "\n")+"\n"; got != want {
					t.Errorf("stderr\n%s\nwant\n%s", got, want)
				}
			} else if !strings.Contains(errb.String(), tt.err) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.err)
			}
		})
	}
}

// TestServeFlagsAreConfigKeys holds DESIGN.md's promise that each flag of
// sipd serve has a config key of the same name ('_' for '-'), which the
// example file documents.
func TestServeFlagsAreConfigKeys(t *testing.T) {
	var usage bytes.Buffer
	loadServeConfig([]string{"-h"}, &usage)
	flags := regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(usage.String(), -1)
	if len(flags) == 0 {
		t.Fatalf("no flags in sipd serve -h:\n%s", usage.String())
	}
	example, err := os.ReadFile("../../docs/sipd.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		if f[1] == "config" {
			continue // the file itself
		}
		key := strings.ReplaceAll(f[1], "-", "_")
		if !regexp.MustCompile(`(?m)^` + key + ` = `).Match(example) {
			t.Errorf("sipd serve --%s has no key %s in docs/sipd.example.toml", f[1], key)
		}
	}
}
