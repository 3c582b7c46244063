// Command sipbench runs sipd and Kamailio, one after the other, under the
// same SIPp load on this machine and prints how they compare: for each
// scenario the highest rate with fewer than 0.1% failed calls (a stepped
// search), the server's CPU time per call or REGISTER at a fixed rate (from
// /proc/PID/stat), and memory per registration and per live dialog (from
// /proc/PID/smaps_rollup). See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/storage/sqlite"
)

// harness holds the settings of a run.
type harness struct {
	benchDir, out        string
	sipd, kamailio, sipp string
	targets, scenarios   []string

	rates          []int
	duration       time.Duration
	refine         int
	fixedRate      int
	fixedDuration  time.Duration
	maxFailPct     float64
	minAchievedPct float64
	maxP99ms       float64
	users          int
	usersDB        string // sipd store holding the users, copied for each run

	memRegs, memCalls, memCallRate int
	memHold                        time.Duration

	port, uacPort, uasPort, pprofPort int
	children, kamShmMB, kamPkgMB      int
	sipdProcs                         int
	profile, keepRaw                  bool

	ctx   context.Context
	steps *os.File
}

var errStopped = errors.New("interrupted")

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("sipbench ")
	if err := run(os.Args[1:]); err != nil {
		stopAll()
		log.Fatal(err)
	}
	stopAll()
}

func run(args []string) error {
	h := &harness{}
	fs := flag.NewFlagSet("sipbench", flag.ContinueOnError)
	quick := fs.Bool("quick", os.Getenv("QUICK") == "1", "smoke run: steps of a few seconds, smaller memory tests (also QUICK=1)")
	var rates, targets, scenarios string
	fs.StringVar(&h.benchDir, "bench-dir", "bench", "the bench directory (sipp/, kamailio/)")
	fs.StringVar(&h.out, "out", "", "results directory (default bench/results/TIME)")
	fs.StringVar(&h.sipd, "sipd", "", "sipd binary (default: go build ./cmd/sipd into the results directory)")
	fs.StringVar(&targets, "targets", "sipd,kamailio", "servers to run, in order")
	fs.StringVar(&scenarios, "scenarios", "register,register-auth,stateless,stateful,memory", "scenarios to run")
	fs.StringVar(&rates, "rates", "", "stepped rates of the search, comma-separated (default 500 … 128000 doubling; quick: 1000 … 64000)")
	fs.DurationVar(&h.duration, "duration", 0, "load per step (default 15s; quick 3s)")
	fs.IntVar(&h.refine, "refine", -1, "bisection steps between the last passing and the first failing rate (default 2; quick 1)")
	fs.IntVar(&h.fixedRate, "fixed-rate", 0, "rate of the CPU-per-operation run (default 5000; quick 2000)")
	fs.DurationVar(&h.fixedDuration, "fixed-duration", 0, "load of the CPU-per-operation run (default 15s; quick 5s)")
	fs.Float64Var(&h.maxFailPct, "max-fail", 0.1, "a step fails with this % of failed calls or more")
	fs.Float64Var(&h.minAchievedPct, "min-achieved", 95, "a step fails below this % of its rate")
	fs.Float64Var(&h.maxP99ms, "max-p99", 500, "a step fails when the 99th percentile setup time is this many ms or more (500 = T1); 0: off")
	fs.IntVar(&h.users, "users", 10000, "distinct users of the REGISTER scenarios")
	fs.IntVar(&h.memRegs, "mem-regs", 0, "registrations of the memory test (default 100000; quick 20000)")
	fs.IntVar(&h.memCalls, "mem-calls", 0, "dialogs held open in the memory test (default 10000; quick 2000)")
	fs.IntVar(&h.memCallRate, "mem-call-rate", 1000, "call rate of the memory test")
	fs.DurationVar(&h.memHold, "mem-hold", 0, "how long the memory test holds each call (default 30s; quick 10s)")
	fs.IntVar(&h.port, "port", 5060, "server port; the SIPp UAC uses port+10, the UAS port+20")
	fs.IntVar(&h.pprofPort, "pprof-port", 16060, "port of sipd's pprof listener (127.0.0.1)")
	fs.IntVar(&h.children, "children", 1, "Kamailio UDP workers (1 was best on 2 cores)")
	fs.IntVar(&h.sipdProcs, "sipd-procs", 1, "sipd's [runtime] max_procs (GOMAXPROCS), as -children is Kamailio's workers; 0: one per CPU")
	fs.IntVar(&h.kamShmMB, "kam-shm", 4096, "Kamailio shared memory, MB (-m)")
	fs.IntVar(&h.kamPkgMB, "kam-pkg", 16, "Kamailio private memory per process, MB (-M)")
	fs.BoolVar(&h.profile, "profile", os.Getenv("PROFILE") == "1", "capture a CPU and an allocs profile of sipd in a fixed-rate run of each scenario (also PROFILE=1)")
	fs.BoolVar(&h.keepRaw, "keep-raw", false, "keep SIPp's per-call rtt files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h.uacPort, h.uasPort = h.port+10, h.port+20
	pick := func(v *int, full, q int) {
		if *v <= 0 {
			*v = full
			if *quick {
				*v = q
			}
		}
	}
	pickD := func(v *time.Duration, full, q time.Duration) {
		if *v <= 0 {
			*v = full
			if *quick {
				*v = q
			}
		}
	}
	pickD(&h.duration, 15*time.Second, 3*time.Second)
	pickD(&h.fixedDuration, 15*time.Second, 5*time.Second)
	pickD(&h.memHold, 30*time.Second, 10*time.Second)
	pick(&h.fixedRate, 5000, 2000)
	pick(&h.memRegs, 100000, 20000)
	pick(&h.memCalls, 10000, 2000)
	if h.refine < 0 {
		h.refine = 2
		if *quick {
			h.refine = 1
		}
	}
	if rates == "" {
		rates = "500,1000,2000,4000,8000,16000,32000,64000,128000"
		if *quick {
			rates = "1000,2000,4000,8000,16000,32000,64000"
		}
	}
	for _, r := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad rate %q", r)
		}
		h.rates = append(h.rates, n)
	}
	h.targets = strings.Split(targets, ",")
	h.scenarios = strings.Split(scenarios, ",")

	var cancel context.CancelFunc
	h.ctx, cancel = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	if err := h.setup(); err != nil {
		return err
	}
	res := h.runAll()
	table := renderTable(h, res)
	fmt.Print(table)
	if err := os.WriteFile(filepath.Join(h.out, "results.md"), []byte(table), 0o644); err != nil {
		return err
	}
	log.Printf("results in %s", h.out)
	if h.ctx.Err() != nil {
		return errStopped
	}
	return nil
}

