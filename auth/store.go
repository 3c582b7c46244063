package auth

import (
	"context"
	"errors"
)

// User is a SIP account. Only digest hashes are kept, never the password:
// HA1 = H(username ":" realm ":" password) for each algorithm offered
// (RFC 7616 §3.4.2, RFC 8760).
type User struct {
	Username  string
	Realm     string // the domain; also the digest realm
	HA1MD5    string // lower-case hex
	HA1SHA256 string // lower-case hex
}

// ErrNoUser is returned by UserStore.Get and Delete for an unknown user.
var ErrNoUser = errors.New("auth: no such user")

// UserStore keeps users. Implementations must be safe for concurrent use.
// Usernames and realms compare byte for byte: callers lower-case realms.
type UserStore interface {
	// Get returns the user, or ErrNoUser.
	Get(ctx context.Context, username, realm string) (User, error)
	// Put adds or replaces a user.
	Put(ctx context.Context, u User) error
	// Delete removes a user; deleting an unknown user returns ErrNoUser.
	Delete(ctx context.Context, username, realm string) error
	// List returns users ordered by realm then username.
	List(ctx context.Context, offset, limit int) ([]User, error)
}
