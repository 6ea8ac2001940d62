package config

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps every dotted key path of a TOML document to the line where
// the key is written: "gpio.relay", "session.warnings[1].before",
// "policy.hours.weekly.monday[0]" (an array element's own line). A table
// named only by its header maps to the header's line. The decoder does not
// keep positions, so errors found after decoding look their key up here.
type keyLines map[string]int

// scanLines walks the document with go-toml's parser. A syntax error is
// returned as is (the decoder reports it with its position too).
func scanLines(data []byte) (keyLines, error) {
	lines := keyLines{}
	var p unstable.Parser
	p.Reset(data)
	arrays := map[string]int{} // array-of-tables path → index of its last element
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			path := ""
			it := e.Key()
			line := 0
			for it.Next() {
				k := it.Node()
				if line == 0 {
					line = p.Shape(k.Raw).Start.Line
				}
				path = join(path, string(k.Data))
				if it.IsLast() {
					break
				}
				if i, ok := arrays[path]; ok {
					path += "[" + strconv.Itoa(i) + "]"
				}
				lines.set(path, line)
			}
			if e.Kind == unstable.ArrayTable {
				i := 0
				if n, ok := arrays[path]; ok {
					i = n + 1
				}
				arrays[path] = i
				lines.set(path, line)
				path += "[" + strconv.Itoa(i) + "]"
			}
			lines.set(path, line)
			prefix = path
		case unstable.KeyValue:
			keyValue(&p, lines, prefix, e)
		}
	}
	return lines, p.Error()
}

// keyValue records a key = value line and whatever the value nests.
func keyValue(p *unstable.Parser, lines keyLines, prefix string, kv *unstable.Node) {
	path := prefix
	line := 0
	it := kv.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = p.Shape(k.Raw).Start.Line
		}
		path = join(path, string(k.Data))
		lines.set(path, line)
	}
	value(p, lines, path, line, kv.Value())
}

func value(p *unstable.Parser, lines keyLines, path string, line int, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				keyValue(p, lines, path, c)
			}
		}
	case unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			el := path + "[" + strconv.Itoa(i) + "]"
			l := line
			if c.Raw.Length > 0 {
				l = p.Shape(c.Raw).Start.Line
			}
			lines.set(el, l)
			value(p, lines, el, l, c)
			i++
		}
	}
}

// set keeps the first line a path appears on: a table's header comes
// before the keys that extend it.
func (l keyLines) set(path string, line int) {
	if _, ok := l[path]; !ok {
		l[path] = line
	}
}

// lookup returns the line of key, or of its closest enclosing key that is
// written in the file (a defaulted key has no line of its own), or 0.
func (l keyLines) lookup(key string) int {
	for key != "" {
		if n, ok := l[key]; ok {
			return n
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}
