package test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// forkUAS is one SIPp UAS registered for the AOR uas, on a port of its own.
type forkUAS struct {
	name     string   // "a", "b": its directory and its name in failures
	q        string   // the q-value of its Contact
	scenario string   // fork_uas_*.xml
	args     []string // more SIPp arguments (-d)
	// counts are checked in its -trace_counts file: a count per column
	// name suffix (like "_CANCEL_Recv"; the prefix is the element index).
	counts map[string]int
}

// TestSIPpProxyFork: issue 5's forking acceptance through
// `sipd serve --mode proxy --auth off`. Two SIPp UAS register the AOR uas
// with their own Contacts (and q-values); a SIPp UAC calls it once. Every
// SIPp process must exit 0: each scenario requires the messages RFC 3261
// §16.7 and §16.10 send it (an ACK for a non-2xx final, a CANCEL for a
// losing branch) and fails on anything it does not expect.
func TestSIPpProxyFork(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	tests := []struct {
		name string
		uas  []forkUAS
		uac  string   // fork_uac*.xml
		args []string // more UAC arguments
		// uacCounts, by column name suffix as for forkUAS.counts.
		uacCounts map[string]int
	}{
		{
			// §16.7 steps 5-6: the 486 is kept while B is pending; B's
			// 200 goes upstream. A's 486 is ACKed by the proxy (§17.1.1.3).
			name: "parallel 486 and 200",
			uas: []forkUAS{
				{name: "a", q: "1.0", scenario: "fork_uas_busy.xml", args: []string{"-d", "0"},
					counts: map[string]int{"_INVITE_Recv": 1, "_ACK_Recv": 1}},
				{name: "b", q: "1.0", scenario: "fork_uas_answer.xml", args: []string{"-d", "300"},
					counts: map[string]int{"_INVITE_Recv": 1, "_ACK_Recv": 1, "_BYE_Recv": 1}},
			},
			uac: "fork_uac.xml", args: []string{"-d", "200"},
			uacCounts: map[string]int{"_200_Recv": 2, "_ACK_Sent": 1, "_BYE_Sent": 1},
		},
		{
			// §16.7 step 10: B's 200 cancels A, which rang.
			name: "parallel 200 cancels the other branch",
			uas: []forkUAS{
				{name: "a", q: "1.0", scenario: "fork_uas_cancelled.xml",
					counts: map[string]int{"_INVITE_Recv": 1, "_CANCEL_Recv": 1, "_487_Sent": 1, "_ACK_Recv": 1}},
				{name: "b", q: "1.0", scenario: "fork_uas_answer.xml", args: []string{"-d", "300"},
					counts: map[string]int{"_INVITE_Recv": 1, "_ACK_Recv": 1, "_BYE_Recv": 1}},
			},
			uac: "fork_uac.xml", args: []string{"-d", "200"},
			uacCounts: map[string]int{"_200_Recv": 2, "_ACK_Sent": 1, "_BYE_Sent": 1},
		},
		{
			// §16.6: q=1.0 first, q=0.5 once it failed. A rings and waits
			// 300 ms before its 480: were B tried at once, its 200 would
			// cancel A, whose scenario does not expect a CANCEL.
			name: "serial by q",
			uas: []forkUAS{
				{name: "a", q: "1.0", scenario: "fork_uas_unavailable.xml", args: []string{"-d", "300"},
					counts: map[string]int{"_INVITE_Recv": 1, "_ACK_Recv": 1}},
				{name: "b", q: "0.5", scenario: "fork_uas_answer.xml", args: []string{"-d", "0"},
					counts: map[string]int{"_INVITE_Recv": 1, "_ACK_Recv": 1, "_BYE_Recv": 1}},
			},
			uac: "fork_uac.xml", args: []string{"-d", "200"},
			uacCounts: map[string]int{"_200_Recv": 2, "_ACK_Sent": 1, "_BYE_Sent": 1},
		},
		{
			// §16.10: the caller's CANCEL is answered 200 by the proxy,
			// which cancels both ringing branches and sends a 487 upstream.
			name: "caller cancels",
			uas: []forkUAS{
				{name: "a", q: "1.0", scenario: "fork_uas_cancelled.xml",
					counts: map[string]int{"_INVITE_Recv": 1, "_CANCEL_Recv": 1, "_487_Sent": 1, "_ACK_Recv": 1}},
				{name: "b", q: "1.0", scenario: "fork_uas_cancelled.xml",
					counts: map[string]int{"_INVITE_Recv": 1, "_CANCEL_Recv": 1, "_487_Sent": 1, "_ACK_Recv": 1}},
			},
			uac: "fork_uac_cancel.xml", args: []string{"-d", "500"},
			uacCounts: map[string]int{"_CANCEL_Sent": 1, "_200_Recv": 1, "_487_Recv": 1, "_ACK_Sent": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSipd(t, t.TempDir(), "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off")
			var running []*sippRun
			for _, u := range tc.uas {
				dir := filepath.Join(t.TempDir(), u.name)
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				copySIPpScenarios(t, dir, "fork_register.xml", u.scenario)
				port := strconv.Itoa(freeUDPPort(t))
				reg := exec.Command(sipp, srv.addr.String(), "-sf", "fork_register.xml", "-key", "user", "uas", "-key", "q", u.q,
					"-i", "127.0.0.1", "-p", port, "-m", "1", "-timeout", "10s", "-timeout_error", "-trace_err", "-nostdin")
				reg.Dir = dir
				if out, err := reg.CombinedOutput(); err != nil {
					logSIPpErrors(t, dir)
					t.Fatalf("UAS %s REGISTER: %v\n%s", u.name, err, tail(string(out), 2000))
				}
				// The REGISTER run wrote its own error log; start clean.
				for _, f := range globs(dir, "*_errors.log", "*_counts.csv") {
					os.Remove(f)
				}
				args := append([]string{"-sf", u.scenario, "-i", "127.0.0.1", "-p", port}, u.args...)
				running = append(running, startSIPp(t, sipp, "UAS "+u.name, dir, port, args...))
			}

			dir := t.TempDir()
			copySIPpScenarios(t, dir, tc.uac)
			args := append([]string{srv.addr.String(), "-sf", tc.uac, "-s", "uas",
				"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t))}, tc.args...)
			uac := startSIPp(t, sipp, "UAC", dir, "", args...)

			failed := false
			for _, r := range append([]*sippRun{uac}, running...) {
				if err := r.wait(30 * time.Second); err != nil {
					t.Error(err)
					failed = true
				}
			}
			if failed {
				return
			}
			if err := checkCounts(readCounts(t, dir), tc.uacCounts); err != nil {
				t.Errorf("UAC: %v", err)
			}
			for i, u := range tc.uas {
				if err := checkCounts(readCounts(t, running[i].dir), u.counts); err != nil {
					t.Errorf("UAS %s: %v", u.name, err)
				}
			}
		})
	}
}

// sippRun is a SIPp process running one call in the background.
type sippRun struct {
	name string
	dir  string
	out  bytes.Buffer
	done chan error
}

// startSIPp starts SIPp in dir for one call (-m 1, bounded by -timeout) and,
// when port is not "", waits until it holds that UDP port: a UAS is ready
// once it can receive. The process is killed at cleanup if still running.
func startSIPp(t *testing.T, sipp, name, dir, port string, args ...string) *sippRun {
	t.Helper()
	args = append(args, "-m", "1", "-timeout", "15s", "-timeout_error", "-trace_err", "-trace_counts", "-trace_msg", "-nostdin")
	cmd := exec.Command(sipp, args...)
	cmd.Dir = dir
	r := &sippRun{name: name, dir: dir, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = &r.out, &r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		r.done <- <-r.done
	})
	if port == "" {
		return r
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.ListenPacket("udp", "127.0.0.1:"+port)
		if err != nil {
			return r // taken: SIPp is listening
		}
		c.Close()
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("%s exited before it listened: %v\n%s", name, err, tail(r.out.String(), 2000))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not bind 127.0.0.1:%s within 5 s", name, port)
		}
	}
}

