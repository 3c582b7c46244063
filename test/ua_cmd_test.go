package test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// cmdResult is what a finished client command (sipd options, call, ...)
// printed and its exit status.
type cmdResult struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r cmdResult) String() string {
	return fmt.Sprintf("sipd %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runSipdCmd runs a sipd client command to its end, killing it after
// within.
func runSipdCmd(t *testing.T, within time.Duration, args ...string) cmdResult {
	t.Helper()
	cmd := exec.Command(sipdBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(within):
		cmd.Process.Kill()
		<-done
		t.Fatalf("sipd %s still running after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), within, out.String(), errb.String())
	}
	r := cmdResult{args: args, stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return r
}

// flowLines returns the arrow lines of a call flow, "→ INVITE ...",
// "← 200 OK ...", with the time column dropped and runs of spaces made
// one.
func flowLines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if i := strings.IndexAny(l, "→←"); i > 0 {
			ls = append(ls, strings.Join(strings.Fields(l[i:]), " "))
		}
	}
	return ls
}

// checkFlow checks that the call flow in out has lines matching each of
// the regular expressions want (anchored at the arrow), in that order;
// other lines may come between.
func checkFlow(out string, want ...string) error {
	ls := flowLines(out)
	i := 0
	for _, l := range ls {
		if i < len(want) && regexp.MustCompile("^"+want[i]).MatchString(l) {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("call flow lacks %q (after %q):\n%s", want[i], want[:i], strings.Join(ls, "\n"))
	}
	return nil
}

// sipdBg is a client command running in the background, such as
// `sipd answer`, whose output the test watches.
type sipdBg struct {
	cmd  *exec.Cmd
	addr netip.AddrPort // where it listens, from its "listening on" line

	mu     sync.Mutex
	out    []string
	stderr bytes.Buffer
	more   chan struct{}
	done   chan struct{}
	code   int
}

var listeningRE = regexp.MustCompile(`listening on (\S+)/(udp|tcp|tls)`)

// startSipdBg runs `sipd ARGS...` and, when it is a listener (answer),
// waits for its "listening on ADDR/udp" line.
func startSipdBg(t *testing.T, args ...string) *sipdBg {
	t.Helper()
	p := &sipdBg{cmd: exec.Command(sipdBinary(t), args...), more: make(chan struct{}), done: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out = append(p.out, sc.Text())
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
		err := p.cmd.Wait()
		var ee *exec.ExitError
		p.mu.Lock()
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("sipd %s:\n%s\nstderr:\n%s", strings.Join(args, " "), p.output(), p.errOutput())
		}
	})
	if args[0] == "answer" {
		l, err := p.waitLine(10*time.Second, "listening on")
		if err != nil {
			t.Fatal(err)
		}
		m := listeningRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("no address in %q", l)
		}
		if p.addr, err = netip.ParseAddrPort(m[1]); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
	}
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// waitLine waits for an output line holding each of subs and returns it.
func (p *sipdBg) waitLine(within time.Duration, subs ...string) (string, error) {
	deadline := time.After(within)
	for {
		p.mu.Lock()
		more := p.more
		for _, l := range p.out {
			ok := true
			for _, s := range subs {
				ok = ok && strings.Contains(l, s)
			}
			if ok {
				p.mu.Unlock()
				return l, nil
			}
		}
		p.mu.Unlock()
		select {
		case <-more:
		case <-p.done:
			select {
			case <-more:
				continue // a last line came
			default:
			}
			return "", fmt.Errorf("sipd %s exited without a line with %q", p.cmd.Args[1], subs)
		case <-deadline:
			return "", fmt.Errorf("no sipd %s line with %q within %v", p.cmd.Args[1], subs, within)
		}
	}
}

// wait waits for the process to exit and returns its exit status.
func (p *sipdBg) wait(within time.Duration) (int, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.code, nil
	case <-time.After(within):
		return 0, fmt.Errorf("sipd %s still running after %v", p.cmd.Args[1], within)
	}
}

func (p *sipdBg) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.out, "\n")
}

func (p *sipdBg) errOutput() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}
