// Package config reads sipd's configuration file: TOML, every key
// optional, each key named as the `sipd serve` flag of the same meaning
// (with '_' for '-'). [Load] overlays the file on [Default], and reports
// every problem it finds at once, each as file:line:col: key: reason;
// `sipd check-config FILE` does only that. docs/sipd.example.toml shows
// every key with its default.
//
// The doc comment of each field of [Config] is the user documentation of
// its key, and names the default.
package config

import (
	"os"
	"reflect"
	"strings"
	"time"
)

// Config is the whole configuration of a sipd server. Default returns the
// configuration of a server started without a file; Load overlays a file on
// it.
type Config struct {
	// Listen lists where to receive SIP, each as scheme:address:port, the
	// scheme one of udp, tcp, tls, ws and wss and the address an IP
	// address (IPv6 in brackets, "udp:[::1]:5060"); ":5060" alone means
	// every IPv4 address. tls and wss need TLSCert and TLSKey. Default
	// ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"].
	Listen []string `toml:"listen"`

	// Domain lists the domains the server is registrar (and later proxy)
	// for, compared without regard to case: a REGISTER for another domain
	// is refused with 403 (RFC 3261 §10.3). Host names or IP addresses,
	// without port; at least one. Default: this machine's host name.
	Domain []string `toml:"domain"`

	// DataDir is the directory of the embedded store (SQLite), created if
	// missing: users, credentials and registrations live there. A
	// relative path is relative to the working directory. Default
	// "sipd-data".
	DataDir string `toml:"data_dir"`

	// Mode is the server's role for requests it does not answer itself:
	// "registrar" answers REGISTER and OPTIONS and refuses the rest;
	// "redirect" also answers requests for registered users with 302
	// (Moved Temporarily) to their contacts (RFC 3261 §8.3); "proxy"
	// forwards them, transaction-stateful, to the registered contacts
	// (forking to all of them) and other requests on by Route or
	// Request-URI, record-routing dialogs (RFC 3261 §16); "stateless"
	// forwards them too but keeps no state (§16.11): each request goes to
	// the first contact of the highest q, retransmissions are forwarded
	// again and responses go back by their Via. "stateless" needs auth
	// "off", as it does not authenticate what it forwards. Default
	// "registrar".
	Mode string `toml:"mode"`

	// Admin is the host:port of the HTTP admin API, Prometheus metrics and
	// web console, such as "127.0.0.1:8080"; empty turns it off. Keep it
	// on loopback or behind a firewall. Default "" (off).
	Admin string `toml:"admin"`

	// Pprof is the host:port where Go's runtime profiles (net/http/pprof:
	// CPU, heap, allocs, goroutines, mutex, block, trace) are served, on a
	// listener of their own; empty turns it off. For profiling under load;
	// keep it on loopback. Default "" (off).
	Pprof string `toml:"pprof"`

	// Auth is "required" to challenge REGISTER with digest authentication
	// (RFC 3261 §22) against the users in the store, or "off" to let
	// anyone register any address of our domains (a lab, never the
	// Internet). Default "required".
	Auth string `toml:"auth"`

	// AuthAlgorithms lists the digest algorithms to challenge with, most
	// preferred first, each "MD5" or "SHA-256"; each gets its own
	// WWW-Authenticate header (RFC 8760 §2.4). Old clients answer only the
	// first, and only MD5: ["MD5"] alone suits them. Default ["SHA-256",
	// "MD5"].
	AuthAlgorithms []string `toml:"auth_algorithms"`

	// LogLevel is the least severe level logged: "debug", "info", "warn"
	// or "error". Logs are JSON lines on standard error. Default "info".
	LogLevel string `toml:"log_level"`

	// TLSCert is the PEM certificate file (with its chain) for tls and wss
	// listeners; `sipd cert` writes a self-signed one. Set with TLSKey.
	// Default "" (none).
	TLSCert string `toml:"tls_cert"`

	// TLSKey is the PEM private key file of TLSCert. Default "" (none).
	TLSKey string `toml:"tls_key"`

	// Registrar is the [registrar] table: how REGISTER is answered.
	// Default: the defaults of its keys.
	Registrar Registrar `toml:"registrar"`

	// Store is the [store] table: how the embedded store keeps data.
	// Default: the defaults of its keys.
	Store Store `toml:"store"`

	// Proxy is the [proxy] table: static routes of the proxy modes.
	// Default: the defaults of its keys.
	Proxy Proxy `toml:"proxy"`

	// DNS is the [dns] table: how the proxy finds next hops that are host
	// names (RFC 3263). Default: the defaults of its keys.
	DNS DNS `toml:"dns"`

	// Runtime is the [runtime] table: how the Go runtime's garbage
	// collector trades memory for CPU. Default: the defaults of its keys.
	Runtime Runtime `toml:"runtime"`

	// src is where the configuration came from, for the positions of
	// Validate's errors; nil when not from a file.
	src *source
}

