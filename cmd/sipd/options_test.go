package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/config"
	"github.com/sipd/sipd/storage/sqlite"
)

// startServe runs `sipd serve` in process on a loopback UDP port, domain
// example.com, with the users (user@example.com: password) in its store,
// and returns its address; it stops at the end of the test.
func startServe(t *testing.T, mode string, users map[string]string) netip.AddrPort {
	t.Helper()
	dir := t.TempDir()
	if len(users) > 0 {
		store, err := sqlite.Open(context.Background(), filepath.Join(dir, "sipd.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for u, pw := range users {
			if err := store.Users().Put(context.Background(), auth.NewUser(u, "example.com", pw)); err != nil {
				t.Fatal(err)
			}
		}
		store.Close()
	}
	cfg := config.Default()
	cfg.Listen, cfg.Domain, cfg.DataDir, cfg.Mode, cfg.LogLevel = []string{"udp:127.0.0.1:0"}, []string{"example.com"}, dir, mode, "error"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, func(b []string) { ready <- b[0] }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case b := <-ready:
		return netip.MustParseAddrPort(strings.TrimPrefix(b, "udp:"))
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	return netip.AddrPort{}
}

// freePort returns a loopback UDP port nobody holds now.
func freePort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// runCmd runs a sipd command line in process.
func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// syncBuffer is a bytes.Buffer for a command running in another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls s until it holds sub.
func (s *syncBuffer) waitFor(t *testing.T, sub string, within time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(5 * time.Millisecond) {
		out := s.String()
		if i := strings.Index(out, sub); i >= 0 {
			line, _, _ := strings.Cut(out[i:], "\n")
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v in:\n%s", sub, within, out)
		}
	}
}

func TestOptionsCommand(t *testing.T) {
	srv := startServe(t, "registrar", nil)
	code, out, errOut := runCmd("options", "sip:"+srv.String())
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 || !strings.Contains(lines[0], "→ OPTIONS sip:"+srv.String()) || !strings.Contains(lines[0], "to "+srv.String()+"/udp") ||
		!strings.Contains(lines[1], "← 200 OK") || !strings.Contains(lines[1], "CSeq 1 OPTIONS") ||
		!strings.Contains(lines[2], "· OPTIONS sip:"+srv.String()+": 200 OK in ") {
		t.Errorf("flow:\n%s", out)
	}

	// Nobody there: exit 1 once --timeout has passed.
	start := time.Now()
	code, out, errOut = runCmd("options", "sip:"+freePort(t), "--timeout", "700ms")
	if code != 1 || !strings.Contains(errOut, "sipd options: no final response within 700ms") {
		t.Errorf("to a free port: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	if d := time.Since(start); d < 700*time.Millisecond || d > 5*time.Second {
		t.Errorf("to a free port: took %v with --timeout 700ms", d)
	}
}
