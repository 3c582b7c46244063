// Package cache is the in-memory index of location bindings that both
// storage engines share: the memory engine is this index and nothing else,
// the sqlite engine keeps it in front of the database so that Lookup, List
// and Count never touch the disk.
//
// It keeps the bindings of each AOR as one record in the encoding the
// sqlite engine stores (codec.go), in a string: immutable, so a reader
// decodes it after releasing the shard's lock, and free of pointers, so
// the garbage collector does not walk a million bindings. Everything it
// hands out is decoded afresh: callers own what they get.
package cache

import (
	"cmp"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipd/sipd/location"
)

// DefaultShards is the number of shards New uses when given zero. Measured
// with 128 goroutines on 2 cores (memory.BenchmarkApplyParallel and
// BenchmarkLookup), 64 shards apply about 35% faster than one shard (a
// single RWMutex) and look up as fast (about 2.5 million lookups/s).
const DefaultShards = 64

// Bindings maps AORs to their bindings.
type Bindings struct {
	seed   maphash.Seed
	mask   uint64
	shards []shard

	gen     atomic.Uint64 // bumped whenever an AOR is added or removed
	keysMu  sync.Mutex
	keys    []string // sorted AORs as of keysGen; never modified once built
	keysGen uint64
	keysOK  bool
}

type shard struct {
	// W serializes the writers of the shard's AORs in engines that run
	// Apply's fn on the caller's goroutine. Readers never take it. Lock
	// order: W, then mu.
	W  sync.Mutex
	mu sync.RWMutex
	m  map[string]entry
	_  [64]byte // keep neighbouring shards' locks off one cache line
}

// entry is the bindings of an AOR: their record, how many, and the
// earliest expiry, so that expiry and counting skip the records with
// nothing expired without decoding them.
type entry struct {
	rec string // AppendBindings of the bindings, in Lookup order
	min int64  // the earliest Expires in Unix ns; MinInt64 for one without
	n   int
}

// decode returns e's bindings (all, or those unexpired at now). A record
// the index wrote always decodes.
func (e entry) decode(aor string, live bool, now time.Time) []location.Binding {
	bs, err := decodeRecord(aor, e.rec, live, now.UnixNano())
	if err != nil {
		panic("cache: a stored record does not decode: " + err.Error())
	}
	if len(bs) == 0 {
		return nil
	}
	return bs
}

// expiredBy reports whether a binding of e expired at or before now.
func (e entry) expiredBy(now time.Time) bool { return e.min <= now.UnixNano() }

func newEntry(bs []location.Binding) entry {
	var buf [512]byte
	return entryOf(string(AppendBindings(buf[:0], bs)), bs)
}

// entryOf is the entry of bs whose record, AppendBindings(bs), is rec.
func entryOf(rec string, bs []location.Binding) entry {
	e := entry{rec: rec, min: math.MaxInt64, n: len(bs)}
	for i := range bs {
		exp := int64(math.MinInt64)
		if !bs[i].Expires.IsZero() {
			exp = ClampNanos(bs[i].Expires)
		}
		e.min = min(e.min, exp)
	}
	return e
}

// New returns an empty index with the given number of shards, rounded up to
// a power of two; 0 means DefaultShards.
func New(shards int) *Bindings {
	if shards <= 0 {
		shards = DefaultShards
	}
	n := 1
	for n < shards {
		n <<= 1
	}
	c := &Bindings{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]shard, n)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]entry)
	}
	return c
}

func (c *Bindings) shard(aor string) *shard {
	return &c.shards[maphash.String(c.seed, aor)&c.mask]
}

// WriteLock returns the mutex that serializes writers of aor (shared with
// the other AORs of its shard).
func (c *Bindings) WriteLock(aor string) *sync.Mutex {
	return &c.shard(aor).W
}

func (c *Bindings) get(aor string) (entry, bool) {
	sh := c.shard(aor)
	sh.mu.RLock()
	e, ok := sh.m[aor]
	sh.mu.RUnlock()
	return e, ok
}

// Stored returns the bindings stored for aor, expired ones included, in
// Lookup order.
func (c *Bindings) Stored(aor string) []location.Binding {
	e, ok := c.get(aor)
	if !ok {
		return nil
	}
	return e.decode(aor, false, time.Time{})
}

// Lookup returns the bindings of aor unexpired at now, in Lookup order.
func (c *Bindings) Lookup(aor string, now time.Time) []location.Binding {
	bs, _ := c.LookupStored(aor, now)
	return bs
}

// LookupStored is Lookup, and reports whether aor has bindings stored,
// expired ones included.
func (c *Bindings) LookupStored(aor string, now time.Time) ([]location.Binding, bool) {
	e, ok := c.get(aor)
	if !ok {
		return nil, false
	}
	return e.decode(aor, true, now), true
}

// Set installs bs, which should come from Prepare, as the bindings of
// aor; c keeps a copy. An empty bs removes aor.
func (c *Bindings) Set(aor string, bs []location.Binding) {
	var e entry
	if len(bs) > 0 {
		e = newEntry(bs)
	}
	c.set(aor, e, len(bs) > 0)
}

// SetRecord is Set for a caller that has encoded bs already: rec must be
// AppendBindings(bs) (the sqlite engine's row), and c keeps it as it is.
func (c *Bindings) SetRecord(aor, rec string, bs []location.Binding) {
	var e entry
	if len(bs) > 0 {
		e = entryOf(rec, bs)
	}
	c.set(aor, e, len(bs) > 0)
}

