package auth

import (
	"testing"

	"github.com/sipd/sipd/sip"
)

// BenchmarkCheck measures Check on a REGISTER with valid credentials, the
// common case, with replay tracking on: parsing the credentials, the
// nonce's HMAC, the store lookup, two hashes and the tracker.
func BenchmarkCheck(b *testing.B) {
	for _, alg := range []string{AlgorithmSHA256, AlgorithmMD5} {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, Config{})
			c := &client{username: "alice", password: testPassword, alg: alg}
			login(b, f.a, c, sip.MethodRegister, testRURI, false)
			// One parsed request; its Authorization is replaced by the
			// next of a batch of precomputed values (each with the next
			// nonce-count), refilled outside the timer.
			req := newRequest(b, sip.MethodRegister, testRURI)
			const batch = 4096
			vals := make([]string, 0, batch)
			refill := func() {
				vals = vals[:0]
				for range batch {
					vals = append(vals, c.credentials(sip.MethodRegister, testRURI).String())
				}
			}
			ctx := b.Context()
			refill()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i == len(vals) {
					b.StopTimer()
					refill()
					i = 0
					b.StartTimer()
				}
				req.Set("Authorization", vals[i])
				res, err := f.a.Check(ctx, req, testRealm, false)
				if err != nil || !res.OK {
					b.Fatalf("Check = %+v, %v", res, err)
				}
				i++
			}
		})
	}
}

// BenchmarkChallenge measures building a 401 with two challenges.
func BenchmarkChallenge(b *testing.B) {
	f := newFixture(b, Config{})
	req := newRequest(b, sip.MethodRegister, testRURI)
	b.ReportAllocs()
	for b.Loop() {
		f.a.Challenge(req, testRealm, false, false)
	}
}
