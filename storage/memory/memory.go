package memory

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/storage/internal/cache"
)

// Store keeps location bindings and users in memory. It implements
// location.Store, and its Users implements auth.UserStore (the two
// interfaces both name a List method, so one type cannot be both). It is
// safe for concurrent use.
type Store struct {
	bindings *cache.Bindings
	users    *Users
}

// Users keeps the users of a Store. It implements auth.UserStore and is
// safe for concurrent use.
type Users struct {
	mu sync.RWMutex
	m  map[userKey]auth.User
}

type userKey struct{ realm, username string }

// New returns an empty Store.
func New() *Store {
	return newStore(0)
}

// newStore returns a Store whose bindings map has the given number of
// shards (0: the default); benchmarks compare counts.
func newStore(shards int) *Store {
	return &Store{
		bindings: cache.New(shards),
		users:    &Users{m: make(map[userKey]auth.User)},
	}
}

// Users returns the store's users.
func (s *Store) Users() *Users {
	return s.users
}

// Lookup returns the unexpired bindings of aor, highest q first, then the
// most recently updated first.
func (s *Store) Lookup(ctx context.Context, aor string) ([]location.Binding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.bindings.Lookup(aor, time.Now()), nil
}

// Apply atomically replaces the bindings of aor with what fn returns; fn
// gets a copy of the unexpired bindings. Each stored binding's AOR field is
// set to aor. Apply returns a copy of the stored set in Lookup order. fn
// runs on the caller's goroutine under the lock of aor's shard: it must not
// call Apply or Expire.
func (s *Store) Apply(ctx context.Context, aor string, fn func(cur []location.Binding) ([]location.Binding, error)) ([]location.Binding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mu := s.bindings.WriteLock(aor)
	mu.Lock()
	defer mu.Unlock()
	next, err := fn(s.bindings.Lookup(aor, time.Now()))
	if err != nil {
		return nil, err
	}
	stored := cache.Prepare(aor, next)
	s.bindings.Set(aor, stored)
	return cache.Clone(stored), nil
}

// Expire deletes the bindings that expired at or before now and returns
// how many.
func (s *Store) Expire(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.bindings.Expire(now), nil
}

// List returns unexpired bindings ordered by AOR then contact, skipping
// offset (a negative offset counts as 0) and returning at most limit (none
// when limit <= 0).
func (s *Store) List(ctx context.Context, offset, limit int) ([]location.Binding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.bindings.List(time.Now(), offset, limit), nil
}

// Count returns the number of unexpired bindings and of AORs having one.
func (s *Store) Count(ctx context.Context) (bindings, aors int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	bindings, aors = s.bindings.Count(time.Now())
	return bindings, aors, nil
}

// Get returns the user with exactly this user name and realm, or
// auth.ErrNoUser.
func (s *Users) Get(ctx context.Context, username, realm string) (auth.User, error) {
	if err := ctx.Err(); err != nil {
		return auth.User{}, err
	}
	s.mu.RLock()
	u, ok := s.m[userKey{realm, username}]
	s.mu.RUnlock()
	if !ok {
		return auth.User{}, auth.ErrNoUser
	}
	return u, nil
}

// Put adds or replaces a user.
func (s *Users) Put(ctx context.Context, u auth.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.m[userKey{u.Realm, u.Username}] = u
	s.mu.Unlock()
	return nil
}

// Delete removes a user; deleting an unknown user returns auth.ErrNoUser.
func (s *Users) Delete(ctx context.Context, username, realm string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := userKey{realm, username}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k]; !ok {
		return auth.ErrNoUser
	}
	delete(s.m, k)
	return nil
}

// List returns users ordered by realm then user name, skipping offset (a
// negative offset counts as 0) and returning at most limit (none when
// limit <= 0).
func (s *Users) List(ctx context.Context, offset, limit int) ([]auth.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	offset = max(offset, 0)
	s.mu.RLock()
	all := make([]auth.User, 0, len(s.m))
	for _, u := range s.m {
		all = append(all, u)
	}
	s.mu.RUnlock()
	slices.SortFunc(all, func(a, b auth.User) int {
		if c := strings.Compare(a.Realm, b.Realm); c != 0 {
			return c
		}
		return strings.Compare(a.Username, b.Username)
	})
	if offset >= len(all) {
		return nil, nil
	}
	all = all[offset:]
	return all[:min(limit, len(all))], nil
}

var (
	_ location.Store = (*Store)(nil)
	_ auth.UserStore = (*Users)(nil)
)
