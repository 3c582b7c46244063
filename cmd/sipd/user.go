package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/storage/sqlite"
)

// runUser manages accounts: sipd user add|del|list. Only digest hashes are
// stored (auth.NewUser), never the password.
func runUser(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: sipd user add USER@DOMAIN --password SECRET | del USER@DOMAIN | list  [--data-dir DIR]")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "sipd-data", "the directory of the embedded store")
	password := fs.String("password", "", "the password (add)")
	// Accept flags before and after the positional argument.
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	ctx := context.Background()
	if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		fmt.Fprintln(stderr, "sipd user:", err)
		return 1
	}
	store, err := sqlite.Open(ctx, filepath.Join(*dataDir, "sipd.db"), sqlite.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "sipd user:", err)
		return 1
	}
	defer store.Close()
	users := store.Users()

	switch sub {
	case "add", "del":
		if len(pos) != 1 {
			fmt.Fprintf(stderr, "sipd user %s: want one USER@DOMAIN\n", sub)
			return 2
		}
		name, domain, ok := strings.Cut(pos[0], "@")
		if !ok || name == "" || domain == "" {
			fmt.Fprintf(stderr, "sipd user %s: %q is not USER@DOMAIN\n", sub, pos[0])
			return 2
		}
		domain = strings.ToLower(domain)
		if sub == "add" {
			if *password == "" {
				fmt.Fprintln(stderr, "sipd user add: --password is required")
				return 2
			}
			if err := users.Put(ctx, auth.NewUser(name, domain, *password)); err != nil {
				fmt.Fprintln(stderr, "sipd user add:", err)
				return 1
			}
			fmt.Fprintf(stdout, "added %s@%s\n", name, domain)
			return 0
		}
		if err := users.Delete(ctx, name, domain); err != nil {
			if errors.Is(err, auth.ErrNoUser) {
				fmt.Fprintf(stderr, "sipd user del: no user %s@%s\n", name, domain)
			} else {
				fmt.Fprintln(stderr, "sipd user del:", err)
			}
			return 1
		}
		fmt.Fprintf(stdout, "deleted %s@%s\n", name, domain)
		return 0
	case "list":
		const page = 500
		for off := 0; ; off += page {
			us, err := users.List(ctx, off, page)
			if err != nil {
				fmt.Fprintln(stderr, "sipd user list:", err)
				return 1
			}
			for _, u := range us {
				fmt.Fprintf(stdout, "%s@%s\n", u.Username, u.Realm)
			}
			if len(us) < page {
				return 0
			}
		}
	}
	fmt.Fprintf(stderr, "sipd user: unknown subcommand %q (add, del, list)\n", sub)
	return 2
}
