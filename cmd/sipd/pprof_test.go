package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPprofOnlyWhenAsked: sipd serve opens the profiling listener only
// with --pprof (or the pprof key), and exits when it cannot listen.
func TestPprofOnlyWhenAsked(t *testing.T) {
	var errb strings.Builder
	code := runServe([]string{"--domain", "example.com", "--data-dir", t.TempDir(), "--listen", "udp:127.0.0.1:0", "--pprof", "192.0.2.1:1"}, io.Discard, &errb)
	if code != 1 || !strings.Contains(errb.String(), "pprof") {
		t.Errorf("runServe --pprof 192.0.2.1:1 = %d, %q; want 1 and a pprof error", code, errb.String())
	}
	errb.Reset()
	code = runServe([]string{"--domain", "example.com", "--data-dir", t.TempDir(), "--listen", "udp:127.0.0.1:0", "--pprof", "nonsense"}, io.Discard, &errb)
	if code != 2 || !strings.Contains(errb.String(), "pprof") {
		t.Errorf("runServe --pprof nonsense = %d, %q; want 2 and a config error", code, errb.String())
	}
}

func TestPprofServesProfiles(t *testing.T) {
	addr, closeFn, err := startPprof("127.0.0.1:0", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr.String()
	client := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/allocs?debug=1", "/debug/pprof/cmdline"} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s = %d, %d bytes; want 200 with a body", path, resp.StatusCode, len(body))
		}
		if path == "/debug/pprof/heap?debug=1" && !strings.Contains(string(body), "HeapInuse") {
			t.Errorf("heap profile has no MemStats:\n%.300s", body)
		}
	}
	closeFn()
	if _, err := client.Get(base + "/debug/pprof/"); err == nil {
		t.Error("the pprof listener still answers after close")
	}
}
