package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/sipd/sipd/sip"
)

// TestAuthorizeVector: RFC 2617 §3.5's example, answered by the client side.
func TestAuthorizeVector(t *testing.T) {
	ch := sip.Challenge{Scheme: "Digest", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		QOP: []string{"auth", "auth-int"}, Opaque: "5ccc069c403ebaf9f0171e9517f40e41"}
	c, err := Authorize(ch, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", 1, "0a4f113b")
	if err != nil {
		t.Fatal(err)
	}
	if c.Response != "6629fae49393a05397450978507c4ef1" || c.NC != "00000001" || c.QOP != "auth" || c.Opaque != ch.Opaque {
		t.Fatalf("got %+v", c)
	}
}

// TestAuthorizeAcceptedByServer: credentials the client computes pass the
// server's Check, for MD5 and SHA-256, and a second request with nc=2 on the
// same nonce too.
func TestAuthorizeAcceptedByServer(t *testing.T) {
	for _, alg := range []string{AlgorithmMD5, AlgorithmSHA256} {
		t.Run(alg, func(t *testing.T) {
			users := newMemStore(NewUser("alice", "example.com", "secret"))
			a := New(Config{Realm: "example.com", Algorithms: []string{alg}}, users)
			req := newRequest(t, "REGISTER", "sip:example.com")
			chal := a.Challenge(req, "", false, false)
			ch, err := sip.ParseChallenge(chal.Get("WWW-Authenticate"))
			if err != nil {
				t.Fatal(err)
			}
			for nc := uint32(1); nc <= 2; nc++ {
				c, err := Authorize(ch, req.Method, req.URI.String(), "alice", "secret", nc, "")
				if err != nil {
					t.Fatal(err)
				}
				r := req.Clone()
				r.Set("Authorization", c.String())
				res, err := a.Check(context.Background(), r, "", false)
				if err != nil || !res.OK {
					t.Fatalf("nc %d: %+v %v", nc, res, err)
				}
			}
		})
	}
}

func TestAuthorizeUnsupported(t *testing.T) {
	for _, ch := range []sip.Challenge{
		{Scheme: "Basic"},
		{Algorithm: "MD5-sess", Nonce: "n"},
		{Nonce: "n", QOP: []string{"auth-int"}},
	} {
		if _, err := Authorize(ch, "REGISTER", "sip:x", "u", "p", 1, ""); !errors.Is(err, ErrUnsupportedChallenge) {
			t.Errorf("%+v: %v", ch, err)
		}
	}
}

func TestPickChallenge(t *testing.T) {
	sess := sip.Challenge{Nonce: "s", Algorithm: "MD5-sess"}
	md5 := sip.Challenge{Nonce: "a"}
	sha := sip.Challenge{Nonce: "b", Algorithm: "SHA-256", QOP: []string{"auth"}}
	if ch, ok := PickChallenge([]sip.Challenge{sess, sha, md5}); !ok || ch.Nonce != "b" {
		t.Fatalf("got %+v %v", ch, ok)
	}
	if _, ok := PickChallenge([]sip.Challenge{{Scheme: "Basic"}}); ok {
		t.Fatal("picked Basic")
	}
}
