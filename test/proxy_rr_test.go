package test

import (
	"net"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestSIPpProxyDoubleRecordRoute: a call whose INVITE changes transport at
// `sipd serve --mode proxy`, which listens on UDP and TCP. The callee
// registers over UDP a Contact with transport=tcp and takes the call over
// TCP (sipp -t t1); the caller calls over UDP. sipd must record-route
// twice (RFC 3261 §16.6 step 4, RFC 5658): its TCP listener on top,
// its UDP listener below. The ACK and the BYE of the caller come back with
// Route: <udp>, <tcp>, and sipd, finding both its own (§16.4), strips both
// and sends them to the callee's Contact over TCP; the 200 to the BYE
// goes back, each request passing sipd once. Both SIPp processes must exit 0.
func TestSIPpProxyDoubleRecordRoute(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	srv := startSipd(t, t.TempDir(), "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off",
		"--listen", "tcp:127.0.0.1:0")
	tcp, ok := srv.addrs["tcp"]
	if !ok {
		t.Fatalf("sipd has no TCP listener: %v", srv.addrs)
	}
	regDir, uacDir, uasDir := t.TempDir(), t.TempDir(), t.TempDir()
	copySIPpScenarios(t, regDir, "rr_register_tcp.xml")
	copySIPpScenarios(t, uacDir, "proxy_uac.xml")
	copySIPpScenarios(t, uasDir, "rr_uas_tcp.xml")
	uasPort := strconv.Itoa(freeTCPPort(t))

	reg := startSIPp(t, sipp, "REGISTER", regDir, "", srv.addr.String(), "-sf", "rr_register_tcp.xml",
		"-key", "user", "uas", "-i", "127.0.0.1", "-p", uasPort)
	if err := reg.wait(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	uas := startSIPp(t, sipp, "UAS", uasDir, "", "-sf", "rr_uas_tcp.xml", "-t", "t1",
		"-i", "127.0.0.1", "-p", uasPort, "-d", "100")
	waitTCPListening(t, "127.0.0.1:"+uasPort, 5*time.Second)
	uac := startSIPp(t, sipp, "UAC", uacDir, "", srv.addr.String(), "-sf", "proxy_uac.xml", "-s", "uas",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)), "-d", "200",
		"-default_behaviors", "all,-abortunexp")
	if err := uac.wait(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := uas.wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := checkCounts(readCounts(t, uacDir), map[string]int{"_INVITE_Sent": 1, "_200_Recv": 2, "_BYE_Sent": 1}); err != nil {
		t.Errorf("UAC: %v", err)
	}

	wantRR := []string{"<sip:" + tcp.String() + ";transport=tcp;lr>", "<sip:" + srv.addr.String() + ";transport=udp;lr>"}
	seen := map[string]bool{}
	for _, m := range sippMessages(t, uasDir, "received") {
		method, rest, _ := cutSpace(m.start)
		if seen[method] {
			continue
		}
		seen[method] = true
		uri, _, _ := cutSpace(rest)
		switch method {
		case "INVITE":
			if rr := m.values("Record-Route"); !slices.Equal(rr, wantRR) {
				t.Errorf("INVITE Record-Route %q, want %q", rr, wantRR)
			}
		case "ACK", "BYE":
			if r := m.values("Route"); len(r) != 0 {
				t.Errorf("%s with Route %q: sipd did not strip both its entries", method, r)
			}
			// Had sipd taken its second entry for another hop's, it
			// would have sent the request to itself and back: a spiral
			// with two Vias of its own.
			if v := m.values("Via"); len(v) != 2 {
				t.Errorf("%s with Vias %q, want sipd's and the caller's", method, v)
			}
			if want := "sip:127.0.0.1:" + uasPort + ";transport=TCP"; uri != want {
				t.Errorf("%s Request-URI %s, want %s", method, uri, want)
			}
		}
	}
	for _, m := range []string{"INVITE", "ACK", "BYE"} {
		if !seen[m] {
			t.Errorf("the UAS received no %s", m)
		}
	}
}

// freeTCPPort returns a loopback TCP port that is free now.

// waitTCPListening polls until something accepts TCP connections at addr.
func waitTCPListening(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); ; {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after %v", addr, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
