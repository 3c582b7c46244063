package dns

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// ErrNotFound: the name does not exist (NXDOMAIN) or has no usable records,
// or its SRV records say the service is not offered (target "."). A proxy
// answers such a Request-URI with 404 (RFC 3261 §21.4.5: the domain is not
// one that can be reached).
var ErrNotFound = errors.New("dns: no such host")

// errNotOffered: the only SRV record has target ".", so the service is
// decidedly not offered at the domain (RFC 2782); no A lookup follows.
var errNotOffered = fmt.Errorf("%w (SRV target \".\")", ErrNotFound)

// Config configures a Resolver.
type Config struct {
	// Servers are the DNS servers, host:port (a port of its own, 53 when
	// none). Empty: the nameservers of /etc/resolv.conf.
	Servers []string
	// Timeout bounds each query to one server. Default 2 s.
	Timeout time.Duration
	// CacheSize bounds the number of answers kept. Default 4096.
	CacheSize int
	// MaxTTL caps how long an answer is kept, whatever its TTL.
	// Default 1 hour.
	MaxTTL time.Duration
	// NegativeTTL is how long a name that does not exist is remembered
	// when the answer carries no SOA to say (RFC 2308 §5). Default 30 s.
	NegativeTTL time.Duration
	// Now is the clock of the cache; nil is time.Now.
	Now func() time.Time
	// Rand orders SRV records of equal priority by weight (RFC 2782);
	// nil is a random source of its own.
	Rand *rand.Rand
	// Deterministic orders SRV records of equal priority the same way
	// every time — weight, highest first, then target and port — as a
	// stateless proxy must, so that each retransmission of a request goes
	// to the same server (RFC 3263 §4.4).
	Deterministic bool
}

// Resolver resolves SIP URIs (RFC 3263). It is safe for concurrent use.
type Resolver struct {
	servers []string
	client  *mdns.Client
	cfg     Config

	mu    sync.Mutex
	cache map[cacheKey]cacheEntry
	rand  *rand.Rand
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	rrs     []mdns.RR
	nx      bool // the name does not exist
	expires time.Time
}

// New returns a Resolver for cfg.
func New(cfg Config) (*Resolver, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 4096
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = time.Hour
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Resolver{cfg: cfg, client: &mdns.Client{Timeout: cfg.Timeout}, cache: make(map[cacheKey]cacheEntry)}
	r.rand = cfg.Rand
	if r.rand == nil {
		r.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	for _, s := range cfg.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(strings.Trim(s, "[]"), "53")
		}
		r.servers = append(r.servers, s)
	}
	if len(r.servers) == 0 {
		cc, err := mdns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
		for _, s := range cc.Servers {
			r.servers = append(r.servers, net.JoinHostPort(s, cc.Port))
		}
		if len(r.servers) == 0 {
			return nil, errors.New("dns: no nameserver in /etc/resolv.conf")
		}
	}
	return r, nil
}

// Resolve returns the targets a request for u may go to, in the order to
// try them (RFC 3263 §4): the TARGET is u's maddr, else its host.
//
//   - Transport (§4.1): u's transport parameter; else UDP for sip and TLS
//     for sips when the target is numeric or a port is given; else the
//     transports that have SRV records, UDP then TCP for sip (TLS for
//     sips), and UDP (TLS) when none has.
//   - Address and port (§4.2): a numeric target as it is, at u's port or
//     the transport's default; a host name with a port by A and AAAA
//     records at that port; without a port by the SRV records of the
//     transport (_sip._udp, _sip._tcp, _sips._tcp), ordered by priority
//     and, within one, by weight at random (RFC 2782), each target's
//     addresses in turn; and without SRV records by A and AAAA at the
//     default port.
//
// It returns ErrNotFound when the name has no usable records, or the
// error of the last query when no answer came.
func (r *Resolver) Resolve(ctx context.Context, u sip.URI) ([]transport.Target, error) {
	host := u.Host
	if m, ok := u.Params.Get("maddr"); ok && m != "" {
		host = m
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return nil, ErrNotFound
	}
	sips := strings.EqualFold(u.Scheme, "sips")
	tp := ""
	if p, ok := u.Params.Get("transport"); ok && p != "" {
		tp = strings.ToUpper(p)
	}
	if sips && (tp == "" || tp == transport.TCP) {
		tp = transport.TLS // §4.1: TCP for sips, which is TLS over it
	}
	pinned := tp != ""
	if ip, err := netip.ParseAddr(host); err == nil {
		t := cmpOr(tp, transport.UDP)
		return []transport.Target{{Transport: t, Addr: netip.AddrPortFrom(ip.Unmap(), port(u.Port, t)), Pinned: pinned}}, nil
	}
	name := host
	if u.Port != 0 {
		// §4.2: a port given, A and AAAA.
		t := cmpOr(tp, transport.UDP)
		return r.hostTargets(ctx, name, t, uint16(u.Port), pinned, host)
	}
	// §4.2: SRV, for the transport given or each we support.
	transports := []string{tp}
	if tp == "" {
		transports = []string{transport.UDP, transport.TCP}
	}
	var all []transport.Target
	var lastErr error
	found := false
	for _, t := range transports {
		srvs, err := r.srv(ctx, srvName(t, sips, name))
		if err == errNotOffered {
			found = true
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				lastErr = err
			}
			continue
		}
		found = true
		for _, s := range srvs {
			ts, err := r.hostTargets(ctx, strings.TrimSuffix(s.Target, "."), t, s.Port, pinned, host)
			if err != nil {
				if !errors.Is(err, ErrNotFound) {
					lastErr = err
				}
				continue
			}
			all = append(all, ts...)
		}
	}
	if found {
		if len(all) == 0 {
			if lastErr != nil {
				return nil, lastErr
			}
			return nil, ErrNotFound
		}
		return all, nil
	}
	if lastErr != nil {
		return nil, lastErr
	}
	// §4.2: no SRV records: A and AAAA at the default port.
	t := cmpOr(tp, transport.UDP)
	return r.hostTargets(ctx, name, t, port(0, t), pinned, host)
}

