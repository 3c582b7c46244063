package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// searchResult is the outcome of a stepped rate search.
type searchResult struct {
	best      stepResult // the highest passing step
	found     bool
	firstFail int // the lowest failing rate, 0 if none failed
	err       error
}

// figures is what one target measured.
type figures struct {
	search  map[string]searchResult // by scenario
	fixed   map[string]stepResult   // CPU per op at the fixed rate
	fixedOK map[string]bool
	perReg  float64 // bytes of PSS per registration
	perDlg  float64 // bytes of PSS per held dialog
	memNote string
	memErr  error
}

// results is what the whole run measured, by target.
type results map[string]*figures

func (h *harness) runAll() results {
	res := results{}
	for _, t := range h.targets {
		res[t] = &figures{search: map[string]searchResult{}, fixed: map[string]stepResult{}, fixedOK: map[string]bool{}}
	}
	for _, name := range h.scenarios {
		if name == "memory" {
			continue
		}
		sc, ok := scenarios[name]
		if !ok {
			log.Printf("unknown scenario %q", name)
			continue
		}
		for _, t := range h.targets {
			if h.ctx.Err() != nil {
				return res
			}
			log.Printf("%s %s: stepped search", t, name)
			sr := h.search(t, sc)
			if sr.err != nil {
				log.Printf("%s %s: %v", t, name, sr.err)
			}
			res[t].search[name] = sr
			if h.ctx.Err() != nil {
				return res
			}
			log.Printf("%s %s: CPU per operation at %d/s", t, name, h.fixedRate)
			dir := filepath.Join(h.out, t, name, "fixed-"+strconv.Itoa(h.fixedRate))
			st, err := h.runStep(t, sc, h.fixedRate, h.fixedDuration, dir, false)
			if err != nil {
				log.Printf("%s %s fixed rate: %v", t, name, err)
				continue
			}
			res[t].fixed[name] = st
			res[t].fixedOK[name] = true
			if !h.profile || t != "sipd" || h.ctx.Err() != nil {
				continue
			}
			// The profiles come from a run of their own, so that the
			// profiler's cost stays out of the figures.
			log.Printf("%s %s: CPU and allocs profiles at %d/s", t, name, h.fixedRate)
			dir = filepath.Join(h.out, t, name, "profile-"+strconv.Itoa(h.fixedRate))
			if st, err = h.runStep(t, sc, h.fixedRate, h.fixedDuration, dir, true); err != nil {
				log.Printf("%s %s profile: %v", t, name, err)
				continue
			}
			if st.profileCPU != "" {
				h.pprofTop(st.profileCPU, filepath.Join(h.out, "sipd-"+name+"-cpu-top.txt"), "-top")
			}
			if st.profileAllocs != "" {
				h.pprofTop(st.profileAllocs, filepath.Join(h.out, "sipd-"+name+"-allocs-top.txt"), "-top", "-sample_index=alloc_space")
			}
		}
	}
	if contains(h.scenarios, "memory") {
		for _, t := range h.targets {
			if h.ctx.Err() != nil {
				return res
			}
			h.memory(t, res[t])
		}
	}
	return res
}

// search runs the stepped search of sc against target (searchRates).
func (h *harness) search(target string, sc scenario) searchResult {
	var sr searchResult
	step := func(r int) (bool, error) {
		dir := filepath.Join(h.out, target, sc.name, "r"+strconv.Itoa(r))
		st, err := h.runStep(target, sc, r, h.duration, dir, false)
		if err != nil {
			return false, err
		}
		if st.pass && (!sr.found || r > sr.best.rate) {
			sr.best, sr.found = st, true
		}
		return st.pass, nil
	}
	_, sr.firstFail, sr.err = searchRates(h.rates, h.refine, step)
	return sr
}

