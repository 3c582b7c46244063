package test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/sipd/sipd/sip"
)

// startDNS runs a DNS server on a loopback UDP port that answers from
// records (zone file lines); other names get NXDOMAIN.
func startDNS(t *testing.T, records ...string) string {
	t.Helper()
	var rrs []mdns.RR
	for _, s := range records {
		rr, err := mdns.NewRR(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		rrs = append(rrs, rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := mdns.HandlerFunc(func(w mdns.ResponseWriter, req *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		found := false
		for _, rr := range rrs {
			if strings.EqualFold(rr.Header().Name, q.Name) {
				found = true
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		if !found {
			m.Rcode = mdns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	srv := &mdns.Server{PacketConn: pc, Handler: handler}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestSIPpProxyDNS: `sipd serve --mode proxy` with [dns] servers pointing
// at a DNS server of the test resolves a Request-URI of another domain by
// RFC 3263 and the call completes through it (INVITE, 180, 200, ACK, BYE,
// 200). The UAS is registered nowhere: only DNS leads to it.
func TestSIPpProxyDNS(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	t.Run("SRV over UDP", func(t *testing.T) {
		uasPort := strconv.Itoa(freeUDPPort(t))
		ns := startDNS(t,
			"_sip._udp.callee.test. 60 IN SRV 10 0 "+uasPort+" uas.callee.test.",
			"uas.callee.test. 60 IN A 127.0.0.1")
		srv := startSipd(t, t.TempDir(), "--config", dnsConfig(t, ns), "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off")
		dnsCall(t, sipp, srv, uasPort, "proxy_uas.xml", nil, "callee.test")
	})
	t.Run("SRV over TCP, the first target refuses", func(t *testing.T) {
		// RFC 3263 §4.3: the connection to the priority 10 target is
		// refused; the request goes to the priority 20 one.
		uasPort := strconv.Itoa(freeTCPPort(t))
		dead := strconv.Itoa(freeTCPPort(t))
		ns := startDNS(t,
			"_sip._tcp.callee.test. 60 IN SRV 10 0 "+dead+" uas.callee.test.",
			"_sip._tcp.callee.test. 60 IN SRV 20 0 "+uasPort+" uas.callee.test.",
			"uas.callee.test. 60 IN A 127.0.0.1")
		srv := startSipd(t, t.TempDir(), "--config", dnsConfig(t, ns), "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off",
			"--listen", "tcp:127.0.0.1:0")
		dnsCall(t, sipp, srv, uasPort, "rr_uas_tcp.xml", []string{"-t", "t1"}, "callee.test;transport=tcp")
	})
	t.Run("static route to a host name", func(t *testing.T) {
		// [[proxy.routes]]: partner.test goes to gw.partner.test:PORT,
		// whose A record DNS gives; partner.test itself is unknown to DNS.
		uasPort := strconv.Itoa(freeUDPPort(t))
		ns := startDNS(t, "gw.partner.test. 60 IN A 127.0.0.1")
		cfg := dnsConfig(t, ns, "[[proxy.routes]]\ndomain = \"partner.test\"\nnext = \"sip:gw.partner.test:"+uasPort+"\"\n")
		srv := startSipd(t, t.TempDir(), "--config", cfg, "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off")
		dnsCall(t, sipp, srv, uasPort, "proxy_uas.xml", nil, "partner.test")
	})
	t.Run("NXDOMAIN", func(t *testing.T) {
		// A domain DNS does not know cannot be reached: 404.
		ns := startDNS(t)
		srv := startSipd(t, t.TempDir(), "--config", dnsConfig(t, ns), "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off")
		caller := newUDPPeer(t)
		caller.send(srv.addr, fmt.Sprintf(`
INVITE sip:bob@nowhere.test SIP/2.0
Via: SIP/2.0/UDP %[1]s;branch=z9hG4bK-nx-1
From: <sip:alice@127.0.0.1>;tag=a1
To: <sip:bob@nowhere.test>
Call-ID: nx-1@test
CSeq: 1 INVITE
Contact: <sip:alice@%[1]s>
Max-Forwards: 70
Content-Length: 0

`, caller.addr))
		for {
			r, ok := caller.recv().(*sip.Response)
			if !ok {
				t.Fatal("got a request")
			}
			if r.StatusCode < 200 {
				continue
			}
			if r.StatusCode != sip.StatusNotFound || !strings.Contains(r.Reason, "unresolvable") {
				t.Fatalf("got %d %s, want 404 (unresolvable destination)", r.StatusCode, r.Reason)
			}
			break
		}
	})
}

// dnsConfig writes a config file whose [dns] asks only ns, with more
// TOML after it.
func dnsConfig(t *testing.T, ns string, more ...string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "sipd.toml")
	text := "[dns]\nservers = [\"" + ns + "\"]\ntimeout = \"1s\"\n" + strings.Join(more, "")
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// dnsCall runs a SIPp UAS (uas scenario, more arguments uasArgs) on
// uasPort and a SIPp UAC that calls sip:uas@host through sipd; both must
// succeed.
func dnsCall(t *testing.T, sipp string, srv *sipdProc, uasPort, uas string, uasArgs []string, host string) {
	t.Helper()
	uacDir, uasDir := t.TempDir(), t.TempDir()
	copySIPpScenarios(t, uacDir, "kam_uac.xml")
	copySIPpScenarios(t, uasDir, uas)
	udpPort := uasPort
	if len(uasArgs) > 0 {
		udpPort = "" // over TCP: polled below
	}
	u := startSIPp(t, sipp, "UAS", uasDir, udpPort, append([]string{"-sf", uas, "-i", "127.0.0.1", "-p", uasPort, "-d", "100"}, uasArgs...)...)
	if udpPort == "" {
		waitTCPListening(t, "127.0.0.1:"+uasPort, 5*time.Second)
	}
	// kam_uac.xml calls sip:[service]@[sipd]: here the callee's domain.
	c := startSIPp(t, sipp, "UAC", uacDir, "", srv.addr.String(), "-sf", "kam_uac.xml", "-s", "uas", "-key", "sipd", host,
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)), "-d", "200", "-default_behaviors", "all,-abortunexp")
	if err := c.wait(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := u.wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := checkCounts(readCounts(t, uacDir), map[string]int{"_INVITE_Sent": 1, "_200_Recv": 2, "_BYE_Sent": 1}); err != nil {
		t.Errorf("UAC: %v", err)
	}
	for _, m := range sippMessages(t, uasDir, "received") {
		if strings.HasPrefix(m.start, "INVITE ") {
			if want := "INVITE sip:uas@" + host + " SIP/2.0"; m.start != want {
				t.Errorf("UAS got %q, want %q (DNS does not rewrite the Request-URI, RFC 3263 §4)", m.start, want)
			}
			break
		}
	}
}
