package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clkTck is USER_HZ, the unit of utime and stime in /proc/PID/stat; 100 on
// every Linux architecture Go runs on.
const clkTck = 100

// procStat is what the harness reads of /proc/PID/stat.
type procStat struct {
	ppid  int
	ticks int64 // utime + stime
	sys   int64 // stime: the kernel's work for it, with the softirq
	// work done in its system calls (tick accounting, no IRQ time
	// accounting: see /proc/config.gz), such as loopback delivery
}

// parseStat parses the contents of /proc/PID/stat. The command name, in
// parentheses, may hold spaces and parentheses: the fields start after the
// last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat: %d fields", len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseInt(f[11], 10, 64)
	st, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, fmt.Errorf("stat: bad numbers in %q", b)
	}
	return procStat{ppid: ppid, ticks: ut + st, sys: st}, nil
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// treePIDs returns root and all its descendants (Kamailio forks its
// workers; sipd is one process).
func treePIDs(root int) []int {
	ents, _ := filepath.Glob("/proc/[0-9]*/stat")
	parent := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			parent[pid] = st.ppid
		}
	}
	var out []int
	for pid := range parent {
		p := pid
		for n := 0; n < 64 && p > 1; n++ {
			if p == root {
				out = append(out, pid)
				break
			}
			p = parent[p]
		}
	}
	return out
}

// treeCPU is the CPU time (user + system) of root's process tree, in
// seconds.
func treeCPU(root int) float64 {
	t, _ := treeCPUSys(root)
	return t
}

// treeCPUSys is treeCPU and, of it, the system time.
func treeCPUSys(root int) (total, sys float64) {
	var t, s int64
	for _, pid := range treePIDs(root) {
		if st, err := readStat(pid); err == nil {
			t += st.ticks
			s += st.sys
		}
	}
	return float64(t) / clkTck, float64(s) / clkTck
}

// memKB is the memory of a process tree in kB.
type memKB struct {
	pss, rss int64 // PSS (shared pages split between sharers) and RSS, summed
	procs    int
}

// parseKB returns the value in kB of the line "key: N kB" in a
// /proc/PID/status or smaps_rollup file.
func parseKB(b []byte, key string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// treeMem sums PSS (smaps_rollup) and VmRSS (status) over root's tree.
// Kamailio's shared memory is mapped by every worker: PSS counts it once.
func treeMem(root int) memKB {
	var m memKB
	for _, pid := range treePIDs(root) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
			m.pss += parseKB(b, "Pss")
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			m.rss += parseKB(b, "VmRSS")
		}
		m.procs++
	}
	return m
}

// udpDrops is the machine's UDP receive-buffer overflow count
// (RcvbufErrors in /proc/net/snmp).
func udpDrops() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "Udp: ")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				d, _ := strconv.ParseInt(f[i], 10, 64)
				return d
			}
		}
	}
	return 0
}
