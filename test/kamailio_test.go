package test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kamailioProc is a running kamailio (Debian package kamailio).
type kamailioProc struct {
	cmd  *exec.Cmd
	port int
	out  bytes.Buffer // its log (-E)
	done chan struct{}
}

// startKamailio runs kamailio in the foreground with testdata/kamailio/cfg,
// listening on udp:127.0.0.1:PORT only, with its runtime directory in a
// temporary one and the given -A defines. It is ready when its UDP port
// is bound.
func startKamailio(t *testing.T, cfg string, defines ...string) *kamailioProc {
	t.Helper()
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/kamailio"); err != nil {
			t.Fatal("kamailio not found: ./test.sh installs it (Debian package kamailio)")
		}
	}
	cfgPath, err := filepath.Abs(filepath.Join("testdata/kamailio", cfg))
	if err != nil {
		t.Fatal(err)
	}
	runDir := t.TempDir()
	k := &kamailioProc{port: freeUDPPort(t), done: make(chan struct{})}
	args := []string{"-DD", "-E", "-f", cfgPath, "-l", "udp:127.0.0.1:" + strconv.Itoa(k.port),
		"-Y", runDir, "-w", runDir, "-m", "64", "-M", "8"}
	for _, d := range defines {
		args = append(args, "-A", d)
	}
	k.cmd = exec.Command(bin, args...)
	k.cmd.Stdout, k.cmd.Stderr = &k.out, &k.out
	// Its own process group: the workers are killed with it if the main
	// process does not take them down.
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		k.cmd.Wait()
		close(k.done)
	}()
	t.Cleanup(k.stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-k.done:
			t.Fatalf("kamailio exited before it listened:\n%s", tail(k.out.String(), 3000))
		default:
		}
		if udpPortBound(k.port) {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio did not bind udp 127.0.0.1:%d within 10 s:\n%s", k.port, tail(k.out.String(), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// udpPortBound reports whether someone holds 127.0.0.1:port/udp.
func udpPortBound(port int) bool {
	c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return errors.Is(err, syscall.EADDRINUSE)
	}
	c.Close()
	return false
}

// stop sends SIGTERM to kamailio's main process (which stops its workers),
// and SIGKILL to its process group if it is not gone in 5 s.
func (k *kamailioProc) stop() {
	pid := k.cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-k.done
	}
	if udpPortBound(k.port) {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// TestKamailioInFront: interop with another proxy's Record-Route and Via.
// Kamailio (testdata/kamailio/front.cfg) record-routes each INVITE and
// relays it to `sipd serve --mode proxy`, which finds the SIPp UAS that
// registered directly with it and forwards the INVITE with its own
// Record-Route. The SIPp UAC calls sip:uas@<sipd> but sends to Kamailio;
// ACK and BYE follow the learned route set, Kamailio then sipd. Every call
// must succeed; the UAS must see three Vias and two Record-Routes (sipd's
// on top of Kamailio's) on each INVITE, and each ACK and BYE must arrive
// with three Vias, i.e. through both proxies.
func TestKamailioInFront(t *testing.T) {
	const calls = 20
	srv := startSipd(t, t.TempDir(), "--domain", "127.0.0.1", "--mode", "proxy", "--auth", "off")
	kam := startKamailio(t, "front.cfg", `SIPD_URI="sip:`+srv.addr.String()+`"`)
	kamAddr := "127.0.0.1:" + strconv.Itoa(kam.port)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kamailio log:\n%s", tail(kam.out.String(), 4000))
		}
	})

	dir, uasDir := callFlow{sipd: srv.addr, via: kamAddr, uac: "kam_uac.xml", uacArgs: []string{"-key", "sipd", srv.addr.String()},
		calls: calls, rate: 10, timeout: "60s", traceMsg: true}.run(t)

	// What the UAS received: the INVITE record-routed by sipd (top) and
	// Kamailio, every request with the Vias of the UAC and both proxies.
	kamRR, sipdRR := "sip:"+kamAddr+";", "sip:"+srv.addr.String()+";"
	uasMsgs := sippMessages(t, uasDir, "received")
	seen := map[string]int{}
	for _, m := range uasMsgs {
		method, _, _ := strings.Cut(m.start, " ")
		if method == "SIP/2.0" {
			continue
		}
		seen[method]++
		if err := checkHops(m, method, kamRR, sipdRR); err != nil {
			if seen[method+" bad"]++; seen[method+" bad"] <= 2 {
				t.Errorf("UAS %v\n%s", err, m.text)
			}
		}
	}
	t.Logf("UAS received through Kamailio and sipd: %d INVITE, %d ACK, %d BYE", seen["INVITE"], seen["ACK"], seen["BYE"])
	for _, method := range []string{"INVITE", "ACK", "BYE"} {
		if seen[method] < calls {
			t.Errorf("UAS message log has %d %s requests, want %d", seen[method], method, calls)
		}
	}

	// What the UAC sent: ACK and BYE with the route set Kamailio, sipd.
	bad, inDialog := 0, 0
	for _, m := range sippMessages(t, dir, "sent") {
		method, _, _ := strings.Cut(m.start, " ")
		if method != "ACK" && method != "BYE" {
			continue
		}
		inDialog++
		routes := m.values("Route")
		if len(routes) != 2 || !strings.Contains(routes[0], kamRR) || !strings.Contains(routes[1], sipdRR) {
			if bad++; bad <= 2 {
				t.Errorf("UAC sent %s with Route %q, want Kamailio's then sipd's\n%s", method, routes, m.text)
			}
		}
	}
	if inDialog < 2*calls {
		t.Errorf("UAC message log has %d ACK and BYE requests, want %d", inDialog, 2*calls)
	}
}

