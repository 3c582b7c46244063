package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/storage/sqlite"
)

func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	steps := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"add", "alice@Example.COM", "--password", "s3cret", "--data-dir", dir}, 0, "added alice@example.com", ""},
		{[]string{"add", "--data-dir", dir, "bob@example.com", "--password", "pw"}, 0, "added bob@example.com", ""},
		{[]string{"list", "--data-dir", dir}, 0, "alice@example.com\nbob@example.com\n", ""},
		{[]string{"del", "bob@example.com", "--data-dir", dir}, 0, "deleted bob@example.com", ""},
		{[]string{"del", "bob@example.com", "--data-dir", dir}, 1, "", "no user bob@example.com"},
		{[]string{"list", "--data-dir", dir}, 0, "alice@example.com\n", ""},
		{[]string{"add", "carol@example.com", "--data-dir", dir}, 2, "", "--password is required"},
		{[]string{"add", "carol", "--password", "x", "--data-dir", dir}, 2, "", "is not USER@DOMAIN"},
		{[]string{"frob", "--data-dir", dir}, 2, "", "unknown subcommand"},
		{nil, 2, "", "usage: sipd user"},
	}
	for _, st := range steps {
		var out, errb bytes.Buffer
		code := run(append([]string{"user"}, st.args...), &out, &errb)
		if code != st.code || !strings.Contains(out.String(), st.out) || !strings.Contains(errb.String(), st.err) {
			t.Fatalf("sipd user %v: exit %d, out %q, err %q; want %d, %q, %q", st.args, code, out.String(), errb.String(), st.code, st.out, st.err)
		}
	}
	// Only hashes are stored, and they verify the password.
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "sipd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u, err := store.Users().Get(context.Background(), "alice", "example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := auth.NewUser("alice", "example.com", "s3cret")
	if u.HA1MD5 != want.HA1MD5 || u.HA1SHA256 != want.HA1SHA256 || strings.Contains(u.HA1MD5+u.HA1SHA256, "s3cret") {
		t.Errorf("stored %+v, want the hashes of the password", u)
	}
}
