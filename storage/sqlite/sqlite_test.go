package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/storage/storagetest"
)

func openTemp(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sipd.db")
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func TestLocation(t *testing.T) {
	storagetest.Location(t, func(t *testing.T) location.Store {
		s, _ := openTemp(t, Options{})
		return s
	})
}

// TestLocationReopened runs the suite against a store that is closed and
// reopened after every Apply and Expire (except while other writes wait,
// which keeps the concurrency cases fast), so that the checks read what the
// database file holds rather than what the writer left in memory.
func TestLocationReopened(t *testing.T) {
	storagetest.Location(t, func(t *testing.T) location.Store {
		s, path := openTemp(t, Options{})
		r := &reopening{t: t, path: path, s: s}
		t.Cleanup(func() { r.s.Close() })
		return r
	})
}

type reopening struct {
	t       *testing.T
	path    string
	waiting atomic.Int32 // writes waiting for mu
	mu      sync.RWMutex // the writer side reopens
	s       *Store
}

func (r *reopening) reopen() {
	if r.waiting.Load() > 0 {
		return
	}
	if err := r.s.Close(); err != nil {
		r.t.Errorf("Close: %v", err)
	}
	s, err := Open(context.Background(), r.path, Options{})
	if err != nil {
		r.t.Fatalf("reopen: %v", err)
	}
	r.s = s
}

func (r *reopening) Lookup(ctx context.Context, aor string) ([]location.Binding, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.s.Lookup(ctx, aor)
}

func (r *reopening) Apply(ctx context.Context, aor string, fn func([]location.Binding) ([]location.Binding, error)) ([]location.Binding, error) {
	r.waiting.Add(1)
	r.mu.Lock()
	r.waiting.Add(-1)
	defer r.mu.Unlock()
	bs, err := r.s.Apply(ctx, aor, fn)
	if err == nil {
		r.reopen()
	}
	return bs, err
}

func (r *reopening) Expire(ctx context.Context, now time.Time) (int, error) {
	r.waiting.Add(1)
	r.mu.Lock()
	r.waiting.Add(-1)
	defer r.mu.Unlock()
	n, err := r.s.Expire(ctx, now)
	if err == nil {
		r.reopen()
	}
	return n, err
}

func (r *reopening) List(ctx context.Context, offset, limit int) ([]location.Binding, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.s.List(ctx, offset, limit)
}

func (r *reopening) Count(ctx context.Context) (int, int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.s.Count(ctx)
}

func TestUsers(t *testing.T) {
	storagetest.Users(t, func(t *testing.T) auth.UserStore {
		s, _ := openTemp(t, Options{})
		return s.Users()
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t, Options{Synchronous: SyncFull})
	now := time.Now()
	exp := now.Add(time.Hour).Add(123 * time.Nanosecond)
	b := location.Binding{
		AOR: "sip:alice@example.com", Contact: "sip:alice@192.0.2.1", Q: 1000,
		Expires: exp, Path: []string{"<sip:edge.example.com;lr>"}, Updated: now,
	}
	dead := b
	dead.Contact, dead.Expires = "sip:alice@192.0.2.2", now.Add(-time.Second)
	gone := b
	gone.AOR, gone.Contact = "sip:bob@example.com", "sip:bob@192.0.2.3"
	for _, bs := range [][]location.Binding{{b, dead}, {gone}} {
		if _, err := s.Apply(ctx, bs[0].AOR, func([]location.Binding) ([]location.Binding, error) { return bs, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Apply(ctx, gone.AOR, func([]location.Binding) ([]location.Binding, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	alice := auth.User{Username: "alice", Realm: "example.com", HA1MD5: "x", HA1SHA256: "y"}
	if err := s.Users().Put(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Lookup(ctx, b.AOR); !errors.Is(err, ErrClosed) {
		t.Errorf("Lookup after Close: %v; want ErrClosed", err)
	}
	if _, err := s.Apply(ctx, b.AOR, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close: %v; want ErrClosed", err)
	}
	if _, err := s.Users().Get(ctx, "alice", "example.com"); !errors.Is(err, ErrClosed) {
		t.Errorf("Users.Get after Close: %v; want ErrClosed", err)
	}

	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Lookup(ctx, b.AOR)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Contact != b.Contact || !got[0].Expires.Equal(exp) || len(got[0].Path) != 1 {
		t.Errorf("after reopen Lookup = %+v; want %+v", got, b)
	}
	if n, a, err := s2.Count(ctx); n != 1 || a != 1 || err != nil {
		t.Errorf("Count = %d, %d, %v; want 1, 1", n, a, err)
	}
	if u, err := s2.Users().Get(ctx, "alice", "example.com"); err != nil || u != alice {
		t.Errorf("Users.Get = %+v, %v; want %+v", u, err, alice)
	}
	// The expired binding came back too, invisible, for Expire to delete.
	if n, err := s2.Expire(ctx, time.Now()); n != 1 || err != nil {
		t.Errorf("Expire after reopen = %d, %v; want 1", n, err)
	}
	var rows int
	if err := s2.db.QueryRowContext(ctx, `SELECT count(*) FROM bindings`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("bindings table has %d rows (%v); want 1", rows, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		opts Options
	}{
		{"memory path", ":memory:", Options{}},
		{"empty path", "", Options{}},
		{"question mark", filepath.Join(dir, "a?b.db"), Options{}},
		{"uri", "file:" + filepath.Join(dir, "x.db"), Options{}},
		{"bad synchronous", filepath.Join(dir, "s.db"), Options{Synchronous: "OFF"}},
		{"negative batch", filepath.Join(dir, "n.db"), Options{MaxBatch: -1}},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "x.db"), Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.path, tc.opts)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q, %+v) succeeded; want an error", tc.path, tc.opts)
			}
		})
	}
}

func TestSchema(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t, Options{Synchronous: "full"})
	var mode, version string
	var sync, fk int
	// Any connection of the pool carries the DSN's pragmas.
	for _, q := range []struct {
		query string
		dst   any
	}{
		{"PRAGMA journal_mode", &mode},
		{"PRAGMA synchronous", &sync},
		{"PRAGMA foreign_keys", &fk},
		{"SELECT version FROM schema_version", &version},
	} {
		if err := s.db.QueryRowContext(ctx, q.query).Scan(q.dst); err != nil {
			t.Fatalf("%s: %v", q.query, err)
		}
	}
	if mode != "wal" || sync != 2 || fk != 1 || version != strconv.Itoa(len(migrations)) {
		t.Errorf("journal_mode=%s synchronous=%d foreign_keys=%d version=%s; want wal 2 1 %d", mode, sync, fk, version, len(migrations))
	}
	s.Close()

	// A database from a newer sipd is refused.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE schema_version SET version = ?`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := Open(ctx, path, Options{}); err == nil {
		s.Close()
		t.Error("Open of a database with a newer schema succeeded")
	}
}

// TestGroupCommit checks that concurrent Applies share transactions and
// that a failing or panicking fn affects only its own caller.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Options{MaxBatch: 8})
	exp := time.Now().Add(time.Hour)

	// Hold the writer inside an fn so that the others queue up behind it.
	release := make(chan struct{})
	entered := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := s.Apply(ctx, "sip:gate@example.com", func([]location.Binding) ([]location.Binding, error) {
			close(entered)
			<-release
			return []location.Binding{{Contact: "sip:gate@192.0.2.1", Expires: exp}}, nil
		})
		if err != nil {
			t.Errorf("gate Apply: %v", err)
		}
	})
	<-entered
	errBad := errors.New("bad")
	results := make([]error, 20)
	panics := make([]any, 20)
	for i := range 20 {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			aor := fmt.Sprintf("sip:u%d@example.com", i%5)
			_, results[i] = s.Apply(ctx, aor, func(cur []location.Binding) ([]location.Binding, error) {
				switch i {
				case 3:
					return nil, errBad
				case 4:
					panic("boom")
				}
				return append(cur, location.Binding{Contact: fmt.Sprintf("sip:c%d@192.0.2.1", i), Expires: exp}), nil
			})
		})
	}
	// Wait until all are queued: they go in batches of MaxBatch once the
	// gate opens.
	queued := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.pending)
	}
	for deadline := time.Now().Add(10 * time.Second); queued() < 20; {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued; want 20", queued())
		}
		time.Sleep(time.Millisecond)
	}
	before := s.commits.Load()
	close(release)
	wg.Wait()
	// The gate's transaction, then 8, 8 and 4.
	if c := s.commits.Load() - before; c > 1+3 {
		t.Errorf("21 Applies took %d transactions; want at most 4", c)
	}
	for i, err := range results {
		switch i {
		case 3:
			if !errors.Is(err, errBad) {
				t.Errorf("Apply %d: %v; want %v", i, err, errBad)
			}
		case 4:
			if panics[i] != "boom" {
				t.Errorf("Apply %d: panic %v; want boom", i, panics[i])
			}
		default:
			if err != nil || panics[i] != nil {
				t.Errorf("Apply %d: %v, panic %v", i, err, panics[i])
			}
		}
	}
	if n, a, err := s.Count(ctx); n != 1+18 || a != 6 || err != nil {
		t.Errorf("Count = %d, %d, %v; want 19, 6", n, a, err)
	}
	var rows, bindings int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), sum(bindings) FROM bindings`).Scan(&rows, &bindings); err != nil || rows != 6 || bindings != 19 {
		t.Errorf("bindings table has %d rows of %d bindings (%v); want 6 of 19", rows, bindings, err)
	}
}

// TestApplyCancelledWhileQueued checks that a request whose context ends
// while it waits in the queue is dropped and reports the context's error.
func TestApplyCancelledWhileQueued(t *testing.T) {
	s, _ := openTemp(t, Options{})
	release := make(chan struct{})
	entered := make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := s.Apply(context.Background(), "sip:gate@example.com", func([]location.Binding) ([]location.Binding, error) {
			close(entered)
			<-release
			return nil, nil
		})
		done <- err
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.Apply(ctx, "sip:late@example.com", func([]location.Binding) ([]location.Binding, error) {
		t.Error("fn of a cancelled Apply ran")
		return nil, nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Apply = %v; want context.DeadlineExceeded", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Error(err)
	}
}

const helperEnv = "SIPD_SQLITE_CRASH_HELPER"

// TestMain runs the test binary as TestCrash's child when the environment
// names a database (crashChild), else the tests.
func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		crashChild(path)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild is the child of TestCrash: it applies bindings to the
// database at path from several goroutines and prints "ok <aor>" after
// each Apply returns, until it is killed.
func crashChild(path string) {
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				aor := fmt.Sprintf("sip:w%d-%d@example.com", w, i)
				b := location.Binding{Contact: "sip:" + strconv.Itoa(i) + "@192.0.2.1", Expires: time.Now().Add(time.Hour), CSeq: uint32(i)}
				if _, err := s.Apply(context.Background(), aor, func([]location.Binding) ([]location.Binding, error) {
					return []location.Binding{b}, nil
				}); err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(out, "ok", aor)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrash kills a process that is writing bindings with SIGKILL and
// checks that every binding whose Apply had returned is in the database.
func TestCrash(t *testing.T) {
	const n = 300
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Should the child hang, end it so that the test fails rather than
	// waits for the test binary's timeout.
	watchdog := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer watchdog.Stop()
	acked := make(map[string]bool)
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		aor, ok := strings.CutPrefix(line, "ok ")
		if !ok {
			if !killed {
				cmd.Process.Kill()
			}
			t.Fatalf("helper: %s", line)
		}
		acked[aor] = true
		if len(acked) == n && !killed {
			// The child keeps writing: this lands in the middle of batches.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	// Lines the child printed before it died are acknowledgements too.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("helper exited before %d acknowledgements (%d): %v", n, len(acked), err)
	}

	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	missing := 0
	for aor := range acked {
		bs, err := s.Lookup(context.Background(), aor)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 1 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged bindings lost after kill -9", missing, len(acked))
	}
	total, _, _ := s.Count(context.Background())
	t.Logf("%d acknowledged, %d in the database after kill -9", len(acked), total)
}

// TestUsersOtherProcess: Users.Get keeps users in memory, yet a user added
// by another process (here another Store on the same file, as `sipd user
// add` opens one) is seen at once, and one changed or deleted there within
// userCheckInterval; changes through the same Users are seen at once.
func TestUsersOtherProcess(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t, Options{})
	other, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	alice := auth.User{Username: "alice", Realm: "example.com", HA1MD5: "a1", HA1SHA256: "a2"}
	if err := other.Users().Put(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if u, err := s.Users().Get(ctx, "alice", "example.com"); err != nil || u != alice {
		t.Fatalf("Get of a user added elsewhere = %+v, %v; want %+v", u, err, alice)
	}
	// Changed through s: at once.
	alice.HA1MD5 = "b1"
	if err := s.Users().Put(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if u, err := s.Users().Get(ctx, "alice", "example.com"); err != nil || u != alice {
		t.Fatalf("Get after Put = %+v, %v; want %+v", u, err, alice)
	}
	// Changed elsewhere: within the interval.
	alice.HA1MD5 = "c1"
	if err := other.Users().Put(ctx, alice); err != nil {
		t.Fatal(err)
	}
	waitUser := func(want auth.User, wantErr error) {
		t.Helper()
		deadline := time.Now().Add(userCheckInterval + 2*time.Second)
		for {
			u, err := s.Users().Get(ctx, "alice", "example.com")
			if u == want && errors.Is(err, wantErr) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Get = %+v, %v; want %+v, %v", u, err, want, wantErr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitUser(alice, nil)
	if err := other.Users().Delete(ctx, "alice", "example.com"); err != nil {
		t.Fatal(err)
	}
	waitUser(auth.User{}, auth.ErrNoUser)
	// Deleted through s: at once.
	if err := s.Users().Put(ctx, alice); err != nil {
		t.Fatal(err)
	}
	waitUser(alice, nil)
	if err := s.Users().Delete(ctx, "alice", "example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users().Get(ctx, "alice", "example.com"); !errors.Is(err, auth.ErrNoUser) {
		t.Fatalf("Get after Delete: %v; want ErrNoUser", err)
	}
}

// TestUsersCacheBound: the users kept in memory stay within maxCachedUsers.
func TestUsersCacheBound(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Options{})
	u := s.Users()
	u.maxCached = 2
	for i := range 3 {
		usr := auth.User{Username: "u" + strconv.Itoa(i), Realm: "example.com", HA1MD5: "x", HA1SHA256: "y"}
		if err := u.Put(ctx, usr); err != nil {
			t.Fatal(err)
		}
		if got, err := u.Get(ctx, usr.Username, usr.Realm); err != nil || got != usr {
			t.Fatalf("Get = %+v, %v", got, err)
		}
	}
	u.mu.Lock()
	n := len(u.cache)
	u.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d users in memory, want 2", n)
	}
}

// TestUsersInMemory: Open loads the users there are; a user put through
// the Users stays in memory across the version check, since its change is
// the only one; a change by another process empties the memory.
func TestUsersInMemory(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t, Options{})
	bob := auth.User{Username: "bob", Realm: "example.com", HA1MD5: "b1", HA1SHA256: "b2"}
	if err := s.Users().Put(ctx, bob); err != nil {
		t.Fatal(err)
	}
	cached := func(u *Users, name string) bool {
		u.mu.RLock()
		defer u.mu.RUnlock()
		_, ok := u.cache[userKey{"example.com", name}]
		return ok
	}
	if !cached(s.Users(), "bob") {
		t.Fatal("a user put is not in memory")
	}
	s.Users().checked.Store(0) // the next Get checks users_version
	if u, err := s.Users().Get(ctx, "bob", "example.com"); err != nil || u != bob || !cached(s.Users(), "bob") {
		t.Fatalf("Get = %+v, %v, in memory %v", u, err, cached(s.Users(), "bob"))
	}
	other, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if !cached(other.Users(), "bob") {
		t.Fatal("Open did not load the users")
	}
	carol := auth.User{Username: "carol", Realm: "example.com", HA1MD5: "c1", HA1SHA256: "c2"}
	if err := other.Users().Put(ctx, carol); err != nil {
		t.Fatal(err)
	}
	s.Users().checked.Store(0)
	if u, err := s.Users().Get(ctx, "carol", "example.com"); err != nil || u != carol {
		t.Fatalf("Get = %+v, %v", u, err)
	}
	if cached(s.Users(), "bob") {
		t.Error("another process's change did not empty the memory")
	}
}

