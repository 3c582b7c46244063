package config

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load reads the configuration file at path: Default overlaid with the
// keys the file sets, then validated. Every problem is reported at once,
// as Errors in the order of the file: TOML syntax (only the first, since
// the parser stops there), unknown keys, values of the wrong type, and
// what Validate finds. An error reading the file is returned as it is.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return Parse(path, data)
}

// Parse is Load of data already read; file names it in errors.
func Parse(file string, data []byte) (Config, error) {
	text := string(data)
	var raw map[string]any
	if _, err := toml.Decode(text, &raw); err != nil {
		return Config{}, syntaxError(file, text, err)
	}
	c := Default()
	c.src = locate(file, text)
	d := decoder{src: c.src, bad: make(map[string]bool)}
	d.table(nil, raw, reflect.ValueOf(&c).Elem())
	c.src.loaded = c.clone()
	errs := d.errs
	for _, e := range c.validate() {
		// A value that did not decode kept its default; whatever
		// Validate says of that is noise.
		if !d.bad[e.Key] {
			errs = append(errs, e)
		}
	}
	if err := errs.err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func syntaxError(file, text string, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return Errors{{File: file, Reason: err.Error()}}
	}
	p := pe.Position
	if p.Line <= 0 && p.Start >= 0 && p.Start <= len(text) {
		// The parser leaves Line 0 for some errors at the end of the
		// text; its byte offset is right.
		p.Line = 1 + strings.Count(text[:p.Start], "\n")
		p.Col = p.Start - (strings.LastIndexByte(text[:p.Start], '\n') + 1) + 1
	}
	return Errors{{File: file, Line: p.Line, Col: p.Col, Reason: "syntax: " + pe.Message}}
}

// decoder sets the fields of a Config from the TOML document's tables,
// one key at a time, so that one bad value does not hide the next.
type decoder struct {
	src  *source
	errs Errors
	bad  map[string]bool // keys whose values did not decode
}

// errorf records a problem with key, at its element elem (-1 for the
// value or the key itself).
func (d *decoder) errorf(path []string, elem int, format string, args ...any) {
	key := toml.Key(path).String()
	d.bad[key] = true
	p, _ := d.src.at(key, elem)
	d.errs = append(d.errs, &Error{File: d.src.file, Line: p.line, Col: p.col, Key: key,
		Reason: fmt.Sprintf(format, args...)})
}

