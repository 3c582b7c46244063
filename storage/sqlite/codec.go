package sqlite

import (
	"time"

	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/storage/internal/cache"
)

// The bindings of an AOR are stored as one BLOB in the encoding of
// cache.AppendBindings, the one the in-memory index keeps them in too.

// normalize returns t as it reads back from the database.
func normalize(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(0, cache.ClampNanos(t))
}

// normalized sets the times of bs to what they read back as from the
// database, so the in-memory index holds what a reopen would load.
func normalized(bs []location.Binding) []location.Binding {
	for i := range bs {
		bs[i].Expires = normalize(bs[i].Expires)
		bs[i].Updated = normalize(bs[i].Updated)
	}
	return bs
}

// latest returns the last Expires of bs, in Unix nanoseconds (0 if none).
func latest(bs []location.Binding) int64 {
	var n int64
	for i := range bs {
		if !bs[i].Expires.IsZero() {
			n = max(n, cache.ClampNanos(bs[i].Expires))
		}
	}
	return n
}
