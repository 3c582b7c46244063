package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// reg describes one REGISTER of the registrar rules test.
type reg struct {
	user     string   // AOR user (To, From); authenticates as authUser or user
	authUser string   // "" = user
	password string   // "" = the user's own
	domain   string   // Request-URI host; "" = example.com
	contacts []string // Contact header values
	expires  int      // Expires header; -1 = none
	callID   string
	cseq     int
	extra    []string // more header lines, "Name: value"
}

// ua sends REGISTERs over one transport and answers one 401 challenge.
type ua struct {
	t         *testing.T
	node      *node
	transport string
	server    transport.Target
}

func (u *ua) send(r reg) *sip.Response {
	u.t.Helper()
	if r.domain == "" {
		r.domain = "example.com"
	}
	if r.authUser == "" {
		r.authUser = r.user
	}
	if r.password == "" {
		r.password = "pw-" + r.authUser
	}
	var authz string
	for cseq := r.cseq; cseq <= r.cseq+1; cseq++ {
		ruri, _ := sip.ParseURI("sip:" + r.domain)
		req := sip.NewRequest(sip.MethodRegister, ruri)
		req.PushVia(sip.Via{Transport: u.transport, Host: "placeholder.invalid", Params: sip.Params(";branch=" + transaction.NewBranch())})
		req.Add("Max-Forwards", "70")
		req.Add("From", "<sip:"+r.user+"@example.com>;tag=f1")
		req.Add("To", "<sip:"+r.user+"@example.com>")
		req.Add("Call-ID", r.callID)
		req.Add("CSeq", strconv.Itoa(cseq)+" REGISTER")
		for _, c := range r.contacts {
			req.Add("Contact", c)
		}
		if r.expires >= 0 {
			req.Add("Expires", strconv.Itoa(r.expires))
		}
		for _, l := range r.extra {
			name, value, _ := strings.Cut(l, ": ")
			req.Add(name, value)
		}
		if authz != "" {
			req.Add("Authorization", authz)
		}
		c := newCollector()
		if _, err := u.node.tl.Request(req, u.server, c); err != nil {
			u.t.Fatal(err)
		}
		resp := c.wait(u.t, 10*time.Second)
		if resp.StatusCode != sip.StatusUnauthorized || authz != "" {
			return resp
		}
		ch, err := sip.ParseChallenge(resp.Get("WWW-Authenticate"))
		if err != nil {
			u.t.Fatal(err)
		}
		cred := sip.Credentials{Scheme: "Digest", Username: r.authUser, Realm: ch.Realm, Nonce: ch.Nonce,
			URI: ruri.String(), Algorithm: ch.Algorithm, CNonce: "cn", QOP: "auth", NC: "00000001", Opaque: ch.Opaque}
		cred.Response = auth.Response(ch.Algorithm, auth.HA1(ch.Algorithm, r.authUser, ch.Realm, r.password),
			ch.Nonce, cred.NC, cred.CNonce, "auth", sip.MethodRegister, cred.URI)
		authz = cred.String()
	}
	u.t.Fatal("unreachable")
	return nil
}

// bindings returns "uri expires=N q=Q" for each Contact of a 200.
func bindings(t *testing.T, resp *sip.Response) []string {
	t.Helper()
	cs, err := resp.Contacts()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		e, _ := c.Expires()
		s := c.URI.String() + " expires=" + strconv.Itoa(roundTo(e, 10))
		if q, ok := c.Params.Get("q"); ok {
			s += " q=" + q
		}
		out = append(out, s)
	}
	return out
}

// roundTo rounds seconds up to a multiple of n, so a second passing during
// the test does not matter.
func roundTo(v, n int) int { return (v + n - 1) / n * n }