// table decodes the TOML table m, found at path, into the struct rv, key
// by key in the file's order.
func (d *decoder) table(path []string, m map[string]any, rv reflect.Value) {
	fields := tomlFields(rv.Type())
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kpath := append(slices.Clip(path), k)
		i, ok := fields[k]
		if !ok {
			// Point at the key, not its value.
			key := toml.Key(kpath).String()
			p := d.src.keys[key]
			d.bad[key] = true
			d.errs = append(d.errs, &Error{File: d.src.file, Line: p.line, Col: p.col, Key: key,
				Reason: "unknown key" + suggest(path, k)})
			continue
		}
		d.value(kpath, m[k], rv.Field(i))
	}
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// value decodes v, the value of path, into the field fv.
func (d *decoder) value(path []string, v any, fv reflect.Value) {
	switch {
	case fv.Addr().Type().Implements(textUnmarshaler):
		var text string
		switch x := v.(type) {
		case string:
			text = x
		case int64:
			text = strconv.FormatInt(x, 10)
		default:
			want := "a string"
			if fv.Type() == reflect.TypeFor[Duration]() {
				want = `a duration such as "60s"`
			}
			d.errorf(path, -1, "want %s, not %s", want, typeName(v))
			return
		}
		nv := reflect.New(fv.Type())
		if err := nv.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			d.errorf(path, -1, "%q: %v", text, err)
			return
		}
		fv.Set(nv.Elem())
	case isTable(fv.Type()):
		m, ok := v.(map[string]any)
		if !ok {
			d.errorf(path, -1, "want a table, not %s", typeName(v))
			return
		}
		d.table(path, m, fv)
	case fv.Kind() == reflect.String:
		s, ok := v.(string)
		if !ok {
			d.errorf(path, -1, "want a string, not %s", typeName(v))
			return
		}
		fv.SetString(s)
	case fv.Kind() == reflect.Int:
		n, ok := v.(int64)
		if !ok {
			d.errorf(path, -1, "want an integer, not %s", typeName(v))
			return
		}
		if fv.OverflowInt(n) {
			d.errorf(path, -1, "%d is too large", n)
			return
		}
		fv.SetInt(n)
	case fv.Kind() == reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.errorf(path, -1, "want true or false, not %s", typeName(v))
			return
		}
		fv.SetBool(b)
	case fv.Kind() == reflect.Slice && isTable(fv.Type().Elem()):
		// An array of tables, [[name]], or an array of inline tables.
		var ms []map[string]any
		switch x := v.(type) {
		case []map[string]any:
			ms = x
		case []any:
			for i, e := range x {
				m, ok := e.(map[string]any)
				if !ok {
					d.errorf(path, i, "element %d: want a table, not %s", i+1, typeName(e))
					return
				}
				ms = append(ms, m)
			}
		default:
			d.errorf(path, -1, "want an array of tables, not %s", typeName(v))
			return
		}
		if len(ms) == 0 {
			return // none: the field stays nil, as in Default
		}
		sv := reflect.MakeSlice(fv.Type(), len(ms), len(ms))
		for i, m := range ms {
			d.table(path, m, sv.Index(i))
		}
		fv.Set(sv)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		vs, ok := v.([]any)
		if !ok {
			d.errorf(path, -1, "want an array of strings, not %s", typeName(v))
			return
		}
		ss := make([]string, 0, len(vs))
		for i, e := range vs {
			s, ok := e.(string)
			if !ok {
				d.errorf(path, i, "element %d: want a string, not %s", i+1, typeName(e))
				continue
			}
			ss = append(ss, s)
		}
		if len(ss) == len(vs) {
			fv.Set(reflect.ValueOf(ss).Convert(fv.Type()))
		}
	default:
		// A field of a type the decoder does not know: a bug here, not
		// in the file.
		d.errorf(path, -1, "config: cannot decode into %s", fv.Type())
	}
}

// tomlFields maps the toml tag names of struct type t to field indexes.
func tomlFields(t reflect.Type) map[string]int {
	m := make(map[string]int)
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if f.IsExported() && name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// typeName names the TOML type of a decoded value, with its article.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

// suggest returns a hint for the unknown key k of the table at path: the
// same key in the table it belongs in, or a known key spelt alike.
func suggest(path []string, k string) string {
	root := reflect.TypeFor[Config]()
	if len(path) == 0 {
		// A key of a table written at the top.
		for name, i := range tomlFields(root) {
			if t := root.Field(i).Type; isTable(t) {
				if _, ok := tomlFields(t)[k]; ok {
					return fmt.Sprintf("; %s belongs in the [%s] table", k, name)
				}
			}
		}
	} else if i, ok := tomlFields(root)[k]; ok && !isTable(root.Field(i).Type) {
		// A top key written after a [table] header.
		return fmt.Sprintf("; %s belongs at the top of the file, before any [table]", k)
	}
	t, ok := tableType(path)
	if !ok {
		return ""
	}
	best, bestDist := "", len(k)
	for name := range tomlFields(t) {
		d := editDistance(strings.ToLower(k), name)
		if d < bestDist || d == bestDist && name < best {
			best, bestDist = name, d
		}
	}
	if best != "" && bestDist <= 2 && 2*bestDist < len(k) {
		return fmt.Sprintf("; did you mean %s?", best)
	}
	return ""
}

// isTable reports whether fields of type t are TOML tables.
func isTable(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshaler)
}

// tableType returns the struct type that the table at path decodes into.
func tableType(path []string) (reflect.Type, bool) {
	t := reflect.TypeFor[Config]()
	for _, k := range path {
		i, ok := tomlFields(t)[k]
		if !ok {
			return nil, false
		}
		if t = t.Field(i).Type; !isTable(t) {
			return nil, false
		}
	}
	return t, true
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
