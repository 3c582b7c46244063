package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/sipd/sipd/admin"
)

const (
	// ctlDefaultAdmin is where `sipd serve --admin` listens in the docs.
	ctlDefaultAdmin = "127.0.0.1:8080"
	// ctlTimeout bounds each request to the admin API.
	ctlTimeout = 10 * time.Second
	// ctlMaxPages bounds the pages one command fetches (10 million
	// registrations at the largest page size), so a misbehaving server
	// cannot keep it looping.
	ctlMaxPages = 10_000
	// ctlMaxBody bounds the size of one answer.
	ctlMaxBody = 64 << 20
)

func ctlUsage(w io.Writer) {
	fmt.Fprintln(w, `usage: sipd ctl registrations [--admin ADDR] [--json] [--limit N] [--page-size N]

reads live state from a running sipd through its admin API (sipd serve --admin)`)
}

// runCtl is `sipd ctl`: it reads live state from a running server's admin
// API and prints it as a table or, with --json, as a JSON array.
func runCtl(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		ctlUsage(stderr)
		return 2
	}
	switch sub := args[0]; sub {
	case "registrations":
		return runCtlRegistrations(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		ctlUsage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "sipd ctl: unknown command %q\n", sub)
		ctlUsage(stderr)
		return 2
	}
}

func runCtlRegistrations(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("ctl registrations", flag.ContinueOnError)
	fset.SetOutput(stderr)
	addr := fset.String("admin", ctlDefaultAdmin, "the admin API's address, HOST:PORT or an http:// URL")
	asJSON := fset.Bool("json", false, "print a JSON array of registrations instead of a table")
	limit := fset.Int("limit", 0, "print at most N registrations (0: all)")
	pageSize := fset.Int("page-size", admin.MaxLimit, "registrations per request to the admin API (1 to "+strconv.Itoa(admin.MaxLimit)+")")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd ctl registrations [--admin ADDR] [--json] [--limit N] [--page-size N]")
		fmt.Fprintln(stderr, "\nlists the bindings of a running server, ordered by AOR then contact")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fset.NArg() > 0:
		fmt.Fprintf(stderr, "sipd ctl registrations: unexpected argument %q\n", fset.Arg(0))
	case *limit < 0:
		fmt.Fprintln(stderr, "sipd ctl registrations: --limit must not be negative")
	case *pageSize < 1 || *pageSize > admin.MaxLimit:
		fmt.Fprintf(stderr, "sipd ctl registrations: --page-size must be from 1 to %d\n", admin.MaxLimit)
	default:
		base, err := adminURL(*addr)
		if err != nil {
			fmt.Fprintf(stderr, "sipd ctl registrations: --admin: %v\n", err)
			return 2
		}
		return ctlRegistrations(base, *limit, *pageSize, *asJSON, stdout, stderr)
	}
	fset.Usage()
	return 2
}

// adminURL turns --admin (HOST:PORT, or a URL with a scheme) into the
// API's base URL.
func adminURL(addr string) (*url.URL, error) {
	if addr == "" {
		return nil, errors.New("empty address")
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// registrationsPage is admin.RegistrationsPage with the registrations
// kept as they came, so that --json prints exactly what the server sent,
// fields this version does not know included.
type registrationsPage struct {
	Total         int               `json:"total"`
	Registrations []json.RawMessage `json:"registrations"`
}

func ctlRegistrations(base *url.URL, limit, pageSize int, asJSON bool, stdout, stderr io.Writer) int {
	client := &http.Client{Timeout: ctlTimeout}
	defer client.CloseIdleConnections()
	var regs []json.RawMessage
	for offset, pages := 0, 0; limit == 0 || len(regs) < limit; pages++ {
		if pages == ctlMaxPages {
			fmt.Fprintf(stderr, "sipd ctl registrations: stopped after %d pages\n", pages)
			return 1
		}
		n := pageSize
		if limit > 0 {
			n = min(n, limit-len(regs))
		}
		u := *base
		u.Path += "/api/registrations"
		u.RawQuery = url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(n)}}.Encode()
		var page registrationsPage
		if err := getJSON(client, u.String(), &page); err != nil {
			fmt.Fprintf(stderr, "sipd ctl registrations: %v\n", err)
			if op := (*net.OpError)(nil); errors.As(err, &op) && op.Op == "dial" {
				fmt.Fprintf(stderr, "is sipd serve running with --admin %s?\n", base.Host)
			}
			return 1
		}
		regs = append(regs, page.Registrations...)
		// Advance by what came back, not by what was asked: a server may
		// cap the page. An empty page ends the walk even if bindings
		// expired or were added meanwhile and total moved.
		offset += len(page.Registrations)
		if len(page.Registrations) == 0 || offset >= page.Total {
			break
		}
	}
	if limit > 0 && len(regs) > limit {
		regs = regs[:limit]
	}
	if asJSON {
		if regs == nil {
			regs = []json.RawMessage{}
		}
		b, err := json.MarshalIndent(regs, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "sipd ctl registrations: %v\n", err)
			return 1
		}
		b = append(b, '\n')
		if _, err := stdout.Write(b); err != nil {
			fmt.Fprintf(stderr, "sipd ctl registrations: %v\n", err)
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "AOR\tCONTACT\tEXPIRES IN\tSOURCE\tTRANSPORT\tUSER AGENT")
	for _, raw := range regs {
		var r admin.Registration
		if err := json.Unmarshal(raw, &r); err != nil {
			fmt.Fprintf(stderr, "sipd ctl registrations: bad registration from the server: %v\n", err)
			return 1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(r.AOR), cell(r.Contact),
			time.Duration(r.ExpiresIn)*time.Second, cell(r.Source), cell(r.Transport), cell(r.UserAgent))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "sipd ctl registrations: %v\n", err)
		return 1
	}
	return 0
}

// getJSON GETs u and decodes a 200 answer into v. Any other status is an
// error that carries the server's {"error": ...} message when there is one.
func getJSON(client *http.Client, u string, v any) error {
	resp, err := client.Get(u)
	if err != nil {
		return err // *url.Error names the method and URL
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, ctlMaxBody)
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.NewDecoder(body).Decode(&e) == nil && e.Error != "" {
			return fmt.Errorf("GET %s: %s: %s", u, resp.Status, e.Error)
		}
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: bad answer: %w", u, err)
	}
	return nil
}

// cell makes a table cell of s, which came over the network from SIP
// clients: control characters (tabs, newlines, terminal escapes) become
// '?', and an empty value shows as "-".
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}
