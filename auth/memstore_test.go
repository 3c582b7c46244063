package auth

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// memStore is a map-based UserStore for tests.
type memStore struct {
	mu    sync.Mutex
	users map[userKey]User
	err   error // returned by Get when set, to test store failures
	gets  int   // Get calls
}

type userKey struct{ username, realm string }

func newMemStore(us ...User) *memStore {
	s := &memStore{users: make(map[userKey]User)}
	for _, u := range us {
		s.users[userKey{u.Username, u.Realm}] = u
	}
	return s
}

func (s *memStore) Get(_ context.Context, username, realm string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.err != nil {
		return User{}, s.err
	}
	u, ok := s.users[userKey{username, realm}]
	if !ok {
		return User{}, ErrNoUser
	}
	return u, nil
}

func (s *memStore) Put(_ context.Context, u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[userKey{u.Username, u.Realm}] = u
	return nil
}

func (s *memStore) Delete(_ context.Context, username, realm string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := userKey{username, realm}
	if _, ok := s.users[k]; !ok {
		return ErrNoUser
	}
	delete(s.users, k)
	return nil
}

func (s *memStore) List(_ context.Context, offset, limit int) ([]User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	us := make([]User, 0, len(s.users))
	for _, u := range s.users {
		us = append(us, u)
	}
	slices.SortFunc(us, func(a, b User) int {
		return cmp.Or(cmp.Compare(a.Realm, b.Realm), cmp.Compare(a.Username, b.Username))
	})
	if offset > len(us) {
		offset = len(us)
	}
	us = us[offset:]
	if limit > 0 && limit < len(us) {
		us = us[:limit]
	}
	return us, nil
}

var _ UserStore = (*memStore)(nil)
