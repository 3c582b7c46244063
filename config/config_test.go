package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeFile writes text to a sipd.toml in a fresh directory and returns
// its name.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "sipd.toml")
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// checkErrors reports how errs differs from want, each want being
// "line:col: key: reason" where reason need only be a part of the error's
// reason. Every error must name file.
func checkErrors(err error, file string, want []string) error {
	if len(want) == 0 {
		return err
	}
	if err == nil {
		return errors.New("no error")
	}
	var errs Errors
	if !errors.As(err, &errs) {
		return fmt.Errorf("error %q (%T) is not Errors", err, err)
	}
	var problems []string
	for i, e := range errs {
		if e.File != file {
			problems = append(problems, fmt.Sprintf("error %d: file %q, want %q", i, e.File, file))
		}
		if i >= len(want) {
			problems = append(problems, fmt.Sprintf("unwanted error %q", e))
			continue
		}
		where, reason, _ := strings.Cut(want[i], " ~ ")
		if got := fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Key); got != where {
			problems = append(problems, fmt.Sprintf("error %d %q: at %q, want %q", i, e, got, where))
		}
		if !strings.Contains(e.Reason, reason) {
			problems = append(problems, fmt.Sprintf("error %d %q: reason does not contain %q", i, e, reason))
		}
	}
	for _, w := range want[min(len(errs), len(want)):] {
		problems = append(problems, fmt.Sprintf("missing error %q", w))
	}
	if problems != nil {
		return errors.New(strings.Join(problems, "\n") + "\nall errors:\n" + err.Error())
	}
	return nil
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		text string
		// want are the errors, "line:col: key ~ part of the reason".
		want []string
		// check, if not nil, checks a good file's Config.
		check func(*Config) error
	}{{
		name:  "empty file is the defaults",
		text:  "",
		check: func(c *Config) error { return equal(*c, Default()) },
	}, {
		name: "good file",
		text: `# a registrar for example.com
listen = ["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060",
          "tls:[::1]:5061",   # TLS on IPv6 loopback
          "wss::8443"]
domain = ["example.com", "sip.example.com"]
data_dir = "/var/lib/sipd"
mode = "redirect"
admin = "127.0.0.1:8080"
auth = "off"
auth_algorithms = ["MD5"]
log_level = "debug"
tls_cert = "cert.pem"
tls_key = 'key.pem'

[registrar]
default_expires = "30m"
min_expires = 120        # seconds
max_expires = "2h"
max_contacts = 5

[runtime]
gc_percent = 400
memory_limit_mb = 512
max_procs = 1
`,
		check: func(c *Config) error {
			want := Config{
				Listen:         []string{"udp:127.0.0.1:5060", "tcp:127.0.0.1:5060", "tls:[::1]:5061", "wss::8443"},
				Domain:         []string{"example.com", "sip.example.com"},
				DataDir:        "/var/lib/sipd",
				Mode:           "redirect",
				Admin:          "127.0.0.1:8080",
				Auth:           "off",
				AuthAlgorithms: []string{"MD5"},
				LogLevel:       "debug",
				TLSCert:        "cert.pem",
				TLSKey:         "key.pem",
				Registrar: Registrar{
					DefaultExpires: Duration{30 * time.Minute},
					MinExpires:     Duration{120 * time.Second},
					MaxExpires:     Duration{2 * time.Hour},
					MaxContacts:    5,
				},
				Store:   Store{Synchronous: SyncNormal, CommitDelay: Duration{time.Millisecond}},
				DNS:     DNS{Servers: []string{}, Timeout: Duration{2 * time.Second}},
				Runtime: Runtime{GCPercent: 400, MemoryLimitMB: 512, MaxProcs: 1},
			}
			return equal(*c, want)
		},
	}, {
		name: "store synchronous full",
		text: "[store]\nsynchronous = \"full\"\n",
		check: func(c *Config) error {
			if c.Store.Synchronous != SyncFull {
				return fmt.Errorf("synchronous = %q", c.Store.Synchronous)
			}
			return nil
		},
	}, {
		name: "store commit delay off",
		text: "[store]\ncommit_delay = \"0s\"\n",
		check: func(c *Config) error {
			if c.Store.CommitDelay.Duration != 0 {
				return fmt.Errorf("commit_delay = %v", c.Store.CommitDelay)
			}
			return nil
		},
	}, {
		name: "stateless mode with auth off",
		text: "mode = \"stateless\"\nauth = \"off\"\n",
		check: func(c *Config) error {
			if c.Mode != ModeStateless || c.Auth != AuthOff {
				return fmt.Errorf("mode %q, auth %q", c.Mode, c.Auth)
			}
			return nil
		},
	}, {
		name: "dotted keys and inline tables",
		text: "registrar.max_contacts = 2\n",
		check: func(c *Config) error {
			if c.Registrar.MaxContacts != 2 {
				return fmt.Errorf("max_contacts %d, want 2", c.Registrar.MaxContacts)
			}
			return nil
		},
	}, {
		name: "syntax error",
		text: "domain = [\"example.com\"]\nmode = \"registrar\n",
		want: []string{"2:18:  ~ syntax: "},
	}, {
		name: "syntax error: no value",
		text: "\n\nlog_level =\n",
		want: []string{"3:12:  ~ syntax: expected value"},
	}, {
		// The parser says line 0 for this one (found by FuzzParse).
		name: "syntax error at the end of the text",
		text: "\"\\",
		want: []string{"1:2:  ~ syntax: "},
	}, {
		name: "unknown key at the top",
		text: "domain = [\"example.com\"]\n  bogus = 1\n",
		want: []string{"2:3: bogus ~ unknown key"},
	}, {
		name: "unknown key in [registrar]",
		text: "[registrar]\nmin_expires = \"60s\"\n\n max_contact = 3\n",
		want: []string{"4:2: registrar.max_contact ~ unknown key; did you mean max_contacts?"},
	}, {
		name: "unknown key: a registrar key at the top",
		text: "max_expires = \"1h\"\n",
		want: []string{"1:1: max_expires ~ belongs in the [registrar] table"},
	}, {
		name: "unknown key: a top key after [registrar]",
		text: "[registrar]\nlisten = []\n",
		want: []string{"2:1: registrar.listen ~ belongs at the top of the file"},
	}, {
		name: "unknown key: a flag's spelling",
		text: "data-dir = \"/tmp\"\n",
		want: []string{"1:1: data-dir ~ did you mean data_dir?"},
	}, {
		name: "unknown key: dotted",
		text: "registrar.bogus = 1\n",
		want: []string{"1:11: registrar.bogus ~ unknown key"},
	}, {
		name: "unknown key: in an inline table",
		text: "registrar = { max_contacts = 1, bogus = 2 }\n",
		want: []string{"1:33: registrar.bogus ~ unknown key"},
	}, {
		name: "unknown table",
		text: "[proxi]\nrecord_route = true\n",
		want: []string{"1:2: proxi ~ unknown key; did you mean proxy?"},
	}, {
		name: "wrong type",
		text: "listen = \"udp:0.0.0.0:5060\"\n",
		want: []string{"1:10: listen ~ want an array of strings, not a string"},
	}, {
		name: "wrong type of an element",
		text: "domain = [\n  \"example.com\",\n  5060,\n]\n",
		want: []string{"3:3: domain ~ element 2: want a string, not an integer"},
	}, {
		name: "wrong type: integer for a string",
		text: "log_level = 1\n",
		want: []string{"1:13: log_level ~ want a string, not an integer"},
	}, {
		name: "wrong type: table for a string",
		text: "[mode]\n",
		want: []string{"1:2: mode ~ want a string, not a table"},
	}, {
		name: "wrong type: string for a table",
		text: "registrar = \"on\"\n",
		want: []string{"1:13: registrar ~ want a table, not a string"},
	}, {
		name: "wrong type: float for an integer",
		text: "[registrar]\nmax_contacts = 2.5\n",
		want: []string{"2:16: registrar.max_contacts ~ want an integer, not a float"},
	}, {
		name: "bad duration",
		text: "[registrar]\ndefault_expires = \"1 hour\"\n",
		want: []string{`2:19: registrar.default_expires ~ "1 hour": want a duration`},
	}, {
		name: "bad duration: a boolean",
		text: "[registrar]\nmax_expires = true\n",
		want: []string{"2:15: registrar.max_expires ~ want a duration such as \"60s\", not a boolean"},
	}, {
		name: "duration not whole seconds",
		text: "[registrar]\ndefault_expires = \"3600.5s\"\n",
		want: []string{"2:19: registrar.default_expires ~ 1h0m0.5s is not a whole number of seconds"},
	}, {
		name: "negative duration",
		text: "[registrar]\nmin_expires = \"-1m\"\n",
		want: []string{"2:15: registrar.min_expires ~ want more than 0s"},
	}, {
		name: "bad listen: scheme",
		text: "listen = [\"udp:0.0.0.0:5060\", \"sctp:0.0.0.0:5060\"]\n",
		want: []string{`1:31: listen ~ "sctp:0.0.0.0:5060": scheme "sctp" is not udp, tcp, tls, ws or wss`},
	}, {
		name: "bad listen: no scheme",
		text: "listen = [\"0.0.0.0\"]\n",
		want: []string{`1:11: listen ~ want scheme:address:port`},
	}, {
		name: "bad listen: host name",
		text: "listen = [\"udp:localhost:5060\"]\n",
		want: []string{`1:11: listen ~ "localhost:5060" is not ip:port`},
	}, {
		name: "bad listen: twice",
		text: "listen = [\"tcp:0.0.0.0:5060\", \"ws:0.0.0.0:5060\"]\n",
		want: []string{`1:31: listen ~ "ws:0.0.0.0:5060": the same port as "tcp:0.0.0.0:5060"`},
	}, {
		name: "no listeners",
		text: "listen = []\n",
		want: []string{"1:10: listen ~ no listener"},
	}, {
		name: "bad domain",
		text: "domain = [\"example.com\", \"sip:example.org\", \"example.net:5060\"]\n",
		want: []string{
			`1:26: domain ~ "sip:example.org" is not a host name`,
			`1:45: domain ~ "example.net:5060" is not a host name`,
		},
	}, {
		name: "bad mode",
		text: "mode = \"b2bua\"\n",
		want: []string{`1:8: mode ~ "b2bua": want "registrar", "redirect", "proxy" or "stateless"`},
	}, {
		name: "stateless mode with auth required",
		text: "mode = \"stateless\"\n",
		want: []string{`1:8: mode ~ "stateless" needs auth = "off"`},
	}, {
		name: "bad auth, algorithm, log level, admin",
		text: "auth = \"on\"\nauth_algorithms = [\"SHA-256\", \"sha-512\"]\nlog_level = \"trace\"\nadmin = \"8080\"\n",
		want: []string{
			`1:8: auth ~ "on": want "required" or "off"`,
			`2:31: auth_algorithms ~ "sha-512": want "MD5" or "SHA-256"`,
			`3:13: log_level ~ "trace"`,
			`4:9: admin ~ "8080": want host:port`,
		},
	}, {
		name: "tls listener without cert",
		text: "listen = [\"udp:0.0.0.0:5060\",\n\t\"tls:0.0.0.0:5061\"]\n",
		want: []string{`2:2: listen ~ "tls:0.0.0.0:5061": a tls listener needs tls_cert and tls_key`},
	}, {
		name: "wss listener without cert",
		text: "listen = [\"wss::443\"]\n",
		want: []string{`1:11: listen ~ a wss listener needs tls_cert and tls_key`},
	}, {
		name: "tls_cert without tls_key",
		text: "tls_cert = \"cert.pem\"\n",
		want: []string{"1:12: tls_cert ~ set without tls_key"},
	}, {
		name: "min > max",
		text: "[registrar]\nmin_expires = \"10m\"\nmax_expires = \"5m\"\n",
		want: []string{"2:15: registrar.min_expires ~ min_expires 10m is above max_expires 5m"},
	}, {
		name: "max below the default min",
		text: "[registrar]\nmax_expires = \"30s\"\n",
		want: []string{"2:15: registrar.max_expires ~ min_expires 1m is above max_expires 30s"},
	}, {
		name: "bad duration: days",
		text: "[registrar]\ndefault_expires = \"2d\"\n",
		want: []string{`2:19: registrar.default_expires ~ "2d": want a duration`},
	}, {
		name: "default above max",
		text: "[registrar]\ndefault_expires = \"25h\"\n",
		want: []string{"2:19: registrar.default_expires ~ default_expires 25h is above max_expires 24h"},
	}, {
		name: "min above one hour",
		text: "[registrar]\nmin_expires = \"2h\"\ndefault_expires = \"2h\"\n",
		want: []string{"2:15: registrar.min_expires ~ 2h: want at most 1h"},
	}, {
		name: "gc_percent too small",
		text: "[runtime]\ngc_percent = 5\n",
		want: []string{"2:14: runtime.gc_percent ~ 5: want 10 or more"},
	}, {
		name: "gc off without a memory limit",
		text: "[runtime]\ngc_percent = -1\n",
		want: []string{"2:14: runtime.gc_percent ~ needs runtime.memory_limit_mb"},
	}, {
		name: "gc off with a memory limit",
		text: "[runtime]\ngc_percent = -1\nmemory_limit_mb = 1024\n",
		check: func(c *Config) error {
			if c.Runtime != (Runtime{GCPercent: -1, MemoryLimitMB: 1024}) {
				return fmt.Errorf("runtime = %+v", c.Runtime)
			}
			return nil
		},
	}, {
		name: "negative max_procs",
		text: "[runtime]\nmax_procs = -2\n",
		want: []string{"2:13: runtime.max_procs ~ want 0 (one per CPU) or more"},
	}, {
		name: "negative memory_limit_mb",
		text: "[runtime]\nmemory_limit_mb = -1\n",
		want: []string{"2:19: runtime.memory_limit_mb ~ want 0 (no limit) or more"},
	}, {
		name: "negative max_contacts",
		text: "[registrar]\nmax_contacts = -1\n",
		want: []string{"2:16: registrar.max_contacts ~ want 0 (no limit) or more"},
	}, {
		name: "bad store synchronous",
		text: "[store]\nsynchronous = \"sometimes\"\n",
		want: []string{`2:15: store.synchronous ~ want "normal" or "full"`},
	}, {
		name: "store commit delay too long",
		text: "[store]\ncommit_delay = \"1s\"\n",
		want: []string{"2:16: store.commit_delay ~ 1s: want 0s to 100ms"},
	}, {
		name: "several errors at once, in the file's order",
		text: `listen = ["udp:0.0.0.0:5060", "tls:0.0.0.0:5061", "bogus"]
mode = "stateless"
bogus = 1
log_level = 7
max_contacts = 3

[registrar]
min_expires = "10m"
max_expires = "5m"
maxcontacts = 4
default_expires = "forever"
`,
		want: []string{
			`1:31: listen ~ a tls listener needs tls_cert and tls_key`,
			`1:51: listen ~ "bogus": want scheme:address:port`,
			`2:8: mode ~ "stateless" needs auth = "off"`,
			`3:1: bogus ~ unknown key`,
			`4:13: log_level ~ want a string, not an integer`,
			`5:1: max_contacts ~ belongs in the [registrar] table`,
			`8:15: registrar.min_expires ~ min_expires 10m is above max_expires 5m`,
			`10:1: registrar.maxcontacts ~ did you mean max_contacts?`,
			`11:19: registrar.default_expires ~ "forever": want a duration`,
		},
	}, {
		name: "strings that look like keys do not move positions",
		text: `domain = ["""
example.com"""]
data_dir = '''
bogus = 1
'''
tls_cert = "a\"b = c"
bogus = 2
`,
		want: []string{
			"6:12: tls_cert ~ set without tls_key",
			"7:1: bogus ~ unknown key",
		},
	}, {
		name: "positions after multi-line strings and arrays",
		text: `admin = """
bogus = 1"""
listen = [ # where
  "udp:0.0.0.0:5060", # UDP
  [1, 2], "x]",
]
"quoted key" = 1
`,
		want: []string{
			`1:9: admin ~ want host:port`,
			`5:3: listen ~ element 2: want a string, not an array`,
			`7:1: "quoted key" ~ unknown key`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, tt.text)
			c, err := Load(file)
			if err := checkErrors(err, file, tt.want); err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				if err := tt.check(&c); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// equal reports how got differs from want, where it came from aside.
func equal(got, want Config) error {
	got.src, want.src = nil, nil
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("got  %+v\nwant %+v", got, want)
	}
	return nil
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "sipd.toml", Line: 3, Col: 7, Key: "mode", Reason: "bad"}, "sipd.toml:3:7: mode: bad"},
		{Error{File: "sipd.toml", Line: 3, Col: 7, Reason: "syntax: bad"}, "sipd.toml:3:7: syntax: bad"},
		{Error{File: "sipd.toml", Key: "domain", Reason: "none"}, "sipd.toml: domain: none"},
		{Error{Key: "domain", Reason: "none"}, "domain: none"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	errs := Errors{&tests[0].e, &tests[2].e}
	if got, want := errs.Error(), "sipd.toml:3:7: mode: bad\nsipd.toml: domain: none"; got != want {
		t.Errorf("Errors: got %q, want %q", got, want)
	}
	var e *Error
	if !errors.As(error(errs), &e) || e != &tests[0].e {
		t.Errorf("errors.As does not find the first *Error")
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if len(c.Domain) == 0 {
		// This machine has no host name: the default names no domain,
		// which Validate must say, and is valid once one is given.
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "no domain") {
			t.Fatalf("Validate of a config with no domain = %v, want a no domain error", err)
		}
		c.Domain = []string{"example.com"}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidateWithoutFile checks the errors of a Config built in code:
// keys without positions, every problem at once.
func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.Domain = nil
	c.Mode = "stateless"
	c.Registrar.MinExpires = Duration{2 * time.Hour}
	c.Registrar.DefaultExpires = Duration{2 * time.Hour}
	err := c.Validate()
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Validate: %v, want Errors", err)
	}
	var keys []string
	for _, e := range errs {
		if e.File != "" || e.Line != 0 || e.Col != 0 {
			t.Errorf("%q has a position", e)
		}
		keys = append(keys, e.Key)
	}
	if want := []string{"domain", "mode", "registrar.min_expires"}; !slices.Equal(keys, want) {
		t.Errorf("keys of errors %q, want %q\n%v", keys, want, err)
	}
}

