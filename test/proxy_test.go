package test

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// copySIPpScenarios copies scenario files from testdata/sipp into dir.
func copySIPpScenarios(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata/sipp", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// logSIPpErrors logs SIPp's error files in dir.
func logSIPpErrors(t *testing.T, dir string) {
	t.Helper()
	errs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
	for _, e := range errs {
		b, _ := os.ReadFile(e)
		t.Logf("%s:\n%s", e, tail(string(b), 3000))
	}
}

// TestSIPpProxyCalls: the benchmark's call-stateful contract through
// `sipd serve --mode proxy --auth off`. A SIPp UAS registers user uas
// with its own address as the Contact; a SIPp UAC then makes 100 calls to
// sip:uas@127.0.0.1:PORT: 1,000 calls at 100 per second. sipd finds the contact,
// forwards the INVITE with its Record-Route (the UAS checks for it), sends
// the 180 and 200 back, and stays in the dialog: the ACK (stateless) and
// the BYE (a transaction) come through it by the learned route. Every call
// must succeed on both sides.
func TestSIPpProxyCalls(t *testing.T) {
	srv := startSipd(t, t.TempDir(), "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off")
	callFlow{sipd: srv.addr, via: srv.addr.String(), uac: "proxy_uac.xml", calls: 1000, rate: 100, timeout: "60s"}.run(t)
}

// callFlow is the call flow of the bench harness: a SIPp UAS registers
// "uas" at sipd, then a SIPp UAC calls sip:uas@sipd (INVITE, 180, 200,
// ACK, BYE, 200) through via, which is sipd itself or a proxy in front of
// it. Every call must succeed on both sides.
type callFlow struct {
	sipd     netip.AddrPort
	via      string   // where the UAC sends
	uac      string   // the UAC scenario under testdata/sipp
	uacArgs  []string // more UAC arguments
	calls    int
	rate     int
	timeout  string // SIPp's -timeout for the UAS and the UAC
	traceMsg bool   // keep SIPp's message logs (-trace_msg)
}

// run runs the flow and returns the directories where the UAC and the UAS
// left their counts and message logs.
func (f callFlow) run(t *testing.T) (uacDir, uasDir string) {
	t.Helper()
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	trace := []string{"-trace_err", "-trace_counts", "-nostdin"}
	if f.traceMsg {
		trace = append(trace, "-trace_msg")
	}
	uacDir, uasDir = t.TempDir(), t.TempDir()
	copySIPpScenarios(t, uacDir, "proxy_register.xml", f.uac)
	copySIPpScenarios(t, uasDir, "proxy_uas.xml")
	uasPort := strconv.Itoa(freeUDPPort(t))

	reg := exec.Command(sipp, f.sipd.String(), "-sf", "proxy_register.xml", "-key", "user", "uas",
		"-i", "127.0.0.1", "-p", uasPort, "-m", "1", "-timeout", "10s", "-timeout_error", "-trace_err", "-nostdin")
	reg.Dir = uacDir
	if out, err := reg.CombinedOutput(); err != nil {
		logSIPpErrors(t, uacDir)
		t.Fatalf("sipp REGISTER: %v\n%s", err, tail(string(out), 2000))
	}

	uas := exec.Command(sipp, append([]string{"-sf", "proxy_uas.xml", "-i", "127.0.0.1", "-p", uasPort,
		"-m", strconv.Itoa(f.calls), "-timeout", f.timeout, "-timeout_error"}, trace...)...)
	uas.Dir = uasDir
	var uasOut bytes.Buffer
	uas.Stdout, uas.Stderr = &uasOut, &uasOut
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	uasDone := make(chan error, 1)
	go func() { uasDone <- uas.Wait() }()
	t.Cleanup(func() {
		uas.Process.Kill()
		<-uasDone
	})
	waitUDPBound(t, uasPort, 10*time.Second)

	args := append([]string{f.via, "-sf", f.uac, "-s", "uas"}, f.uacArgs...)
	args = append(args, "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)),
		"-m", strconv.Itoa(f.calls), "-r", strconv.Itoa(f.rate), "-d", "0", "-default_behaviors", "all,-abortunexp",
		"-timeout", f.timeout, "-timeout_error")
	uac := exec.Command(sipp, append(args, trace...)...)
	uac.Dir = uacDir
	if out, err := uac.CombinedOutput(); err != nil {
		logSIPpErrors(t, uacDir)
		logSIPpErrors(t, uasDir)
		t.Fatalf("sipp UAC: %v\n%s", err, tail(string(out), 3000))
	}
	counts := readCounts(t, uacDir)
	for key, want := range map[string]int{"0_INVITE_Sent": f.calls, "4_200_Recv": f.calls, "5_ACK_Sent": f.calls,
		"7_BYE_Sent": f.calls, "8_200_Recv": f.calls} {
		if got := counts[key]; got != want {
			t.Errorf("UAC %s = %d, want %d; counts: %v", key, got, want, counts)
		}
	}

	select {
	case err := <-uasDone:
		uasDone <- err
		if err != nil {
			logSIPpErrors(t, uasDir)
			t.Fatalf("sipp UAS: %v\n%s", err, tail(uasOut.String(), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("sipp UAS did not finish its %d calls\n%s", f.calls, tail(uasOut.String(), 3000))
	}
	uc := readCounts(t, uasDir)
	for key, want := range map[string]int{"0_INVITE_Recv": f.calls, "3_ACK_Recv": f.calls, "4_BYE_Recv": f.calls} {
		if got := uc[key]; got != want {
			t.Errorf("UAS %s = %d, want %d; counts: %v", key, got, want, uc)
		}
	}
	return uacDir, uasDir
}
