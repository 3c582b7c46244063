package config

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipd/sipd/sip"
)

// Validate reports every problem of c at once, as Errors: listeners that
// are not scheme:ip:port or are listed twice, domains that are not host
// names, a mode, auth, algorithm or log level that is not one of those the
// keys' comments name, tls_cert without tls_key (or the reverse), tls and
// wss listeners without them, and registrar intervals out of order
// (min_expires <= default_expires <= max_expires, min_expires at most one
// hour). Errors of a Config from Load point at the key in the file.
func (c *Config) Validate() error {
	return c.validate().err()
}

// maxDelta is the largest delta-seconds of an Expires (RFC 3261 §20.19).
const maxDelta = 1<<32 - 1

// Listener schemes.
var schemes = []string{"udp", "tcp", "tls", "ws", "wss"}

func (c *Config) validate() Errors {
	v := validator{c: c}

	// listen
	if len(c.Listen) == 0 {
		v.add("listen", -1, `no listener: want at least one, such as "udp:0.0.0.0:5060"`)
	}
	noTLS := c.TLSCert == "" && c.TLSKey == ""
	type socket struct {
		stream bool
		ap     netip.AddrPort
	}
	seen := make(map[socket]string)
	for i, l := range c.Listen {
		scheme, addr, ok := strings.Cut(l, ":")
		scheme = strings.ToLower(scheme)
		if !ok || scheme == "" || addr == "" {
			v.add("listen", i, `%q: want scheme:address:port, such as "udp:0.0.0.0:5060"`, l)
			continue
		}
		if !slices.Contains(schemes, scheme) {
			v.add("listen", i, "%q: scheme %q is not udp, tcp, tls, ws or wss", l, scheme)
			continue
		}
		ap, err := parseListenAddr(addr)
		if err != nil {
			v.add("listen", i, "%q: %q is not ip:port (an IP address, not a host name; IPv6 in brackets)", l, addr)
			continue
		}
		s := socket{stream: scheme != "udp", ap: ap}
		if prev, dup := seen[s]; dup {
			v.add("listen", i, "%q: the same port as %q", l, prev)
		}
		seen[s] = l
		if (scheme == "tls" || scheme == "wss") && noTLS {
			v.add("listen", i, "%q: a %s listener needs tls_cert and tls_key", l, scheme)
		}
	}

	// domain
	if len(c.Domain) == 0 {
		v.add("domain", -1, `no domain: want at least one, such as ["example.com"]`)
	}
	domains := make(map[string]bool)
	for i, d := range c.Domain {
		switch {
		case !validDomain(d):
			v.add("domain", i, "%q is not a host name or IP address (no scheme, user or port)", d)
		case domains[strings.ToLower(d)]:
			v.add("domain", i, "%q is listed twice", d)
		}
		domains[strings.ToLower(d)] = true
	}

	if c.DataDir == "" {
		v.add("data_dir", -1, "empty: want a directory")
	}

	switch c.Mode {
	case ModeRegistrar, ModeRedirect, ModeProxy:
	case ModeStateless:
		// The stateless proxy cannot challenge what it forwards (that
		// needs server transactions); rather than relay unauthenticated
		// calls of our users when auth is asked for, it is refused.
		if c.Auth == AuthRequired {
			v.add("mode", -1, `%q needs auth = "off": the stateless proxy does not authenticate the requests it forwards`, c.Mode)
		}
	default:
		v.add("mode", -1, `%q: want "registrar", "redirect", "proxy" or "stateless"`, c.Mode)
	}

	if c.Pprof != "" {
		if _, port, err := net.SplitHostPort(c.Pprof); err != nil || !validPort(port) {
			v.add("pprof", -1, `%q: want host:port, such as "127.0.0.1:6060", or "" for none`, c.Pprof)
		}
	}
	if c.Admin != "" {
		if _, port, err := net.SplitHostPort(c.Admin); err != nil || !validPort(port) {
			v.add("admin", -1, `%q: want host:port, such as "127.0.0.1:8080", or "" for none`, c.Admin)
		}
	}

	if c.Auth != AuthRequired && c.Auth != AuthOff {
		v.add("auth", -1, `%q: want "required" or "off"`, c.Auth)
	}
	if len(c.AuthAlgorithms) == 0 {
		v.add("auth_algorithms", -1, `empty: want "SHA-256", "MD5" or both`)
	}
	algs := make(map[string]bool)
	for i, a := range c.AuthAlgorithms {
		switch {
		case a != "MD5" && a != "SHA-256":
			v.add("auth_algorithms", i, `%q: want "MD5" or "SHA-256"`, a)
		case algs[a]:
			v.add("auth_algorithms", i, "%q is listed twice", a)
		}
		algs[a] = true
	}

	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		v.add("log_level", -1, `%q: want "debug", "info", "warn" or "error"`, c.LogLevel)
	}

	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		v.add("tls_cert", -1, "set without tls_key: set both or neither")
	case c.TLSCert == "" && c.TLSKey != "":
		v.add("tls_key", -1, "set without tls_cert: set both or neither")
	}

	c.Registrar.validate(&v)
	switch c.Store.Synchronous {
	case SyncNormal, SyncFull:
	default:
		v.add("store.synchronous", -1, `%q: want "normal" or "full"`, c.Store.Synchronous)
	}
	if d := c.Store.CommitDelay.Duration; d < 0 || d > 100*time.Millisecond {
		v.add("store.commit_delay", -1, "%v: want 0s to 100ms", d)
	}
	for i, r := range c.Proxy.Routes {
		if r.Domain == "" && r.Prefix == "" {
			v.add("proxy.routes", i, "route %d: want a domain, a prefix or both", i+1)
		}
		if r.Domain != "" && !validDomain(strings.TrimPrefix(r.Domain, "*.")) {
			v.add("proxy.routes", i, "route %d: domain %q is not a host name", i+1, r.Domain)
		}
		if u, err := sip.ParseURI(r.Next); err != nil || !u.IsSIP() || u.Host == "" {
			v.add("proxy.routes", i, "route %d: next %q is not a SIP URI such as \"sip:gw.example.net:5080\"", i+1, r.Next)
		}
	}
	for i, s := range c.DNS.Servers {
		if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
			continue
		}
		if _, err := netip.ParseAddrPort(s); err != nil {
			v.add("dns.servers", i, "%q: want an IP address, or ip:port", s)
		}
	}
	if c.DNS.Timeout.Duration <= 0 {
		v.add("dns.timeout", -1, "%v: want more than 0s", c.DNS.Timeout)
	}
	switch gc := c.Runtime.GCPercent; {
	case gc == -1 && c.Runtime.MemoryLimitMB == 0:
		v.add("runtime.gc_percent", -1, "-1 (no collection) needs runtime.memory_limit_mb, or memory grows without bound")
	case gc != -1 && gc < 10:
		v.add("runtime.gc_percent", -1, "%d: want 10 or more (100 is Go's default, 400 saves CPU for memory), or -1 with memory_limit_mb", gc)
	}
	if c.Runtime.MaxProcs < 0 {
		v.add("runtime.max_procs", -1, "%d: want 0 (one per CPU) or more", c.Runtime.MaxProcs)
	}
	if c.Runtime.MemoryLimitMB < 0 {
		v.add("runtime.memory_limit_mb", -1, "%d: want 0 (no limit) or more", c.Runtime.MemoryLimitMB)
	}
	return v.errs
}

