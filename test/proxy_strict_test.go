package test

import (
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestSIPpProxyStrictRouting: calls through `sipd serve --mode proxy` with
// a strict router (RFC 2543 routing, RFC 3261 §16.12.1.2) on either side.
// A SIPp UAS registers uas; a SIPp UAC calls it: INVITE, 180, 200, ACK,
// BYE, 200. Both SIPp processes must exit 0 (their scenarios check the
// Request-URI and Route of what they receive), and the messages the UAS
// got are checked here exactly.
func TestSIPpProxyStrictRouting(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	tests := []struct {
		name     string
		uac, uas string
		// want gives, for each method the UAS receives, its Request-URI
		// and Route values; %[1]s is sipd's address, %[2]s the UAS port.
		want map[string][]string
	}{
		{
			// §16.4: the caller's side is a strict router, which put
			// sipd's Record-Route into the Request-URI and the real
			// destination into the last Route: sipd restores the
			// Request-URI from it. The INVITE's is sip:uas@sipd, which
			// sipd then retargets to the registered Contact; the ACK's
			// and the BYE's is the UAS's Contact. No Route is left.
			name: "caller side strict", uac: "strict_uac.xml", uas: "strict_uas_a.xml",
			want: map[string][]string{
				"INVITE": {"sip:uas@127.0.0.1:%[2]s"},
				"ACK":    {"sip:127.0.0.1:%[2]s;transport=UDP"},
				"BYE":    {"sip:127.0.0.1:%[2]s;transport=UDP"},
			},
		},
		{
			// §16.6 steps 6-7: after sipd's own Route, the next hop
			// <sip:127.0.0.1:UAS> has no ;lr: it becomes the Request-URI
			// and the Request-URI (the UAS's Contact) the last Route.
			name: "callee side strict", uac: "proxy_uac.xml", uas: "strict_uas_b.xml",
			want: map[string][]string{
				"INVITE": {"sip:uas@127.0.0.1:%[2]s"},
				"ACK":    {"sip:127.0.0.1:%[2]s", "<sip:127.0.0.1:%[2]s;transport=UDP>"},
				"BYE":    {"sip:127.0.0.1:%[2]s", "<sip:127.0.0.1:%[2]s;transport=UDP>"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSipd(t, t.TempDir(), "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off")
			regDir, uacDir, uasDir := t.TempDir(), t.TempDir(), t.TempDir()
			copySIPpScenarios(t, regDir, "proxy_register.xml")
			copySIPpScenarios(t, uacDir, tc.uac)
			copySIPpScenarios(t, uasDir, tc.uas)
			uasPort := strconv.Itoa(freeUDPPort(t))

			reg := startSIPp(t, sipp, "REGISTER", regDir, "", srv.addr.String(), "-sf", "proxy_register.xml",
				"-key", "user", "uas", "-i", "127.0.0.1", "-p", uasPort)
			if err := reg.wait(15 * time.Second); err != nil {
				t.Fatal(err)
			}
			uas := startSIPp(t, sipp, "UAS", uasDir, uasPort, "-sf", tc.uas, "-i", "127.0.0.1", "-p", uasPort)
			uac := startSIPp(t, sipp, "UAC", uacDir, "", srv.addr.String(), "-sf", tc.uac, "-s", "uas",
				"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)), "-d", "200",
				"-default_behaviors", "all,-abortunexp")
			if err := uac.wait(20 * time.Second); err != nil {
				t.Fatal(err)
			}
			if err := uas.wait(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			if err := checkCounts(readCounts(t, uacDir), map[string]int{"_INVITE_Sent": 1, "_ACK_Sent": 1, "_BYE_Sent": 1}); err != nil {
				t.Errorf("UAC: %v", err)
			}

			got := map[string][]string{}
			for _, m := range sippMessages(t, uasDir, "received") {
				method, rest, _ := cutSpace(m.start)
				uri, _, _ := cutSpace(rest)
				if _, seen := got[method]; seen {
					continue // a retransmission
				}
				got[method] = append([]string{uri}, m.values("Route")...)
			}
			for method, want := range tc.want {
				for i := range want {
					want[i] = fmt.Sprintf(want[i], srv.addr, uasPort)
				}
				if !slices.Equal(got[method], want) {
					t.Errorf("%s at the UAS: Request-URI and Route %q, want %q", method, got[method], want)
				}
			}
		})
	}
}

func cutSpace(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