// wait waits for the process to exit and returns an error, with the tails
// of SIPp's output, error log and message trace (-trace_msg), unless it
// exited 0.
func (r *sippRun) wait(d time.Duration) error {
	var err error
	select {
	case err = <-r.done:
		r.done <- err
	case <-time.After(d):
		err = fmt.Errorf("still running after %v", d)
	}
	if err == nil {
		return nil
	}
	var logs strings.Builder
	for _, f := range globs(r.dir, "*_errors.log", "*_messages.log") {
		b, _ := os.ReadFile(f)
		fmt.Fprintf(&logs, "%s:\n%s\n", filepath.Base(f), tail(string(b), 3000))
	}
	return fmt.Errorf("%s: %v\n%s\n%s", r.name, err, tail(r.out.String(), 1500), logs.String())
}

// checkCounts compares SIPp counts with want, whose keys are column name
// suffixes: the counts of the columns ending so are summed.
func checkCounts(counts map[string]int, want map[string]int) error {
	var errs []string
	for suffix, n := range want {
		got := 0
		for k, v := range counts {
			if strings.HasSuffix(k, suffix) {
				got += v
			}
		}
		if got != n {
			errs = append(errs, fmt.Sprintf("*%s = %d, want %d", suffix, got, n))
		}
	}
	if errs != nil {
		return fmt.Errorf("%s; counts: %v", strings.Join(errs, ", "), counts)
	}
	return nil
}

func globs(dir string, patterns ...string) []string {
	var all []string
	for _, p := range patterns {
		m, _ := filepath.Glob(filepath.Join(dir, p))
		all = append(all, m...)
	}
	return all
}
