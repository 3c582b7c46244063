package test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/transport"
)

// TestUAClientOptions: `sipd options` against `sipd serve` over UDP, TCP
// and TLS (trusting the server's self-signed certificate with --tls-ca,
// and failing without it) succeeds with the flow → OPTIONS, ← 200;
// against a port nobody
// holds it retransmits (RFC 3261 §17.1.2.2, Timer E from T1) and fails
// with exit status 1 when --timeout passes.
func TestUAClientOptions(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := transport.GenerateSelfSigned([]string{"127.0.0.1"}, cert, key); err != nil {
		t.Fatal(err)
	}
	// Two stream listeners on port 0 are refused as "the same port": TLS
	// gets a port free now.
	tlsAddr := "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
	srv := startSipd(t, t.TempDir(), "--listen", "tcp:127.0.0.1:0", "--listen", "tls:"+tlsAddr, "--tls-cert", cert, "--tls-key", key)
	for _, tr := range []string{"udp", "tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			addr := srv.addrs[tr].String()
			r := runSipdCmd(t, 20*time.Second, "options", "sip:"+addr, "--transport", tr, "--tls-ca", cert)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("%s", r)
			}
			uri := regexp.QuoteMeta("sip:" + addr)
			if err := checkFlow(r.stdout,
				`→ OPTIONS `+uri+`(;transport=`+tr+`)? CSeq 1 OPTIONS to `+regexp.QuoteMeta(addr+"/"+tr)+`$`,
				`← 200 OK CSeq 1 OPTIONS from `+regexp.QuoteMeta(addr+"/"+tr)+`$`); err != nil {
				t.Error(err)
			}
			if !strings.Contains(r.stdout, "· OPTIONS sip:"+addr) || !strings.Contains(r.stdout, ": 200 OK in ") {
				t.Errorf("no summary:\n%s", r.stdout)
			}
		})
	}
	t.Run("tls untrusted", func(t *testing.T) {
		r := runSipdCmd(t, 20*time.Second, "options", "sip:"+srv.addrs["tls"].String(), "--transport", "tls")
		if r.code != 1 || !strings.Contains(r.stderr, "certificate signed by unknown authority") {
			t.Errorf("%s", r)
		}
	})
	t.Run("nobody there", func(t *testing.T) {
		addr := "127.0.0.1:" + strconv.Itoa(freeUDPPort(t))
		start := time.Now()
		r := runSipdCmd(t, 20*time.Second, "options", "sip:"+addr, "--timeout", "1200ms")
		if r.code != 1 || !strings.Contains(r.stderr, "sipd options: no final response within 1.2s") {
			t.Fatalf("%s", r)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v with --timeout 1.2s", d)
		}
		// Sent at 0 and again at T1 = 500 ms; the next would be at 1.5 s.
		if n := strings.Count(strings.Join(flowLines(r.stdout), "\n"), "→ OPTIONS sip:"+addr); n != 2 {
			t.Errorf("%d OPTIONS sent in 1.2 s, want 2 (at 0 and T1):\n%s", n, r.stdout)
		}
	})
}

// TestUAClientMessage: MESSAGE (RFC 3428) through `sipd serve --mode
// proxy` to a `sipd answer` that registered there as user0: the sender,
// user1 of the server's domain, is challenged with 407 and answers it;
// the server relays the MESSAGE to user0's Contact, and sipd answer
// prints the text. A MESSAGE sent straight to sipd answer is printed too.
// Without a password the 407 is final: exit status 1. A registrar-mode
// server does not take MESSAGE: 405, exit status 1.
func TestUAClientMessage(t *testing.T) {
	dataDir := t.TempDir()
	addUsers(t, dataDir, 2)
	srv := startSipd(t, dataDir, "--mode", "proxy")
	proxy := "sip:" + srv.addr.String()
	ans := startSipdBg(t, "answer", "--listen", "127.0.0.1:0", "--registrar", "sip:example.com", "--proxy", proxy,
		"--user", "user0", "--password", "pw-user0")
	if _, err := ans.waitLine(10*time.Second, "registered sip:user0@example.com at sip:user0@"+ans.addr.String()); err != nil {
		t.Fatal(err)
	}

	r := runSipdCmd(t, 20*time.Second, "message", "sip:user0@example.com", "hello through sipd", "--proxy", proxy,
		"--from", "sip:user1@example.com", "--user", "user1", "--password", "pw-user1")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	if err := checkFlow(r.stdout, `→ MESSAGE sip:user0@example\.com CSeq 1 MESSAGE to `+regexp.QuoteMeta(srv.addr.String())+`/udp \[text/plain 18 B\]`,
		"← 407 Proxy Authentication Required CSeq 1 MESSAGE", "→ MESSAGE sip:user0@example.com CSeq 2 MESSAGE",
		"← 200 OK CSeq 2 MESSAGE"); err != nil {
		t.Error(err)
	}
	if _, err := ans.waitLine(5*time.Second, "MESSAGE from sip:user1@example.com: hello through sipd"); err != nil {
		t.Error(err)
	}
	if err := checkFlow(ans.output(), "← MESSAGE sip:user0@"+regexp.QuoteMeta(ans.addr.String()), "→ 200 OK CSeq 2 MESSAGE"); err != nil {
		t.Error(err)
	}

	r = runSipdCmd(t, 20*time.Second, "message", "sip:bob@"+ans.addr.String(), "straight to you")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	if _, err := ans.waitLine(5*time.Second, "MESSAGE from sip:sipd@", "straight to you"); err != nil {
		t.Error(err)
	}

	r = runSipdCmd(t, 20*time.Second, "message", "sip:user0@example.com", "no password", "--proxy", proxy,
		"--from", "sip:user1@example.com")
	if r.code != 1 || !strings.Contains(r.stderr, "sipd message: 407 Proxy Authentication Required") {
		t.Errorf("without a password: %s", r)
	}

	reg := startSipd(t, t.TempDir())
	r = runSipdCmd(t, 20*time.Second, "message", "sip:user0@"+reg.addr.String(), "hi")
	if r.code != 1 || !strings.Contains(r.stderr, "405 Method Not Allowed") {
		t.Errorf("to a registrar: %s", r)
	}
}

// TestUACallInterrupt: `sipd call` without --duration stays in the call
// until Ctrl-C (SIGINT), then hangs up with BYE and exits 0; `sipd answer
// --once` sees the BYE and exits 0 too.
func TestUACallInterrupt(t *testing.T) {
	ans := startSipdBg(t, "answer", "--listen", "127.0.0.1:0", "--once")
	call := startSipdBg(t, "call", "sip:bob@"+ans.addr.String())
	if _, err := call.waitLine(10*time.Second, "call established"); err != nil {
		t.Fatal(err)
	}
	if err := call.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code, err := call.wait(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipd call: exit %d, %v", code, err)
	}
	if err := checkFlow(call.output(), "→ INVITE", "← 200 OK CSeq 1 INVITE", "→ ACK", "→ BYE", "← 200 OK CSeq 2 BYE"); err != nil {
		t.Error(err)
	}
	if code, err := ans.wait(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipd answer: exit %d, %v", code, err)
	}
	if _, err := ans.waitLine(time.Second, "call ended by the peer"); err != nil {
		t.Error(err)
	}
}
