package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a process the harness started. Each runs in a process group of
// its own, so that stopping it also stops what it forked (Kamailio's
// workers); the harness signals nothing else.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

var (
	procsMu sync.Mutex
	procs   = map[*proc]struct{}{}
)

// startProc starts name with args in dir, its output to logPath.
func startProc(dir, logPath, name string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: filepath.Base(name), cmd: cmd, done: make(chan struct{}), log: lf}
	procsMu.Lock()
	procs[p] = struct{}{}
	procsMu.Unlock()
	go func() {
		cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to end and reports whether it did.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop sends SIGTERM, waits up to grace, then kills the process group.
func (p *proc) stop(grace time.Duration) {
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if !p.wait(grace) {
			syscall.Kill(-p.pid(), syscall.SIGKILL)
			p.wait(5 * time.Second)
		}
	}
	// Workers left in the group (the main process gone first) go too.
	syscall.Kill(-p.pid(), syscall.SIGKILL)
	procsMu.Lock()
	delete(procs, p)
	procsMu.Unlock()
}

// stopAll stops every process the harness started and has not stopped.
func stopAll() {
	procsMu.Lock()
	var ps []*proc
	for p := range procs {
		ps = append(ps, p)
	}
	procsMu.Unlock()
	for _, p := range ps {
		p.stop(3 * time.Second)
	}
}

// udpBound reports whether some socket holds 127.0.0.1:port/udp.
func udpBound(port int) bool {
	c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return errors.Is(err, syscall.EADDRINUSE)
	}
	c.Close()
	return false
}

// waitPortFree waits up to d for port to be free.
func waitPortFree(port int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for udpBound(port) {
		if time.Now().After(deadline) {
			return fmt.Errorf("UDP port %d is in use (stop whatever holds it, or choose -port)", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// role is what the server under test does in a scenario.
type role int

const (
	roleRegister     role = iota // registrar, no authentication
	roleRegisterAuth             // registrar with digest authentication
	roleStateless                // stateless proxy
	roleStateful                 // transaction-stateful, record-routing proxy with registrar
)

// server is a running server under test.
type server struct {
	*proc
	target string // "sipd" or "kamailio"
	pprof  string // sipd's pprof address
}

// startServer starts target in role with its files in dir, and waits until
// it holds the server port.
func (h *harness) startServer(target string, r role, dir string) (*server, error) {
	if err := waitPortFree(h.port, 10*time.Second); err != nil {
		return nil, err
	}
	var (
		p   *proc
		err error
		s   = &server{target: target}
	)
	switch target {
	case "sipd":
		mode, auth := "registrar", "off"
		switch r {
		case roleRegisterAuth:
			auth = "required"
		case roleStateless:
			mode = "stateless"
		case roleStateful:
			mode = "proxy"
		}
		data := filepath.Join(dir, "data")
		if err := os.MkdirAll(data, 0o750); err != nil {
			return nil, err
		}
		if r == roleRegisterAuth {
			// A fresh copy of the store holding the users, made once.
			if err := copyFile(h.usersDB, filepath.Join(data, "sipd.db")); err != nil {
				return nil, err
			}
		}
		cfg := fmt.Sprintf(`# written by sipbench
listen = ["udp:127.0.0.1:%d"]
domain = ["127.0.0.1"]
data_dir = %q
mode = %q
auth = %q
auth_algorithms = ["MD5"]
log_level = "warn"

[runtime]
max_procs = %d
`, h.port, data, mode, auth, h.sipdProcs)
		if r == roleStateless {
			// As Kamailio's stateless.cfg forward()s every request to the
			// UAS, a static route sends sipd's there, with no location
			// lookup: the same work on both sides.
			cfg += fmt.Sprintf("\n[[proxy.routes]]\ndomain = \"127.0.0.1\"\nnext = \"sip:127.0.0.1:%d\"\n", h.uasPort)
		}
		cfgPath := filepath.Join(dir, "sipd.toml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			return nil, err
		}
		s.pprof = "127.0.0.1:" + strconv.Itoa(h.pprofPort)
		p, err = startProc(dir, filepath.Join(dir, "server.log"),
			h.sipd, "serve", "--config", cfgPath, "--pprof", s.pprof)
	case "kamailio":
		cfg := map[role]string{roleRegister: "registrar.cfg", roleRegisterAuth: "registrar_auth.cfg",
			roleStateless: "stateless.cfg", roleStateful: "stateful.cfg"}[r]
		kdir := filepath.Join(dir, "kamailio")
		if err := h.writeKamailioConfigs(kdir); err != nil {
			return nil, err
		}
		p, err = startProc(dir, filepath.Join(dir, "server.log"), h.kamailio,
			"-DD", "-E", "-m", strconv.Itoa(h.kamShmMB), "-M", strconv.Itoa(h.kamPkgMB),
			"-x", "tlsf", "-X", "tlsf", "-A", "CHILDREN="+strconv.Itoa(h.children),
			"-A", "NUSERS="+strconv.Itoa(h.users),
			"-f", filepath.Join(kdir, cfg), "-Y", kdir, "-w", kdir)
	default:
		return nil, fmt.Errorf("unknown target %q", target)
	}
	if err != nil {
		return nil, err
	}
	s.proc = p
	deadline := time.Now().Add(30 * time.Second)
	for !udpBound(h.port) {
		if p.exited() || time.Now().After(deadline) {
			p.stop(time.Second)
			b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return nil, fmt.Errorf("%s did not listen on 127.0.0.1:%d/udp:\n%s", target, h.port, tail(string(b), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // Kamailio's workers finish forking
	return s, nil
}

// writeKamailioConfigs copies the Kamailio configs to dir with the
// harness's ports in place of 5060 (server) and 5080 (SIPp UAS).
func (h *harness) writeKamailioConfigs(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(h.benchDir, "kamailio", "*"))
	if err != nil {
		return err
	}
	rep := strings.NewReplacer("127.0.0.1:5060", "127.0.0.1:"+strconv.Itoa(h.port),
		"127.0.0.1:5080", "127.0.0.1:"+strconv.Itoa(h.uasPort))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(rep.Replace(string(b))), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
