package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipd/sipd/auth"
)

// Users keeps the users of a Store in its users table. It implements
// auth.UserStore and is safe for concurrent use.
//
// Open loads the users, and Get keeps those it finds, in memory, so that the digest check of a
// REGISTER does not query the database (a query through database/sql
// costs about as much as the rest of the REGISTER). A user that is not in
// memory is read from the database, so a user added by another process
// (`sipd user add`) is seen at once. Changes made through this Users are
// seen at once too. Other processes' changes and deletions are seen within
// userCheckInterval: the users table's triggers count every change in
// users_version, which Get reads at most that often, and a new count
// empties the memory.
//
// User names and realms are compared byte for byte: callers canonicalize
// realms (lower case) before Put and Get.
type Users struct {
	closed                       *atomic.Bool // the Store's
	get, put, del, list, version *sql.Stmt

	mu        sync.RWMutex
	maxCached int                   // maxCachedUsers; lowered by tests
	cache     map[userKey]auth.User // users found, valid as of seen
	gen       uint64                // bumped when cache is emptied
	seen      int64                 // users_version when cache was last checked
	checked   atomic.Int64          // when it was, in nanoseconds since epoch
}

type userKey struct{ realm, username string }

const (
	// userCheckInterval bounds how long a change of another process
	// takes to be seen.
	userCheckInterval = 100 * time.Millisecond
	// maxCachedUsers bounds the memory Get keeps: about 200 bytes a user.
	maxCachedUsers = 1 << 17
)

// epoch is the origin of Users.checked: a monotonic clock reading.
var epoch = time.Now()

func newUsers(ctx context.Context, db *sql.DB, closed *atomic.Bool) (*Users, error) {
	u := &Users{closed: closed, maxCached: maxCachedUsers, cache: make(map[userKey]auth.User)}
	var err error
	prep := func(dst **sql.Stmt, query string) {
		if err == nil {
			*dst, err = db.PrepareContext(ctx, query)
		}
	}
	prep(&u.version, `SELECT n FROM users_version`)
	prep(&u.get, `SELECT ha1_md5, ha1_sha256 FROM users WHERE realm = ? AND username = ?`)
	prep(&u.put, `INSERT INTO users (realm, username, ha1_md5, ha1_sha256) VALUES (?, ?, ?, ?)
		ON CONFLICT (realm, username) DO UPDATE SET ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256`)
	prep(&u.del, `DELETE FROM users WHERE realm = ? AND username = ?`)
	prep(&u.list, `SELECT realm, username, ha1_md5, ha1_sha256 FROM users ORDER BY realm, username LIMIT ? OFFSET ?`)
	if err != nil {
		u.close()
		return nil, err
	}
	return u, nil
}

func (u *Users) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{u.get, u.put, u.del, u.list, u.version} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

func (u *Users) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if u.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Get returns the user with exactly this user name and realm, or
// auth.ErrNoUser.
func (u *Users) Get(ctx context.Context, username, realm string) (auth.User, error) {
	if err := u.check(ctx); err != nil {
		return auth.User{}, err
	}
	gen, err := u.fresh(ctx)
	if err != nil {
		return auth.User{}, err
	}
	u.mu.RLock()
	usr, ok := u.cache[userKey{realm, username}]
	u.mu.RUnlock()
	if ok {
		return usr, nil
	}
	var md5, sha256 string
	err = u.get.QueryRowContext(ctx, realm, username).Scan(&md5, &sha256)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.User{}, auth.ErrNoUser
	}
	if err != nil {
		return auth.User{}, err
	}
	usr = compactUser(username, realm, md5, sha256)
	u.mu.Lock()
	if u.gen == gen { // not emptied since the version was checked
		u.keep(usr)
	}
	u.mu.Unlock()
	return usr, nil
}

// keep adds usr to the cache, dropping another user when it is full;
// u.mu must be held.
func (u *Users) keep(usr auth.User) {
	if len(u.cache) >= u.maxCached {
		for k := range u.cache { // drop one at random
			delete(u.cache, k)
			break
		}
	}
	u.cache[userKey{usr.Realm, usr.Username}] = usr
}