// TestCommitDelay: with a commit delay, a lone Apply waits that long for
// others, and Applies made within it share its transaction.
func TestCommitDelay(t *testing.T) {
	ctx := context.Background()
	const delay = 50 * time.Millisecond
	s, _ := openTemp(t, Options{CommitDelay: delay})
	exp := time.Now().Add(time.Hour)
	add := func(aor string) error {
		_, err := s.Apply(ctx, aor, func(cur []location.Binding) ([]location.Binding, error) {
			return append(cur, location.Binding{Contact: "sip:c@192.0.2.1", Expires: exp}), nil
		})
		return err
	}
	start := time.Now()
	if err := add("sip:lone@example.com"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < delay {
		t.Errorf("a lone Apply committed after %v; want at least the delay, %v", d, delay)
	}
	before := s.commits.Load()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if err := add(fmt.Sprintf("sip:u%d@example.com", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c := s.commits.Load() - before; c > 2 {
		t.Errorf("10 Applies within the delay took %d transactions; want 1 (2 if one came late)", c)
	}
	for i := range 10 {
		if bs, _ := s.Lookup(ctx, fmt.Sprintf("sip:u%d@example.com", i)); len(bs) != 1 {
			t.Errorf("u%d: %d bindings after its Apply returned", i, len(bs))
		}
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), Options{CommitDelay: -1}); err == nil {
		t.Error("a negative commit delay was accepted")
	}
}
