//go:build !race

package auth

// Allocation budgets of the hot paths. The race detector allocates on its
// own, so they are built without it only; test.sh runs ./auth once
// without -race.

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
)

// TestCheckAllocs holds Check's hot path, valid credentials on a known
// nonce, at zero allocations.
func TestCheckAllocs(t *testing.T) {
	for _, alg := range []string{AlgorithmSHA256, AlgorithmMD5} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, Config{})
			c := &client{username: "alice", password: testPassword, alg: alg}
			login(t, f.a, c, sip.MethodRegister, testRURI, false)
			req := newRequest(t, sip.MethodRegister, testRURI)
			const runs = 100
			vals := make([]string, runs+2)
			for i := range vals {
				vals[i] = c.credentials(sip.MethodRegister, testRURI).String()
			}
			// The first use of a nonce makes its tracker entry.
			req.Set("Authorization", vals[0])
			if res, _ := f.a.Check(t.Context(), req, testRealm, false); !res.OK {
				t.Fatalf("Check = %+v", res)
			}
			i := 1
			allocs := testing.AllocsPerRun(runs, func() {
				req.Set("Authorization", vals[i])
				i++
				if res, _ := f.a.Check(t.Context(), req, testRealm, false); !res.OK {
					t.Fatalf("Check = %+v", res)
				}
			})
			if allocs != 0 {
				t.Errorf("Check allocates %v times per run, want 0", allocs)
			}
		})
	}
}

// TestCheckNoCredentialsAllocs holds Check of a request without
// credentials, the first REGISTER of every registration, at zero
// allocations.
func TestCheckNoCredentialsAllocs(t *testing.T) {
	f := newFixture(t, Config{})
	req := newRequest(t, sip.MethodRegister, testRURI)
	allocs := testing.AllocsPerRun(100, func() {
		if res, err := f.a.Check(t.Context(), req, testRealm, false); err != nil || res.OK || res.Reason != ReasonNoCredentials {
			t.Fatalf("Check = %+v, %v", res, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Check allocates %v times per run, want 0", allocs)
	}
}

// TestNCTrackerUseAllocs holds a use of the replay tracker at no
// allocation.
func TestNCTrackerUseAllocs(t *testing.T) {
	tr := newNCTracker(1000, int64(time.Hour))
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		var id nonceID
		binary.BigEndian.PutUint64(id[:], uint64(i%900))
		tr.use(id, int64(i%900), uint32(i/900+1), true, 0)
		i++
	})
	if allocs != 0 {
		t.Errorf("use allocates %v times per run, want 0", allocs)
	}
}
