package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/storage/internal/cache"
)

// ErrClosed is returned by the methods of a Store, and of its Users, after
// Close.
var ErrClosed = errors.New("sqlite: store closed")

// Synchronous is a durability level: the value of SQLite's PRAGMA
// synchronous in WAL mode.
type Synchronous string

const (
	// SyncNormal commits without fsync: acknowledged writes survive a crash
	// or kill of the process, not a power loss or kernel crash. The default.
	SyncNormal Synchronous = "NORMAL"
	// SyncFull fsyncs the write-ahead log at every commit: acknowledged
	// writes also survive power loss.
	SyncFull Synchronous = "FULL"
)

// Options tunes a Store. The zero value gives the defaults.
type Options struct {
	// Synchronous is the durability level (see the package documentation):
	// SyncNormal or SyncFull. Default SyncNormal.
	Synchronous Synchronous
	// BusyTimeout is how long a statement waits for a lock another
	// connection or process holds before failing. Default 5s.
	BusyTimeout time.Duration
	// MaxBatch is the most Apply and Expire calls the writer puts in one
	// transaction. Default 256.
	MaxBatch int
	// Readers is the number of connections that read users. Default 4.
	Readers int
	// CommitDelay is how long a batch that starts with a lone request
	// waits for others to join it before it commits (as PostgreSQL's
	// commit_delay). A commit costs about as much as the rest of a
	// REGISTER; at a few thousand REGISTERs per second the store is idle
	// between them, so without a delay each pays a commit of its own.
	// Callers still get their answer only after the commit. 0: commit at
	// once.
	CommitDelay time.Duration
}

func (o *Options) setDefaults() error {
	switch Synchronous(strings.ToUpper(string(o.Synchronous))) {
	case "", SyncNormal:
		o.Synchronous = SyncNormal
	case SyncFull:
		o.Synchronous = SyncFull
	default:
		return fmt.Errorf("sqlite: synchronous %q: want NORMAL or FULL", o.Synchronous)
	}
	if o.BusyTimeout < 0 || o.MaxBatch < 0 || o.Readers < 0 || o.CommitDelay < 0 {
		return errors.New("sqlite: negative option")
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 256
	}
	if o.Readers == 0 {
		o.Readers = 4
	}
	return nil
}

// migrations bring the schema from version i to i+1; the schema_version
// table holds how many have run. Append only: never edit a released entry.
var migrations = [...]string{
	// 1: one row per AOR holding its whole binding set (see codec.go), with
	// the latest expiry and the count in plain columns for inspection;
	// users keyed by realm and user name as given.
	`CREATE TABLE bindings (
		aor      TEXT    NOT NULL PRIMARY KEY,
		expires  INTEGER NOT NULL, -- latest Expires of the set, Unix nanoseconds
		bindings INTEGER NOT NULL, -- how many bindings data holds
		data     BLOB    NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE users (
		realm      TEXT NOT NULL,
		username   TEXT NOT NULL,
		ha1_md5    TEXT NOT NULL,
		ha1_sha256 TEXT NOT NULL,
		PRIMARY KEY (realm, username)
	) WITHOUT ROWID;`,
	// 2: a count of the changes to users, which Users.Get reads to know
	// when the users it keeps in memory may be out of date.
	`CREATE TABLE users_version (n INTEGER NOT NULL);
	INSERT INTO users_version (n) VALUES (0);
	CREATE TRIGGER users_insert AFTER INSERT ON users BEGIN UPDATE users_version SET n = n + 1; END;
	CREATE TRIGGER users_update AFTER UPDATE ON users BEGIN UPDATE users_version SET n = n + 1; END;
	CREATE TRIGGER users_delete AFTER DELETE ON users BEGIN UPDATE users_version SET n = n + 1; END;`,
}

