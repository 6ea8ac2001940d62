package protocol

import (
	"bytes"
	"reflect"
	"sync"
)

// The fast path of Decode's checks. check (decode.go) walks a body with
// encoding/json's token reader, which allocates for every token and costs
// several times the decoding itself; almost every body a gateway or booth
// receives is well-formed and passes. scan makes the same checks (syntax,
// one value, keys known and given once, no null where Go has no nil, the
// depth limit) over the bytes, without allocating and without keeping a
// path. It only answers yes or no: on no, Decode runs check, which finds
// the same fault and names the field. So scan must never say yes where
// check would refuse (FuzzScanAgrees holds it to that); saying no where
// check accepts only costs time.

// scanner reads b from i.
type scanner struct {
	b []byte
	i int
}

// rawDepth bounds the nesting scan follows inside an opaque value (check
// leaves those to encoding/json, whose own bound is far higher): deeper,
// scan says no and check decides.
const rawDepth = 512

// maxScanKeys bounds the keys of a map or untyped object scan checks for
// repeats by comparing each with all before it; a larger object goes to
// check.
const maxScanKeys = 64

// scan reports whether body passes check for type t.
func scan(body []byte, t reflect.Type) bool {
	s := scanner{b: body}
	if !s.value(t, 0) {
		return false
	}
	s.space()
	return s.i == len(s.b)
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value reads one value of type t (nil: anything) at depth, as
// walker.value does.
func (s *scanner) value(t reflect.Type, depth int) bool {
	if depth > maxDepth {
		return false
	}
	pointer := t != nil && t.Kind() == reflect.Pointer
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage {
		return s.raw(0)
	}
	if t != nil && t.Kind() == reflect.Interface {
		t = nil
	}
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '{':
		s.i++
		return s.object(t, depth)
	case '[':
		s.i++
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		return s.array(func() bool { return s.value(elem, depth+1) })
	case '"':
		return s.str() >= 0
	case 'n':
		if !s.literal("null") {
			return false
		}
		return t == nil || pointer || nullable(t)
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	}
	return s.number()
}

// array reads the elements after '[' with elem, and the ']'.
func (s *scanner) array(elem func() bool) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// object reads the members after '{' against t, and the '}'.
func (s *scanner) object(t reflect.Type, depth int) bool {
	var (
		fields *structFields
		elem   reflect.Type
		seen   uint64   // struct fields given, by index
		keys   [][]byte // map or untyped object: the keys given
	)
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = structFieldsOf(t)
			if fields == nil {
				return false // too many fields for seen: check decides
			}
		case reflect.Map:
			elem = t.Elem()
		}
	}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		start := s.i + 1
		if s.str() != 0 {
			return false // an escaped key (or a bad string): check unescapes it
		}
		key := s.b[start : s.i-1]
		child := elem
		if fields != nil {
			f, ok := fields.byName[string(key)]
			if !ok || seen&(1<<f.index) != 0 {
				return false
			}
			seen |= 1 << f.index
			child = f.typ
		} else {
			if len(keys) == maxScanKeys {
				return false
			}
			for _, k := range keys {
				if bytes.Equal(k, key) {
					return false
				}
			}
			keys = append(keys, key)
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		if !s.value(child, depth+1) {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// raw reads any well-formed value, keys unchecked: an opaque payload.
func (s *scanner) raw(depth int) bool {
	if depth > rawDepth {
		return false
	}
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '{':
		s.i++
		s.space()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return true
		}
		for {
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != '"' || s.str() < 0 {
				return false
			}
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			if !s.raw(depth + 1) {
				return false
			}
			s.space()
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case '}':
				s.i++
				return true
			default:
				return false
			}
		}
	case '[':
		s.i++
		return s.array(func() bool { return s.raw(depth + 1) })
	case '"':
		return s.str() >= 0
	case 'n':
		return s.literal("null")
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	}
	return s.number()
}

// str reads a string at s.i (its opening quote): -1 if it is not one, 1 if
// it holds an escape, 0 if not.
func (s *scanner) str() int {
	s.i++ // the quote
	escaped := 0
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return escaped
		case c == '\\':
			escaped = 1
			s.i++
			if s.i >= len(s.b) {
				return -1
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return -1
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return -1
					}
				}
				s.i += 5
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			s.i++
		}
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; what follows
// is the caller's to check.
func (s *scanner) number() bool {
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i >= len(s.b):
		return false
	case s.b[s.i] == '0':
		s.i++
	case '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// structFields is fieldsOf with an index per field, for scan's record of
// the fields given.
type structFields struct {
	byName map[string]scanField
}

type scanField struct {
	index uint
	typ   reflect.Type
}

var scanFieldCache sync.Map // reflect.Type → *structFields (nil: more than 64 fields)

func structFieldsOf(t reflect.Type) *structFields {
	if f, ok := scanFieldCache.Load(t); ok {
		return f.(*structFields)
	}
	m := fieldsOf(t)
	var f *structFields
	if len(m) <= 64 {
		f = &structFields{byName: make(map[string]scanField, len(m))}
		for name, typ := range m {
			f.byName[name] = scanField{index: uint(len(f.byName)), typ: typ}
		}
	}
	scanFieldCache.Store(t, f)
	return f
}
