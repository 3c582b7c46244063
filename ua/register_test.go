package ua

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/registrar"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/storage/memory"
)

// startRegistrar runs sipd's registrar with digest auth on loopback UDP.
func startRegistrar(t *testing.T, algs []string) (netip.AddrPort, *memory.Store) {
	t.Helper()
	store := memory.New()
	if err := store.Users().Put(context.Background(), auth.NewUser("alice", "example.com", "secret")); err != nil {
		t.Fatal(err)
	}
	a := auth.New(auth.Config{Realm: "example.com", Algorithms: algs}, store.Users())
	reg, err := registrar.New(registrar.Config{Domains: []string{"example.com"}, Auth: a, MinExpires: time.Second}, store)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{}, reg)
	addr, err := srv.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return addr, store
}

// TestRegisterDigest: REGISTER answered 401, retried with credentials of
// the algorithm offered (MD5, SHA-256), refreshed at half the granted
// lifetime with the same Call-ID and a growing CSeq, then removed.
func TestRegisterDigest(t *testing.T) {
	for _, alg := range []string{auth.AlgorithmMD5, auth.AlgorithmSHA256} {
		t.Run(alg, func(t *testing.T) {
			addr, store := startRegistrar(t, []string{alg})
			alice, rec := loopUA(t, Config{User: "alice", Domain: "example.com", Password: "secret"})
			ctx := testCtx(t)
			registrarURI, _ := sip.ParseURI("sip:example.com;maddr=" + addr.Addr().String())
			registrarURI.Port = int(addr.Port())
			reg, err := alice.Register(ctx, &RegisterOptions{Registrar: registrarURI, Expires: 2})
			if err != nil {
				t.Fatalf("%v\n%s", err, rec)
			}
			if reg.Expires() != 2*time.Second {
				t.Errorf("granted %v", reg.Expires())
			}
			bs, err := store.Lookup(ctx, "sip:alice@example.com")
			if err != nil || len(bs) != 1 || !strings.Contains(bs[0].Contact, alice.Addr().String()) {
				t.Fatalf("bindings %+v %v", bs, err)
			}
			regs := rec.find(Out, sip.MethodRegister, 0)
			if len(regs) != 2 || regs[0].msg.(*sip.Request).Has("Authorization") {
				t.Fatalf("want REGISTER then REGISTER with credentials:\n%s", rec)
			}
			cr, err := sip.ParseCredentials(regs[1].msg.(*sip.Request).Get("Authorization"))
			if err != nil || !strings.EqualFold(cr.Algorithm+"", alg) && !(alg == "MD5" && cr.Algorithm == "") || cr.QOP != "auth" || cr.NC != "00000001" || cr.CNonce == "" {
				t.Errorf("credentials %+v %v", cr, err)
			}
			// The refresh comes at half of 2 s.
			eventually(t, 5*time.Second, "refresh", func() bool { return reg.Refreshes() >= 1 })
			regs = rec.find(Out, sip.MethodRegister, 0)
			first, _ := regs[0].msg.(*sip.Request).CSeq()
			last, _ := regs[len(regs)-1].msg.(*sip.Request).CSeq()
			if regs[0].msg.(*sip.Request).CallID() != regs[len(regs)-1].msg.(*sip.Request).CallID() || last.Seq <= first.Seq {
				t.Errorf("refresh: Call-ID or CSeq wrong: %d %d", first.Seq, last.Seq)
			}
			if gap := regs[len(regs)-1].at.Sub(regs[0].at); gap < 800*time.Millisecond {
				t.Errorf("refreshed after %v, before half the lifetime", gap)
			}
			if err := reg.Unregister(ctx); err != nil {
				t.Fatal(err)
			}
			bs, _ = store.Lookup(ctx, "sip:alice@example.com")
			if len(bs) != 0 {
				t.Errorf("bindings left after unregister: %+v", bs)
			}
			last2 := rec.find(Out, sip.MethodRegister, 0)
			if v := last2[len(last2)-1].msg.(*sip.Request).Get("Expires"); v != "0" {
				t.Errorf("unregister Expires %q", v)
			}
		})
	}
}

// TestRegisterWrongPassword: a second 401 to our credentials is final.
func TestRegisterWrongPassword(t *testing.T) {
	addr, _ := startRegistrar(t, nil)
	alice, rec := loopUA(t, Config{User: "alice", Domain: "example.com", Password: "wrong"})
	u, _ := sip.ParseURI("sip:example.com")
	u.Params = u.Params.Set("maddr", addr.Addr().String())
	u.Port = int(addr.Port())
	_, err := alice.Register(testCtx(t), &RegisterOptions{Registrar: u, NoRefresh: true})
	if StatusCode(err) != 401 {
		t.Fatalf("got %v", err)
	}
	if n := rec.count(Out, sip.MethodRegister, 0); n != 2 {
		t.Errorf("sent %d REGISTERs, want 2", n)
	}
}

// TestMessageAndOptions: MESSAGE (RFC 3428) and OPTIONS round trips.
func TestMessageAndOptions(t *testing.T) {
	got := make(chan string, 1)
	bob, _ := loopUA(t, Config{User: "bob", OnMessage: func(req *sip.Request) int {
		got <- req.ContentType() + ":" + string(req.Body)
		return 0
	}})
	alice, _ := loopUA(t, Config{User: "alice"})
	ctx := testCtx(t)
	if _, err := alice.Message(ctx, bob.Contact(), "text/plain", []byte("hello bob")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got, time.Second); m != "text/plain:hello bob" {
		t.Errorf("bob got %q", m)
	}
	resp, err := alice.Options(ctx, bob.Contact())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	if !strings.Contains(resp.Get("Allow"), "INVITE") || !strings.Contains(resp.Get("Supported"), "100rel") || resp.Get("Accept") != "application/sdp" {
		t.Errorf("OPTIONS answer lacks Allow/Supported/Accept:\n%s", resp)
	}
	// A MESSAGE the application refuses.
	refuse, _ := loopUA(t, Config{User: "carol", OnMessage: func(*sip.Request) int { return 488 }})
	if _, err := alice.Message(ctx, refuse.Contact(), "", []byte("x")); StatusCode(err) != 488 {
		t.Errorf("got %v", err)
	}
}
