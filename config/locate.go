package config

import (
	"strconv"

	"github.com/BurntSushi/toml"
)

// pos is a place in a file: 1-based line, and 1-based column in bytes (as
// the TOML parser's own errors count it). The zero pos is unknown.
type pos struct{ line, col int }

// source is a configuration file: its name, and where each key and value
// is written in it, so that errors found after parsing can point there.
// The TOML decoder keeps positions to itself, so locate finds them again.
type source struct {
	file  string
	keys  map[string]pos   // each key (toml.Key.String form) where first written; a dotted key or table header gives each prefix too
	vals  map[string]pos   // where each key's value starts
	elems map[string][]pos // where each element of an array value starts

	// loaded is the Config as the file left it. A key whose value has
	// changed since (a flag overrode it) is no longer the file's, and its
	// errors point nowhere.
	loaded Config
}

// at returns where the problem with key is: its element elem (if elem >= 0
// and the value is an array written in the file), else its value, else the
// key. ok is false when key is not in the file.
func (s *source) at(key string, elem int) (p pos, ok bool) {
	if s == nil {
		return pos{}, false
	}
	if es := s.elems[key]; elem >= 0 && elem < len(es) {
		return es[elem], true
	}
	if p, ok := s.vals[key]; ok {
		return p, true
	}
	p, ok = s.keys[key]
	return p, ok
}

// locate scans text, which the TOML parser accepted, for the positions of
// keys and values. It follows the TOML grammar only as far as it must to
// tell keys from values: table headers, dotted and quoted keys, strings of
// the four kinds, arrays and inline tables, comments. On text that is not
// TOML it still ends, with positions that may be wrong.
func locate(file, text string) *source {
	sc := &scanner{s: text, line: 1, src: &source{
		file:  file,
		keys:  make(map[string]pos),
		vals:  make(map[string]pos),
		elems: make(map[string][]pos),
	}}
	var table []string // the current [table] header's key
	for !sc.eof() {
		sc.skipBlank()
		switch c := sc.peek(); c {
		case '\n', '\r', '#':
			sc.skipLine()
		case '[':
			sc.advance()
			if sc.peek() == '[' { // [[array of tables]]
				sc.advance()
			}
			table = sc.key(nil, true)
			sc.skipLine()
		default:
			path := sc.key(table, true)
			if len(path) == len(table) { // no key here: not TOML
				sc.skipLine()
				continue
			}
			sc.skipBlank()
			if sc.peek() == '=' {
				sc.advance()
				sc.skipBlank()
				sc.value(path)
			}
			sc.skipLine()
		}
	}
	return sc.src
}

type scanner struct {
	s         string
	i         int
	line      int // of s[i]
	lineStart int // index of the first byte of line
	src       *source
}

func (sc *scanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *scanner) peek() byte {
	if sc.eof() {
		return 0
	}
	return sc.s[sc.i]
}

func (sc *scanner) has(prefix string) bool {
	return len(sc.s)-sc.i >= len(prefix) && sc.s[sc.i:sc.i+len(prefix)] == prefix
}

func (sc *scanner) pos() pos { return pos{sc.line, sc.i - sc.lineStart + 1} }

// advance moves past one byte, counting lines.
func (sc *scanner) advance() {
	if sc.eof() {
		return
	}
	if sc.s[sc.i] == '\n' {
		sc.line++
		sc.lineStart = sc.i + 1
	}
	sc.i++
}

func (sc *scanner) skipBlank() {
	for c := sc.peek(); c == ' ' || c == '\t'; c = sc.peek() {
		sc.advance()
	}
}

// skipLine moves past the end of the line.
func (sc *scanner) skipLine() {
	for !sc.eof() && sc.peek() != '\n' {
		sc.advance()
	}
	sc.advance()
}

// skipSpace moves past blanks, newlines and comments, as allowed between
// the elements of an array.
func (sc *scanner) skipSpace() {
	for !sc.eof() {
		switch sc.peek() {
		case ' ', '\t', '\r', '\n':
			sc.advance()
		case '#':
			for !sc.eof() && sc.peek() != '\n' {
				sc.advance()
			}
		default:
			return
		}
	}
}

// key reads a (perhaps dotted) key and returns it appended to prefix,
// recording where each of its parts is if rec is set. It reads nothing if
// no key starts here.
func (sc *scanner) key(prefix []string, rec bool) []string {
	path := append([]string(nil), prefix...)
	for {
		sc.skipBlank()
		at := sc.pos()
		part, ok := sc.keyPart()
		if !ok {
			return path
		}
		path = append(path, part)
		if k := toml.Key(path).String(); rec {
			if _, seen := sc.src.keys[k]; !seen {
				sc.src.keys[k] = at
			}
		}
		sc.skipBlank()
		if sc.peek() != '.' {
			return path
		}
		sc.advance()
	}
}

