package main

import (
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/sipd/sipd/config"
)

// TestSetGC: the [runtime] keys reach the garbage collector unless GOGC or
// GOMEMLIMIT is set, which win.
func TestSetGC(t *testing.T) {
	oldGC := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(oldGC)
		debug.SetMemoryLimit(oldLimit)
	})
	log := slog.New(slog.DiscardHandler)
	rt := config.Runtime{GCPercent: 400, MemoryLimitMB: 64}

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	setGC(rt, log)
	if got := debug.SetGCPercent(100); got != 400 {
		t.Errorf("GC percent %d, want 400 from the config", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != 64<<20 {
		t.Errorf("memory limit %d, want %d from the config", got, 64<<20)
	}

	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	setGC(rt, log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d with GOGC set, want it left alone (100)", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("memory limit %d with GOMEMLIMIT set, want it left alone", got)
	}

	// No limit configured: none is set.
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	setGC(config.Runtime{GCPercent: 200}, log)
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("memory limit %d without memory_limit_mb, want none", got)
	}
}

// TestSetMaxProcs: runtime.max_procs sets GOMAXPROCS unless the
// environment variable does; 0 leaves it alone.
func TestSetMaxProcs(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	oldGC := debug.SetGCPercent(100)
	t.Cleanup(func() {
		runtime.GOMAXPROCS(old)
		debug.SetGCPercent(oldGC)
	})
	log := slog.New(slog.DiscardHandler)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOMAXPROCS", "")
	runtime.GOMAXPROCS(2)
	setGC(config.Runtime{GCPercent: 100, MaxProcs: 1}, log)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS %d, want 1 from the config", got)
	}
	runtime.GOMAXPROCS(2)
	setGC(config.Runtime{GCPercent: 100}, log)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS %d with max_procs 0, want it left at 2", got)
	}
	t.Setenv("GOMAXPROCS", "2")
	setGC(config.Runtime{GCPercent: 100, MaxProcs: 1}, log)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS %d with the environment variable set, want it left at 2", got)
	}
}