func (r *Registrar) validate(v *validator) {
	const (
		kDef = "registrar.default_expires"
		kMin = "registrar.min_expires"
		kMax = "registrar.max_expires"
	)
	ok := true
	for _, x := range []struct {
		key string
		d   Duration
	}{{kDef, r.DefaultExpires}, {kMin, r.MinExpires}, {kMax, r.MaxExpires}} {
		switch {
		case x.d.Duration <= 0:
			v.add(x.key, -1, "%v: want more than 0s", x.d)
			ok = false
		case x.d.Duration%time.Second != 0:
			// Expires values are whole seconds (RFC 3261 §20.19).
			v.add(x.key, -1, "%v is not a whole number of seconds", x.d)
			ok = false
		}
	}
	def, lo, hi := r.DefaultExpires, r.MinExpires, r.MaxExpires
	if ok {
		if lo.Duration > time.Hour {
			// RFC 3261 §10.3 step 7 allows 423 only for intervals
			// "smaller than one hour".
			v.add(kMin, -1, "%v: want at most 1h (RFC 3261 §10.3 refuses only intervals under an hour)", lo)
		}
		if hi.Duration > maxDelta*time.Second {
			v.add(kMax, -1, "%v: want at most 4294967295s (RFC 3261 §20.19)", hi)
		}
		switch {
		case lo.Duration > hi.Duration:
			v.addFirst([]string{kMin, kMax}, "min_expires %v is above max_expires %v", lo, hi)
		case def.Duration < lo.Duration:
			v.addFirst([]string{kDef, kMin}, "default_expires %v is below min_expires %v", def, lo)
		case def.Duration > hi.Duration:
			v.addFirst([]string{kDef, kMax}, "default_expires %v is above max_expires %v", def, hi)
		}
	}
	if r.MaxContacts < 0 {
		v.add("registrar.max_contacts", -1, "%d: want 0 (no limit) or more", r.MaxContacts)
	}
}

