package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"

	"wartelsuspas/firmware/packaging"
)

func TestSetKey(t *testing.T) {
	doc := "# head\ndevice = \"a/b\"   # the booth\n\n[gateway]\nurl = \"https://x:1\"  # required\n# bundle = \"no\"\n\n[reader]\nprotocol = 'id12'\n[reader.ascii]\nbaud = 9600\n"
	tests := []struct {
		name, table, key, value, want string
	}{
		{"top level, comment kept in its column", "", "device", `"lapas-x/b07"`, "device = \"lapas-x/b07\" # the booth\n"},
		{"shorter value pads to the comment", "gateway", "url", `"h"`, "url = \"h\"            # required\n"},
		{"commented key is not the key", "gateway", "bundle", `"/etc/wartel/bundle"`, "url = \"https://x:1\"  # required\nbundle = \"/etc/wartel/bundle\"\n# bundle = \"no\"\n"},
		{"missing key goes to its table", "reader", "path", `"/dev/x"`, "protocol = 'id12'\npath = \"/dev/x\"\n[reader.ascii]"},
		{"sub-table is another table", "reader.ascii", "baud", "4800", "[reader.ascii]\nbaud = 4800\n"},
		{"missing table is appended", "gpio", "relay", `"GPIO26"`, "baud = 9600\n\n[gpio]\nrelay = \"GPIO26\"\n"},
		{"missing top-level key goes before the first table", "", "language", `"id"`, "device = \"a/b\"   # the booth\nlanguage = \"id\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := setKey([]byte(doc), tt.table, tt.key, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), tt.want) {
				t.Fatalf("got:\n%s\nwant it to contain:\n%s", got, tt.want)
			}
			var m map[string]any
			if err := toml.Unmarshal(got, &m); err != nil {
				t.Fatalf("result is not TOML: %v\n%s", err, got)
			}
		})
	}
	if _, err := setKey([]byte("[a]\nk = \"\"\"\nx\"\"\"\n"), "a", "k", "1"); err == nil {
		t.Error("a multi-line value was edited")
	}
}

// FuzzSetKey: whatever the document, an accepted edit gives TOML in which
// the key has the new value and every other key its old one.
func FuzzSetKey(f *testing.F) {
	f.Add(string(packaging.KioskTOML), "gateway", "url", "https://gw:8443")
	f.Add("a = 1 # c\n[t]\nk = \"v#\" # c\n", "t", "k", "x\"y")
	f.Add("[t]\nk = [1,\n2]\n", "t", "k", "z")
	f.Fuzz(func(t *testing.T, doc, table, key, value string) {
		if !validBareKey(key) || (table != "" && !validTable(table)) || !utf8.ValidString(value) {
			return
		}
		var before map[string]any
		if toml.Unmarshal([]byte(doc), &before) != nil {
			return
		}
		out, err := setKey([]byte(doc), table, key, tomlString(value))
		if err != nil {
			return
		}
		var after map[string]any
		if err := toml.Unmarshal(out, &after); err != nil {
			// A table defined twice or a key already set as a table:
			// the document's own shape; config.Parse would report it.
			return
		}
		tbl := after
		for _, p := range strings.Split(table, ".") {
			if table == "" {
				break
			}
			tbl, _ = tbl[p].(map[string]any)
		}
		if tbl == nil || tbl[key] != value {
			t.Fatalf("after setting %s.%s = %q: %v\n%s", table, key, value, tbl, out)
		}
	})
}

func validBareKey(k string) bool {
	return k != "" && strings.IndexFunc(k, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	}) < 0
}

func validTable(s string) bool {
	for _, p := range strings.Split(s, ".") {
		if !validBareKey(p) {
			return false
		}
	}
	return true
}

func TestTOMLString(t *testing.T) {
	for _, s := range []string{"plain", `q"uote\back`, "tab\tnl\n\x01\x7f", "ünï©ode"} {
		var m map[string]string
		if err := toml.Unmarshal([]byte("k = "+tomlString(s)), &m); err != nil || m["k"] != s {
			t.Errorf("tomlString(%q) = %s: %v %q", s, tomlString(s), err, m["k"])
		}
	}
}
