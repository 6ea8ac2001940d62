package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// ErrTooLarge is wrapped by the error Decode returns for a body over its
// limit (the gateway answers 413).
var ErrTooLarge = errors.New("body too large")

// maxDepth bounds the nesting Decode accepts. The wire types are four levels
// deep; an opaque payload or policy gets the rest.
const maxDepth = 64

// DecodeError is a body Decode refused. Its message is for people; Field
// is the JSON path of the culprit ("records[3].seq"), empty when the body
// as a whole is wrong.
type DecodeError struct {
	Field string
	Msg   string
	Err   error // the underlying cause, if any
}

func (e *DecodeError) Error() string { return e.Msg }

func (e *DecodeError) Unwrap() error { return e.Err }

// ErrorBody returns the wire Error for err, with the field when err is a
// DecodeError.
func ErrorBody(err error) Error {
	var de *DecodeError
	if errors.As(err, &de) {
		return Error{Error: de.Msg, Field: de.Field}
	}
	return Error{Error: err.Error()}
}

// Decode reads one JSON value from r into v, a pointer, strictly: the body
// must be at most limit bytes and hold exactly one value; every object key
// must be a field of v's type, spelled exactly as its JSON tag and given
// once; a number, string, bool or object field may not be null; and every
// value must fit its field's type. Errors are *DecodeError naming the field.
//
// Keys are matched exactly, not case-insensitively as encoding/json would,
// so that a gateway in another language reads a body the same way.
func Decode(r io.Reader, limit int64, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("protocol.Decode: want a non-nil pointer, got %T", v)
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return &DecodeError{Msg: fmt.Sprintf("read body: %v", err), Err: err}
	}
	body := buf.Bytes()
	if int64(len(body)) > limit {
		return &DecodeError{Msg: "body larger than " + sizeString(limit), Err: ErrTooLarge}
	}
	if !scan(body, rv.Type().Elem()) {
		// Something is wrong, or scan is unsure: check finds and names it.
		if err := check(body, rv.Type().Elem()); err != nil {
			return err
		}
	}
	// The checks passed, so every key is a field spelled exactly and
	// encoding/json's own (case-insensitive) matching meets no other: what
	// is left for it is the types.
	if err := json.Unmarshal(body, v); err != nil {
		return typeError(body, err)
	}
	return nil
}

// bodyBuffers keeps the buffers bodies are read into: nothing decoded
// points into one (encoding/json copies strings and raw values), so a
// buffer is reused once Decode returns.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() > 4*MaxBodyBytes { // a caller's larger limit: let it go
		return
	}
	b.Reset()
	bodyBuffers.Put(b)
}

// check walks body once with the token reader, against type t, and reports
// syntax errors, a trailing value, and unknown, duplicate or null keys with
// their path. Types are left to encoding/json, which reports them next.
func check(body []byte, t reflect.Type) error {
	w := walker{dec: json.NewDecoder(bytes.NewReader(body))}
	w.dec.UseNumber()
	if err := w.value(t, "", 0); err != nil {
		return err
	}
	end := w.dec.InputOffset()
	if _, err := w.dec.Token(); err != io.EOF {
		return &DecodeError{Msg: fmt.Sprintf("body continues after the JSON value that ends at byte %d; send exactly one object", end), Err: errors.New("trailing data")}
	}
	return nil
}

type walker struct {
	dec *json.Decoder
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

// value reads one value of type t (nil: anything) at path.
func (w *walker) value(t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return &DecodeError{Field: path, Msg: fmt.Sprintf("%s nested deeper than %d levels", where(path), maxDepth)}
	}
	pointer := t != nil && t.Kind() == reflect.Pointer
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	off := w.dec.InputOffset()
	if t == rawMessage {
		// Opaque (a record's payload): any well-formed value, skipped in
		// one call rather than token by token, which is most of the body.
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			return syntaxError(path, off, err)
		}
		return nil
	}
	if t != nil && t.Kind() == reflect.Interface {
		t = nil // any value
	}
	tok, err := w.dec.Token()
	if err != nil {
		return syntaxError(path, off, err)
	}
	switch tok {
	case json.Delim('{'):
		return w.object(t, path, depth)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		return w.end(path)
	case nil:
		if t != nil && !pointer && !nullable(t) {
			return &DecodeError{Field: path, Msg: fmt.Sprintf("%s: want %s, got null", where(path), want(t, ""))}
		}
	}
	return nil
}

