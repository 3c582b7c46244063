package test

import (
	"bytes"
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
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	const calls = 1000
	srv := startSipd(t, t.TempDir(), "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off")
	dir := t.TempDir()
	copySIPpScenarios(t, dir, "proxy_register.xml", "proxy_uas.xml", "proxy_uac.xml")
	uasPort := strconv.Itoa(freeUDPPort(t))

	reg := exec.Command(sipp, srv.addr.String(), "-sf", "proxy_register.xml", "-key", "user", "uas",
		"-i", "127.0.0.1", "-p", uasPort, "-m", "1", "-timeout", "10s", "-timeout_error", "-trace_err", "-nostdin")
	reg.Dir = dir
	if out, err := reg.CombinedOutput(); err != nil {
		logSIPpErrors(t, dir)
		t.Fatalf("sipp REGISTER: %v\n%s", err, tail(string(out), 2000))
	}

	uas := exec.Command(sipp, "-sf", "proxy_uas.xml", "-i", "127.0.0.1", "-p", uasPort,
		"-m", strconv.Itoa(calls), "-timeout", "60s", "-timeout_error", "-trace_err", "-trace_counts", "-nostdin")
	uasDir := filepath.Join(dir, "uas")
	os.Mkdir(uasDir, 0o755)
	copySIPpScenarios(t, uasDir, "proxy_uas.xml")
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

	uac := exec.Command(sipp, srv.addr.String(), "-sf", "proxy_uac.xml", "-s", "uas",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)),
		"-m", strconv.Itoa(calls), "-r", "100", "-d", "0", "-default_behaviors", "all,-abortunexp",
		"-timeout", "60s", "-timeout_error", "-trace_err", "-trace_counts", "-nostdin")
	uac.Dir = dir
	out, err := uac.CombinedOutput()
	if err != nil {
		logSIPpErrors(t, dir)
		logSIPpErrors(t, uasDir)
		t.Fatalf("sipp UAC: %v\n%s", err, tail(string(out), 3000))
	}
	counts := readCounts(t, dir)
	for key, want := range map[string]int{"0_INVITE_Sent": calls, "4_200_Recv": calls, "5_ACK_Sent": calls,
		"7_BYE_Sent": calls, "8_200_Recv": calls} {
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
		t.Fatalf("sipp UAS did not finish its %d calls\n%s", calls, tail(uasOut.String(), 3000))
	}
	uc := readCounts(t, uasDir)
	for key, want := range map[string]int{"0_INVITE_Recv": calls, "4_BYE_Recv": calls, "3_ACK_Recv": calls} {
		if got := uc[key]; got != want {
			t.Errorf("UAS %s = %d, want %d; counts: %v", key, got, want, uc)
		}
	}
}
