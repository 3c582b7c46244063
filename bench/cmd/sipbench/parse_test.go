package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and a parenthesis, as /proc allows.
	in := []byte("4242 (kam (worker) 1) S 4200 4242 4242 0 -1 4194560 1 0 0 0 123 45 6 7 20 0 1 0 100 0 0\n")
	st, err := parseStat(in)
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 4200 || st.ticks != 168 || st.sys != 45 {
		t.Errorf("parseStat = %+v, want ppid 4200, ticks 123+45, sys 45", st)
	}
	if _, err := parseStat([]byte("4242 (x) S 1")); err == nil {
		t.Error("a short stat line parsed")
	}
	self, err := readStat(os.Getpid())
	if err != nil || self.ppid != os.Getppid() {
		t.Errorf("own stat = %+v, %v; want ppid %d", self, err, os.Getppid())
	}
	if pids := treePIDs(os.Getpid()); len(pids) < 1 {
		t.Errorf("treePIDs of this process = %v", pids)
	}
}

func TestParseKB(t *testing.T) {
	in := []byte("Name:\tsipd\nVmPeak:\t  2000 kB\nVmRSS:\t  1234 kB\n")
	if got := parseKB(in, "VmRSS"); got != 1234 {
		t.Errorf("VmRSS = %d, want 1234", got)
	}
	if got := parseKB(in, "Pss"); got != 0 {
		t.Errorf("missing Pss = %d, want 0", got)
	}
	if m := treeMem(os.Getpid()); m.rss <= 0 || m.procs < 1 {
		t.Errorf("treeMem of this process = %+v", m)
	}
}

func TestParseSippStats(t *testing.T) {
	in := "StartTime;LastResetTime;CurrentTime;TotalCallCreated;CurrentCall;SuccessfulCall(C);FailedCall(C);Retransmissions(C)\n" +
		"a;b;c;10;5;5;0;1\n" +
		"a;b;c;3000;2;2990;8;40\n"
	st, err := parseSippStats([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := sippStats{created: 3000, ok: 2990, failed: 8, retrans: 40, current: 2}
	if st != want {
		t.Errorf("parseSippStats = %+v, want %+v", st, want)
	}
	if _, err := parseSippStats([]byte("header only\n")); err == nil {
		t.Error("a file without totals parsed")
	}
}

func TestParseRTT(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("Date_ms;response_time_ms;rtd_no\n")
	// 101 samples of rtd 1 over 1 s (1..101 ms), and rtd 2 noise.
	for i := 0; i <= 100; i++ {
		b.WriteString(strings.Join([]string{strconv.Itoa(1000000 + i*10), strconv.Itoa(i + 1), "1"}, ";") + "\n")
		b.WriteString(strings.Join([]string{strconv.Itoa(1000000 + i*10), "900", "2"}, ";") + "\n")
	}
	f := filepath.Join(dir, "uac_1_rtt.csv")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s := parseRTT(rttFiles(dir), "1")
	if s.n != 101 || s.p50 != 50 || s.p99 != 99 || s.max != 101 {
		t.Errorf("parseRTT = %+v, want 101 samples, p50 50, p99 99, max 101", s)
	}
	if s.rate < 99 || s.rate > 101 {
		t.Errorf("rate = %.1f/s, want 100", s.rate)
	}
}

func TestWriteUsers(t *testing.T) {
	f := filepath.Join(t.TempDir(), "u.csv")
	if err := writeUsers(f, "u", 7, 2, true); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	want := "SEQUENTIAL\nu7;[authentication username=u7 password=pw-u7];\nu8;[authentication username=u8 password=pw-u8];\n"
	if string(b) != want {
		t.Errorf("users file:\n%s\nwant:\n%s", b, want)
	}
}

func TestSearchRates(t *testing.T) {
	rates := []int{500, 1000, 2000, 4000, 8000}
	tests := []struct {
		limit, refine int // steps pass up to limit
		lo, hi        int
		ran           []int
	}{
		{limit: 3000, refine: 2, lo: 3000, hi: 3500, ran: []int{500, 1000, 2000, 4000, 3000, 3500}},
		{limit: 3000, refine: 0, lo: 2000, hi: 4000, ran: []int{500, 1000, 2000, 4000}},
		{limit: 100000, refine: 2, lo: 8000, hi: 0, ran: rates},
		{limit: 100, refine: 2, lo: 0, hi: 500, ran: []int{500}},
		{limit: 520, refine: 3, lo: 500, hi: 550, ran: []int{500, 1000, 750, 600, 550}},
	}
	for _, tt := range tests {
		var ran []int
		lo, hi, err := searchRates(rates, tt.refine, func(r int) (bool, error) {
			ran = append(ran, r)
			return r <= tt.limit, nil
		})
		if err != nil || lo != tt.lo || hi != tt.hi || !slices.Equal(ran, tt.ran) {
			t.Errorf("limit %d refine %d: lo %d hi %d (%v), ran %v; want %d %d, %v", tt.limit, tt.refine, lo, hi, err, ran, tt.lo, tt.hi, tt.ran)
		}
	}
}