// validator collects the problems of a Config, with their positions when
// the Config came from a file.
type validator struct {
	c    *Config
	errs Errors
}

// add records a problem with key, at its element elem (-1 for the whole
// value).
func (v *validator) add(key string, elem int, format string, args ...any) {
	e := &Error{Key: key, Reason: fmt.Sprintf(format, args...)}
	if v.fromFile(key) {
		e.File = v.c.src.file
		p, _ := v.c.src.at(key, elem)
		e.Line, e.Col = p.line, p.col
	}
	v.errs = append(v.errs, e)
}

// addFirst records a problem of several keys with the first of them that
// the file sets, or the first if it sets none.
func (v *validator) addFirst(keys []string, format string, args ...any) {
	key := keys[0]
	for _, k := range keys {
		if _, ok := v.c.src.at(k, -1); ok && v.fromFile(k) {
			key = k
			break
		}
	}
	v.add(key, -1, format, args...)
}

// fromFile reports whether the value of key is the one the file gave it
// (set there or left at its default): not changed since Load, as a flag
// that overrides the file changes it.
func (v *validator) fromFile(key string) bool {
	if v.c.src == nil {
		return false
	}
	cur, ok1 := field(reflect.ValueOf(v.c).Elem(), key)
	old, ok2 := field(reflect.ValueOf(&v.c.src.loaded).Elem(), key)
	return ok1 && ok2 && reflect.DeepEqual(cur.Interface(), old.Interface())
}

// field returns the field of the struct rv that key (dotted, of toml tag
// names) names.
func field(rv reflect.Value, key string) (reflect.Value, bool) {
	for _, name := range strings.Split(key, ".") {
		i, ok := tomlFields(rv.Type())[name]
		if !ok {
			return reflect.Value{}, false
		}
		rv = rv.Field(i)
	}
	return rv, true
}

// parseListenAddr reads the address part of a listener as the transport
// does: an IP address and port, ":port" meaning 0.0.0.0.
func parseListenAddr(addr string) (netip.AddrPort, error) {
	if strings.HasPrefix(addr, ":") {
		addr = "0.0.0.0" + addr
	}
	return netip.ParseAddrPort(addr)
}

func validPort(s string) bool {
	n, err := strconv.ParseUint(s, 10, 16)
	return err == nil && n <= 65535
}

// validDomain reports whether d is a bare host: a name, an IPv4 address or
// a bracketed IPv6 reference, without user, port or parameters (as the
// registrar checks its domains).
func validDomain(d string) bool {
	if d == "" {
		return false
	}
	u, err := sip.ParseURI("sip:" + d)
	return err == nil && u.Host == d && u.User == "" && !u.HasPass && u.Port == 0 &&
		u.Params == "" && u.Headers == ""
}
