package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// baresipProc is a running baresip with its own configuration directory.
type baresipProc struct {
	cmd  *exec.Cmd
	port int // its SIP UDP port on 127.0.0.1

	mu    sync.Mutex
	lines []string      // its output so far, colors stripped
	more  chan struct{} // closed and replaced when a line comes
	done  chan struct{} // closed when it has exited and its output ended
}

// startBaresip runs baresip (Debian 12: 1.0.0 on libre 1.1.0) headless with
// one account, user0@example.com, registering through sipd as outbound
// proxy. The configuration holds only what registration needs: no UI
// module (so stdin is never read), no audio or video module, and
// account.so, the module that reads the accounts file. sip_listen and
// net_interface keep SIP on loopback, and DNS goes to dnsTrap, where the
// test checks that nothing arrives: the outbound proxy is an address, so
// example.com is never resolved.
func startBaresip(t *testing.T, sipd netip.AddrPort, password string, dnsTrap netip.AddrPort) *baresipProc {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatal("baresip not found: ./test.sh installs it (Debian package baresip-core)")
	}
	dir := t.TempDir()
	port := freeUDPPort(t)
	config := "sip_listen 127.0.0.1:" + strconv.Itoa(port) + "\n" +
		"net_interface 127.0.0.1\n" +
		"dns_server " + dnsTrap.String() + "\n" +
		"module_path /usr/lib/baresip/modules\n" +
		"module_tmp account.so\n"
	accounts := "<sip:user0@example.com;transport=udp>;auth_pass=" + password +
		";outbound=\"sip:" + sipd.String() + ";transport=udp\";regint=60\n"
	for name, text := range map[string]string{"config": config, "accounts": accounts} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -t: baresip quits by itself after 60 s, should the test binary die
	// before its cleanup kills it.
	cmd := exec.Command(bin, "-f", dir, "-t", "60")
	cmd.Stdout, cmd.Stderr = w, w // stdin is /dev/null
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	b := &baresipProc{cmd: cmd, port: port, more: make(chan struct{}), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			b.mu.Lock()
			b.lines = append(b.lines, stripColors(sc.Text()))
			close(b.more)
			b.more = make(chan struct{})
			b.mu.Unlock()
		}
		r.Close()
		cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-b.done
		if t.Failed() {
			t.Logf("baresip output:\n%s", b.output())
		}
	})
	return b
}

// waitLine waits until baresip has written a line holding each of subs.
func (b *baresipProc) waitLine(within time.Duration, subs ...string) error {
	deadline := time.After(within)
	for {
		_, ok, more := b.find(subs...)
		if ok {
			return nil
		}
		select {
		case <-more:
		case <-b.done:
			if _, ok, _ := b.find(subs...); ok {
				return nil
			}
			return fmt.Errorf("baresip exited without a line with %q", subs)
		case <-deadline:
			return fmt.Errorf("no baresip line with %q within %v", subs, within)
		}
	}
}

// find returns the first line so far holding each of subs, and a channel
// closed when the next line comes.
func (b *baresipProc) find(subs ...string) (line string, ok bool, more <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
lines:
	for _, l := range b.lines {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue lines
			}
		}
		return l, true, b.more
	}
	return "", false, b.more
}

func (b *baresipProc) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// stripColors drops the ANSI color sequences baresip writes warnings with.
func stripColors(s string) string {
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], 'm')
		if j < 0 {
			return s[:i]
		}
		s = s[:i] + s[i+j+1:]
	}
}

// dnsTrap is a UDP socket on loopback given to baresip as its DNS server;
// it counts the datagrams that reach it.
type dnsTrap struct {
	conn net.PacketConn
	mu   sync.Mutex
	got  int
}