// setup finds the tools, builds sipd and makes the results directory and
// the store of the REGISTER users.
func (h *harness) setup() error {
	var err error
	if h.sipp, err = exec.LookPath("sipp"); err != nil {
		return errors.New("sipp not found: bench/install-deps.sh installs it (Debian package sip-tester)")
	}
	if h.kamailio, err = exec.LookPath("kamailio"); err != nil {
		if h.kamailio, err = exec.LookPath("/usr/sbin/kamailio"); err != nil && contains(h.targets, "kamailio") {
			return errors.New("kamailio not found: bench/install-deps.sh installs it (Debian package kamailio)")
		}
	}
	if h.benchDir, err = filepath.Abs(h.benchDir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(h.benchDir, "sipp", "uac.xml")); err != nil {
		return fmt.Errorf("no SIPp scenarios in %s/sipp: run from the repository root or give -bench-dir", h.benchDir)
	}
	if h.out == "" {
		h.out = filepath.Join(h.benchDir, "results", time.Now().UTC().Format("20060102-150405"))
	}
	if h.out, err = filepath.Abs(h.out); err != nil {
		return err
	}
	if err := os.MkdirAll(h.out, 0o750); err != nil {
		return err
	}
	if h.sipd == "" {
		h.sipd = filepath.Join(h.out, "bin", "sipd")
		log.Printf("building sipd")
		cmd := exec.Command("go", "build", "-o", h.sipd, "./cmd/sipd")
		cmd.Dir = filepath.Dir(h.benchDir)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building sipd: %w", err)
		}
	}
	if h.sipd, err = filepath.Abs(h.sipd); err != nil {
		return err
	}
	for _, p := range []int{h.port, h.uacPort, h.uasPort} {
		if err := waitPortFree(p, 2*time.Second); err != nil {
			return err
		}
	}
	if h.steps, err = os.Create(filepath.Join(h.out, "steps.tsv")); err != nil {
		return err
	}
	fmt.Fprintln(h.steps, "target\tscenario\trate\tcreated\tok\tfailed\tfail_pct\tachieved\tretrans\tp50_ms\tp99_ms\tserver_cpu_pct\tuac_cpu_pct\tuas_cpu_pct\tserver_us_per_op\tudp_drops\tverdict")
	if contains(h.targets, "sipd") && contains(h.scenarios, "register-auth") {
		if err := h.makeUsers(); err != nil {
			return err
		}
	}
	log.Printf("sipd %s, kamailio %s, sipp %s; rates %v, %s per step, refine %d; fixed rate %d/s for %s; results in %s",
		h.sipd, h.kamailio, h.sipp, h.rates, h.duration, h.refine, h.fixedRate, h.fixedDuration, h.out)
	return nil
}

