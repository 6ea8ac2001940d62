package i18n

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
)

func TestEveryKeyInEveryLanguage(t *testing.T) {
	en := New("en").Keys()
	for _, l := range Languages {
		c := New(l)
		if c.Lang() != l {
			t.Fatalf("New(%q).Lang() = %q", l, c.Lang())
		}
		if got := c.Keys(); !slices.Equal(got, en) {
			t.Errorf("%s keys differ from en: missing %v, extra %v", l, diff(en, got), diff(got, en))
		}
		for _, k := range c.Keys() {
			if strings.TrimSpace(c.msgs[k]) == "" {
				t.Errorf("%s: %s is empty", l, k)
			}
		}
	}
}

func diff(a, b []string) []string {
	var d []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			d = append(d, s)
		}
	}
	return d
}

// verbRE matches a fmt verb with its flags, explicit argument index, width
// and precision.
var verbRE = regexp.MustCompile(`%[-+# 0]*(?:\[(\d+)\])?[0-9]*(?:\.[0-9]*)?([a-zA-Z%])`)

// verbs maps argument number (1-based) → verb of a format, following fmt's
// rules for explicit indexes; %% takes no argument.
func verbs(format string) map[int]byte {
	m := map[int]byte{}
	n := 0
	for _, v := range verbRE.FindAllStringSubmatch(format, -1) {
		if v[2] == "%" {
			continue
		}
		if v[1] != "" {
			n, _ = strconv.Atoi(v[1])
		} else {
			n++
		}
		m[n] = v[2][0]
	}
	return m
}

func TestVerbsMatchAcrossLanguages(t *testing.T) {
	en := New("en")
	for _, l := range Languages {
		c := New(l)
		for _, k := range en.Keys() {
			want, got := verbs(en.msgs[k]), verbs(c.msgs[k])
			if !mapsEqual(want, got) {
				t.Errorf("%s %s: verbs %v, en has %v:\n  %q\n  %q", l, k, got, want, c.msgs[k], en.msgs[k])
			}
		}
	}
}

