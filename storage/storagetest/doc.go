// Package storagetest is the conformance suite that every storage engine
// passes, in the manner of testing/fstest: an engine's tests call Location
// with a constructor for its location.Store and Users with one for its
// auth.UserStore, and the suite runs its cases as subtests.
//
// The suite pins down what the interfaces leave open, so that engines agree:
//
//   - Apply stores the set fn returns as given (deep-copied, each binding's
//     AOR set to the aor argument), including bindings that are already
//     expired, which are then invisible and removed by the next Expire.
//     Bindings are not keyed by Contact: two bindings with one Contact (RFC
//     5626 flows with different reg-id) are both kept. Apply returns the
//     stored set in Lookup order.
//   - fn gets a copy of the unexpired bindings; changing it, or the set
//     Apply or Lookup returned, does not change the store.
//   - Lookup orders by q descending, then Updated descending (most recent
//     first), then Contact ascending.
//   - A binding is expired at now when Expires is at or before now; Expire
//     deletes exactly those.
//   - List pages with offset and limit: a negative offset counts as 0 and a
//     limit of 0 or less returns nothing.
//   - Times round-trip to the nanosecond (compared with time.Time.Equal:
//     location and monotonic reading are not kept), for instants between
//     the years 1678 and 2262 (int64 Unix nanoseconds); the zero time
//     round-trips as the zero time. A nil and an empty Path are the same.
//     Strings are kept byte for byte, invalid UTF-8 and NUL included.
//   - Every method returns ctx.Err() when ctx is already done, and Apply
//     then changes nothing and does not call fn.
//   - Users are keyed by (realm, username) compared byte for byte: realms
//     are stored as given and differently cased realms are different
//     realms, so callers canonicalize (lower-case) the realm. Users List
//     orders by realm then username, byte-wise.
//
// BenchApplyParallel and BenchLookup are the benchmarks every engine runs.
package storagetest
