// Package memory is the in-memory storage engine: location bindings and
// users kept in maps, lost when the process exits. It serves tests, the
// `sipd` commands that need a throwaway server, and deployments that accept
// re-registration after a restart.
//
// Bindings live in a map split into shards, each behind its own RWMutex, so
// lookups of different AORs do not contend. Apply runs its fn on the
// caller's goroutine while holding the writer lock of the AOR's shard; fn
// must therefore not call Apply or Expire on the same Store (Lookup, List
// and Count are fine). Times keep their full precision.
//
// Store implements location.Store; Store.Users implements auth.UserStore.
// Users are kept exactly as given: user names and realms are compared byte
// for byte, so callers canonicalize realms (lower case) before Put and Get.
package memory
