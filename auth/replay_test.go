package auth

import (
	"strings"
	"testing"
	"time"
)

func TestNCTracker(t *testing.T) {
	const ttl = int64(time.Minute)
	id := func(n byte) nonceID { return nonceID{n} }
	type use struct {
		id     byte
		issued int64
		nc     uint32 // 0 with qop false: no qop
		qop    bool
		now    int64
		want   verdict
	}
	tests := []struct {
		name string
		max  int
		uses []use
		size int // entries left
	}{
		{name: "counts once each", max: 10, size: 1, uses: []use{
			{1, 0, 1, true, 0, ncFresh},
			{1, 0, 2, true, 0, ncFresh},
			{1, 0, 2, true, 0, ncReplay},
			{1, 0, 1, true, 0, ncReplay},
			{1, 0, 0, true, 0, ncReplay},
		}},
		{name: "window", max: 10, size: 1, uses: []use{
			{1, 0, 70, true, 0, ncFresh},
			{1, 0, 7, true, 0, ncFresh},  // 63 behind
			{1, 0, 6, true, 0, ncReplay}, // 64 behind
			{1, 0, 7, true, 0, ncReplay},
			{1, 0, 200, true, 0, ncFresh}, // a jump clears the window
			{1, 0, 70, true, 0, ncReplay},
			{1, 0, 199, true, 0, ncFresh},
			{1, 0, 4294967295, true, 0, ncFresh},
			{1, 0, 4294967295, true, 0, ncReplay},
		}},
		{name: "nonces are separate", max: 10, size: 2, uses: []use{
			{1, 0, 1, true, 0, ncFresh},
			{2, 0, 1, true, 0, ncFresh},
			{2, 0, 1, true, 0, ncReplay},
		}},
		{name: "no qop once", max: 10, size: 1, uses: []use{
			{1, 0, 0, false, 0, ncFresh},
			{1, 0, 0, false, 0, ncReused},
			{1, 0, 1, true, 0, ncFresh},
		}},
		{name: "expired entries dropped", max: 10, size: 2, uses: []use{
			{1, 0, 1, true, 0, ncFresh},
			{2, 10, 1, true, 10, ncFresh},
			{3, ttl + 5, 1, true, ttl + 5, ncFresh}, // drops 1, keeps 2
			{4, 2 * ttl, 1, true, 2 * ttl, ncFresh}, // drops 2, keeps 3
		}},
		{name: "full: earliest issued forgotten", max: 2, size: 2, uses: []use{
			{2, 20, 1, true, 30, ncFresh},
			{1, 10, 1, true, 30, ncFresh}, // issued earlier, used later
			{3, 25, 1, true, 30, ncFresh}, // evicts 1 (issued 10)
			{1, 10, 2, true, 30, ncForgotten},
			{4, 10, 1, true, 30, ncForgotten}, // issued at the floor, never seen
			{5, 11, 1, true, 30, ncFresh},     // after the floor: new; evicts 2
			{2, 20, 2, true, 30, ncForgotten},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newNCTracker(tt.max, ttl)
			for i, u := range tt.uses {
				if got := tr.use(id(u.id), u.issued, u.nc, u.qop, u.now); got != u.want {
					t.Fatalf("use %d %+v = %d, want %d", i, u, got, u.want)
				}
			}
			if n := tr.len(); n != tt.size {
				t.Errorf("%d entries, want %d", n, tt.size)
			}
			if len(tr.byID) != len(tr.order) {
				t.Errorf("map %d, heap %d", len(tr.byID), len(tr.order))
			}
		})
	}
}

func TestNonce(t *testing.T) {
	f := newFixture(t, Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	now := f.clock.Now()
	n1 := f.a.newNonce("example.com", now)
	n2 := f.a.newNonce("example.com", now)
	if n1 == n2 {
		t.Fatal("two nonces alike")
	}
	if len(n1) != nonceTextLen {
		t.Fatalf("nonce %q has %d characters, want %d", n1, len(n1), nonceTextLen)
	}
	id, issued, ok := f.a.openNonce(n1, "example.com")
	if !ok || issued != now.UnixNano() || id == (nonceID{}) {
		t.Fatalf("openNonce = %x, %d, %v", id, issued, ok)
	}
	if _, _, ok := f.a.openNonce(n1, "example.net"); ok {
		t.Error("nonce accepted for another realm")
	}
	same := New(Config{Secret: []byte("0123456789abcdef0123456789abcdef")}, f.users)
	if _, _, ok := same.openNonce(n1, "example.com"); !ok {
		t.Error("nonce refused by a node sharing the secret")
	}
	other := New(Config{Secret: []byte("fedcba9876543210fedcba9876543210")}, f.users)
	if _, _, ok := other.openNonce(n1, "example.com"); ok {
		t.Error("nonce accepted under another secret")
	}
	// The last character holds 4 bits and 2 zero padding bits: a
	// spelling with the padding bits set decodes to the same bytes
	// unless Strict, and must not pass.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	idx := strings.IndexByte(alphabet, n1[len(n1)-1])
	if alt := n1[:len(n1)-1] + string(alphabet[idx|1]); alt == n1 {
		t.Fatal("last character has padding bits set")
	} else if _, _, ok := f.a.openNonce(alt, "example.com"); ok {
		t.Error("non-canonical spelling accepted")
	}
	for i := range n1 {
		if _, _, ok := f.a.openNonce(flip(n1, i), "example.com"); ok {
			t.Errorf("nonce with character %d changed accepted", i)
		}
	}
}