// makeUsers writes the users u1 … uN (password pw-uN, realm 127.0.0.1)
// into a sipd store, as sipd user add does (auth.NewUser keeps only the
// digest hashes), once: every run gets a copy.
func (h *harness) makeUsers() error {
	dir := filepath.Join(h.out, "users-store")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	h.usersDB = filepath.Join(dir, "sipd.db")
	start := time.Now()
	st, err := sqlite.Open(h.ctx, h.usersDB, sqlite.Options{})
	if err != nil {
		return err
	}
	users := st.Users()
	for i := 1; i <= h.users; i++ {
		u := "u" + strconv.Itoa(i)
		if err := users.Put(h.ctx, auth.NewUser(u, "127.0.0.1", "pw-"+u)); err != nil {
			st.Close()
			return err
		}
	}
	if err := st.Close(); err != nil {
		return err
	}
	log.Printf("%d users in the sipd store in %s", h.users, time.Since(start).Round(time.Millisecond))
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// scenario is one kind of load.
type scenario struct {
	name  string
	role  role
	calls bool // INVITE/ACK/BYE calls rather than REGISTERs
	auth  bool
}

var scenarios = map[string]scenario{
	"register":      {name: "register", role: roleRegister},
	"register-auth": {name: "register-auth", role: roleRegisterAuth, auth: true},
	"stateless":     {name: "stateless", role: roleStateless, calls: true},
	"stateful":      {name: "stateful", role: roleStateful, calls: true},
}

// stepResult is one run of SIPp at one rate.
type stepResult struct {
	rate                      int
	planned                   int64
	st                        sippStats
	rtt                       rttSummary
	failPct, achieved         float64
	cpuSec                    float64 // server CPU from the UAC's start to its end
	sysSec                    float64 // of which system time
	serverPct, uacPct, uasPct float64 // % of one core over the load phase
	usPerOp, sysPerOp         float64 // cpuSec and sysSec per successful operation, µs
	drops                     int64
	verdict                   string
	pass                      bool
	profileCPU, profileAllocs string
	sippRC                    int
}

// runStep runs one SIPp load of sc at rate for dur against a fresh target.
func (h *harness) runStep(target string, sc scenario, rate int, dur time.Duration, dir string, profile bool) (stepResult, error) {
	res := stepResult{rate: rate}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return res, err
	}
	for _, f := range []string{"register.xml", "register_auth.xml", "uac.xml", "uas.xml", "uas_delay.xml"} {
		if err := copyFile(filepath.Join(h.benchDir, "sipp", f), filepath.Join(dir, f)); err != nil {
			return res, err
		}
	}
	srv, err := h.startServer(target, sc.role, dir)
	if err != nil {
		return res, err
	}
	defer srv.stop(10 * time.Second)
	secs := int(dur / time.Second)
	res.planned = int64(rate * secs)
	lim := max(rate*3, 1000)
	timeout := strconv.Itoa(secs+30) + "s"
	uacArgs := []string{"127.0.0.1:" + strconv.Itoa(h.port), "-i", "127.0.0.1", "-p", strconv.Itoa(h.uacPort),
		"-r", strconv.Itoa(rate), "-rp", "1000", "-m", strconv.FormatInt(res.planned, 10), "-l", strconv.Itoa(lim),
		"-nostdin", "-timeout", timeout, "-recv_timeout", "5000", "-buff_size", "4194304",
		"-default_behaviors", "all,-abortunexp", "-trace_stat", "-stf", "stats.csv", "-fd", "1",
		"-trace_rtt", "-rtt_freq", "100"}
	var uas *proc
	if sc.calls {
		// The callee registers, except with Kamailio's stateless proxy,
		// which forwards everything to the UAS's address.
		if sc.role == roleStateful || target == "sipd" {
			if err := h.registerUAS(dir); err != nil {
				return res, err
			}
		}
		if uas, err = startProc(dir, filepath.Join(dir, "uas.out"), h.sipp, "-sf", "uas.xml", "-i", "127.0.0.1",
			"-p", strconv.Itoa(h.uasPort), "-nostdin", "-timeout", strconv.Itoa(secs+45)+"s", "-buff_size", "4194304"); err != nil {
			return res, err
		}
		defer uas.stop(3 * time.Second)
		if err := waitBound(h.uasPort, uas, 5*time.Second); err != nil {
			return res, err
		}
		uacArgs = append([]string{"-sf", "uac.xml", "-s", "uas", "-d", "0"}, uacArgs...)
	} else {
		file, scen := "users.csv", "register.xml"
		if sc.auth {
			scen = "register_auth.xml"
		}
		if err := writeUsers(filepath.Join(dir, file), "u", 1, h.users, sc.auth); err != nil {
			return res, err
		}
		uacArgs = append([]string{"-sf", scen, "-inf", file}, uacArgs...)
	}

	drops0 := udpDrops()
	cpu0, sys0 := treeCPUSys(srv.pid())
	t0 := time.Now()
	uac, err := startProc(dir, filepath.Join(dir, "uac.out"), h.sipp, uacArgs...)
	if err != nil {
		return res, err
	}
	defer uac.stop(3 * time.Second)
	profDone := make(chan struct{})
	if profile && srv.pprof != "" {
		go func() {
			defer close(profDone)
			secs := max(int(dur/time.Second)-1, 1)
			res.profileCPU = filepath.Join(dir, "cpu.prof")
			if err := fetch("http://"+srv.pprof+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), res.profileCPU); err != nil {
				log.Printf("cpu profile: %v", err)
				res.profileCPU = ""
			}
		}()
	} else {
		close(profDone)
	}
	type sample struct {
		t             time.Time
		srv, uac, uas float64
	}
	var samples []sample
	deadline := t0.Add(dur + 45*time.Second)
	for !uac.exited() {
		s := sample{t: time.Now(), srv: treeCPU(srv.pid()), uac: treeCPU(uac.pid())}
		if uas != nil {
			s.uas = treeCPU(uas.pid())
		}
		if n := len(samples); n > 0 {
			// A process that has just ended reads as 0: keep its last time.
			p := samples[n-1]
			s.srv, s.uac, s.uas = max(s.srv, p.srv), max(s.uac, p.uac), max(s.uas, p.uas)
		}
		samples = append(samples, s)
		if time.Now().After(deadline) {
			log.Printf("the SIPp UAC still runs %s after its start; stopping it", time.Since(t0).Round(time.Second))
			break
		}
		if h.ctx.Err() != nil {
			return res, errStopped
		}
		uac.wait(200 * time.Millisecond)
	}
	uac.stop(3 * time.Second)
	cpu1, sys1 := treeCPUSys(srv.pid())
	wall := time.Since(t0)
	res.cpuSec, res.sysSec = cpu1-cpu0, sys1-sys0
	res.sippRC = uac.cmd.ProcessState.ExitCode()
	<-profDone
	if profile && srv.pprof != "" {
		res.profileAllocs = filepath.Join(dir, "allocs.prof")
		if err := fetch("http://"+srv.pprof+"/debug/pprof/allocs", res.profileAllocs); err != nil {
			log.Printf("allocs profile: %v", err)
			res.profileAllocs = ""
		}
	}
	res.drops = udpDrops() - drops0

	// CPU % of one core over the load phase: from 1 s after the start to
	// the last sample while calls were still being made.
	var a, b *sample
	for i := range samples {
		s := &samples[i]
		if a == nil && s.t.Sub(t0) >= time.Second {
			a = s
		}
		if s.t.Sub(t0) <= dur+500*time.Millisecond {
			b = s
		}
	}
	if a != nil && b != nil && b.t.After(a.t) {
		dt := b.t.Sub(a.t).Seconds()
		res.serverPct = (b.srv - a.srv) / dt * 100
		res.uacPct = (b.uac - a.uac) / dt * 100
		res.uasPct = (b.uas - a.uas) / dt * 100
	}

	statsB, err := os.ReadFile(filepath.Join(dir, "stats.csv"))
	if err == nil {
		res.st, err = parseSippStats(statsB)
	}
	if err != nil {
		log.Printf("%s: no SIPp statistics: %v", dir, err)
	}
	files := rttFiles(dir)
	res.rtt = parseRTT(files, "1")
	if !h.keepRaw {
		for _, f := range files {
			os.Remove(f)
		}
	}
	base := max(res.planned, res.st.created)
	if base > 0 {
		res.failPct = float64(base-res.st.ok) / float64(base) * 100
	}
	res.achieved = res.rtt.rate
	if w := wall.Seconds() - 1.5; w > 0 && (res.achieved == 0 || res.achieved > float64(res.st.created)/w) {
		res.achieved = float64(res.st.created) / w
	}
	if res.st.ok > 0 {
		res.usPerOp = res.cpuSec / float64(res.st.ok) * 1e6
		res.sysPerOp = res.sysSec / float64(res.st.ok) * 1e6
	}
	switch {
	case res.failPct >= h.maxFailPct:
		res.verdict = "FAIL(fail%)"
	case res.achieved < float64(rate)*h.minAchievedPct/100:
		res.verdict = "FAIL(rate)"
	case h.maxP99ms > 0 && (res.rtt.n == 0 || res.rtt.p99 >= h.maxP99ms):
		res.verdict = "FAIL(p99)"
	default:
		res.verdict, res.pass = "PASS", true
	}
	fmt.Fprintf(h.steps, "%s\t%s\t%d\t%d\t%d\t%d\t%.3f\t%.0f\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%d\t%s\n",
		target, sc.name, rate, res.st.created, res.st.ok, res.st.failed, res.failPct, res.achieved, res.st.retrans,
		res.rtt.p50, res.rtt.p99, res.serverPct, res.uacPct, res.uasPct, res.usPerOp, res.drops, res.verdict)
	log.Printf("  %s %s %d/s: ok %d/%d fail %.3f%% achieved %.0f/s p99 %.0f ms; cpu server %.0f%% uac %.0f%% uas %.0f%%; %.1f µs/op (system %.1f); udp drops %d -> %s",
		target, sc.name, rate, res.st.ok, res.planned, res.failPct, res.achieved, res.rtt.p99,
		res.serverPct, res.uacPct, res.uasPct, res.usPerOp, res.sysPerOp, res.drops, res.verdict)
	return res, nil
}