// Registrar is the [registrar] table of the configuration.
type Registrar struct {
	// DefaultExpires is how long a binding lasts when the REGISTER asks
	// for no interval (RFC 3261 §10.3 step 7), in whole seconds. Between
	// MinExpires and MaxExpires. Default "3600s" (one hour, as §10.2
	// suggests).
	DefaultExpires Duration `toml:"default_expires"`

	// MinExpires is the shortest interval granted: a REGISTER asking for
	// less (but not 0, which removes a binding) is refused with 423
	// (Interval Too Brief) and Min-Expires (§10.3 step 7). At most one
	// hour, since §10.3 allows 423 only below one hour. Default "60s".
	MinExpires Duration `toml:"min_expires"`

	// MaxExpires caps the interval granted: a contact asking for more is
	// bound for MaxExpires, and the 200 OK says so. It bounds how long a
	// device that vanished without unregistering keeps getting calls.
	// Default "86400s" (one day).
	MaxExpires Duration `toml:"max_expires"`

	// MaxContacts is how many bindings one address of record may have; a
	// REGISTER that would add more is refused with 403. 0 means no limit.
	// Default 0.
	MaxContacts int `toml:"max_contacts"`
}

// Store is the [store] table of the configuration.
type Store struct {
	// Synchronous is how hard the embedded SQLite store works to keep a
	// binding once its 200 OK is sent. "normal": the write is in the
	// database's write-ahead log before the 200 OK leaves, so it survives
	// the server crashing or being killed (kill -9), but the last
	// registrations may be lost if the whole machine loses power; writes
	// are batched, so this costs little. "full": each batch is also
	// flushed to disk (fsync) first, which survives power loss at the
	// price of the disk's flush time on every batch. Phones re-register
	// within their interval anyway, so "normal" is the usual choice, as
	// it is for Kamailio operators who keep usrloc in memory or write it
	// back later. Default "normal".
	Synchronous string `toml:"synchronous"`
	// CommitDelay is how long the store waits, when a write comes to it
	// idle, for others to share its commit (as PostgreSQL's commit_delay):
	// a commit costs about as much as the rest of a REGISTER, and a
	// REGISTER is answered only once its commit is done. "0s" commits each
	// lone write at once. Default "1ms".
	CommitDelay Duration `toml:"commit_delay"`
}

// Proxy is the [proxy] table of the configuration.
type Proxy struct {
	// Routes are static routes, each a [[proxy.routes]] table with a
	// domain, a prefix or both, and next: a request (in proxy or stateless
	// mode) whose Request-URI matches the first route goes to that route's
	// next hop, its Request-URI unchanged. domain matches the
	// Request-URI's host ("*.example.org": any subdomain); prefix the
	// start of its user part ("+49", a gateway's numbers), before the
	// registered contacts are looked up. next is a SIP URI such as
	// "sip:gw.example.net:5080;transport=tcp", a host name resolved by
	// DNS. Requests from outside our domains to outside them are still
	// refused (403). Default [] (none).
	Routes []Route `toml:"routes"`

	// Recurse makes the proxy try the SIP contacts of a 3xx response
	// itself, highest q first, instead of passing the redirect upstream
	// (RFC 3261 §16.5, §16.7 step 4); at most 16 targets a request, never
	// one tried already. Default false (3xx go upstream, as in Kamailio).
	Recurse bool `toml:"recurse"`
}

// Route is one [[proxy.routes]] table.
type Route struct {
	Domain string `toml:"domain"`
	Prefix string `toml:"prefix"`
	Next   string `toml:"next"`
}

// DNS is the [dns] table of the configuration.
type DNS struct {
	// Servers are the DNS servers the proxy asks, each "ip" or "ip:port"
	// (port 53 when none; IPv6 in brackets with a port). Empty: the
	// nameservers of /etc/resolv.conf. Default [] (the system's).
	Servers []string `toml:"servers"`

	// Timeout bounds each query to one server; the next server is asked
	// after it. Default "2s".
	Timeout Duration `toml:"timeout"`
}

