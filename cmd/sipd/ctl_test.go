package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipd/sipd/admin"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/storage/memory"
)

// startAdmin starts an admin server on a free port over a memory store
// holding n bindings, two per AOR, and returns its address.
func startAdmin(t *testing.T, n int) string {
	t.Helper()
	store := memory.New()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for i := 0; i < n; i += 2 {
		aor := fmt.Sprintf("sip:user%04d@example.com", i/2)
		_, err := store.Apply(ctx, aor, func([]location.Binding) ([]location.Binding, error) {
			var bs []location.Binding
			for j := i; j < min(i+2, n); j++ {
				bs = append(bs, location.Binding{
					Contact:   fmt.Sprintf("sip:user%04d@192.0.2.1:%d", i/2, 10000+j),
					Q:         1000,
					Expires:   exp,
					Transport: "UDP",
					Source:    netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(10000+j)),
					UserAgent: "test agent",
				})
			}
			return bs, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s := admin.New(admin.Config{Addr: "127.0.0.1:0"}, store)
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return addr.String()
}

func ctl(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runCtl(args, &out, &errb)
	return code, out.String(), errb.String()
}

// decodeRegs decodes --json output into the API's type, refusing fields
// the API does not have.
func decodeRegs(t *testing.T, out string) []admin.Registration {
	t.Helper()
	var regs []admin.Registration
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&regs); err != nil {
		t.Fatalf("decoding %.200q: %v", out, err)
	}
	if regs == nil {
		t.Fatalf("output %q is not a JSON array", out)
	}
	return regs
}

func TestCtlRegistrationsJSON(t *testing.T) {
	addr := startAdmin(t, 250)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"one page", nil, 250},
		{"many pages", []string{"--page-size", "7"}, 250},
		{"page size divides total", []string{"--page-size", "50"}, 250},
		{"limit", []string{"--limit", "10"}, 10},
		{"limit across pages", []string{"--limit", "23", "--page-size", "10"}, 23},
		{"limit above total", []string{"--limit", "1000"}, 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := ctl(append([]string{"registrations", "--admin", addr, "--json"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %s", code, errs)
			}
			regs := decodeRegs(t, out)
			if len(regs) != tt.want {
				t.Fatalf("%d registrations, want %d", len(regs), tt.want)
			}
			// In order, each once.
			for i, r := range regs {
				want := fmt.Sprintf("sip:user%04d@192.0.2.1:%d", i/2, 10000+i)
				if r.Contact != want || r.AOR != fmt.Sprintf("sip:user%04d@example.com", i/2) {
					t.Fatalf("registration %d is %s %s, want contact %s", i, r.AOR, r.Contact, want)
				}
				if r.ExpiresIn < 3590 || r.ExpiresIn > 3600 || r.Q != 1 || r.Transport != "UDP" || r.Path == nil {
					t.Fatalf("registration %d: %+v", i, r)
				}
			}
		})
	}
}

func TestCtlRegistrationsTable(t *testing.T) {
	addr := startAdmin(t, 250)
	code, out, errs := ctl("registrations", "--admin", addr, "--page-size", "100")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 251 {
		t.Fatalf("%d lines, want a header and 250 rows", len(lines))
	}
	header := strings.Fields(lines[0])
	if strings.Join(header, " ") != "AOR CONTACT EXPIRES IN SOURCE TRANSPORT USER AGENT" {
		t.Errorf("header %q", lines[0])
	}
	// Columns line up: CONTACT starts at the same offset in every line.
	col := strings.Index(lines[0], "CONTACT")
	for i, l := range lines[1:] {
		if !strings.HasPrefix(l[col:], fmt.Sprintf("sip:user%04d@192.0.2.1:%d ", i/2, 10000+i)) {
			t.Fatalf("row %d %q: contact not at column %d", i, l, col)
		}
		if !strings.Contains(l, "192.0.2.1:"+fmt.Sprint(10000+i)) || !strings.Contains(l, " UDP ") ||
			!strings.HasSuffix(l, "test agent") || !strings.Contains(l, "m") {
			t.Fatalf("row %d %q", i, l)
		}
	}
}

func TestCtlEmpty(t *testing.T) {
	addr := startAdmin(t, 0)
	code, out, _ := ctl("registrations", "--admin", addr, "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("--json: exit %d, output %q, want []", code, out)
	}
	code, out, _ = ctl("registrations", "--admin", "http://"+addr)
	if code != 0 || !strings.HasPrefix(out, "AOR") || strings.Count(out, "\n") != 1 {
		t.Errorf("table: exit %d, output %q, want the header alone", code, out)
	}
}

