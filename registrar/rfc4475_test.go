package registrar

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipd/sipd/sip"
)

// rfc4475Dir holds the torture messages and their manifest.
const rfc4475Dir = "../testdata/rfc4475"

// readTorture returns a message of the RFC 4475 corpus after checking it
// against the manifest's SHA-256, and the manifest's expected handling.
func readTorture(t *testing.T, name string) ([]byte, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(rfc4475Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(rfc4475Dir, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 8 || cols[0] != name {
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != cols[7] {
			t.Fatalf("%s: sha256 %s, manifest says %s", name, got, cols[7])
		}
		return data, cols[2]
	}
	t.Fatalf("%s not in the manifest", name)
	return nil, ""
}

// The registrar cases of RFC 4475, each as its manifest line says.
func TestRFC4475(t *testing.T) {
	type tortureCase struct {
		file     string
		auth     bool
		code     int
		aor      string   // the AOR whose bindings to check after a 200
		contacts []string // the contacts that must be stored for aor
		check    func(t *testing.T, h *harness, resp *sip.Response)
	}
	cases := []tortureCase{
		{
			// §3.3.12: ";unknownparam" after an addr-spec is a header
			// parameter of the Contact, not a URI parameter.
			file: "cparam01.dat", code: 200,
			aor: "sip:watson@example.com", contacts: []string{"sip:+19725552222@gw1.example.net"},
			check: func(t *testing.T, h *harness, resp *sip.Response) {
				b := h.store.bindings("sip:watson@example.com")[0]
				if b.Params != ";unknownparam" {
					t.Errorf("binding params %q, want ;unknownparam", b.Params)
				}
				c := contactsOf(t, resp)[0]
				if !c.Params.Has("unknownparam") || c.URI.Params != "" {
					t.Errorf("200 Contact %s: want unknownparam as a header parameter", c)
				}
			},
		},
		{
			// §3.3.13: inside <>, it is a URI parameter, kept in the
			// binding's URI.
			file: "cparam02.dat", code: 200,
			aor: "sip:watson@example.com", contacts: []string{"sip:+19725552222@gw1.example.net;unknownparam"},
			check: func(t *testing.T, h *harness, resp *sip.Response) {
				if b := h.store.bindings("sip:watson@example.com")[0]; b.Params != "" {
					t.Errorf("binding params %q, want none", b.Params)
				}
				if c := contactsOf(t, resp)[0]; c.URI.Params != ";unknownparam" {
					t.Errorf("200 Contact %s: want unknownparam as a URI parameter", c)
				}
			},
		},
		{
			// §3.3.14: the escaped Route header stays in the binding's URI.
			file: "regescrt.dat", code: 200,
			aor: "sip:user@example.com", contacts: []string{"sip:user@example.com?Route=%3Csip:sip.example.com%3E"},
		},
		{
			// §3.1.1.4: %00 must not truncate the AOR, and the two
			// Contacts are distinct.
			file: "escnull.dat", code: 200,
			aor:      "sip:null-%00-null@example.com",
			contacts: []string{"sip:%00%00@host5.example.com", "sip:%00@host5.example.com"},
			check: func(t *testing.T, h *harness, resp *sip.Response) {
				if n := len(contactsOf(t, resp)); n != 2 {
					t.Errorf("200 lists %d contacts, want 2", n)
				}
			},
		},
		{
			// §3.3.4: the To is not a SIP or SIPS AOR.
			file: "unksm2.dat", code: 400,
		},
		{
			// §3.3.7: an unknown scheme in Authorization is ignored; with
			// authentication on, the request is challenged.
			file: "regaut01.dat", auth: true, code: 401,
			check: func(t *testing.T, h *harness, resp *sip.Response) {
				ch, err := sip.ParseChallenge(resp.Get("WWW-Authenticate"))
				if err != nil || ch.Realm != "example.com" {
					t.Errorf("challenge %q: %v", resp.Get("WWW-Authenticate"), err)
				}
			},
		},
		{
			// Without authentication, the Authorization is ignored and
			// the REGISTER, which has no Contact, is a fetch.
			file: "regaut01.dat", code: 200,
			aor: "sip:j.user@example.com",
		},
	}
	for _, tc := range cases {
		name := strings.TrimSuffix(tc.file, ".dat")
		if tc.auth {
			name += "/auth"
		}
		t.Run(name, func(t *testing.T) {
			data, handling := readTorture(t, tc.file)
			req, err := sip.ParseRequest(data)
			if err != nil {
				t.Fatalf("parse: %v (manifest: %s)", err, handling)
			}
			h := newHarness(t, Config{Domains: []string{"example.com"}}, tc.auth)
			resp := h.send(req)
			if err := checkStatus(resp, tc.code); err != nil {
				t.Fatalf("%v (manifest: %s)", err, handling)
			}
			if err := checkCommon(resp); err != nil {
				t.Fatal(err)
			}
			if tc.aor != "" {
				if err := wantStored(tc.aor, tc.contacts...)(h); err != nil {
					t.Error(err)
				}
			}
			if tc.check != nil {
				tc.check(t, h, resp)
			}
		})
	}
}