// Runtime is the [runtime] table of the configuration.
type Runtime struct {
	// GCPercent is the garbage collector's target: a collection starts
	// when the heap has grown by this percentage over what the last one
	// left live (Go's GOGC). A SIP server keeps every transaction alive
	// for 32 s after it ends (Timer J, RFC 3261 §17.2.2), so its live heap
	// is large and collecting it costs CPU. Measured on the stateful
	// proxy at 2,000 calls/s: 200 costs 10–15% less CPU per call than
	// Go's 100, for ~7% more memory per held call (8.8 KB against 8.2
	// KB); 400 saves a little more CPU for ~13% more memory. -1 turns the
	// collector off until MemoryLimitMB is reached (and needs it). The
	// GOGC environment variable, when set, wins. Default 200.
	GCPercent int `toml:"gc_percent"`

	// MemoryLimitMB is a soft limit on the memory the Go runtime uses, in
	// MiB (Go's GOMEMLIMIT): near it the collector runs as often as it
	// must to stay under, whatever GCPercent says. Set it below the
	// machine's or container's memory so that a large GCPercent cannot
	// cost an out-of-memory kill. 0 means no limit. The GOMEMLIMIT
	// environment variable, when set, wins. Default 0.
	MemoryLimitMB int `toml:"memory_limit_mb"`

	// MaxProcs is how many OS threads may run Go code at once (Go's
	// GOMAXPROCS); 0 means one per CPU. On a small machine shared with
	// other busy processes, 1 can cost less CPU per call: fewer threads
	// to wake for work handed between goroutines. Measured with SIPp on
	// the other core of a 2-core machine: ~20% less CPU per stateful
	// call. The GOMAXPROCS environment variable, when set, wins.
	// Default 0.
	MaxProcs int `toml:"max_procs"`
}

// Values of Store.Synchronous.
const (
	SyncNormal = "normal"
	SyncFull   = "full"
)

// Modes.
const (
	ModeRegistrar = "registrar"
	ModeRedirect  = "redirect"
	ModeProxy     = "proxy"
	ModeStateless = "stateless"
)

// Values of Auth.
const (
	AuthRequired = "required"
	AuthOff      = "off"
)

// Default returns the configuration of a server started without a config
// file: the defaults that the fields' comments name. Domain is this
// machine's host name in lower case, or empty (which Validate refuses)
// when it has none.
func Default() Config {
	var domains []string
	if host, err := os.Hostname(); err == nil && host != "" {
		domains = []string{strings.ToLower(host)}
	}
	return Config{
		Listen:         []string{"udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"},
		Domain:         domains,
		DataDir:        "sipd-data",
		Mode:           ModeRegistrar,
		Admin:          "",
		Auth:           AuthRequired,
		AuthAlgorithms: []string{"SHA-256", "MD5"},
		LogLevel:       "info",
		Registrar: Registrar{
			DefaultExpires: Duration{3600 * time.Second},
			MinExpires:     Duration{60 * time.Second},
			MaxExpires:     Duration{86400 * time.Second},
			MaxContacts:    0,
		},
		Store:   Store{Synchronous: SyncNormal, CommitDelay: Duration{time.Millisecond}},
		DNS:     DNS{Servers: []string{}, Timeout: Duration{2 * time.Second}},
		Runtime: Runtime{GCPercent: 200, MemoryLimitMB: 0},
	}
}

// clone returns a copy of c that shares no slices with it.
func (c *Config) clone() Config {
	d := *c
	d.src = nil
	cloneSlices(reflect.ValueOf(&d).Elem())
	return d
}

// cloneSlices replaces the slices in the struct rv, and in the structs in
// it, with copies.
func cloneSlices(rv reflect.Value) {
	for i := range rv.NumField() {
		f := rv.Field(i)
		switch {
		case !f.CanSet():
		case f.Kind() == reflect.Slice && !f.IsNil():
			f.Set(reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, f.Len()), f))
		case f.Kind() == reflect.Struct:
			cloneSlices(f)
		}
	}
}

// File returns the name of the file the configuration was loaded from, or
// "" if it was not.
func (c *Config) File() string {
	if c.src == nil {
		return ""
	}
	return c.src.file
}
