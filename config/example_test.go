package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const exampleFile = "../docs/sipd.example.toml"

// TestExampleLoads checks that the example loads and sets every key to
// its default (domain aside, which defaults to the host name).
func TestExampleLoads(t *testing.T) {
	c, err := Load(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Domain = []string{"example.com"}
	if err := equal(c, want); err != nil {
		t.Error(err)
	}
}

// TestExampleHasEveryKey walks Config's toml tags: each key must be set in
// the example, each table must have its header.
func TestExampleHasEveryKey(t *testing.T) {
	text, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(table string, typ reflect.Type)
	walk = func(table string, typ reflect.Type) {
		body := string(text)
		if table != "" {
			header := "\n[" + table + "]\n"
			i := strings.Index(body, header)
			if i < 0 {
				t.Errorf("no %q table", table)
				return
			}
			body = body[i+len(header):]
		}
		// The keys of this table come before the next header.
		if next := regexp.MustCompile(`(?m)^\[`).FindStringIndex(body); next != nil {
			body = body[:next[0]]
		}
		for name, i := range tomlFields(typ) {
			f := typ.Field(i)
			if isTable(f.Type) {
				walk(name, f.Type)
				continue
			}
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` = `).MatchString(body) {
				t.Errorf("key %s (%s) is not set in %s", name, f.Name, joinTable(table, "the top"))
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
}

func joinTable(table, top string) string {
	if table == "" {
		return top
	}
	return "[" + table + "]"
}

// TestExampleCommentsClaimDefaults builds a file of what the example's
// "# Default ..." comments claim and checks that it is Default(): each
// key's comment block names its default, and rightly.
func TestExampleCommentsClaimDefaults(t *testing.T) {
	text, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	var claimed strings.Builder
	keyLine := regexp.MustCompile(`^([a-z_]+) = `)
	for i, l := range lines {
		if strings.HasPrefix(l, "[") {
			claimed.WriteString(l + "\n")
			continue
		}
		m := keyLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		// The comment block above the key (and keys that share it).
		def, found := "", false
		for j := i - 1; j >= 0 && strings.TrimSpace(lines[j]) != ""; j-- {
			if rest, ok := strings.CutPrefix(lines[j], "# Default"); ok {
				def, found = rest, true
				break
			}
		}
		switch {
		case !found:
			t.Errorf("line %d: key %s has no # Default comment", i+1, m[1])
			continue
		case strings.HasPrefix(def, ":"):
			continue // said in words: "Default: this machine's host name."
		}
		def, _, _ = strings.Cut(strings.TrimSpace(def), " (")
		def = strings.TrimSuffix(def, ".")
		claimed.WriteString(m[1] + " = " + def + "\n")
	}
	c, err := Parse("claimed defaults", []byte(claimed.String()))
	if err != nil {
		t.Fatalf("%v\nof\n%s", err, claimed.String())
	}
	if err := equal(c, Default()); err != nil {
		t.Errorf("the example's comments claim other defaults than Default():\n%v", err)
	}
}

// TestFieldsDocumentDefaults checks STYLE §5: each field's doc comment is
// its user documentation and names the default.
func TestFieldsDocumentDefaults(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Config", "Registrar"} {
		obj := f.Scope.Lookup(name)
		if obj == nil {
			t.Fatalf("no type %s in config.go", name)
		}
		st := obj.Decl.(*ast.TypeSpec).Type.(*ast.StructType)
		for _, field := range st.Fields.List {
			for _, id := range field.Names {
				if !id.IsExported() {
					continue
				}
				if doc := field.Doc.Text(); !strings.Contains(doc, "Default") {
					t.Errorf("%s.%s: doc comment does not name the default: %q", name, id.Name, doc)
				}
			}
		}
	}
}