func newDNSTrap(t *testing.T) *dnsTrap {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dnsTrap{conn: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
			d.mu.Lock()
			d.got++
			d.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	return d
}

func (d *dnsTrap) addr() netip.AddrPort {
	return d.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (d *dnsTrap) queries() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.got
}

// checkBinding fetches user0's bindings with our UA and checks that there
// is exactly one, to baresip on 127.0.0.1:port, or none when port is 0.
func checkBinding(ua *registerer, server netip.AddrPort, port int) error {
	resp, err := ua.register(server, "user0", "pw-user0", "", 0)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("fetch: %d %s", resp.StatusCode, resp.Reason)
	}
	cs, err := resp.Contacts()
	if err != nil {
		return err
	}
	if port == 0 {
		if len(cs) != 0 {
			return fmt.Errorf("bindings %v, want none", cs)
		}
		return nil
	}
	if len(cs) != 1 {
		return fmt.Errorf("bindings %v, want one to 127.0.0.1:%d", cs, port)
	}
	u := cs[0].URI
	if u.Host != "127.0.0.1" || u.Port != port {
		return fmt.Errorf("binding %s, want one to 127.0.0.1:%d", u.String(), port)
	}
	if left, ok := cs[0].Expires(); !ok || left <= 0 || left > 60 {
		return fmt.Errorf("binding %s expires in %d s (%v), want 1..60 (regint=60)", u.String(), left, ok)
	}
	return nil
}

// TestBaresipRegister: baresip registers user0 to `sipd serve` with digest
// authentication through sipd as its outbound proxy, and our UA sees the
// binding with a fetch; with a wrong password baresip reports the 401 and
// no binding appears.
//
// libre 1.1.0 (under Debian 12's baresip 1.0.0) computes MD5 digests only
// and gives up when the first WWW-Authenticate names another algorithm
// ("Register: Function not implemented" on sipd's default SHA-256
// challenge), so sipd offers MD5 alone, as for SIPp.
func TestBaresipRegister(t *testing.T) {
	tests := []struct {
		name      string
		password  string
		registers bool
	}{
		{name: "right password", password: "pw-user0", registers: true},
		{name: "wrong password", password: "wrong", registers: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			addUsers(t, dataDir, 1)
			srv := startSipd(t, dataDir, "--auth-algorithms", "MD5", "--admin", "127.0.0.1:0")
			dns := newDNSTrap(t)
			ua := newRegisterer(t)
			bs := startBaresip(t, srv.addr, tt.password, dns.addr())
			defer func() {
				if n := dns.queries(); n != 0 {
					t.Errorf("baresip sent %d DNS queries, want none (the outbound proxy is an address)", n)
				}
			}()

			if tt.registers {
				// Poll until the binding shows, for at most 15 s; stop at
				// once if baresip reports that registration failed.
				deadline := time.Now().Add(15 * time.Second)
				for {
					err := checkBinding(ua, srv.addr, bs.port)
					if err == nil {
						break
					}
					if l, failed, _ := bs.find("reg: sip:user0@example.com"); failed {
						t.Fatalf("baresip: %s; fetch: %v", l, err)
					}
					if time.Now().After(deadline) {
						t.Fatalf("no binding for baresip within 15 s: %v", err)
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err := bs.waitLine(5*time.Second, "user0@example.com", "200 OK"); err != nil {
					t.Error(err)
				}
				// The operator sees it too: sipd ctl registrations --json.
				out, err := exec.Command(sipdBinary(t), "ctl", "registrations", "--admin", srv.admin, "--json").Output()
				if err != nil {
					t.Fatalf("sipd ctl: %v", err)
				}
				var regs []struct {
					AOR, Contact, Transport, Source string
					UserAgent                       string `json:"user_agent"`
				}
				if err := json.Unmarshal(out, &regs); err != nil {
					t.Fatalf("sipd ctl output: %v\n%s", err, out)
				}
				if len(regs) != 1 || regs[0].AOR != "sip:user0@example.com" || regs[0].Transport != "UDP" ||
					!strings.Contains(regs[0].Contact, "@127.0.0.1:"+strconv.Itoa(bs.port)) ||
					!strings.HasPrefix(strings.ToLower(regs[0].UserAgent), "baresip") {
					t.Errorf("sipd ctl registrations --json:\n%s", out)
				}
				return
			}
			// baresip answers the challenge; sipd challenges again, which
			// baresip reports as the failure of the registration.
			start := time.Now()
			if err := bs.waitLine(10*time.Second, "reg: sip:user0@example.com", "401 Unauthorized"); err != nil {
				t.Error(err)
			}
			// No binding at any time within 3 s of the start.
			for {
				if err := checkBinding(ua, srv.addr, 0); err != nil {
					t.Fatal(err)
				}
				if time.Since(start) > 3*time.Second {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
