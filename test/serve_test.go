package test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/storage/sqlite"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

var (
	buildOnce sync.Once
	sipdBin   string
	buildErr  error
)

// sipdBinary builds cmd/sipd once per test run.
func sipdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sipd-test-bin")
		if err != nil {
			buildErr = err
			return
		}
		sipdBin = filepath.Join(dir, "sipd")
		out, err := exec.Command("go", "build", "-o", sipdBin, "../cmd/sipd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return sipdBin
}

// sipdProc is a running `sipd serve`.
type sipdProc struct {
	cmd   *exec.Cmd
	addr  netip.AddrPort            // its first (UDP) listener
	addrs map[string]netip.AddrPort // every listener, by scheme ("udp", "tcp", ...)
	admin string                    // the admin API's address, when --admin was given
	done  chan struct{}
}

// startSipd runs `sipd serve` on a loopback UDP port of the system's
// choosing and waits for the log line that names it.
func startSipd(t *testing.T, dataDir string, extra ...string) *sipdProc {
	t.Helper()
	args := append([]string{"serve", "--listen", "udp:127.0.0.1:0", "--domain", "example.com", "--data-dir", dataDir}, extra...)
	cmd := exec.Command(sipdBinary(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &sipdProc{cmd: cmd, done: make(chan struct{}), addrs: map[string]netip.AddrPort{}}
	ready := make(chan netip.AddrPort, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct {
				Msg    string   `json:"msg"`
				Listen []string `json:"listen"`
				Admin  string   `json:"admin"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "sipd serving" && len(line.Listen) > 0 {
				var first netip.AddrPort
				p.admin = line.Admin
				for i, l := range line.Listen {
					scheme, a, _ := strings.Cut(l, ":")
					if ap, err := netip.ParseAddrPort(a); err == nil {
						p.addrs[scheme] = ap
						if i == 0 {
							first = ap
						}
					}
				}
				ready <- first
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case p.addr = <-ready:
		return p
	case <-p.done:
		t.Fatal("sipd exited before it served")
	case <-time.After(20 * time.Second):
		t.Fatal("sipd did not start within 20 s")
	}
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *sipdProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// registerer is a UA built on our transport and transaction layers that
// registers with digest authentication (RFC 3261 §10.2, §22).
type registerer struct {
	node *node
}

func newRegisterer(t *testing.T) *registerer {
	return &registerer{node: newNode(t, "udp", nil, &answering{})}
}

// register sends REGISTER for user@example.com with the given Contact
// ("" fetches the bindings) and answers one 401 challenge.
func (r *registerer) register(server netip.AddrPort, user, password, contact string, expires int) (*sip.Response, error) {
	callID := "reg-" + user + "-" + r.node.addr.String()
	var authz string
	for cseq := 1; cseq <= 2; cseq++ {
		ruri, _ := sip.ParseURI("sip:example.com")
		req := sip.NewRequest(sip.MethodRegister, ruri)
		req.PushVia(sip.Via{Transport: transport.UDP, Host: "placeholder.invalid", Params: sip.Params(";branch=" + transaction.NewBranch())})
		req.Add("Max-Forwards", "70")
		req.Add("From", "<sip:"+user+"@example.com>;tag=f"+user)
		req.Add("To", "<sip:"+user+"@example.com>")
		req.Add("Call-ID", callID)
		req.Add("CSeq", strconv.Itoa(cseq)+" REGISTER")
		if contact != "" {
			req.Add("Contact", contact)
			req.Add("Expires", strconv.Itoa(expires))
		}
		if authz != "" {
			req.Add("Authorization", authz)
		}
		c := newCollector()
		if _, err := r.node.tl.Request(req, transport.Target{Transport: transport.UDP, Addr: server}, c); err != nil {
			return nil, err
		}
		var resp *sip.Response
		select {
		case resp = <-c.final:
		case err := <-c.err:
			return nil, err
		case <-time.After(10 * time.Second):
			return nil, errors.New("no response")
		}
		if resp.StatusCode != sip.StatusUnauthorized || authz != "" {
			return resp, nil
		}
		ch, err := sip.ParseChallenge(resp.Get("WWW-Authenticate"))
		if err != nil {
			return nil, err
		}
		ha1 := auth.HA1(ch.Algorithm, user, ch.Realm, password)
		cred := sip.Credentials{Scheme: "Digest", Username: user, Realm: ch.Realm, Nonce: ch.Nonce,
			URI: ruri.String(), Algorithm: ch.Algorithm, CNonce: "c" + user, QOP: "auth", NC: "00000001", Opaque: ch.Opaque}
		cred.Response = auth.Response(ch.Algorithm, ha1, ch.Nonce, cred.NC, cred.CNonce, "auth", sip.MethodRegister, cred.URI)
		authz = cred.String()
	}
	return nil, errors.New("unreachable")
}

// addUsers writes accounts into the data directory's store, as
// `sipd user add` does, before the server starts.
func addUsers(t *testing.T, dataDir string, n int) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "sipd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for i := range n {
		u := "user" + strconv.Itoa(i)
		if err := store.Users().Put(context.Background(), auth.NewUser(u, "example.com", "pw-"+u)); err != nil {
			t.Fatal(err)
		}
	}
}

// forEach runs f for 0..n-1 on a bounded number of goroutines and returns
// the first error.
func forEach(n, workers int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// TestServeRegisterDurable: 1,000 users register with digest auth through
// our own UA against `sipd serve`; every one gets 200. Then the server is
// killed with SIGKILL and restarted: every binding is still there, with the
// expiry it had left.
func TestServeRegisterDurable(t *testing.T) {
	const users, expires = 1000, 600
	dataDir := t.TempDir()
	addUsers(t, dataDir, users)
	srv := startSipd(t, dataDir)
	ua := newRegisterer(t)
	contact := func(i int) string { return "sip:user" + strconv.Itoa(i) + "@127.0.0.1:5999" }

	registered := time.Now()
	err := forEach(users, 32, func(i int) error {
		u := "user" + strconv.Itoa(i)
		resp, err := ua.register(srv.addr, u, "pw-"+u, "<"+contact(i)+">", expires)
		if err != nil {
			return fmt.Errorf("%s: %v", u, err)
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %d %s", u, resp.StatusCode, resp.Reason)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A wrong password is refused.
	if resp, err := ua.register(srv.addr, "user1", "wrong", "<sip:x@127.0.0.1>", expires); err != nil || resp.StatusCode != 401 {
		t.Fatalf("wrong password: %v %v", resp, err)
	}

	srv.kill()
	srv = startSipd(t, dataDir)
	err = forEach(users, 32, func(i int) error {
		u := "user" + strconv.Itoa(i)
		resp, err := ua.register(srv.addr, u, "pw-"+u, "", 0) // fetch
		if err != nil {
			return fmt.Errorf("%s: %v", u, err)
		}
		cs, err := resp.Contacts()
		if resp.StatusCode != 200 || err != nil || len(cs) != 1 {
			return fmt.Errorf("%s: %d, contacts %v %v", u, resp.StatusCode, cs, err)
		}
		if got := cs[0].URI.String(); got != contact(i) {
			return fmt.Errorf("%s: contact %s, want %s", u, got, contact(i))
		}
		left, ok := cs[0].Expires()
		want := expires - int(time.Since(registered).Seconds())
		if !ok || left > expires || left < want-2 {
			return fmt.Errorf("%s: expires %d, want about %d", u, left, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSIPpRegisterDigest: SIPp registers users with digest authentication
// through its [authentication] keyword, one run per user (SIPp 3.6.1 takes
// the credentials from -au/-ap only). SIPp answers only the first
// challenge and knows only MD5, so the server offers MD5 alone, as an
// operator with such phones would configure it. Our UA then sees each
// binding with a fetch.
func TestSIPpRegisterDigest(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	const users = 3
	dataDir := t.TempDir()
	addUsers(t, dataDir, users)
	srv := startSipd(t, dataDir, "--auth-algorithms", "MD5", "--mode", "redirect")
	dir := t.TempDir()
	scen, err := os.ReadFile("testdata/sipp/register_auth.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "register_auth.xml"), scen, 0o644); err != nil {
		t.Fatal(err)
	}
	ports := make([]int, users)
	for i := range users {
		u := "user" + strconv.Itoa(i)
		ports[i] = freeUDPPort(t)
		cmd := exec.Command(sipp, srv.addr.String(), "-sf", "register_auth.xml",
			"-i", "127.0.0.1", "-p", strconv.Itoa(ports[i]), "-m", "1",
			"-key", "reguser", u, "-key", "regdomain", "example.com",
			"-au", u, "-ap", "pw-"+u, "-auth_uri", "example.com",
			"-timeout", "10s", "-timeout_error", "-trace_err", "-nostdin")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			errs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
			for _, e := range errs {
				b, _ := os.ReadFile(e)
				t.Logf("%s:\n%s", e, b)
			}
			t.Fatalf("sipp for %s: %v\n%s", u, err, tail(string(out), 2000))
		}
	}
	ua := newRegisterer(t)
	for i := range users {
		u := "user" + strconv.Itoa(i)
		resp, err := ua.register(srv.addr, u, "pw-"+u, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		cs, _ := resp.Contacts()
		want := "sip:" + u + "@127.0.0.1:" + strconv.Itoa(ports[i])
		if resp.StatusCode != 200 || len(cs) != 1 || cs[0].URI.String() != want {
			t.Errorf("%s: %d %v, want one binding %s", u, resp.StatusCode, cs, want)
		}
	}

	// Redirect mode: an INVITE to a registered user gets 302 with the
	// contact SIPp registered, one to an unknown user 404. A caller from
	// our own domain is challenged with 407 first (RFC 3261 §22.3).
	for _, tc := range []struct {
		name, from, user, password string
		code                       int
		contact                    string
	}{
		{"foreign caller", "caller@elsewhere.example.net", "user1", "", 302, "sip:user1@127.0.0.1:" + strconv.Itoa(ports[1])},
		{"unknown callee", "caller@elsewhere.example.net", "nobody", "", 404, ""},
		{"local caller without credentials", "user0@example.com", "user1", "", 407, ""},
		{"local caller authenticated", "user0@example.com", "user1", "pw-user0", 302, "sip:user1@127.0.0.1:" + strconv.Itoa(ports[1])},
		{"local caller, wrong password", "user0@example.com", "user1", "wrong", 407, ""},
	} {
		resp := invite(t, ua.node, srv.addr, tc.from, tc.user, tc.password)
		if resp.StatusCode != tc.code {
			t.Fatalf("%s: %d %s, want %d", tc.name, resp.StatusCode, resp.Reason, tc.code)
		}
		if tc.code == 407 && !strings.Contains(resp.Get("Proxy-Authenticate"), `realm="example.com"`) {
			t.Errorf("%s: Proxy-Authenticate %q", tc.name, resp.Get("Proxy-Authenticate"))
		}
		if tc.contact != "" {
			cs, _ := resp.Contacts()
			if len(cs) != 1 || cs[0].URI.String() != tc.contact {
				t.Errorf("%s: 302 contacts %v, want %s", tc.name, cs, tc.contact)
			}
		}
	}
}

// invite sends an INVITE from `from` to user@example.com; with a password
// it answers a 407 challenge once (RFC 3261 §22.3) and returns the final
// response to the second INVITE.
func invite(t *testing.T, n *node, server netip.AddrPort, from, user, password string) *sip.Response {
	t.Helper()
	ruri, _ := sip.ParseURI("sip:" + user + "@example.com")
	fromUser, _, _ := strings.Cut(from, "@")
	callID := "invite-" + from + "-" + user + "-" + strconv.FormatInt(callSeq.Add(1), 10)
	var authz string
	for cseq := 1; ; cseq++ {
		inv := sip.NewRequest(sip.MethodInvite, ruri)
		inv.PushVia(sip.Via{Transport: transport.UDP, Host: "placeholder.invalid", Params: sip.Params(";branch=" + transaction.NewBranch())})
		inv.Add("Max-Forwards", "70")
		inv.Add("From", "<sip:"+from+">;tag=c1")
		inv.Add("To", "<sip:"+user+"@example.com>")
		inv.Add("Call-ID", callID)
		inv.Add("CSeq", strconv.Itoa(cseq)+" INVITE")
		inv.Add("Contact", "<sip:caller@127.0.0.1>")
		if authz != "" {
			inv.Add("Proxy-Authorization", authz)
		}
		c := newCollector()
		if _, err := n.tl.Request(inv, transport.Target{Transport: transport.UDP, Addr: server}, c); err != nil {
			t.Fatal(err)
		}
		resp := c.wait(t, 5*time.Second)
		if resp.StatusCode != sip.StatusProxyAuthRequired || password == "" || authz != "" {
			return resp
		}
		ch, err := sip.ParseChallenge(resp.Get("Proxy-Authenticate"))
		if err != nil {
			t.Fatal(err)
		}
		cred := sip.Credentials{Scheme: "Digest", Username: fromUser, Realm: ch.Realm, Nonce: ch.Nonce,
			URI: ruri.String(), Algorithm: ch.Algorithm, CNonce: "ci", QOP: "auth", NC: "00000001", Opaque: ch.Opaque}
		cred.Response = auth.Response(ch.Algorithm, auth.HA1(ch.Algorithm, fromUser, ch.Realm, password),
			ch.Nonce, cred.NC, cred.CNonce, "auth", sip.MethodInvite, cred.URI)
		authz = cred.String()
	}
}
