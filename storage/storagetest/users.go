package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sipd/sipd/auth"
)

// Users runs the conformance suite for auth.UserStore engines. newStore
// returns a new, empty store for each subtest (subtests run in parallel);
// it should register its own cleanup with t.Cleanup.
func Users(t *testing.T, newStore func(t *testing.T) auth.UserStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s auth.UserStore)
	}{
		{"PutGet", testUserPutGet},
		{"GetUnknown", testUserGetUnknown},
		{"Replace", testUserReplace},
		{"Delete", testUserDelete},
		{"List", testUserList},
		{"RealmCase", testUserRealmCase},
		{"Concurrent", testUserConcurrent},
		{"Cancelled", testUserCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

func user(username, realm string) auth.User {
	// Not real hashes: the store keeps strings, it does not check them.
	return auth.User{
		Username:  username,
		Realm:     realm,
		HA1MD5:    fmt.Sprintf("%032x", len(username)*131+len(realm)),
		HA1SHA256: fmt.Sprintf("%064x", len(username)*977+len(realm)),
	}
}

func mustPut(t *testing.T, s auth.UserStore, u auth.User) {
	t.Helper()
	if err := s.Put(context.Background(), u); err != nil {
		t.Fatalf("Put(%s@%s): %v", u.Username, u.Realm, err)
	}
}

func mustGet(t *testing.T, s auth.UserStore, username, realm string, want auth.User) {
	t.Helper()
	got, err := s.Get(context.Background(), username, realm)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", username, realm, err)
	}
	if got != want {
		t.Errorf("Get(%q, %q) = %+v; want %+v", username, realm, got, want)
	}
}

func mustNoUser(t *testing.T, s auth.UserStore, username, realm string) {
	t.Helper()
	got, err := s.Get(context.Background(), username, realm)
	if !errors.Is(err, auth.ErrNoUser) {
		t.Errorf("Get(%q, %q) = %+v, %v; want auth.ErrNoUser", username, realm, got, err)
	}
}

func mustListUsers(t *testing.T, s auth.UserStore, offset, limit int) []auth.User {
	t.Helper()
	got, err := s.List(context.Background(), offset, limit)
	if err != nil {
		t.Fatalf("List(%d, %d): %v", offset, limit, err)
	}
	return got
}

func equalUsers(want, got []auth.User) error {
	if !slices.Equal(want, got) {
		return fmt.Errorf("got %v; want %v", names(got), names(want))
	}
	return nil
}

func names(us []auth.User) []string {
	var ns []string
	for _, u := range us {
		ns = append(ns, u.Username+"@"+u.Realm)
	}
	return ns
}

func testUserPutGet(t *testing.T, s auth.UserStore) {
	tests := []struct {
		name string
		u    auth.User
	}{
		{"plain", user("alice", "example.com")},
		{"unicode and punctuation", user("bøb.o'brien+1", "sub.example.org")},
		{"empty hashes", auth.User{Username: "nohash", Realm: "example.com"}},
		{"only sha-256", auth.User{Username: "sha", Realm: "example.com", HA1SHA256: strings.Repeat("ab", 32)}},
	}
	for _, tc := range tests {
		mustPut(t, s, tc.u)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustGet(t, s, tc.u.Username, tc.u.Realm, tc.u)
		})
	}
}

func testUserGetUnknown(t *testing.T, s auth.UserStore) {
	mustNoUser(t, s, "nobody", "example.com")
	mustPut(t, s, user("alice", "example.com"))
	mustNoUser(t, s, "alice", "example.org")
	mustNoUser(t, s, "alicia", "example.com")
	mustNoUser(t, s, "", "")
}

func testUserReplace(t *testing.T, s auth.UserStore) {
	u := user("carol", "example.com")
	mustPut(t, s, u)
	u.HA1MD5 = strings.Repeat("1", 32)
	u.HA1SHA256 = ""
	mustPut(t, s, u)
	mustGet(t, s, "carol", "example.com", u)
	check(t, "List", equalUsers([]auth.User{u}, mustListUsers(t, s, 0, 10)))
}

