package ua

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transport"
)

// fakeResolver answers for one name, as an SRV lookup would, and records
// what it was asked.
type fakeResolver struct {
	name string
	to   transport.Target
	mu   sync.Mutex
	hits []string
}

func (r *fakeResolver) Resolve(_ context.Context, u sip.URI) ([]transport.Target, error) {
	r.mu.Lock()
	r.hits = append(r.hits, u.Host)
	r.mu.Unlock()
	if u.Host != r.name {
		return nil, errors.New("no such name")
	}
	return []transport.Target{r.to}, nil
}

// TestResolver: with Config.Resolver a host name goes through it (RFC
// 3263), and its first target is where the request is sent; an IP address
// does not ask it; a name it does not know is ErrNoTarget.
func TestResolver(t *testing.T) {
	bob, _ := loopUA(t, Config{User: "bob"})
	res := &fakeResolver{name: "pbx.test", to: transport.Target{Transport: transport.UDP, Addr: bob.Addr()}}
	alice, _ := loopUA(t, Config{User: "alice", Resolver: res})
	ctx := testCtx(t)
	resp, err := alice.Options(ctx, mustURI(t, "sip:bob@pbx.test"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("OPTIONS sip:bob@pbx.test: %v %v", resp, err)
	}
	if _, err := alice.Options(ctx, bob.Contact()); err != nil {
		t.Fatalf("OPTIONS to bob's contact: %v", err)
	}
	if _, err := alice.Options(ctx, mustURI(t, "sip:bob@unknown.test")); !errors.Is(err, ErrNoTarget) {
		t.Errorf("OPTIONS to an unknown name: %v, want ErrNoTarget", err)
	}
	res.mu.Lock()
	defer res.mu.Unlock()
	if len(res.hits) != 2 || res.hits[0] != "pbx.test" || res.hits[1] != "unknown.test" {
		t.Errorf("resolver asked %q, want pbx.test then unknown.test", res.hits)
	}
}

func mustURI(t *testing.T, s string) sip.URI {
	t.Helper()
	u, err := sip.ParseURI(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
