// Command parsecmp compares sipd's SIP parser with github.com/emiago/sipgo's
// on the messages of sipd's own benchmarks, for two operations: parse then
// serialize, and parse then read the transaction key (top Via branch,
// Call-ID, CSeq). It first checks that both libraries parse every message to
// the same keys and exits with status 1 if not.
//
// Usage (from bench/parsecmp):
//
//	go run . [-runs N] [-benchtime D]
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"testing"
	"text/tabwriter"
	"time"
)

type result struct {
	nsPerOp     float64
	allocsPerOp int64
	bytesPerOp  int64
}

// measure runs fn on msg runs times with testing.Benchmark and returns the
// run with the median ns/op.
func measure(fn func(*testing.B, string), msg string, runs int) (result, error) {
	rs := make([]result, 0, runs)
	for range runs {
		br := testing.Benchmark(func(b *testing.B) { fn(b, msg) })
		if br.N == 0 {
			return result{}, fmt.Errorf("benchmark failed")
		}
		rs = append(rs, result{
			nsPerOp:     float64(br.T.Nanoseconds()) / float64(br.N),
			allocsPerOp: br.AllocsPerOp(),
			bytesPerOp:  br.AllocedBytesPerOp(),
		})
	}
	slices.SortFunc(rs, func(a, b result) int {
		switch {
		case a.nsPerOp < b.nsPerOp:
			return -1
		case a.nsPerOp > b.nsPerOp:
			return 1
		}
		return 0
	})
	return rs[len(rs)/2], nil
}

func main() {
	testing.Init() // registers -test.benchtime, which testing.Benchmark reads
	runs := flag.Int("runs", 3, "measure each case this many times and report the median")
	benchtime := flag.Duration("benchtime", time.Second, "run time of each measurement")
	flag.Parse()
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "parsecmp: -runs must be at least 1")
		os.Exit(2)
	}
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		fmt.Fprintln(os.Stderr, "parsecmp:", err)
		os.Exit(2)
	}

	// Both parsers must agree before anything is timed.
	failed := false
	for _, s := range samples {
		k, err := checkSample(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "parsecmp: %s: %v\n", s.name, err)
			failed = true
			continue
		}
		fmt.Printf("ok %-8s %v\n", s.name, k)
	}
	if failed {
		os.Exit(1)
	}

	fmt.Printf("\n%s %s/%s, GOMAXPROCS=%d, median of %d x %v\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), *runs, *benchtime)

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation/message\tsipd ns/op\tsipd allocs/op\tsipgo ns/op\tsipgo allocs/op\tspeedup (sipgo/sipd)\t")
	var summary []string
	for _, op := range operations {
		logSum := 0.0
		for _, s := range samples {
			d, err := measure(op.sipd, s.data, *runs)
			if err != nil {
				fmt.Fprintf(os.Stderr, "parsecmp: sipd %s/%s: %v\n", op.name, s.name, err)
				os.Exit(1)
			}
			g, err := measure(op.sipgo, s.data, *runs)
			if err != nil {
				fmt.Fprintf(os.Stderr, "parsecmp: sipgo %s/%s: %v\n", op.name, s.name, err)
				os.Exit(1)
			}
			ratio := g.nsPerOp / d.nsPerOp
			logSum += math.Log(ratio)
			fmt.Fprintf(tw, "%s/%s\t%.0f\t%d\t%.0f\t%d\t%.2fx\t\n",
				op.name, s.name, d.nsPerOp, d.allocsPerOp, g.nsPerOp, g.allocsPerOp, ratio)
		}
		summary = append(summary, fmt.Sprintf("%s: geometric mean speedup (sipgo/sipd) %.2fx",
			op.name, math.Exp(logSum/float64(len(samples)))))
	}
	tw.Flush()
	fmt.Println()
	for _, line := range summary {
		fmt.Println(line)
	}
}