func (c *Bindings) set(aor string, e entry, keep bool) {
	sh := c.shard(aor)
	sh.mu.Lock()
	_, had := sh.m[aor]
	if !keep {
		delete(sh.m, aor)
	} else {
		sh.m[aor] = e
	}
	sh.mu.Unlock()
	if had != keep {
		c.gen.Add(1)
	}
}

// ExpiredAORs returns the AORs that have a binding expired at or before now.
func (c *Bindings) ExpiredAORs(now time.Time) []string {
	var aors []string
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		for aor, e := range sh.m {
			if e.expiredBy(now) {
				aors = append(aors, aor)
			}
		}
		sh.mu.RUnlock()
	}
	return aors
}

// Expire removes the bindings expired at or before now and returns how
// many. It takes each shard's W, so it waits for writers running in it.
func (c *Bindings) Expire(now time.Time) int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.W.Lock()
		sh.mu.Lock()
		for aor, e := range sh.m {
			if !e.expiredBy(now) {
				continue
			}
			keep := e.decode(aor, true, now)
			n += e.n - len(keep)
			if len(keep) == 0 {
				delete(sh.m, aor)
				c.gen.Add(1)
				continue
			}
			sh.m[aor] = newEntry(keep)
		}
		sh.mu.Unlock()
		sh.W.Unlock()
	}
	return n
}

// Count returns the number of bindings unexpired at now and of the AORs
// having one.
func (c *Bindings) Count(now time.Time) (bindings, aors int) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		for aor, e := range sh.m {
			live := e.n
			if e.expiredBy(now) {
				live = len(e.decode(aor, true, now))
			}
			if live > 0 {
				bindings += live
				aors++
			}
		}
		sh.mu.RUnlock()
	}
	return bindings, aors
}

// List returns copies of the bindings unexpired at now, ordered by AOR then
// contact, skipping offset (negative counts as 0) and returning at most
// limit (none when limit <= 0).
func (c *Bindings) List(now time.Time, offset, limit int) []location.Binding {
	if limit <= 0 {
		return nil
	}
	offset = max(offset, 0)
	var out []location.Binding
	for _, aor := range c.sortedKeys() {
		page := c.Lookup(aor, now)
		if offset >= len(page) {
			offset -= len(page)
			continue
		}
		slices.SortStableFunc(page, func(a, b location.Binding) int {
			return strings.Compare(a.Contact, b.Contact)
		})
		page = page[offset:]
		offset = 0
		if len(page) > limit-len(out) {
			page = page[:limit-len(out)]
		}
		out = append(out, page...)
		if len(out) == limit {
			break
		}
	}
	return out
}

// sortedKeys returns all AORs in order. The sorted list is rebuilt only
// when an AOR was added or removed since the last call, so paging through
// a stable population costs no sort.
func (c *Bindings) sortedKeys() []string {
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	g := c.gen.Load()
	if c.keysOK && g == c.keysGen {
		return c.keys
	}
	keys := make([]string, 0, len(c.keys))
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		for aor := range sh.m {
			keys = append(keys, aor)
		}
		sh.mu.RUnlock()
	}
	slices.Sort(keys)
	c.keys, c.keysGen, c.keysOK = keys, g, true
	return keys
}

// Compare orders bindings for Lookup: q descending, then most recently
// updated first, then by contact.
func Compare(a, b location.Binding) int {
	if a.Q != b.Q {
		return cmp.Compare(b.Q, a.Q)
	}
	if c := b.Updated.Compare(a.Updated); c != 0 {
		return c
	}
	return strings.Compare(a.Contact, b.Contact)
}

// Prepare turns the set an Apply fn returned into the form the index
// stores: a copy of the slice, each binding's AOR set to aor, monotonic
// clock readings stripped, the transport names shared constants, in
// Lookup order. Its strings may still be views of the REGISTER they came
// from: Set copies them into the record it keeps.
func Prepare(aor string, next []location.Binding) []location.Binding {
	if len(next) == 0 {
		return nil
	}
	out := make([]location.Binding, len(next))
	for i := range next {
		b := next[i]
		b.AOR = aor
		b.Transport = Transport(b.Transport)
		b.Expires = b.Expires.Round(0)
		b.Updated = b.Updated.Round(0)
		out[i] = b
	}
	slices.SortStableFunc(out, Compare)
	return out
}

// Transport returns the shared constant equal to t when there is one, so
// that bindings do not each keep a copy of "UDP".
func Transport(t string) string {
	switch t {
	case "UDP":
		return "UDP"
	case "TCP":
		return "TCP"
	case "TLS":
		return "TLS"
	case "WS":
		return "WS"
	case "WSS":
		return "WSS"
	case "SCTP":
		return "SCTP"
	}
	return strings.Clone(t)
}

// Clone returns a deep copy of bs (nil when bs is empty).
func Clone(bs []location.Binding) []location.Binding {
	if len(bs) == 0 {
		return nil
	}
	out := make([]location.Binding, len(bs))
	for i := range bs {
		out[i] = bs[i]
		out[i].Path = clonePath(bs[i].Path)
	}
	return out
}

// Unexpired returns a deep copy of the bindings of bs unexpired at now
// (nil when there are none).
func Unexpired(bs []location.Binding, now time.Time) []location.Binding {
	live := 0
	for i := range bs {
		if bs[i].Expires.After(now) {
			live++
		}
	}
	if live == 0 {
		return nil
	}
	out := make([]location.Binding, 0, live)
	for i := range bs {
		if bs[i].Expires.After(now) {
			b := bs[i]
			b.Path = clonePath(b.Path)
			out = append(out, b)
		}
	}
	return out
}

func clonePath(p []string) []string {
	if len(p) == 0 {
		return nil
	}
	return slices.Clone(p)
}
