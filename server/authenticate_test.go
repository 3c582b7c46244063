package server

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/storage/memory"
	"github.com/sipd/sipd/transaction"
)

// TestAuthenticateInDialog checks which requests from a local user are
// challenged: an initial request and an in-dialog one with no Route are, an
// in-dialog request that follows a route set is not, and neither is a caller
// from another domain.
func TestAuthenticateInDialog(t *testing.T) {
	store := memory.New()
	if err := store.Users().Put(context.Background(), auth.NewUser("alice", "example.com", "secret")); err != nil {
		t.Fatal(err)
	}
	a := auth.New(auth.Config{Secret: []byte("0123456789abcdef0123456789abcdef")}, store.Users())
	ok := HandlerFunc(func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
		return tx.Respond(sip.NewResponse(req, sip.StatusOK, ""))
	})
	addr := startServer(t, Config{}, Chain(Authenticate(a, []string{"example.com"}), ok))
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	for i, tc := range []struct {
		name, method, from, toTag, route string
		want                             int
	}{
		{"initial INVITE", "INVITE", "alice@example.com", "", "", 407},
		{"initial INVITE with a preloaded Route", "INVITE", "alice@example.com", "", "<sip:127.0.0.1;lr>", 407},
		{"re-INVITE on the route set", "INVITE", "alice@example.com", "b1", "<sip:127.0.0.1;lr>", 200},
		{"BYE on the route set", "BYE", "alice@example.com", "b1", "<sip:127.0.0.1;lr>", 200},
		{"in-dialog BYE with no Route", "BYE", "alice@example.com", "b1", "", 407},
		{"caller from another domain", "INVITE", "carol@example.net", "", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to := "<sip:bob@example.com>"
			if tc.toTag != "" {
				to += ";tag=" + tc.toTag
			}
			msg := tc.method + " sip:bob@example.com SIP/2.0\r\n" +
				"Via: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bK-auth-" + string(rune('a'+i)) + "\r\n" +
				"Max-Forwards: 70\r\nFrom: <sip:" + tc.from + ">;tag=a1\r\nTo: " + to + "\r\n" +
				"Call-ID: auth-" + string(rune('a'+i)) + "\r\nCSeq: 2 " + tc.method + "\r\n"
			if tc.route != "" {
				msg += "Route: " + tc.route + "\r\n"
			}
			msg += "Contact: <sip:alice@" + conn.LocalAddr().String() + ">\r\nContent-Length: 0\r\n\r\n"
			if _, err := conn.WriteToUDPAddrPort([]byte(msg), addr); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 65535)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				n, err := conn.Read(buf)
				if err != nil {
					t.Fatalf("no final response: %v", err)
				}
				r, err := sip.ParseResponse(buf[:n])
				if err != nil {
					t.Fatal(err)
				}
				if r.StatusCode < 200 {
					continue
				}
				if r.StatusCode != tc.want {
					t.Fatalf("got %d %s, want %d", r.StatusCode, r.Reason, tc.want)
				}
				if tc.method == "INVITE" && r.StatusCode >= 300 {
					ack := "ACK sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bK-auth-" + string(rune('a'+i)) + "\r\n" +
						"Max-Forwards: 70\r\nFrom: <sip:" + tc.from + ">;tag=a1\r\nTo: " + r.Header.Get("To") + "\r\nCall-ID: auth-" + string(rune('a'+i)) + "\r\nCSeq: 2 ACK\r\nContent-Length: 0\r\n\r\n"
					conn.WriteToUDPAddrPort([]byte(ack), addr)
				}
				return
			}
		})
	}
}