// TestRegistrarRules drives the RFC 3261 §10.3 rules through a running
// `sipd serve` over UDP and TCP, with our own UA.
func TestRegistrarRules(t *testing.T) {
	dataDir := t.TempDir()
	addUsers(t, dataDir, 8)
	conf := filepath.Join(t.TempDir(), "sipd.toml")
	if err := os.WriteFile(conf, []byte("[registrar]\nmax_contacts = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startSipd(t, dataDir, "--listen", "tcp:127.0.0.1:0", "--config", conf)
	for _, tc := range []struct {
		network, name string
		first         int // users first..first+3 are this subtest's
	}{{"udp", transport.UDP, 0}, {"tcp", transport.TCP, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			addr, ok := srv.addrs[tc.network]
			if !ok {
				t.Fatalf("sipd has no %s listener: %v", tc.network, srv.addrs)
			}
			u := &ua{t: t, node: newNode(t, tc.network, nil, &answering{}), transport: tc.name,
				server: transport.Target{Transport: tc.name, Addr: addr}}
			call := "rules-" + tc.network
			user := func(n int) string { return "user" + strconv.Itoa(tc.first+n) }
			a, b := "<sip:a@192.0.2.1:5060>", "<sip:b@192.0.2.2:5060>"
			steps := []struct {
				name  string
				r     reg
				code  int
				binds []string          // expected bindings in a 200, in order
				hdrs  map[string]string // expected headers
			}{
				{"add a binding", reg{user: user(0), contacts: []string{a}, expires: 600, callID: call, cseq: 1},
					200, []string{"sip:a@192.0.2.1:5060 expires=600"}, nil},
				{"refresh with a higher CSeq", reg{user: user(0), contacts: []string{a}, expires: 300, callID: call, cseq: 10},
					200, []string{"sip:a@192.0.2.1:5060 expires=300"}, nil},
				{"a lower CSeq on the same Call-ID fails", reg{user: user(0), contacts: []string{a}, expires: 300, callID: call, cseq: 3},
					400, nil, nil},
				{"second contact, lower q, listed after", reg{user: user(0), contacts: []string{b + ";q=0.5"}, expires: 900, callID: call + "-b", cseq: 1},
					200, []string{"sip:a@192.0.2.1:5060 expires=300", "sip:b@192.0.2.2:5060 expires=900 q=0.5"}, nil},
				{"contact expires param beats the header", reg{user: user(0), contacts: []string{a + ";expires=1200"}, expires: 300, callID: call, cseq: 20},
					200, []string{"sip:a@192.0.2.1:5060 expires=1200", "sip:b@192.0.2.2:5060 expires=900 q=0.5"}, nil},
				{"expiry capped at the maximum", reg{user: user(0), contacts: []string{a}, expires: 999999, callID: call, cseq: 30},
					200, []string{"sip:a@192.0.2.1:5060 expires=86400", "sip:b@192.0.2.2:5060 expires=900 q=0.5"}, nil},
				{"too brief: 423 with Min-Expires", reg{user: user(0), contacts: []string{a}, expires: 10, callID: call, cseq: 40},
					423, nil, map[string]string{"Min-Expires": "60"}},
				{"remove one with expires=0", reg{user: user(0), contacts: []string{a + ";expires=0"}, expires: -1, callID: call, cseq: 50},
					200, []string{"sip:b@192.0.2.2:5060 expires=900 q=0.5"}, nil},
				{"fetch without Contact", reg{user: user(0), expires: -1, callID: call, cseq: 60},
					200, []string{"sip:b@192.0.2.2:5060 expires=900 q=0.5"}, nil},
				{"star needs Expires: 0", reg{user: user(0), contacts: []string{"*"}, expires: 300, callID: call, cseq: 70},
					400, nil, nil},
				{"star with other contacts", reg{user: user(0), contacts: []string{"*", a}, expires: 0, callID: call, cseq: 80},
					400, nil, nil},
				{"star removes all", reg{user: user(0), contacts: []string{"*"}, expires: 0, callID: call + "-star", cseq: 1},
					200, nil, nil},
				{"Path is kept and returned to a UA that supports it", reg{user: user(1), contacts: []string{a}, expires: 600, callID: call + "-path", cseq: 1,
					extra: []string{"Path: <sip:edge.example.com;lr>", "Supported: path"}},
					200, []string{"sip:a@192.0.2.1:5060 expires=600"}, map[string]string{"Path": "<sip:edge.example.com;lr>"}},
				{"unknown Require: 420 with Unsupported", reg{user: user(1), contacts: []string{a}, expires: 600, callID: call + "-req", cseq: 1,
					extra: []string{"Require: foo"}}, 420, nil, map[string]string{"Unsupported": "foo"}},
				{"a domain we do not serve", reg{user: user(1), domain: "other.example.net", contacts: []string{a}, expires: 600, callID: call + "-dom", cseq: 1},
					403, nil, nil},
				{"wrong password is challenged again", reg{user: user(2), password: "nope", contacts: []string{a}, expires: 600, callID: call + "-pw", cseq: 1},
					401, nil, nil},
				{"third contact", reg{user: user(1), contacts: []string{b, "<sip:c@192.0.2.3>"}, expires: 600, callID: call + "-path", cseq: 2},
					// equal q: the most recently updated first, then by contact
					200, []string{"sip:b@192.0.2.2:5060 expires=600", "sip:c@192.0.2.3 expires=600", "sip:a@192.0.2.1:5060 expires=600"}, nil},
				{"a fourth is over max_contacts", reg{user: user(1), contacts: []string{"<sip:d@192.0.2.4>"}, expires: 600, callID: call + "-path", cseq: 3},
					403, nil, nil},
				{"refreshing within the limit still works", reg{user: user(1), contacts: []string{b}, expires: 300, callID: call + "-path", cseq: 4},
					200, []string{"sip:b@192.0.2.2:5060 expires=300", "sip:c@192.0.2.3 expires=600", "sip:a@192.0.2.1:5060 expires=600"}, nil},
				{"registering another user's AOR", reg{user: user(3), authUser: user(2), contacts: []string{a}, expires: 600, callID: call + "-other", cseq: 1},
					403, nil, nil},
			}
			for _, st := range steps {
				resp := u.send(st.r)
				if resp.StatusCode != st.code {
					t.Fatalf("%s: %d %s, want %d", st.name, resp.StatusCode, resp.Reason, st.code)
				}
				for k, v := range st.hdrs {
					if got := resp.Get(k); got != v {
						t.Errorf("%s: %s = %q, want %q", st.name, k, got, v)
					}
				}
				if st.code == 200 {
					got := bindings(t, resp)
					if strings.Join(got, " | ") != strings.Join(st.binds, " | ") {
						t.Errorf("%s: bindings\n%q\nwant\n%q", st.name, got, st.binds)
					}
				}
			}
		})
	}
}
