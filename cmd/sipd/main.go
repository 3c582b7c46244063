// Command sipd is a SIP server and SIP toolkit in one binary: proxy,
// registrar, redirect and presence server, B2BUA, and client commands.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "version"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "version", "-version", "--version", "-v":
		fmt.Fprintln(stdout, "sipd", versionString())
		return 0
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "user":
		return runUser(args[1:], stdout, stderr)
	case "check-config":
		return runCheckConfig(args[1:], stdout, stderr)
	case "ctl":
		return runCtl(args[1:], stdout, stderr)
	case "cert":
		return runCert(args[1:], stdout, stderr)
	case "options":
		return runOptions(args[1:], stdout, stderr)
	case "register":
		return runRegister(args[1:], stdout, stderr)
	case "call":
		return runCall(args[1:], stdout, stderr)
	case "answer":
		return runAnswer(args[1:], stdout, stderr)
	case "message":
		return runMessage(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "sipd: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage: sipd <command> [flags]

commands:
  serve     run the SIP server (registrar with digest auth, OPTIONS); see sipd serve -h
  user      add, delete or list accounts: user add USER@DOMAIN --password SECRET
  check-config FILE   check a config file and report every problem
  ctl       read a running server's state: ctl registrations [--admin ADDR] [--json]
  version   print the version
  cert      write a self-signed TLS certificate and key (--host, --cert, --key)
  help      print this help

client commands (each prints the call flow, exits 0 on success, 1 on failure):
  options URI          send OPTIONS
  register --user U --registrar URI [--password P] [--expires D] [--unregister]
  call URI             call, with --play FILE.wav or --tone HZ, --record FILE.wav, --duration D
  answer               listen (--listen ADDR) and answer calls; prints MESSAGEs; --once, --count N
  message URI TEXT     send a MESSAGE`)
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