// load fills the cache from the users table, as many users as it keeps:
// a server finds the users provisioned before it started in memory.
func (u *Users) load(ctx context.Context, db *sql.DB) error {
	var v int64
	if err := u.version.QueryRowContext(ctx).Scan(&v); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT realm, username, ha1_md5, ha1_sha256 FROM users LIMIT ?`, u.maxCached)
	if err != nil {
		return err
	}
	defer rows.Close()
	u.mu.Lock()
	defer u.mu.Unlock()
	for rows.Next() {
		var realm, name, md5, sha256 string
		if err := rows.Scan(&realm, &name, &md5, &sha256); err != nil {
			return err
		}
		u.keep(compactUser(name, realm, md5, sha256))
	}
	// A change made since v was read is seen by the first check.
	u.seen = v
	u.checked.Store(max(int64(time.Since(epoch)), 1))
	return rows.Err()
}

// changed updates the cache after a change of one user through u: usr is
// the user's new value, nil when it was deleted. When users_version shows
// that this change is the only one since the cache was last checked, the
// cache stays valid and keeps usr; otherwise the next check empties it.
func (u *Users) changed(ctx context.Context, username, realm string, usr *auth.User) {
	var v int64
	err := u.version.QueryRowContext(ctx).Scan(&v)
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.cache, userKey{realm, username})
	u.gen++ // a Get that read the old row must not store it
	switch {
	case err != nil:
		u.checked.Store(0) // check at the next Get
	case v == u.seen+1: // ours: the trigger counts one per row changed
		u.seen = v
		if usr != nil {
			u.keep(compactUser(usr.Username, usr.Realm, usr.HA1MD5, usr.HA1SHA256))
		}
	}
}

// compactUser returns the user with its four strings in one allocation.
func compactUser(username, realm, md5, sha256 string) auth.User {
	var b strings.Builder
	b.Grow(len(username) + len(realm) + len(md5) + len(sha256))
	b.WriteString(username)
	b.WriteString(realm)
	b.WriteString(md5)
	b.WriteString(sha256)
	s := b.String()
	n1 := len(username)
	n2 := n1 + len(realm)
	n3 := n2 + len(md5)
	return auth.User{Username: s[:n1], Realm: s[n1:n2], HA1MD5: s[n2:n3], HA1SHA256: s[n3:]}
}

// fresh empties the cache when users_version changed, checking at most
// every userCheckInterval, and returns the cache's generation.
func (u *Users) fresh(ctx context.Context) (uint64, error) {
	now := int64(time.Since(epoch))
	if last := u.checked.Load(); now-last < int64(userCheckInterval) && last != 0 {
		u.mu.RLock()
		gen := u.gen
		u.mu.RUnlock()
		return gen, nil
	}
	var v int64
	if err := u.version.QueryRowContext(ctx).Scan(&v); err != nil {
		return 0, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if v != u.seen {
		u.forget()
		u.seen = v
	}
	u.checked.Store(max(now, 1))
	return u.gen, nil
}

// forget empties the cache; u.mu must be held.
func (u *Users) forget() {
	clear(u.cache)
	u.gen++
}

// Put adds or replaces a user.
func (u *Users) Put(ctx context.Context, usr auth.User) error {
	if err := u.check(ctx); err != nil {
		return err
	}
	if _, err := u.put.ExecContext(ctx, usr.Realm, usr.Username, usr.HA1MD5, usr.HA1SHA256); err != nil {
		u.changed(ctx, usr.Username, usr.Realm, nil)
		return err
	}
	u.changed(ctx, usr.Username, usr.Realm, &usr)
	return nil
}

// Delete removes a user; deleting an unknown user returns auth.ErrNoUser.
func (u *Users) Delete(ctx context.Context, username, realm string) error {
	if err := u.check(ctx); err != nil {
		return err
	}
	res, err := u.del.ExecContext(ctx, realm, username)
	u.changed(ctx, username, realm, nil)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return auth.ErrNoUser
	}
	return nil
}

// List returns users ordered by realm then user name (byte order),
// skipping offset (a negative offset counts as 0) and returning at most
// limit (none when limit <= 0).
func (u *Users) List(ctx context.Context, offset, limit int) ([]auth.User, error) {
	if err := u.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := u.list.QueryContext(ctx, limit, max(offset, 0))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var us []auth.User
	for rows.Next() {
		var usr auth.User
		if err := rows.Scan(&usr.Realm, &usr.Username, &usr.HA1MD5, &usr.HA1SHA256); err != nil {
			return nil, err
		}
		us = append(us, usr)
	}
	return us, rows.Err()
}

var _ auth.UserStore = (*Users)(nil)
