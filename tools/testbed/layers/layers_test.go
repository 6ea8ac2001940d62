package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "wartelsuspas"

// A rule forbids every package under one of from (its production and its test builds, unless
// binary) to depend, directly or through others, on a package under one of to.
type rule struct {
	name string
	// from are import path prefixes; a package matches a prefix p when its path is p or starts with p+"/".
	from []string
	// binary: only the production build of from counts (what `go list -deps` links into the binary);
	// otherwise the test builds count too.
	binary bool
	to     []string
	reason string
}

var rules = []rule{
	{
		name:   "the leaves import nothing of the module",
		from:   []string{module + "/clock", module + "/cardid"},
		to:     []string{module},
		reason: "clock and cardid sit beneath every layer (drivers, kiosk, firmware and tools all take time and card ids from them), so they import nothing of this module, only the standard library (docs/decisions.md)",
	},
	{
		name:   "the record vocabulary is a leaf of kiosk",
		from:   []string{module + "/kiosk/record"},
		to:     []string{module + "/kiosk", module + "/drivers", module + "/firmware", module + "/tools"},
		reason: "every part of the booth and the centre reads records, so kiosk/record imports only the leaves (clock, cardid) and the standard library: a type a record carries that another kiosk package also uses (policy.Reason, session's end reasons) sits in record and the other package aliases it (docs/decisions.md, Typed vocabularies)",
	},
	{
		name:   "kiosk knows no hardware",
		from:   []string{module + "/kiosk"},
		to:     []string{module + "/drivers", "periph.io", "go.bug.st/serial"},
		reason: "the domain is testable with fakes and a fake clock in milliseconds; hardware is an interface kiosk declares and a driver implements (DESIGN.md, Architecture)",
	},
	{
		name:   "kiosk knows no gateway or test bed",
		from:   []string{module + "/kiosk"},
		to:     []string{module + "/tools"},
		reason: "the booth's domain talks to the centre only through kiosk/protocol's /v1 types; tests that need a real gateway are whole-system tests and live beside the rig under tools/; unit tests use a fake gateway",
	},
	{
		name:   "drivers know no domain",
		from:   []string{module + "/drivers"},
		to:     []string{module + "/kiosk"},
		reason: "a driver takes what it drives (pins, a port, a clock interface it declares), periph style; firmware wires drivers to kiosk, so a driver can be reused and tested without the call engine",
	},
	{
		name:   "the booth binary links no tools",
		from:   []string{module + "/firmware"},
		binary: true,
		to:     []string{module + "/tools"},
		reason: "wartel-kiosk runs in a prison booth: it must not carry the gateway's certificate-signing code, the ledger or the test bed; the booth's half of anything shared lives in kiosk/",
	},
	{
		name:   "the gateway links no hardware",
		from:   []string{module + "/tools/centre/wartel-gateway"},
		binary: true,
		to:     []string{module + "/drivers", "periph.io", "go.bug.st/serial"},
		reason: "wartel-gateway runs at the centre, far from any reader or GPIO: what it shares with the booth (card ids, wire types) lives in kiosk/, never in drivers/",
	},
	{
		name:   "the gateway links no test bed or field tool",
		from:   []string{module + "/tools/centre/wartel-gateway"},
		binary: true,
		to:     []string{module + "/tools/testbed", module + "/tools/field", module + "/tools/release"},
		reason: "tools/centre is the product the centre runs; the test bed (rigs, fault proxies, throwaway databases), the technicians' field tools and the release tooling are built around it and never shipped inside it (README, Layout)",
	},
}

// exceptions are arrows that exist today and are being removed, keyed "rule name|package". Each must
// still be needed: a stale entry fails the test, so the list only shrinks.
var exceptions = map[string]bool{}

// pkg is what this test reads of `go list -json`.
type pkg struct {
	ImportPath string
	ForTest    string
	Imports    []string
	Error      *struct{ Err string }
}

// base is a package's path without go list's " [x.test]" suffix of a test build.
func base(path string) string {
	if i := strings.IndexByte(path, ' '); i >= 0 {
		return path[:i]
	}
	return path
}

func under(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// isTest says whether a listed package is (part of) a test build: a recompiled package
// ("p [q.test]"), an external test package ("p_test") or a test main ("p.test").
func isTest(p pkg) bool {
	return p.ForTest != "" || strings.Contains(p.ImportPath, " [") || strings.HasSuffix(p.ImportPath, ".test")
}

// listAll runs `go list -deps -test -json ./...` at the module root: every package and test build
// of the module, with everything they import.
func listAll(t *testing.T) map[string]pkg {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-e", "-deps", "-test", "-json=ImportPath,ForTest,Imports,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("layers: go list in %s: %v\n%s", root, err, stderr.String())
	}
	all := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("layers: reading go list's output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("layers: go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		all[p.ImportPath] = p
	}
	if len(all) == 0 {
		t.Fatal("layers: go list listed no package")
	}
	return all
}

// path finds a chain of imports from start to a package under to, breadth first, so the failure
// names the import to remove.
func path(all map[string]pkg, start string, to []string) []string {
	prev := map[string]string{start: ""}
	queue := []string{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur != start && under(base(cur), to) {
			var chain []string
			for p := cur; p != ""; p = prev[p] {
				chain = append([]string{base(p)}, chain...)
			}
			return chain
		}
		for _, next := range all[cur].Imports {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return nil
}

func TestLayers(t *testing.T) {
	all := listAll(t)
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names)
	used := map[string]bool{}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			checked := 0
			for _, name := range names {
				p := all[name]
				if !under(base(name), r.from) || strings.HasSuffix(name, ".test") {
					continue
				}
				if r.binary && isTest(p) {
					continue
				}
				checked++
				chain := path(all, name, r.to)
				if chain == nil {
					continue
				}
				key := r.name + "|" + base(name)
				if exceptions[key] {
					used[key] = true
					continue
				}
				t.Errorf("layers: %s imports %s (%s): forbidden: %s.\n\tWhy: %s",
					name, chain[len(chain)-1], strings.Join(chain, " → "), r.name, r.reason)
			}
			if checked == 0 {
				t.Errorf("layers: rule %q matched no package: its prefixes %v are out of date", r.name, r.from)
			}
		})
	}
	for key := range exceptions {
		if !used[key] {
			t.Errorf("layers: known exception %q no longer happens: remove it from exceptions", key)
		}
	}
}
