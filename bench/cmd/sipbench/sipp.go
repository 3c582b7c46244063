package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// sippStats is the last line of a SIPp statistics file (-trace_stat -stf).
type sippStats struct {
	created, ok, failed, retrans, current int64
}

// parseSippStats reads SIPp's ';'-separated statistics: a header line and
// one line per dump; the last one holds the totals.
func parseSippStats(b []byte) (sippStats, error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return sippStats{}, fmt.Errorf("sipp statistics: %d lines", len(lines))
	}
	head := strings.Split(strings.TrimSpace(lines[0]), ";")
	last := strings.Split(strings.TrimSpace(lines[len(lines)-1]), ";")
	col := func(name string) int64 {
		i := slices.Index(head, name)
		if i < 0 || i >= len(last) {
			return 0
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(last[i]), 10, 64)
		return n
	}
	return sippStats{
		created: col("TotalCallCreated"),
		ok:      col("SuccessfulCall(C)"),
		failed:  col("FailedCall(C)"),
		retrans: col("Retransmissions(C)"),
		current: col("CurrentCall"),
	}, nil
}

// rttSummary is what the harness takes of SIPp's response times of one
// rtd (-trace_rtt): percentiles, and the rate at which the rtd completed
// between its first and last sample (the steady throughput).
type rttSummary struct {
	n             int
	p50, p99, max float64 // ms
	rate          float64 // completions per second
}

// parseRTT reads SIPp *_rtt.csv files: "date_ms;response_time_ms;rtd_no"
// lines after a header.
func parseRTT(files []string, rtd string) rttSummary {
	var times []float64
	var t0, t1 float64
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			p := strings.Split(strings.TrimSpace(sc.Text()), ";")
			if len(p) < 3 || strings.TrimSpace(p[2]) != rtd {
				continue
			}
			at, err1 := strconv.ParseFloat(p[0], 64)
			rt, err2 := strconv.ParseFloat(p[1], 64)
			if err1 != nil || err2 != nil {
				continue
			}
			if len(times) == 0 || at < t0 {
				t0 = at
			}
			if len(times) == 0 || at > t1 {
				t1 = at
			}
			times = append(times, rt)
		}
		fh.Close()
	}
	s := rttSummary{n: len(times)}
	if len(times) == 0 {
		return s
	}
	slices.Sort(times)
	pct := func(q float64) float64 {
		i := int(float64(len(times))*q) - 1
		return times[max(i, 0)]
	}
	s.p50, s.p99, s.max = pct(0.5), pct(0.99), times[len(times)-1]
	if t1 > t0 {
		s.rate = float64(len(times)-1) / (t1 - t0) * 1000
	}
	return s
}

func rttFiles(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	return m
}

// writeUsers writes a SIPp injection file of users prefix+first ..
// prefix+(first+n-1); with auth, the second field is SIPp's
// [authentication] keyword with the user's password (pw-USER): SIPp 3.6.1
// does not expand fields inside the keyword, but expands the keyword from
// a field.
func writeUsers(path, prefix string, first, n int, auth bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "SEQUENTIAL")
	for i := first; i < first+n; i++ {
		u := prefix + strconv.Itoa(i)
		if auth {
			fmt.Fprintf(w, "%s;[authentication username=%s password=pw-%s];\n", u, u, u)
		} else {
			fmt.Fprintf(w, "%s;\n", u)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