// TestCtlTableSanitizes checks that control characters from SIP clients
// cannot break the table or reach the terminal.
func TestCtlTableSanitizes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"total":1,"aors":1,"offset":0,"limit":1000,"registrations":[
			{"aor":"sip:a@example.com","contact":"sip:a@192.0.2.1","expires_in":90,"user_agent":"evil\tagent\u001b[2J\nx","source":""}]}`)
	}))
	defer srv.Close()
	code, out, errs := ctl("registrations", "--admin", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || strings.ContainsRune(out, '\x1b') || !strings.HasSuffix(lines[1], "evil?agent?[2J?x") ||
		!strings.Contains(lines[1], "1m30s") || !strings.Contains(lines[1], " - ") {
		t.Errorf("output %q", out)
	}
}

// TestCtlPaging checks the walk against a server that caps pages below
// what was asked, and one whose total never stops growing.
func TestCtlPaging(t *testing.T) {
	t.Run("server caps pages", func(t *testing.T) {
		var requests atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			var off int
			fmt.Sscan(r.URL.Query().Get("offset"), &off)
			var regs []string
			for i := off; i < min(off+3, 10); i++ {
				regs = append(regs, fmt.Sprintf(`{"aor":"sip:%d@x","contact":"sip:%d@y"}`, i, i))
			}
			fmt.Fprintf(w, `{"total":10,"registrations":[%s]}`, strings.Join(regs, ","))
		}))
		defer srv.Close()
		code, out, errs := ctl("registrations", "--admin", srv.URL, "--json")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, errs)
		}
		if n := len(decodeRegs(t, out)); n != 10 {
			t.Errorf("%d registrations, want 10", n)
		}
		if n := requests.Load(); n != 4 {
			t.Errorf("%d requests, want 4", n)
		}
	})
	t.Run("empty page ends the walk", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("offset") == "0" {
				fmt.Fprint(w, `{"total":500,"registrations":[{"aor":"sip:a@x"}]}`)
				return
			}
			fmt.Fprint(w, `{"total":500,"registrations":[]}`)
		}))
		defer srv.Close()
		code, out, _ := ctl("registrations", "--admin", srv.URL, "--json")
		if code != 0 || len(decodeRegs(t, out)) != 1 {
			t.Errorf("exit %d, output %q", code, out)
		}
	})
}

func TestCtlErrors(t *testing.T) {
	// A port nothing listens on: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()

	errSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":"location store unavailable"}`)
	}))
	defer errSrv.Close()
	plainSrv := httptest.NewServer(http.NotFoundHandler())
	defer plainSrv.Close()
	garbageSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html>`)
	}))
	defer garbageSrv.Close()

	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"server down", []string{"registrations", "--admin", down}, 1, "connection refused"},
		{"server down json", []string{"registrations", "--admin", down, "--json"}, 1, "is sipd serve running with --admin " + down + "?"},
		{"error status with message", []string{"registrations", "--admin", errSrv.URL}, 1, "503 Service Unavailable: location store unavailable"},
		{"error status without JSON", []string{"registrations", "--admin", plainSrv.URL}, 1, "404 Not Found"},
		{"not JSON", []string{"registrations", "--admin", garbageSrv.URL}, 1, "bad answer"},
		{"no command", nil, 2, "usage: sipd ctl"},
		{"unknown command", []string{"frobs"}, 2, `unknown command "frobs"`},
		{"unknown flag", []string{"registrations", "--nope"}, 2, "usage: sipd ctl registrations"},
		{"extra argument", []string{"registrations", "extra"}, 2, `unexpected argument "extra"`},
		{"negative limit", []string{"registrations", "--limit", "-1"}, 2, "--limit"},
		{"limit not a number", []string{"registrations", "--limit", "x"}, 2, "invalid value"},
		{"page size zero", []string{"registrations", "--page-size", "0"}, 2, "--page-size"},
		{"page size too big", []string{"registrations", "--page-size", "1001"}, 2, "--page-size"},
		{"empty admin", []string{"registrations", "--admin", ""}, 2, "--admin"},
		{"bad scheme", []string{"registrations", "--admin", "ftp://x"}, 2, "--admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := ctl(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tt.code, errs)
			}
			if !strings.Contains(errs, tt.err) {
				t.Errorf("stderr %q does not contain %q", errs, tt.err)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

func TestCtlHelp(t *testing.T) {
	if code, out, _ := ctl("help"); code != 0 || !strings.Contains(out, "usage: sipd ctl") {
		t.Errorf("help: exit %d, output %q", code, out)
	}
	if code, _, errs := ctl("registrations", "-h"); code != 0 || !strings.Contains(errs, "--json") {
		t.Errorf("registrations -h: exit %d, stderr %q", code, errs)
	}
}