func testUserDelete(t *testing.T, s auth.UserStore) {
	a, b := user("dave", "example.com"), user("erin", "example.com")
	mustPut(t, s, a)
	mustPut(t, s, b)
	if err := s.Delete(context.Background(), "dave", "example.com"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustNoUser(t, s, "dave", "example.com")
	mustGet(t, s, "erin", "example.com", b)
	if err := s.Delete(context.Background(), "dave", "example.com"); !errors.Is(err, auth.ErrNoUser) {
		t.Errorf("second Delete = %v; want auth.ErrNoUser", err)
	}
	if err := s.Delete(context.Background(), "erin", "example.org"); !errors.Is(err, auth.ErrNoUser) {
		t.Errorf("Delete in another realm = %v; want auth.ErrNoUser", err)
	}
	mustGet(t, s, "erin", "example.com", b)
	check(t, "List", equalUsers([]auth.User{b}, mustListUsers(t, s, 0, 10)))
	// Put after Delete brings the user back.
	mustPut(t, s, a)
	mustGet(t, s, "dave", "example.com", a)
}

func testUserList(t *testing.T, s auth.UserStore) {
	var want []auth.User
	for _, realm := range []string{"b.example.com", "a.example.com", "example.org"} {
		for _, name := range []string{"zoe", "Zed", "adam", "mike"} {
			want = append(want, user(name, realm))
		}
	}
	// Insert in a scrambled order.
	for i := range want {
		mustPut(t, s, want[(i*5)%len(want)])
	}
	slices.SortFunc(want, func(a, b auth.User) int {
		if c := strings.Compare(a.Realm, b.Realm); c != 0 {
			return c
		}
		return strings.Compare(a.Username, b.Username)
	})
	if want[0].Username != "Zed" || want[0].Realm != "a.example.com" {
		t.Fatalf("test data: first user %s@%s; byte order puts Zed@a.example.com first", want[0].Username, want[0].Realm)
	}
	tests := []struct {
		name          string
		offset, limit int
		want          []auth.User
	}{
		{"all", 0, 100, want},
		{"first page", 0, 5, want[:5]},
		{"middle page", 5, 5, want[5:10]},
		{"last page short", 10, 5, want[10:]},
		{"offset past end", 12, 5, nil},
		{"limit zero", 0, 0, nil},
		{"limit negative", 0, -1, nil},
		{"offset negative", -2, 3, want[:3]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, "List", equalUsers(tc.want, mustListUsers(t, s, tc.offset, tc.limit)))
		})
	}
}

func testUserRealmCase(t *testing.T, s auth.UserStore) {
	lower := user("frank", "example.com")
	mustPut(t, s, lower)
	mustNoUser(t, s, "frank", "Example.COM")
	mustNoUser(t, s, "Frank", "example.com")
	upper := user("frank", "Example.COM")
	upper.HA1MD5 = strings.Repeat("f", 32)
	mustPut(t, s, upper)
	mustGet(t, s, "frank", "example.com", lower)
	mustGet(t, s, "frank", "Example.COM", upper)
	check(t, "List", equalUsers([]auth.User{upper, lower}, mustListUsers(t, s, 0, 10)))
}

func testUserConcurrent(t *testing.T, s auth.UserStore) {
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			u := user(fmt.Sprintf("user%02d", i), "example.com")
			errs <- s.Put(context.Background(), u)
			_, err := s.Get(context.Background(), u.Username, u.Realm)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Put or Get: %v", err)
		}
	}
	if got := mustListUsers(t, s, 0, 100); len(got) != n {
		t.Errorf("List has %d users; want %d", len(got), n)
	}
}

func testUserCancelled(t *testing.T, s auth.UserStore) {
	u := user("grace", "example.com")
	mustPut(t, s, u)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wantErr := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error = %v; want context.Canceled", what, err)
		}
	}
	_, err := s.Get(ctx, u.Username, u.Realm)
	wantErr("Get", err)
	wantErr("Put", s.Put(ctx, user("heidi", "example.com")))
	wantErr("Delete", s.Delete(ctx, u.Username, u.Realm))
	_, err = s.List(ctx, 0, 10)
	wantErr("List", err)
	mustGet(t, s, u.Username, u.Realm, u)
	mustNoUser(t, s, "heidi", "example.com")
}
