package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sipd/sipd/config"
)

// runCheckConfig is `sipd check-config FILE`: it loads and validates the
// configuration file as `sipd serve --config FILE` would, starting
// nothing, and prints "FILE: ok" or every problem, one a line as
// file:line:col: key: reason. It exits 0 when the file is good, 1 when it
// is not (or cannot be read), 2 on a usage error.
func runCheckConfig(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd check-config FILE")
		fmt.Fprintln(stderr, "\nchecks a configuration file and prints every problem in it, one a line as file:line:col: key: reason")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fset.NArg() != 1 {
		fset.Usage()
		return 2
	}
	file := fset.Arg(0)
	if _, err := config.Load(file); err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(stderr, e)
			}
		} else {
			fmt.Fprintln(stderr, "sipd check-config:", err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", file)
	return 0
}
