package dialog

import (
	"sync"

	"github.com/sipd/sipd/sip"
)

// Match computes the ID of the dialog an incoming message belongs to, as
// seen by the UA receiving it (RFC 3261 §12): for a request the local tag
// is the To tag and the remote tag the From tag; for a response to our
// request the local tag is the From tag and the remote tag the To tag.
// ok is false when the message cannot be in a dialog: no Call-ID, no From
// tag, or no To tag (a request outside a dialog, a 100 Trying).
func Match(msg sip.Message) (id ID, ok bool) {
	h := msg.Headers()
	id.CallID = h.CallID()
	switch msg.(type) {
	case *sip.Request:
		id.LocalTag, id.RemoteTag = h.ToTag(), h.FromTag()
	case *sip.Response:
		id.LocalTag, id.RemoteTag = h.FromTag(), h.ToTag()
	default:
		return ID{}, false
	}
	if id.CallID == "" || id.LocalTag == "" || id.RemoteTag == "" {
		return ID{}, false
	}
	return id, true
}

// Set holds dialogs by ID, for the UA layer. The zero value is an empty
// set, safe for concurrent use. Its lock is taken before any Dialog's.
type Set struct {
	mu sync.RWMutex
	m  map[ID]*Dialog
}

// Add puts d in the set and reports whether it did; a dialog with the same
// ID already there stays, and Add returns false.
func (s *Set) Add(d *Dialog) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.m[d.id]; dup {
		return false
	}
	if s.m == nil {
		s.m = make(map[ID]*Dialog)
	}
	s.m[d.id] = d
	return true
}

// Get returns the dialog with the given ID.
func (s *Set) Get(id ID) (*Dialog, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.m[id]
	return d, ok
}

// Lookup returns the dialog an incoming message belongs to (see Match).
func (s *Set) Lookup(msg sip.Message) (*Dialog, bool) {
	id, ok := Match(msg)
	if !ok {
		return nil, false
	}
	return s.Get(id)
}

// Remove takes the dialog with the given ID out of the set.
func (s *Set) Remove(id ID) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// Len is the number of dialogs in the set.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}