// srvName is the SRV owner name for transport t (§4.2): _sips for TLS
// (and any transport of a sips URI), else _sip; _tcp for TLS and TCP.
func srvName(t string, sips bool, name string) string {
	svc, proto := "_sip", "_udp"
	switch t {
	case transport.TLS:
		svc, proto = "_sips", "_tcp"
	case transport.TCP, transport.WS, transport.WSS:
		proto = "_tcp"
	}
	if sips {
		svc = "_sips"
	}
	return svc + "." + proto + "." + name
}

func port(p int, t string) uint16 {
	if p != 0 {
		return uint16(p)
	}
	switch t {
	case transport.TLS:
		return 5061
	case transport.WS:
		return 80
	case transport.WSS:
		return 443
	}
	return 5060
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// hostTargets looks up name's A and AAAA records and makes a target of
// each, IPv4 first. serverName is the name a TLS peer is verified by.
func (r *Resolver) hostTargets(ctx context.Context, name, t string, p uint16, pinned bool, serverName string) ([]transport.Target, error) {
	var out []transport.Target
	var lastErr error
	for _, qt := range [...]uint16{mdns.TypeA, mdns.TypeAAAA} {
		rrs, err := r.lookup(ctx, name, qt)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				lastErr = err
			}
			continue
		}
		for _, rr := range rrs {
			var ip net.IP
			switch a := rr.(type) {
			case *mdns.A:
				ip = a.A
			case *mdns.AAAA:
				ip = a.AAAA
			default:
				continue
			}
			if addr, ok := netip.AddrFromSlice(ip); ok {
				tg := transport.Target{Transport: t, Addr: netip.AddrPortFrom(addr.Unmap(), p), Pinned: pinned}
				if t == transport.TLS || t == transport.WSS || t == transport.WS {
					tg.ServerName = serverName
				}
				out = append(out, tg)
			}
		}
	}
	if len(out) == 0 {
		if lastErr != nil {
			return nil, lastErr
		}
		return nil, ErrNotFound
	}
	return out, nil
}

// srv returns name's SRV records in the order to try them (RFC 2782):
// by priority, lowest first; within one priority, drawn one after the
// other at random with a chance proportional to the weight, records of
// weight 0 having a small chance. A single record with target "." means
// the service is not offered: ErrNotFound.
func (r *Resolver) srv(ctx context.Context, name string) ([]*mdns.SRV, error) {
	rrs, err := r.lookup(ctx, name, mdns.TypeSRV)
	if err != nil {
		return nil, err
	}
	var srvs []*mdns.SRV
	for _, rr := range rrs {
		if s, ok := rr.(*mdns.SRV); ok {
			srvs = append(srvs, s)
		}
	}
	if len(srvs) == 1 && srvs[0].Target == "." {
		return nil, errNotOffered
	}
	if len(srvs) == 0 {
		return nil, ErrNotFound
	}
	slices.SortStableFunc(srvs, func(a, b *mdns.SRV) int { return int(a.Priority) - int(b.Priority) })
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*mdns.SRV, 0, len(srvs))
	for i := 0; i < len(srvs); {
		j := i
		for j < len(srvs) && srvs[j].Priority == srvs[i].Priority {
			j++
		}
		if r.cfg.Deterministic {
			out = append(out, fixedOrder(srvs[i:j])...)
		} else {
			out = append(out, weightedOrder(srvs[i:j], r.rand)...)
		}
		i = j
	}
	return out, nil
}

