package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUARegisterKamailio: `sipd register` against Kamailio's registrar
// with digest authentication (testdata/kamailio/registrar_auth.cfg, user
// alice with password secret in a db_text subscriber table), challenged
// with MD5 and with SHA-256 (RFC 8760). The REGISTER is challenged with
// 401 and registered with 200 on the second try; Kamailio then has the
// binding (its OPTIONS answer names our Contact), --unregister removes it,
// and a wrong password fails with exit status 1 after a second 401.
func TestUARegisterKamailio(t *testing.T) {
	for _, alg := range []string{"MD5", "SHA-256"} {
		t.Run(alg, func(t *testing.T) {
			db := t.TempDir()
			for name, text := range map[string]string{
				"version": "id(int,auto) table_name(string) table_version(int) \n0:version:1\n0:subscriber:7\n",
				// calculate_ha1: the password column holds the password;
				// ha1 and ha1b may not be empty in db_text.
				"subscriber": "id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n1:alice:127.0.0.1:secret:x:x\n",
			} {
				if err := os.WriteFile(filepath.Join(db, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			k := startKamailio(t, "registrar_auth.cfg", `DB_URL="text://`+db+`"`, `AUTH_ALG="`+alg+`"`)
			kam := "sip:127.0.0.1:" + strconv.Itoa(k.port)
			listen := "127.0.0.1:" + strconv.Itoa(freeUDPPort(t))
			contact := "sip:alice@" + listen

			r := runSipdCmd(t, 20*time.Second, "register", "--user", "alice", "--password", "secret", "--registrar", kam, "--listen", listen)
			if r.code != 0 {
				t.Fatalf("%s\nkamailio:\n%s", r, tail(k.out.String(), 2000))
			}
			if err := checkFlow(r.stdout, "→ REGISTER "+kam+" CSeq 1 REGISTER", "← 401 Unauthorized CSeq 1 REGISTER",
				"→ REGISTER "+kam+" CSeq 2 REGISTER", "← 200 OK CSeq 2 REGISTER"); err != nil {
				t.Error(err)
			}
			if !strings.Contains(r.stdout, "registered sip:alice@127.0.0.1 at "+contact) {
				t.Errorf("no summary line:\n%s", r.stdout)
			}

			// Kamailio has the binding.
			aor := "sip:alice@127.0.0.1:" + strconv.Itoa(k.port)
			if r := runSipdCmd(t, 10*time.Second, "options", aor); r.code != 0 || !strings.Contains(r.stdout, "← 200 Bound to "+contact) {
				t.Errorf("after registering: %s", r)
			}

			// --unregister removes it (our Contact: the same --listen).
			r = runSipdCmd(t, 20*time.Second, "register", "--user", "alice", "--password", "secret", "--registrar", kam, "--listen", listen, "--unregister")
			if r.code != 0 {
				t.Fatalf("%s", r)
			}
			if err := checkFlow(r.stdout, "→ REGISTER", "← 401 Unauthorized", "→ REGISTER", "← 200 OK"); err != nil {
				t.Error(err)
			}
			if r := runSipdCmd(t, 10*time.Second, "options", aor); r.code != 1 || !strings.Contains(r.stdout, "← 404 Not Registered") {
				t.Errorf("after unregistering: %s", r)
			}

			// A wrong password: challenged again, exit 1.
			r = runSipdCmd(t, 20*time.Second, "register", "--user", "alice", "--password", "wrong", "--registrar", kam)
			if r.code != 1 || !strings.Contains(r.stderr, "authentication failed: 401 Unauthorized") {
				t.Errorf("wrong password: %s", r)
			}
			if err := checkFlow(r.stdout, "→ REGISTER", "← 401 Unauthorized", "→ REGISTER", "← 401 Unauthorized"); err != nil {
				t.Error(err)
			}
		})
	}
}
