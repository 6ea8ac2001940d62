package main

import (
	"bytes"
	"fmt"
	"strings"
)

// setKey returns the TOML document doc with key of table ("" for the top
// level) set to value, a TOML literal. The document is edited as text so
// every comment stays: the value of an existing line is replaced (its
// trailing comment kept in its column), a missing key is added at the end
// of its table, a missing table at the end of the file. Values written on
// several lines are not handled and give an error.
func setKey(doc []byte, table, key, value string) ([]byte, error) {
	lines := strings.SplitAfter(string(doc), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	start, end := -1, len(lines) // lines of the table's body
	if table == "" {
		start = 0
	}
	for i, l := range lines {
		name, ok := header(l)
		if !ok {
			continue
		}
		if start >= 0 {
			end = i
			break
		}
		if name == table {
			start = i + 1
		}
	}
	if start < 0 {
		var b strings.Builder
		b.WriteString(string(doc))
		if len(doc) > 0 && !bytes.HasSuffix(doc, []byte("\n")) {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "\n[%s]\n%s = %s\n", table, key, value)
		return []byte(b.String()), nil
	}
	lastKey := start - 1
	for i := start; i < end; i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" || t[0] == '#' {
			continue
		}
		lastKey = i
		k, rest, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		l := lines[i]
		nl := l[len(strings.TrimRight(l, "\r\n")):]
		eq := strings.Index(l, "=")
		vstart := eq + 1 + len(rest) - len(strings.TrimLeft(rest, " \t"))
		vend, err := valueEnd(l, vstart)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", i+1, key, err)
		}
		comment := strings.TrimRight(l[vend:], "\r\n")
		out := l[:vstart] + value
		if c := strings.TrimSpace(comment); c != "" {
			pad := vend + len(comment) - len(strings.TrimLeft(comment, " \t")) - len(out)
			if pad < 1 {
				pad = 1
			}
			out += strings.Repeat(" ", pad) + c
		}
		if nl == "" {
			nl = "\n"
		}
		lines[i] = out + nl
		return []byte(strings.Join(lines, "")), nil
	}
	// Not there: add after the table's last key (or its header), or for
	// the top level before the first table.
	at := lastKey + 1
	if table == "" && lastKey < start {
		at = end
	}
	if at > 0 && !strings.HasSuffix(lines[at-1], "\n") {
		lines[at-1] += "\n"
	}
	ins := key + " = " + value + "\n"
	lines = append(lines[:at], append([]string{ins}, lines[at:]...)...)
	return []byte(strings.Join(lines, "")), nil
}

// header returns the name of a table header line "[name]" or "[[name]]".
func header(l string) (string, bool) {
	t := strings.TrimSpace(l)
	if !strings.HasPrefix(t, "[") {
		return "", false
	}
	t = strings.TrimPrefix(t, "[")
	arr := strings.HasPrefix(t, "[")
	t = strings.TrimPrefix(t, "[")
	name, _, ok := strings.Cut(t, "]")
	if !ok {
		return "", false
	}
	if arr {
		return "[[" + strings.TrimSpace(name) + "]]", true // never matches a plain table
	}
	return strings.TrimSpace(name), true
}

// valueEnd returns the index in l just past the TOML value starting at i:
// the start of a comment or the end of the line, outside quotes.
func valueEnd(l string, i int) (int, error) {
	rest := l[i:]
	if strings.HasPrefix(rest, `"""`) || strings.HasPrefix(rest, `'''`) {
		return 0, fmt.Errorf("multi-line string: write it on one line")
	}
	depth := 0
	var quote byte
	for j := i; j < len(l); j++ {
		c := l[j]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				j++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == '#':
			if depth > 0 {
				return 0, fmt.Errorf("value spans several lines: write it on one line")
			}
			return j, nil
		case c == '\r' || c == '\n':
			if quote != 0 || depth > 0 {
				return 0, fmt.Errorf("value spans several lines: write it on one line")
			}
			return j, nil
		}
	}
	if quote != 0 || depth > 0 {
		return 0, fmt.Errorf("value spans several lines or is not closed: write it on one line")
	}
	return len(l), nil
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
