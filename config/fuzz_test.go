package config

import (
	"os"
	"testing"
)

// FuzzParse checks that no file makes Parse (and the position scanner
// behind it) panic or hang, and that every problem it reports has a
// position inside the file or none.
func FuzzParse(f *testing.F) {
	if text, err := os.ReadFile(exampleFile); err == nil {
		f.Add(text)
	}
	for _, s := range []string{
		"",
		"listen = [\"udp:0.0.0.0:5060\", [1, 2], \"x]\"]\n",
		"registrar = { max_contacts = 1, bogus = { a = [1, {b = 2}] } }\n",
		"a.\"b.c\".'d' = 1\n[x.y]\nz = 2\n[[t]]\nu = 3\n",
		"admin = \"\"\"\nbogus = 1\"\"\"\"\"\ndata_dir = '''\n'''''\n",
		"d = 1979-05-27 07:32:00Z\ne = [1979-05-27 07:32:00Z, 1979-05-27]\n",
		"k = 'unterminated\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := 1
		for _, b := range data {
			if b == '\n' {
				lines++
			}
		}
		_, err := Parse("fuzz.toml", data)
		es, ok := err.(Errors)
		if err != nil && !ok {
			t.Fatalf("error %v (%T) is not Errors", err, err)
		}
		for _, e := range es {
			if e.Line < 0 || e.Line > lines || e.Col < 0 || (e.Line > 0) != (e.Col > 0) {
				t.Errorf("%q: position outside the file (%d lines)", e, lines)
			}
		}
		locate("fuzz.toml", string(data)) // on text TOML refuses too
	})
}