// TestValidateAfterOverride checks the positions of Validate's errors
// once flags have changed a loaded Config: a changed value is not the
// file's, and its errors point nowhere; an unchanged one still points
// into the file.
func TestValidateAfterOverride(t *testing.T) {
	file := writeFile(t, "mode = \"redirect\"\nlisten = [\"udp:127.0.0.1:5060\"]\n[registrar]\nmin_expires = \"10m\"\n")
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	c.Mode = "bogus"                                   // as --mode bogus would
	c.Listen[0] = "tls::5061"                          // changed in place
	c.Registrar.MaxExpires = Duration{5 * time.Minute} // not in the file
	err = c.Validate()
	want := []string{
		file + `:4:15: registrar.min_expires: min_expires 10m is above max_expires 5m`,
		`listen: "tls::5061": a tls listener needs tls_cert and tls_key`,
		`mode: "bogus": want "registrar", "redirect", "proxy" or "stateless"`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Validate:\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

func TestDuration(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
		text string
	}{
		{"60s", time.Minute, "1m"},
		{"3600", time.Hour, "1h"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"86400s", 24 * time.Hour, "24h"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"0", 0, "0s"},
		{"1h0m5s", time.Hour + 5*time.Second, "1h0m5s"},
	}
	for _, tt := range good {
		var d Duration
		if err := d.UnmarshalText([]byte(tt.in)); err != nil || d.Duration != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", tt.in, d.Duration, err, tt.want)
		}
		text, _ := d.MarshalText()
		if string(text) != tt.text {
			t.Errorf("MarshalText(%v) = %q, want %q", tt.want, text, tt.text)
		}
		var back Duration
		if err := back.UnmarshalText(text); err != nil || back != d {
			t.Errorf("%q does not read back as %v: %v, %v", text, d, back, err)
		}
	}
	for _, in := range []string{"", "1 hour", "2d", "60x", "99999999999999999999", "-"} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("UnmarshalText(%q) = %v, want an error", in, d)
		}
	}
}