// checkHops checks that a request that came through Kamailio and sipd has
// three Vias (sipd's, Kamailio's, the UAC's) and, for the INVITE, the
// Record-Routes of sipd and Kamailio in that order.
func checkHops(m sippMessage, method, kamRR, sipdRR string) error {
	if vias := m.values("Via"); len(vias) != 3 {
		return fmt.Errorf("%s has %d Via values, want 3: %q", method, len(vias), vias)
	}
	if method != "INVITE" {
		return nil
	}
	rr := m.values("Record-Route")
	if len(rr) != 2 || !strings.Contains(rr[0], sipdRR) || !strings.Contains(rr[1], kamRR) {
		return fmt.Errorf("INVITE Record-Route %q, want sipd's (%s) then Kamailio's (%s)", rr, sipdRR, kamRR)
	}
	return nil
}

// sippMessage is one message from a SIPp -trace_msg log.
type sippMessage struct {
	start   string      // the start line
	headers [][2]string // name (long form, as written), value
	text    string
}

// compactHeaders maps the compact forms used here to their long names.
var compactHeaders = map[string]string{"v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact", "l": "Content-Length"}

// values returns every value of a header, splitting comma-separated lists
// (outside <> and quotes).
func (m sippMessage) values(name string) []string {
	var vs []string
	for _, h := range m.headers {
		if !strings.EqualFold(h[0], name) {
			continue
		}
		depth, quoted, start := 0, false, 0
		v := h[1]
		for i := 0; i < len(v); i++ {
			switch c := v[i]; {
			case c == '"':
				quoted = !quoted
			case quoted:
			case c == '<':
				depth++
			case c == '>':
				depth--
			case c == ',' && depth == 0:
				vs = append(vs, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
		vs = append(vs, strings.TrimSpace(v[start:]))
	}
	return vs
}

// sippMessages parses the *_messages.log in dir (written by -trace_msg)
// and returns the messages SIPp "received" or "sent".
func sippMessages(t *testing.T, dir, direction string) []sippMessage {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*_messages.log"))
	if len(files) != 1 {
		t.Fatalf("want one messages log in %s, found %v", dir, files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var msgs []sippMessage
	for _, block := range strings.Split(string(data), "----------------------------------------------- ") {
		head, body, ok := strings.Cut(block, "\n\n")
		if !ok || !strings.Contains(head, "message "+direction) {
			continue
		}
		body = strings.ReplaceAll(body, "\r\n", "\n")
		hdrs, _, _ := strings.Cut(strings.TrimLeft(body, "\n"), "\n\n")
		lines := strings.Split(hdrs, "\n")
		m := sippMessage{start: strings.TrimSpace(lines[0]), text: hdrs}
		for _, l := range lines[1:] {
			if l == "" {
				break
			}
			if (l[0] == ' ' || l[0] == '\t') && len(m.headers) > 0 {
				m.headers[len(m.headers)-1][1] += " " + strings.TrimSpace(l)
				continue
			}
			name, value, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			name = strings.TrimSpace(name)
			if long, ok := compactHeaders[strings.ToLower(name)]; ok {
				name = long
			}
			m.headers = append(m.headers, [2]string{name, strings.TrimSpace(value)})
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		t.Fatalf("no %s messages in %s", direction, files[0])
	}
	return msgs
}