// Store is a SQLite database holding location bindings, with an in-memory
// index in front for reads. It implements location.Store, and its Users
// implements auth.UserStore (the two interfaces both name a List method, so
// one type cannot be both). It is safe for concurrent use.
type Store struct {
	db       *sql.DB
	w        *sql.Conn // the writer's connection, held by the writer goroutine
	bindings *cache.Bindings
	users    *Users
	maxBatch int
	delay    time.Duration // Options.CommitDelay

	mu      sync.Mutex  // guards pending
	closed  atomic.Bool // set under mu
	pending []*request  // Apply and Expire calls waiting for a commit
	kick    chan struct{}
	exited  chan struct{} // closed when the writer goroutine returns

	commits atomic.Int64 // transactions committed by the writer

	// The committer's state, the writer goroutine's or a caller's that
	// holds wmu (see submit).
	wmu     sync.Mutex
	stopped bool // the writer connection is closed
	batch   []*request
	stmts   writerStmts
	overlay map[string]written // this batch's changes
	buf     []byte
	putArgs [4]driver.NamedValue
	delArgs [1]driver.NamedValue
}

// Open opens or creates the database file at path, creates or migrates
// its schema, loads the bindings into memory and starts the writer. The
// directory must exist. Close releases it.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		// Each pooled connection would get its own ":memory:" database, and
		// the driver reads DSN parameters after a '?'.
		return nil, fmt.Errorf("sqlite: unsupported database path %q", path)
	}
	dsn := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(%s)&_pragma=foreign_keys(1)&_txlock=immediate",
		path, opts.BusyTimeout.Milliseconds(), opts.Synchronous)
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{
		db:       db,
		bindings: cache.New(0),
		maxBatch: opts.MaxBatch,
		delay:    opts.CommitDelay,
		kick:     make(chan struct{}, 1),
		exited:   make(chan struct{}),
		overlay:  make(map[string]written),
	}
	for i := range s.putArgs {
		s.putArgs[i].Ordinal = i + 1
	}
	s.delArgs[0].Ordinal = 1
	if err := s.open(ctx, opts); err != nil {
		s.closeDB()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, opts Options) error {
	s.db.SetMaxOpenConns(1 + opts.Readers)
	s.db.SetMaxIdleConns(1 + opts.Readers)
	s.db.SetConnMaxLifetime(0)
	s.db.SetConnMaxIdleTime(0)
	if err := migrate(ctx, s.db); err != nil {
		return err
	}
	var err error
	if s.users, err = newUsers(ctx, s.db, &s.closed); err != nil {
		return err
	}
	if err := s.users.load(ctx, s.db); err != nil {
		return err
	}
	if err := s.load(ctx); err != nil {
		return err
	}
	if s.w, err = s.db.Conn(ctx); err != nil {
		return err
	}
	ready := make(chan error, 1)
	go s.run(ready)
	return <-ready
}

// migrate creates the schema or brings it up to date, in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this sipd knows (%d)", v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
		return err
	}
	return tx.Commit()
}

// load fills the in-memory index from the bindings table, expired
// bindings included: they are invisible and the next Expire removes them,
// as if the store had never been closed.
func (s *Store) load(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT aor, data FROM bindings`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			aor  string
			data []byte
		)
		if err := rows.Scan(&aor, &data); err != nil {
			return err
		}
		bs, err := cache.DecodeBindings(aor, data)
		if err != nil {
			return fmt.Errorf("bindings of %s: %w", aor, err)
		}
		// Prepare sorts them, and packs each binding's strings in one
		// allocation where decoding made one per string.
		s.bindings.Set(aor, cache.Prepare(aor, bs))
	}
	return rows.Err()
}

// Users returns the store's users.
func (s *Store) Users() *Users {
	return s.users
}

// Close stops the writer after it has committed every Apply and Expire
// already queued, and closes the database. Calls made after Close return
// ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed.Store(true)
	s.mu.Unlock()
	s.kickWriter() // it commits what is queued, then stops
	<-s.exited
	return s.closeDB()
}

func (s *Store) closeDB() error {
	var errs []error
	if s.users != nil {
		errs = append(errs, s.users.close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

var _ location.Store = (*Store)(nil)