// registerUAS registers user uas at the SIPp UAS's address (the REGISTER
// is sent from the UAS port, before the UAS binds it).
func (h *harness) registerUAS(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "uasuser.csv"), []byte("SEQUENTIAL\nuas;\n"), 0o644); err != nil {
		return err
	}
	p, err := startProc(dir, filepath.Join(dir, "reg_uas.out"), h.sipp, "-sf", "register.xml",
		"127.0.0.1:"+strconv.Itoa(h.port), "-i", "127.0.0.1", "-p", strconv.Itoa(h.uasPort),
		"-inf", "uasuser.csv", "-m", "1", "-nostdin", "-timeout", "5s", "-recv_timeout", "3000")
	if err != nil {
		return err
	}
	if !p.wait(10 * time.Second) {
		p.stop(time.Second)
	}
	if p.cmd.ProcessState == nil || p.cmd.ProcessState.ExitCode() != 0 {
		return fmt.Errorf("registering the UAS failed; see %s/reg_uas.out", dir)
	}
	p.stop(time.Second)
	return waitPortFree(h.uasPort, 5*time.Second)
}

// waitBound waits until p holds port/udp.
func waitBound(port int, p *proc, d time.Duration) error {
	deadline := time.Now().Add(d)
	for !udpBound(port) {
		if p.exited() || time.Now().After(deadline) {
			return fmt.Errorf("%s did not bind UDP port %d", p.name, port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func fetch(url, path string) error {
	c := &http.Client{Timeout: 5 * time.Minute}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