// keyPart reads a bare or quoted part of a key.
func (sc *scanner) keyPart() (string, bool) {
	start := sc.i
	switch sc.peek() {
	case '"':
		sc.basicString()
		raw := sc.s[start:sc.i]
		if s, err := strconv.Unquote(raw); err == nil {
			return s, true
		}
		if len(raw) < 2 {
			return "", false
		}
		return raw[1 : len(raw)-1], true
	case '\'':
		sc.literalString()
		if sc.i-start < 2 {
			return "", false
		}
		return sc.s[start+1 : sc.i-1], true
	}
	for !sc.eof() && !isKeyEnd(sc.peek()) {
		sc.advance()
	}
	return sc.s[start:sc.i], sc.i > start
}

func isKeyEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '=', '.', '[', ']', '{', '}', ',', '#', '"', '\'':
		return true
	}
	return false
}

// value reads the value of the key path, recording where it starts, and
// where the elements of an array and the keys and values of an inline
// table start. A nil path records nothing: values in arrays.
func (sc *scanner) value(path []string) {
	rec := path != nil
	key := toml.Key(path).String()
	if rec {
		if _, seen := sc.src.vals[key]; !seen {
			sc.src.vals[key] = sc.pos()
		}
	}
	start := sc.i
	switch sc.peek() {
	case '[':
		sc.advance()
		for !sc.eof() {
			sc.skipSpace()
			switch sc.peek() {
			case ']':
				sc.advance()
				return
			case ',':
				sc.advance()
				continue
			}
			if rec {
				sc.src.elems[key] = append(sc.src.elems[key], sc.pos())
			}
			sc.value(nil)
		}
	case '{':
		sc.advance()
		for !sc.eof() {
			sc.skipSpace()
			switch sc.peek() {
			case '}':
				sc.advance()
				return
			case ',':
				sc.advance()
				continue
			}
			at := sc.i
			sub := sc.key(path, rec)
			sc.skipBlank()
			if sc.peek() == '=' {
				sc.advance()
				sc.skipBlank()
				if rec {
					sc.value(sub)
				} else {
					sc.value(nil)
				}
			}
			if sc.i == at { // neither key nor value: move on all the same
				sc.advance()
			}
		}
	case '"':
		sc.basicString()
	case '\'':
		sc.literalString()
	default:
		sc.scalar()
	}
	if sc.i == start { // not a value: move on all the same
		sc.advance()
	}
}

// basicString reads a "basic" or """multi-line basic""" string.
func (sc *scanner) basicString() {
	multi := sc.has(`"""`)
	if multi {
		sc.i += 3
	} else {
		sc.advance()
	}
	for !sc.eof() {
		switch {
		case sc.peek() == '\\':
			sc.advance()
			sc.advance()
		case multi && sc.has(`"""`):
			sc.i += 3
			// Up to two more quotes end the string's content.
			for n := 0; n < 2 && sc.peek() == '"'; n++ {
				sc.advance()
			}
			return
		case !multi && sc.peek() == '"':
			sc.advance()
			return
		case !multi && sc.peek() == '\n':
			return
		default:
			sc.advance()
		}
	}
}

// literalString reads a literal string: in single quotes, or in three for
// a multi-line one.
func (sc *scanner) literalString() {
	multi := sc.has(`'''`)
	if multi {
		sc.i += 3
	} else {
		sc.advance()
	}
	for !sc.eof() {
		switch {
		case multi && sc.has(`'''`):
			sc.i += 3
			for n := 0; n < 2 && sc.peek() == '\''; n++ {
				sc.advance()
			}
			return
		case !multi && sc.peek() == '\'':
			sc.advance()
			return
		case !multi && sc.peek() == '\n':
			return
		default:
			sc.advance()
		}
	}
}

// scalar reads a number, boolean or date-time.
func (sc *scanner) scalar() {
	start := sc.i
	for !sc.eof() {
		switch sc.peek() {
		case ' ':
			// A date and a time may be separated by a space:
			// 1979-05-27 07:32:00Z.
			if sc.i-start == len("1979-05-27") && sc.s[start+4] == '-' && sc.s[start+7] == '-' &&
				sc.i+1 < len(sc.s) && sc.s[sc.i+1] >= '0' && sc.s[sc.i+1] <= '9' {
				sc.advance()
				continue
			}
			return
		case '\t', '\r', '\n', ',', ']', '}', '#':
			return
		}
		sc.advance()
	}
}
