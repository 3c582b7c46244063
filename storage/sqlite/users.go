package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"

	"github.com/sipd/sipd/auth"
)

// Users keeps the users of a Store in its users table. Reads go to the
// database, so changes made by other processes are seen at once. It
// implements auth.UserStore and is safe for concurrent use.
//
// User names and realms are compared byte for byte: callers canonicalize
// realms (lower case) before Put and Get.
type Users struct {
	closed              *atomic.Bool // the Store's
	get, put, del, list *sql.Stmt
}

func newUsers(ctx context.Context, db *sql.DB, closed *atomic.Bool) (*Users, error) {
	u := &Users{closed: closed}
	var err error
	prep := func(dst **sql.Stmt, query string) {
		if err == nil {
			*dst, err = db.PrepareContext(ctx, query)
		}
	}
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
	for _, st := range []*sql.Stmt{u.get, u.put, u.del, u.list} {
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
	usr := auth.User{Username: username, Realm: realm}
	err := u.get.QueryRowContext(ctx, realm, username).Scan(&usr.HA1MD5, &usr.HA1SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.User{}, auth.ErrNoUser
	}
	if err != nil {
		return auth.User{}, err
	}
	return usr, nil
}

// Put adds or replaces a user.
func (u *Users) Put(ctx context.Context, usr auth.User) error {
	if err := u.check(ctx); err != nil {
		return err
	}
	_, err := u.put.ExecContext(ctx, usr.Realm, usr.Username, usr.HA1MD5, usr.HA1SHA256)
	return err
}

// Delete removes a user; deleting an unknown user returns auth.ErrNoUser.
func (u *Users) Delete(ctx context.Context, username, realm string) error {
	if err := u.check(ctx); err != nil {
		return err
	}
	res, err := u.del.ExecContext(ctx, realm, username)
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
