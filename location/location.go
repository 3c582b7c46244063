// Package location is the location service of RFC 3261 §10: the bindings
// of addresses-of-record to contact addresses that the registrar writes
// and the proxy and redirect server read. It holds the domain types and the
// Store interface; engines live under storage/.
package location

import (
	"context"
	"net/netip"
	"time"
)

// Binding is one contact bound to an address-of-record (RFC 3261 §10.3).
type Binding struct {
	AOR     string // canonical AOR: "sip:user@domain", lower-case domain
	Contact string // the contact URI as registered (no display name, no header params)
	// Params are the Contact header parameters other than expires and q
	// (+sip.instance, reg-id, methods, ...), as written, each with its ';'.
	Params  string
	Q       int       // q-value times 1000 (0..1000); 1000 when absent
	Expires time.Time // absolute expiry
	CallID  string    // Call-ID of the REGISTER that last wrote it (§10.3 step 7)
	CSeq    uint32    // CSeq of that REGISTER
	Path    []string  // Path header values (RFC 3327), in order
	// Where the REGISTER came from, so requests can be sent back on the
	// same flow (NAT, RFC 5626).
	Transport string         // "UDP", "TCP", "TLS", "WS", "WSS"
	Source    netip.AddrPort // the REGISTER's source address
	Local     netip.AddrPort // our socket it arrived on
	UserAgent string
	Updated   time.Time // when it was last written
}

// Store keeps bindings. Implementations must be safe for concurrent use.
// Lookups never return expired bindings.
type Store interface {
	// Lookup returns the unexpired bindings of aor, highest q first.
	Lookup(ctx context.Context, aor string) ([]Binding, error)
	// Apply atomically replaces the bindings of aor: fn gets the current
	// unexpired bindings and returns the new set (or an error, and nothing
	// changes). Apply returns the set that was stored. When Apply returns
	// nil, the change is durable as far as the engine promises (the
	// registrar sends its 200 OK only then). fn may run on another
	// goroutine (an engine's writer); it must be quick, free of side
	// effects, and must not call the store.
	Apply(ctx context.Context, aor string, fn func(cur []Binding) ([]Binding, error)) ([]Binding, error)
	// Expire deletes the bindings that expired at or before now and
	// returns how many.
	Expire(ctx context.Context, now time.Time) (int, error)
	// List returns unexpired bindings ordered by AOR then contact, for the
	// admin API, skipping offset and returning at most limit.
	List(ctx context.Context, offset, limit int) ([]Binding, error)
	// Count returns the number of unexpired bindings and of AORs having one.
	Count(ctx context.Context) (bindings, aors int, err error)
}
