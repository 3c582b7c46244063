package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofAddr is the address of the profiling listener of sipd serve
// (--pprof); empty, the default, serves no profiles.
var pprofAddr string

// addPprofFlag adds --pprof to the serve flags.
func addPprofFlag(fs *flag.FlagSet) {
	fs.StringVar(&pprofAddr, "pprof", "", "address of a separate HTTP listener serving Go's net/http/pprof profiles under /debug/pprof/, such as 127.0.0.1:6060 (off when empty; keep it on loopback: it has no authentication)")
}

// startPprof serves the runtime profiles (CPU, heap, allocs, goroutine,
// mutex, block, trace) on their own listener at addr, apart from the admin
// API, so that they are there only when asked for. It returns the bound
// address and a function that closes the listener.
func startPprof(addr string, logOut io.Writer) (net.Addr, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(logOut, "sipd serve: pprof:", err)
		}
	}()
	return ln.Addr(), func() { srv.Close() }, nil
}