func mapsEqual(a, b map[int]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestVerbsParser(t *testing.T) {
	tests := []struct {
		format string
		want   map[int]byte
	}{
		{"%s and %d", map[int]byte{1: 's', 2: 'd'}},
		{"%[2]s before %[1]d", map[int]byte{1: 'd', 2: 's'}},
		{"100%% of %5.1f", map[int]byte{1: 'f'}},
		{"none", map[int]byte{}},
	}
	for _, tt := range tests {
		if got := verbs(tt.format); !mapsEqual(got, tt.want) {
			t.Errorf("verbs(%q) = %v, want %v", tt.format, got, tt.want)
		}
	}
}

// TestReasonsCovered: every word the engine can record or report has its
// message in every language. The lists are the exhaustive All lists of the
// vocabularies (docs/decisions.md "Typed vocabularies"): a word added to
// one fails here until it has its messages.
func TestReasonsCovered(t *testing.T) {
	for _, l := range Languages {
		c := New(l)
		for _, r := range session.AllDenials {
			if !c.Has("deny."+string(r)) || strings.HasPrefix(c.Denial(string(r)), "!") {
				t.Errorf("%s: no message for denial %q", l, r)
			}
		}
		for _, r := range record.AllEndReasons {
			if !c.Has("end." + string(r)) {
				t.Errorf("%s: no message for end reason %q", l, r)
			}
		}
		for _, s := range session.AllStates {
			if !c.Has("state." + string(s)) {
				t.Errorf("%s: no name for state %q", l, s)
			}
		}
		for _, a := range record.AllOfficerActions {
			if !c.Has("action." + string(a)) {
				t.Errorf("%s: no message for officer action %q", l, a)
			}
		}
	}
}

// TestNoStrayWords: a deny.*, end.* or action.* key names a word of its
// list, so a word removed or renamed does not leave a message behind that
// hides the gap.
func TestNoStrayWords(t *testing.T) {
	known := map[string]bool{}
	for _, r := range session.AllDenials {
		known["deny."+string(r)] = true
	}
	for _, r := range record.AllEndReasons {
		known["end."+string(r)] = true
	}
	for _, a := range record.AllOfficerActions {
		known["action."+string(a)] = true
	}
	for _, s := range session.AllStates {
		known["state."+string(s)] = true
	}
	for _, k := range New("en").Keys() {
		group, _, _ := strings.Cut(k, ".")
		switch group {
		case "deny", "end", "action", "state":
			if !known[k] {
				t.Errorf("%s: no such word in its vocabulary", k)
			}
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct{ in, want string }{
		{"id", "id"}, {"en", "en"}, {"", "en"}, {"id_ID.UTF-8", "id"}, {"id-ID", "id"}, {"ID", "id"},
		{"in_ID", "id"}, {"en_US.UTF-8", "en"}, {"C.UTF-8", "en"}, {"POSIX", "en"}, {"fr_FR", "en"}, {"idx", "en"},
	}
	for _, tt := range tests {
		if got := New(tt.in).Lang(); got != tt.want {
			t.Errorf("New(%q).Lang() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestChoose(t *testing.T) {
	tests := []struct {
		configured, lcAll, lcMessages, lang, want string
	}{
		{"id", "", "", "en_US.UTF-8", "id"},
		{"en", "", "", "id_ID.UTF-8", "en"},
		{"", "", "", "id_ID.UTF-8", "id"},
		{"", "en_US.UTF-8", "", "id_ID.UTF-8", "en"},
		{"", "", "id_ID.UTF-8", "C", "id"},
		{"", "", "", "", "en"},
	}
	for _, tt := range tests {
		t.Setenv("LC_ALL", tt.lcAll)
		t.Setenv("LC_MESSAGES", tt.lcMessages)
		t.Setenv("LANG", tt.lang)
		if got := Choose(tt.configured); got != tt.want {
			t.Errorf("Choose(%q) with LC_ALL=%q LC_MESSAGES=%q LANG=%q = %q, want %q",
				tt.configured, tt.lcAll, tt.lcMessages, tt.lang, got, tt.want)
		}
	}
}

func TestT(t *testing.T) {
	id, en := New("id"), New("en")
	if got := id.T("status.outbox", 7); got != "Catatan menunggu diunggah: 7" {
		t.Errorf("id status.outbox = %q", got)
	}
	if got := en.T("selftest.summary", 5, 6); got != "5 of 6 checks passed." {
		t.Errorf("en selftest.summary = %q", got)
	}
	if got := id.State("talking"); got != "Sedang bicara" {
		t.Errorf("id State(talking) = %q", got)
	}
	if got := en.End("quota"); got != "Minutes used up" {
		t.Errorf("en End(quota) = %q", got)
	}
	if got := en.T("no.such.key", 3); got != "!no.such.key3" {
		t.Errorf("missing key = %q, want it marked", got)
	}
	if got := id.Denial("made_up"); got != "!deny.made_up" {
		t.Errorf("unknown denial = %q", got)
	}
}

// FuzzNormalize: any setting maps to a catalogue language, the mapping is
// stable (a language maps to itself) and ignores ASCII case (Unicode case
// folding is not wanted: "ıd" upper-cases to "ID").
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"id_ID.UTF-8", "en_US", "in", "", "C", "id@euro", "ID-id"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := Normalize(s)
		if !slices.Contains(Languages, l) {
			t.Fatalf("Normalize(%q) = %q, not a catalogue language", s, l)
		}
		ascii := !strings.ContainsFunc(s, func(r rune) bool { return r > 127 })
		if Normalize(l) != l || ascii && Normalize(strings.ToUpper(s)) != l {
			t.Fatalf("Normalize(%q) = %q is not stable under repetition or case", s, l)
		}
		if New(s).T("state.ready") == "" {
			t.Fatal("empty message")
		}
	})
}
