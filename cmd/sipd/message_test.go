package main

import (
	"strings"
	"testing"
	"time"
)

// TestMessageCommand: sipd message to an in-process sipd answer, which
// prints the text; to a registrar, which does not take MESSAGE, exit 1.
func TestMessageCommand(t *testing.T) {
	addr, ansOut, _ := startAnswer(t)
	code, out, errOut := runCmd("message", "sip:bob@"+addr, "hello, bob", "--from", "Alice <sip:alice@example.com>")
	if code != 0 || errOut != "" || !strings.Contains(out, "→ MESSAGE sip:bob@"+addr) || !strings.Contains(out, "[text/plain 10 B]") ||
		!strings.Contains(out, "← 200 OK") {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	ansOut.waitFor(t, "MESSAGE from sip:alice@example.com: hello, bob", 5*time.Second)

	srv := startServe(t, "registrar", nil)
	code, out, errOut = runCmd("message", "sip:bob@"+srv.String(), "hi")
	if code != 1 || !strings.Contains(errOut, "sipd message: 405 Method Not Allowed") || !strings.Contains(out, "← 405 Method Not Allowed") {
		t.Errorf("to a registrar: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}