// searchRates goes up through rates until a step fails, then bisects
// refine times between the last pass and the first failure, on a grid of
// 50 (10 when they are 200 or less apart). It returns the highest passing
// rate and the lowest failing one (0 when none).
func searchRates(rates []int, refine int, step func(rate int) (bool, error)) (lo, hi int, err error) {
	for _, r := range rates {
		ok, err := step(r)
		if err != nil {
			return lo, hi, err
		}
		if !ok {
			hi = r
			break
		}
		lo = r
	}
	for i := 0; i < refine && hi > 0 && lo > 0; i++ {
		q := 50
		if hi-lo <= 200 {
			q = 10
		}
		mid := (lo + hi) / 2 / q * q
		if mid <= lo || mid >= hi {
			break
		}
		ok, err := step(mid)
		if err != nil {
			return lo, hi, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, hi, nil
}

// memory measures PSS per registration (after mem-regs distinct
// REGISTERs, the growth from the first tenth to all of them, so that
// start-up allocations do not count) and per dialog held open (calls
// answered and not yet ended, through the stateful proxy).
func (h *harness) memory(target string, f *figures) {
	dir := filepath.Join(h.out, target, "memory")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		f.memErr = err
		return
	}
	for _, x := range []string{"register.xml", "uac.xml", "uas.xml"} {
		if err := copyFile(filepath.Join(h.benchDir, "sipp", x), filepath.Join(dir, x)); err != nil {
			f.memErr = err
			return
		}
	}
	// Registrations: no authentication on either side, so that both keep
	// just the binding (sipd in its durable store and its cache).
	log.Printf("%s memory: %d registrations", target, h.memRegs)
	srv, err := h.startServer(target, roleRegister, filepath.Join(dir, "reg"))
	if err != nil {
		f.memErr = err
		return
	}
	first := h.memRegs / 10
	regRate := 5000
	register := func(from, n int, name string) error {
		if err := writeUsers(filepath.Join(dir, name+".csv"), "m", from, n, false); err != nil {
			return err
		}
		p, err := startProc(dir, filepath.Join(dir, name+".out"), h.sipp, "-sf", "register.xml",
			"127.0.0.1:"+strconv.Itoa(h.port), "-i", "127.0.0.1", "-p", strconv.Itoa(h.uacPort),
			"-inf", name+".csv", "-r", strconv.Itoa(regRate), "-m", strconv.Itoa(n), "-l", "5000",
			"-nostdin", "-timeout", strconv.Itoa(n/regRate+30)+"s", "-recv_timeout", "5000", "-buff_size", "4194304",
			"-trace_stat", "-stf", name+"_stats.csv", "-fd", "1")
		if err != nil {
			return err
		}
		if !p.wait(time.Duration(n/regRate+40) * time.Second) {
			p.stop(time.Second)
		}
		p.stop(time.Second)
		b, _ := os.ReadFile(filepath.Join(dir, name+"_stats.csv"))
		st, _ := parseSippStats(b)
		if st.ok < int64(n)*99/100 {
			return fmt.Errorf("only %d of %d REGISTERs succeeded (see %s)", st.ok, n, dir)
		}
		return nil
	}
	var m1, m2 memKB
	if err = register(1, first, "regs_a"); err == nil {
		time.Sleep(2 * time.Second)
		m1 = treeMem(srv.pid())
		if err = register(first+1, h.memRegs-first, "regs_b"); err == nil {
			time.Sleep(2 * time.Second)
			m2 = treeMem(srv.pid())
			f.perReg = float64(m2.pss-m1.pss) * 1024 / float64(h.memRegs-first)
		}
	}
	srv.stop(10 * time.Second)
	if err != nil {
		f.memErr = err
		return
	}
	note := fmt.Sprintf("registrations: PSS %d kB after %d, %d kB after %d (%d processes)", m1.pss, first, m2.pss, h.memRegs, m2.procs)

	// Held dialogs: calls answered and held for memHold through the
	// stateful proxy; measured once all are up.
	log.Printf("%s memory: %d calls held open", target, h.memCalls)
	cdir := filepath.Join(dir, "calls")
	if err := os.MkdirAll(cdir, 0o750); err != nil {
		f.memErr = err
		return
	}
	for _, x := range []string{"register.xml", "uac.xml", "uas.xml"} {
		if err := copyFile(filepath.Join(h.benchDir, "sipp", x), filepath.Join(cdir, x)); err != nil {
			f.memErr = err
			return
		}
	}
	srv, err = h.startServer(target, roleStateful, cdir)
	if err != nil {
		f.memErr = err
		return
	}
	defer srv.stop(10 * time.Second)
	if err := h.registerUAS(cdir); err != nil {
		f.memErr = err
		return
	}
	hold := int(h.memHold / time.Millisecond)
	ramp := h.memCalls / h.memCallRate
	uas, err := startProc(cdir, filepath.Join(cdir, "uas.out"), h.sipp, "-sf", "uas.xml", "-i", "127.0.0.1",
		"-p", strconv.Itoa(h.uasPort), "-nostdin", "-timeout", strconv.Itoa(ramp+hold/1000+40)+"s", "-buff_size", "4194304")
	if err != nil {
		f.memErr = err
		return
	}
	defer uas.stop(3 * time.Second)
	if err := waitBound(h.uasPort, uas, 5*time.Second); err != nil {
		f.memErr = err
		return
	}
	time.Sleep(time.Second)
	base := treeMem(srv.pid())
	uac, err := startProc(cdir, filepath.Join(cdir, "uac.out"), h.sipp, "-sf", "uac.xml", "-s", "uas",
		"127.0.0.1:"+strconv.Itoa(h.port), "-i", "127.0.0.1", "-p", strconv.Itoa(h.uacPort),
		"-r", strconv.Itoa(h.memCallRate), "-m", strconv.Itoa(h.memCalls), "-l", strconv.Itoa(h.memCalls+100),
		"-d", strconv.Itoa(hold), "-nostdin", "-default_behaviors", "all,-abortunexp",
		"-timeout", strconv.Itoa(ramp+hold/1000+30)+"s", "-recv_timeout", "10000", "-buff_size", "4194304",
		"-trace_stat", "-stf", "held_stats.csv", "-fd", "1")
	if err != nil {
		f.memErr = err
		return
	}
	defer uac.stop(3 * time.Second)
	// All calls are up about ramp seconds after the start; hold must
	// outlast the wait.
	uac.wait(time.Duration(ramp+3) * time.Second)
	held := treeMem(srv.pid())
	b, _ := os.ReadFile(filepath.Join(cdir, "held_stats.csv"))
	st, _ := parseSippStats(b)
	f.perDlg = float64(held.pss-base.pss) * 1024 / float64(h.memCalls)
	note += fmt.Sprintf("; dialogs: PSS %d kB before, %d kB with %d calls open at the UAC (%d created, %d failed)",
		base.pss, held.pss, st.current, st.created, st.failed)
	if st.current < int64(h.memCalls)*95/100 {
		f.memErr = fmt.Errorf("only %d of %d calls were open when measured (see %s)", st.current, h.memCalls, cdir)
	}
	f.memNote = note
	log.Printf("%s memory: %s", target, note)
}

// pprofTop writes go tool pprof's top list of prof to out.
func (h *harness) pprofTop(prof, out string, args ...string) {
	cmd := exec.Command("go", append(append([]string{"tool", "pprof"}, args...), h.sipd, prof)...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		log.Printf("go tool pprof: %v\n%s", err, b)
		return
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 32 {
		lines = lines[:32]
	}
	os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	log.Printf("profile top in %s", out)
}

// renderTable prints the comparison as a markdown table.
func renderTable(h *harness, res results) string {
	var b strings.Builder
	s, k := res["sipd"], res["kamailio"]
	fmt.Fprintf(&b, "\n## sipd vs Kamailio (%s; steps of %s, fixed rate %d/s for %s)\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), h.duration, h.fixedRate, h.fixedDuration)
	fmt.Fprintln(&b, "| figure | sipd | Kamailio | ratio | target | met |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	row := func(name string, sv, kv float64, sok, kok bool, unit string, target string, ok func(r float64) bool) {
		cell := func(v float64, have bool) string {
			if !have {
				return "—"
			}
			return fmtNum(v) + unit
		}
		ratio, met := "—", "—"
		if sok && kok && kv != 0 {
			r := sv / kv
			ratio = fmt.Sprintf("%.2f", r)
			if ok != nil {
				met = "no"
				if ok(r) {
					met = "yes"
				}
			}
		}
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name, cell(sv, sok), cell(kv, kok), ratio, target, met)
	}
	get := func(f *figures, sc string) (searchResult, stepResult, bool, bool) {
		if f == nil {
			return searchResult{}, stepResult{}, false, false
		}
		sr, ok := f.search[sc]
		return sr, f.fixed[sc], ok && sr.err == nil && sr.found, f.fixedOK[sc] && f.fixed[sc].st.ok > 0
	}
	maxRate := func(sr searchResult) float64 { return float64(sr.best.rate) }
	atLeast := func(x float64) func(float64) bool { return func(r float64) bool { return r >= x } }
	atMost := func(x float64) func(float64) bool { return func(r float64) bool { return r <= x } }
	fixedNote := func(st stepResult, have bool) string {
		if have && !st.pass {
			return " (" + st.verdict + ")"
		}
		return ""
	}

	ssr, sfx, sok, sfok := get(s, "register-auth")
	ksr, kfx, kok, kfok := get(k, "register")
	if contains(h.scenarios, "register-auth") && contains(h.scenarios, "register") {
		row("REGISTER max rate /s (sipd: digest auth, durable store; Kamailio: no auth, in memory)",
			maxRate(ssr), maxRate(ksr), sok, kok, "", "≥ 1.0", atLeast(1.0))
		row("REGISTER CPU µs/op at fixed rate (same pairing)"+fixedNote(sfx, sfok)+fixedNote(kfx, kfok),
			sfx.usPerOp, kfx.usPerOp, sfok, kfok, "", "", nil)
	}
	if contains(h.scenarios, "register-auth") {
		ksr2, kfx2, kok2, kfok2 := get(k, "register-auth")
		row("REGISTER max rate /s, digest auth on both", maxRate(ssr), maxRate(ksr2), sok, kok2, "", "", nil)
		row("REGISTER CPU µs/op at fixed rate, digest auth on both"+fixedNote(sfx, sfok)+fixedNote(kfx2, kfok2),
			sfx.usPerOp, kfx2.usPerOp, sfok, kfok2, "", "", nil)
	}
	if contains(h.scenarios, "register") {
		ssr3, sfx3, sok3, sfok3 := get(s, "register")
		row("REGISTER max rate /s, no auth on either", maxRate(ssr3), maxRate(ksr), sok3, kok, "", "", nil)
		row("REGISTER CPU µs/op at fixed rate, no auth"+fixedNote(sfx3, sfok3)+fixedNote(kfx, kfok),
			sfx3.usPerOp, kfx.usPerOp, sfok3, kfok, "", "", nil)
	}
	for _, sc := range []string{"stateless", "stateful"} {
		if !contains(h.scenarios, sc) {
			continue
		}
		ssr, sfx, sok, sfok := get(s, sc)
		ksr, kfx, kok, kfok := get(k, sc)
		title := map[string]string{"stateless": "stateless proxy", "stateful": "stateful proxy (Record-Route, location)"}[sc]
		row("calls, "+title+": max rate /s", maxRate(ssr), maxRate(ksr), sok, kok, "", "≥ 1.2", atLeast(1.2))
		row("calls, "+title+": CPU µs/call at fixed rate"+fixedNote(sfx, sfok)+fixedNote(kfx, kfok),
			sfx.usPerOp, kfx.usPerOp, sfok, kfok, "", "≤ 0.7", atMost(0.7))
		row("calls, "+title+": of which system (kernel) µs/call",
			sfx.sysPerOp, kfx.sysPerOp, sfok, kfok, "", "", nil)
	}
	if contains(h.scenarios, "memory") {
		have := func(f *figures) bool { return f != nil && f.memErr == nil && f.memNote != "" }
		row(fmt.Sprintf("memory per registration, bytes (PSS, %d REGISTERs, no auth)", h.memRegs),
			val(s, func(f *figures) float64 { return f.perReg }), val(k, func(f *figures) float64 { return f.perReg }),
			have(s), have(k), "", "≤ 1.0", atMost(1.0))
		row(fmt.Sprintf("memory per live dialog, bytes (PSS, %d calls held, stateful proxy)", h.memCalls),
			val(s, func(f *figures) float64 { return f.perDlg }), val(k, func(f *figures) float64 { return f.perDlg }),
			have(s), have(k), "", "≤ 1.0", atMost(1.0))
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Max rate: highest step with < "+fmtNum(h.maxFailPct)+"% failed calls, ≥ "+fmtNum(h.minAchievedPct)+
		"% of the rate achieved and p99 setup time < "+fmtNum(h.maxP99ms)+" ms (steps in steps.tsv). "+
		"CPU µs/op: the server's utime+stime (/proc, all its processes) over the fixed-rate run, per successful call or REGISTER flow. "+
		"A max rate equal to the highest step means no step failed. SIPp shares the machine: compare on the same machine only.")
	fmt.Fprintln(&b)
	for _, t := range h.targets {
		f := res[t]
		for _, sc := range h.scenarios {
			if sr, ok := f.search[sc]; ok {
				ff := "none failed"
				if sr.firstFail > 0 {
					ff = "first failing step " + strconv.Itoa(sr.firstFail) + "/s"
				}
				if sr.err != nil {
					ff = "error: " + sr.err.Error()
				}
				fmt.Fprintf(&b, "- %s %s: max %d/s (%s); at the max: server CPU %.0f%%, UAC %.0f%%, UAS %.0f%% of a core, p99 %.0f ms\n",
					t, sc, sr.best.rate, ff, sr.best.serverPct, sr.best.uacPct, sr.best.uasPct, sr.best.rtt.p99)
			}
			if st, ok := f.fixed[sc]; ok {
				fmt.Fprintf(&b, "- %s %s at %d/s: %d ok, %.3f%% failed, server CPU %.2f s = %.1f µs/op, of which system %.1f µs/op (%s)\n",
					t, sc, st.rate, st.st.ok, st.failPct, st.cpuSec, st.usPerOp, st.sysPerOp, st.verdict)
			}
		}
		if f.memNote != "" || f.memErr != nil {
			e := ""
			if f.memErr != nil {
				e = " — error: " + f.memErr.Error()
			}
			fmt.Fprintf(&b, "- %s memory: %s%s\n", t, f.memNote, e)
		}
	}
	return b.String()
}

func val(f *figures, get func(*figures) float64) float64 {
	if f == nil {
		return 0
	}
	return get(f)
}

func fmtNum(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
