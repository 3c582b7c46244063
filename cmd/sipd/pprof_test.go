package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPprofFlag(t *testing.T) {
	if _, err := loadServeConfig([]string{"--domain", "example.com"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if pprofAddr != "" {
		t.Errorf("pprof address without the flag = %q, want none", pprofAddr)
	}
	if _, err := loadServeConfig([]string{"--domain", "example.com", "--pprof", "127.0.0.1:6060"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if pprofAddr != "127.0.0.1:6060" {
		t.Errorf("pprof address = %q, want 127.0.0.1:6060", pprofAddr)
	}
	pprofAddr = ""
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