func (w *walker) object(t reflect.Type, path string, depth int) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = fieldsOf(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := make(map[string]bool)
	for w.dec.More() {
		off := w.dec.InputOffset()
		tok, err := w.dec.Token()
		if err != nil {
			return syntaxError(path, off, err)
		}
		key := tok.(string) // the token reader only returns string keys
		kpath := join(path, key)
		if seen[key] {
			return &DecodeError{Field: kpath, Msg: fmt.Sprintf("duplicate field %q%s", key, in(path))}
		}
		seen[key] = true
		child := elem
		if fields != nil {
			ft, ok := fields[key]
			if !ok {
				return &DecodeError{Field: kpath, Msg: fmt.Sprintf("unknown field %q%s%s", key, in(path), suggest(fields, key))}
			}
			child = ft
		}
		if err := w.value(child, kpath, depth+1); err != nil {
			return err
		}
	}
	return w.end(path)
}

// end reads the closing delimiter of an object or array.
func (w *walker) end(path string) error {
	off := w.dec.InputOffset()
	if _, err := w.dec.Token(); err != nil {
		return syntaxError(path, off, err)
	}
	return nil
}

func syntaxError(path string, off int64, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF) && off == 0:
		return &DecodeError{Msg: "body is empty: want a JSON object", Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &DecodeError{Field: path, Msg: fmt.Sprintf("body ends inside %s: truncated JSON", whereValue(path)), Err: err}
	case errors.As(err, &se):
		// No byte offset: encoding/json's is approximate, the path is not.
		return &DecodeError{Field: path, Msg: fmt.Sprintf("body is not valid JSON (%s): %s", whereValue(path), strings.TrimPrefix(se.Error(), "json: ")), Err: err}
	}
	return &DecodeError{Field: path, Msg: fmt.Sprintf("body is not valid JSON (%s): %v", whereValue(path), err), Err: err}
}

// typeError turns an encoding/json error into a DecodeError whose path has
// array indices, which json.UnmarshalTypeError.Field lacks.
func typeError(body []byte, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return &DecodeError{Msg: fmt.Sprintf("body: %v", strings.TrimPrefix(err.Error(), "json: ")), Err: err}
	}
	path := pathAt(body, te.Offset)
	if path == "" {
		path = te.Field
	}
	got := te.Value
	if n, ok := strings.CutPrefix(got, "number "); ok {
		got = n
	}
	msg := fmt.Sprintf("want %s, got %s", want(te.Type, te.Value), got)
	if path == "" {
		return &DecodeError{Msg: "body: " + msg, Err: err}
	}
	return &DecodeError{Field: path, Msg: fmt.Sprintf("field %s: %s", path, msg), Err: err}
}

// pathAt returns the path of the value of body that ends at offset (for a
// scalar) or begins just before it (for an object or array): where
// encoding/json places UnmarshalTypeError.Offset.
func pathAt(body []byte, offset int64) string {
	type frame struct {
		array bool
		index int
		key   string
		inKey bool // object: the next string token is a key
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.array {
				fmt.Fprintf(&b, "[%d]", f.index)
			} else if b.Len() == 0 {
				b.WriteString(f.key)
			} else {
				b.WriteString("." + f.key)
			}
		}
		return b.String()
	}
	// valueDone moves the parent frame past a finished value.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].inKey = true
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		end := dec.InputOffset()
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].inKey {
			if k, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].inKey = k, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if end >= offset {
				return path()
			}
			stack = append(stack, frame{array: tok == json.Delim('['), inKey: tok == json.Delim('{')})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			if end >= offset {
				return path()
			}
			valueDone()
		}
	}
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// fieldsOf returns the JSON names of t's fields and their types.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := make(map[string]reflect.Type)
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}

// nullable reports whether encoding/json gives null a meaning for t (nil).
func nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}

// want says what a value of type t looks like in JSON. value is
// encoding/json's description of what came ("number -1"), to say why a
// number was refused.
func want(t reflect.Type, value string) string {
	number := strings.HasPrefix(value, "number")
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if number {
			lo := int64(-1) << (t.Bits() - 1)
			return fmt.Sprintf("a whole number from %d to %d", lo, -(lo + 1))
		}
		return "a number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if number {
			return fmt.Sprintf("a whole number from 0 to %d", uint64(math.MaxUint64)>>(64-t.Bits()))
		}
		return "a number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// suggest names the field key was probably meant to be.
func suggest(fields map[string]reflect.Type, key string) string {
	for name := range fields {
		if strings.EqualFold(name, key) || strings.EqualFold(strings.ReplaceAll(name, "_", ""), strings.ReplaceAll(key, "_", "")) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func in(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

func where(path string) string {
	if path == "" {
		return "body"
	}
	return "field " + path
}

func whereValue(path string) string {
	if path == "" {
		return "the top-level value"
	}
	return "field " + path
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