// fixedOrder orders records of one priority for a stateless proxy (RFC
// 3263 §4.4): by weight, highest first, then by target name (ASCII) and
// port.
func fixedOrder(group []*mdns.SRV) []*mdns.SRV {
	out := slices.Clone(group)
	slices.SortFunc(out, func(a, b *mdns.SRV) int {
		if a.Weight != b.Weight {
			return int(b.Weight) - int(a.Weight)
		}
		if c := strings.Compare(strings.ToLower(a.Target), strings.ToLower(b.Target)); c != 0 {
			return c
		}
		return int(a.Port) - int(b.Port)
	})
	return out
}

// weightedOrder orders records of one priority as RFC 2782's usage rules
// say: those of weight 0 first in the list, then repeatedly a running sum
// of the weights, a random number between 0 and the total, and the first
// record whose running sum reaches it is next.
func weightedOrder(group []*mdns.SRV, rnd *rand.Rand) []*mdns.SRV {
	left := make([]*mdns.SRV, 0, len(group))
	for _, s := range group {
		if s.Weight == 0 {
			left = append(left, s)
		}
	}
	for _, s := range group {
		if s.Weight != 0 {
			left = append(left, s)
		}
	}
	out := make([]*mdns.SRV, 0, len(group))
	for len(left) > 0 {
		total := 0
		for _, s := range left {
			total += int(s.Weight)
		}
		pick := rnd.IntN(total + 1)
		sum := 0
		k := len(left) - 1
		for i, s := range left {
			sum += int(s.Weight)
			if sum >= pick {
				k = i
				break
			}
		}
		out = append(out, left[k])
		left = slices.Delete(left, k, k+1)
	}
	return out
}

// lookup returns the records of type qtype at name, from the cache or the
// servers; ErrNotFound for a name that does not exist or has none.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) ([]mdns.RR, error) {
	key := cacheKey{strings.ToLower(mdns.Fqdn(name)), qtype}
	now := r.cfg.Now()
	r.mu.Lock()
	e, ok := r.cache[key]
	r.mu.Unlock()
	if ok && now.Before(e.expires) {
		if e.nx || len(e.rrs) == 0 {
			return nil, ErrNotFound
		}
		return e.rrs, nil
	}
	m := new(mdns.Msg)
	m.SetQuestion(key.name, qtype)
	m.RecursionDesired = true
	var lastErr error
	for _, srv := range r.servers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in, _, err := r.client.ExchangeContext(ctx, m, srv)
		if err == nil && in.Truncated {
			tc := &mdns.Client{Net: "tcp", Timeout: r.cfg.Timeout}
			in, _, err = tc.ExchangeContext(ctx, m, srv)
		}
		if err != nil {
			lastErr = fmt.Errorf("dns: %s %s at %s: %w", mdns.TypeToString[qtype], name, srv, err)
			continue
		}
		switch in.Rcode {
		case mdns.RcodeSuccess, mdns.RcodeNameError:
		default:
			lastErr = fmt.Errorf("dns: %s %s at %s: %s", mdns.TypeToString[qtype], name, srv, mdns.RcodeToString[in.Rcode])
			continue
		}
		var rrs []mdns.RR
		var ttl uint32
		for _, rr := range in.Answer {
			if rr.Header().Rrtype != qtype {
				continue // a CNAME on the way: the records it leads to follow
			}
			if len(rrs) == 0 || rr.Header().Ttl < ttl {
				ttl = rr.Header().Ttl
			}
			rrs = append(rrs, rr)
		}
		d := time.Duration(ttl) * time.Second
		if len(rrs) == 0 {
			// RFC 2308 §5: a negative answer lasts the SOA's minimum.
			d = r.cfg.NegativeTTL
			for _, rr := range in.Ns {
				if soa, ok := rr.(*mdns.SOA); ok {
					d = time.Duration(min(soa.Minttl, soa.Hdr.Ttl)) * time.Second
				}
			}
		}
		r.store(key, cacheEntry{rrs: rrs, nx: in.Rcode == mdns.RcodeNameError, expires: now.Add(min(d, r.cfg.MaxTTL))}, now)
		if len(rrs) == 0 {
			return nil, ErrNotFound
		}
		return rrs, nil
	}
	return nil, lastErr
}

// store puts e in the cache; a full cache first drops what expired, then
// an arbitrary entry, so that it never holds more than CacheSize.
func (r *Resolver) store(key cacheKey, e cacheEntry, now time.Time) {
	if !e.expires.After(now) {
		return // TTL 0: not to be cached
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cache[key]; !ok && len(r.cache) >= r.cfg.CacheSize {
		for k, old := range r.cache {
			if !now.Before(old.expires) {
				delete(r.cache, k)
			}
		}
		for k := range r.cache {
			if len(r.cache) < r.cfg.CacheSize {
				break
			}
			delete(r.cache, k)
		}
	}
	r.cache[key] = e
}

// cached reports how many answers the cache holds (for tests).
func (r *Resolver) cached() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cache)
}
