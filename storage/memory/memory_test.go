package memory

import (
	"fmt"
	"testing"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/location"
	"github.com/sipd/sipd/storage/storagetest"
)

func TestLocation(t *testing.T) {
	storagetest.Location(t, func(*testing.T) location.Store { return New() })
}

func TestUsers(t *testing.T) {
	storagetest.Users(t, func(*testing.T) auth.UserStore { return New().Users() })
}

func BenchmarkApplyParallel(b *testing.B) {
	for _, shards := range []int{1, 64} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			storagetest.BenchApplyParallel(b, newStore(shards))
		})
	}
}

func BenchmarkLookup(b *testing.B) {
	for _, shards := range []int{1, 64} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			storagetest.BenchLookup(b, newStore(shards))
		})
	}
}
