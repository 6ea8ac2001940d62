package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/session"
)

const example = "../packaging/kiosk.toml"

// base is the least a valid file holds.
const base = "device = \"lapas-x/b01\"\n[gateway]\nurl = \"https://gw.example:8443\"\n"

func readExample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// uncommented turns the example's "#key" lines (a '#' with no space: the
// optional parts shown commented) into live lines.
func uncommented(b []byte) []byte {
	return regexp.MustCompile(`(?m)^#([^ #\n])`).ReplaceAll(b, []byte("$1"))
}

// TestExampleIsTheDefault: the shipped example, as it is, parses to
// Default() with its required keys filled: its comments say "every key with
// its default", and this keeps them honest.
func TestExampleIsTheDefault(t *testing.T) {
	got, err := Parse(readExample(t), "kiosk.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Device, want.Language, want.Gateway.URL = "lapas-cipinang/b03", "id", "https://gateway.kanwil.example:8443"
	want.Policy.Hours.Weekly = DefaultWeekly()
	want.Calls.Warnings = DefaultWarnings()
	g := *got
	g.file, g.lines, g.rules = "", nil, policy.Rules{}
	if len(g.Policy.Hours.Weekly["sunday"]) == 0 {
		delete(g.Policy.Hours.Weekly, "sunday") // written [] in the example, absent in the default
	}
	for _, d := range []struct {
		name      string
		got, want any
	}{{"pins", g.Pins, want.Pins}, {"timings", g.Timings, want.Timings}, {"reader", g.Card, want.Card},
		{"policy", g.Policy, want.Policy}, {"session", g.Calls, want.Calls}} {
		if !reflect.DeepEqual(d.got, d.want) {
			t.Errorf("%s: %#v\nwant %#v", d.name, d.got, d.want)
		}
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("example differs from Default():\n got %+v\nwant %+v", g, want)
	}
}

// TestExampleHasEveryKey walks the Config type and checks that every key it
// can hold is written in the example (its optional parts uncommented), so
// the example cannot drift from the struct.
func TestExampleHasEveryKey(t *testing.T) {
	c, err := Parse(uncommented(readExample(t)), "kiosk.toml")
	if err != nil {
		t.Fatalf("the example with its commented parts: %v", err)
	}
	var missing []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := f.Tag.Get("toml")
			if !f.IsExported() || tag == "" || tag == "-" {
				continue
			}
			key := join(prefix, tag)
			if c.Line(key) == 0 || c.lines[key] == 0 {
				missing = append(missing, key)
				continue
			}
			switch ft := f.Type; {
			case ft.Kind() == reflect.Struct:
				walk(key, ft)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(key+"[0]", ft.Elem())
			case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
				// Every entry the example writes must show every key.
				n := 0
				for k := range c.lines {
					if rest, ok := strings.CutPrefix(k, key+"."); ok && !strings.ContainsAny(rest, ".[") {
						walk(k, ft.Elem())
						n++
					}
				}
				if n == 0 {
					missing = append(missing, key+".NAME")
				}
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	if len(missing) > 0 {
		t.Errorf("keys of Config not in %s: %v", example, missing)
	}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		if c.lines["policy.hours.weekly."+d] == 0 {
			t.Errorf("the example does not show policy.hours.weekly.%s", d)
		}
	}
	r, err := c.Rules()
	if err != nil || len(r.Rotation) != 2 || len(r.Hours.Exceptions) != 2 {
		t.Errorf("uncommented example: rotation %v, exceptions %v, err %v; want 2 blocks and 2 dates", r.Rotation, r.Hours.Exceptions, err)
	}
}

// lineOf returns the 1-based line of doc holding substr.
func lineOf(t *testing.T, doc, substr string) int {
	t.Helper()
	i := strings.Index(doc, substr)
	if i < 0 {
		t.Fatalf("%q not in the document", substr)
	}
	return strings.Count(doc[:i], "\n") + 1
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		// want: "KEY@MARK: substring", MARK a substring of doc whose line the
		// problem must name ("" for no line).
		want []string
	}{
		{"bad pin", base + "[gpio]\nrelay = \"GPIO99\"\n", []string{"gpio.relay@GPIO99: the 40-pin header has GPIO2 to GPIO27"}},
		{"pin shared", base + "[gpio]\nlamp_red = \"GPIO5\"\n", []string{"gpio.hook@[gpio]: already the output gpio.lamp_red"}},
		{"missing device", "[gateway]\nurl = \"https://g:1\"\n", []string{"device@: missing"}},
		{"device form", "device = \"Lapas X\"\n" + base[strings.Index(base, "\n")+1:], []string{"device@Lapas X: not a booth id"}},
		{"device too long", "device = \"a/" + strings.Repeat("b", 65) + "\"\n" + base[strings.Index(base, "\n")+1:], []string{"device@device: not a booth id"}},
		{"language", "language = \"jv\"\n" + base, []string{`language@jv: "jv" is not a language`}},
		{"missing url in its table", "device = \"a/b\"\n[gateway]\nbundle = \"/b\"\n", []string{"gateway.url@[gateway]: missing"}},
		{"http url", "device = \"a/b\"\n[gateway]\nurl = \"http://g:8443\"\n", []string{"gateway.url@http://: write https://HOST:PORT"}},
		{"relative bundle", base + "bundle = \"bundle\"\n", []string{"gateway.bundle@bundle = : absolute path"}},
		{"zone", base + "[policy]\ntime_zone = \"Asia/Singapore\"\n", []string{"policy.time_zone@Singapore: use Asia/Jakarta, Asia/Makassar, Asia/Jayapura"}},
		{"period and unit", base + "[policy]\nperiod = \"year\"\nbilling.unit = \"hour\"\n",
			[]string{"policy.period@year: use day, week or month", "policy.billing.unit@hour: use second or minute"}},
		{"durations", base + "[session]\ncheckpoint = \"5\"\noff_hook_timeout = \"-1s\"\nstore_retry = \"0s\"\n",
			[]string{`session.checkpoint@"5": "5" is not a duration`, "session.off_hook_timeout@-1s: negative", "session.store_retry@0s: more than zero"}},
		{"dial timeouts", base + "[session]\nchoose_timeout = \"soon\"\nring_timeout = \"0s\"\n",
			[]string{`session.choose_timeout@soon: "soon" is not a duration`, "session.ring_timeout@ring_timeout: more than zero"}},
		{"window", base + "[policy.hours.weekly]\nmonday = [\n \"08:00-11:30\",\n \"13:00-12:00\",\n \"11:00-12:00\"]\n",
			[]string{"policy.hours.weekly.monday[1]@13:00-12:00: ", "policy.hours.weekly.monday[2]@11:00-12:00: overlaps 08:00-11:30"}},
		{"indonesian weekday", base + "[policy.hours.weekly]\nsenin = [\"08:00-11:30\"]\n", []string{"policy.hours.weekly.senin@senin: senin → monday"}},
		{"exception date", base + "[policy.hours.exceptions]\n\"25-12-2026\" = []\n", []string{"policy.hours.exceptions.25-12-2026@25-12-2026: YYYY-MM-DD"}},
		{"rotation window", base + "[policy.rotation.A.weekly]\nfriday = [\"25:00-26:00\"]\n", []string{"policy.rotation.A.weekly.friday[0]@25:00: "}},
		{"grant needs minutes", base + "[policy]\nofficer = \"grant\"\n", []string{"policy.officer_grant@[policy]: needs the minutes"}},
		{"reader", base + "[reader]\nprotocol = \"wiegand\"\npath = \"ttyUSB0\"\nretry_min = \"1s\"\nretry_max = \"500ms\"\n",
			[]string{"reader.protocol@wiegand: use one of rdm6300, id12, ascii, pn532", "reader.path@ttyUSB0: under /dev", "reader.retry_max@500ms: less than retry_min"}},
		{"reader by usb", base + "[reader]\npath = \"\"\nvid = \"1a8\"\n", []string{"reader.path@path: missing", "reader.vid@1a8: 4 hex digits"}},
		{"pn532 reset pin", base + "[reader.pn532]\nreset = \"GPIO17\"\npassive_retries = 255\n",
			[]string{"reader.pn532.reset@GPIO17: already used by gpio.relay", "reader.pn532.passive_retries@255: write at most 254"}},
		{"pn532 reset name", base + "[reader.pn532]\nreset = \"7\"\n", []string{`reader.pn532.reset@"7": use a BCM name`}},
		{"ascii", base + "[reader.ascii]\nformat = \"bcd\"\nem_version = \"F\"\n",
			[]string{"reader.ascii.format@bcd: use hex or decimal", "reader.ascii.em_version@\"F\": two hex digits"}},
		{"warning signal", base + "[[session.warnings]]\nbefore = \"30s\"\nsignal = \"beep\"\n", []string{"session.warnings[0].signal@beep: not a lamp signal"}},
		{"unknown keys", base + "[gpio]\nrelai = \"GPIO17\"\n[sesion]\ncheckpoint = \"5s\"\n",
			[]string{"gpio.relai@relai: unknown key", "sesion@[sesion]: unknown key"}},
		{"unknown key and a bad value", base + "[gpio]\nrelai = 1\nrelay = \"GPIO1\"\n",
			[]string{"gpio.relai@relai: unknown key", "gpio.relay@GPIO1: reserved for the HAT ID EEPROM"}},
		{"wrong type", base + "[reader]\nconfirm_frames = \"two\"\n", []string{"reader.confirm_frames@two: "}},
		{"syntax", base + "[gpio\nrelay = 1\n", []string{"@[gpio: "}},
		{"store path", base + "[store]\npath = \"booth.db\"\n", []string{"store.path@booth.db: absolute path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc), "/etc/wartel/kiosk.toml")
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", c)
			}
			if c != nil {
				t.Error("Parse returned a Config with an error")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				keyMark, sub, _ := strings.Cut(w, ": ")
				key, mark, _ := strings.Cut(keyMark, "@")
				prefix := "/etc/wartel/kiosk.toml: "
				if mark != "" {
					prefix = "/etc/wartel/kiosk.toml:" + strconv.Itoa(lineOf(t, tt.doc, mark)) + ": "
				}
				if key != "" {
					prefix += key + ": "
				}
				if i >= len(got) || !strings.HasPrefix(got[i], prefix) || !strings.Contains(got[i], sub) {
					t.Errorf("problem %d: want prefix %q containing %q; all:\n%v", i, prefix, sub, err)
				}
			}
			var p *Problem
			if !errors.As(err, &p) || p.File != "/etc/wartel/kiosk.toml" {
				t.Errorf("errors.As(*Problem) = %v", p)
			}
		})
	}
}

func TestProblemsSortedByLine(t *testing.T) {
	doc := base + "[session]\ncheckpoint = \"x\"\n[gpio]\nrelay = \"GPIO1\"\n[policy]\nperiod = \"x\"\n"
	doc = "language = \"xx\"\n" + strings.Replace(doc, "device = \"lapas-x/b01\"\n", "", 1)
	_, err := Parse([]byte(doc), "k.toml")
	if err == nil {
		t.Fatal("accepted")
	}
	last := -1
	for _, l := range strings.Split(err.Error(), "\n") {
		n := 0
		if rest, ok := strings.CutPrefix(l, "k.toml:"); ok {
			n, _ = strconv.Atoi(rest[:strings.IndexByte(rest, ':')])
		}
		if n < last {
			t.Errorf("not sorted by line:\n%v", err)
		}
		last = n
	}
	if !strings.HasPrefix(err.Error(), "k.toml: device: missing") || strings.Count(err.Error(), "\n") != 4 {
		t.Errorf("want the missing device first and 5 problems:\n%v", err)
	}
}

func TestConversions(t *testing.T) {
	doc := "language = \"en\"\n" + base + `[gpio]
relay = "GPIO27"
relay_active_low = true
[booth]
debounce = "40ms"
[reader]
protocol = "pn532"
path = "/dev/ttyAMA0"
confirm_frames = 3
[reader.pn532]
reset = "GPIO4"
poll_interval = "150ms"
passive_retries = 5
[policy]
time_zone = "Asia/Makassar"
period = "week"
allowance = "1h"
per_call = "15m"
officer = "grant"
officer_grant = "5m"
billing = { unit = "minute", minimum = "1m" }
[policy.hours.weekly]
sunday = ["09:00-10:00"]
[policy.rotation.C.weekly]
sunday = ["09:00-09:30"]
[session]
checkpoint = "3s"
second_tap_ends = true
ring_timeout = "90s"
[[session.warnings]]
before = "2m"
signal = "warning_minute"
[store]
path = "/tmp/x.db"
`
	c, err := Parse([]byte(doc), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if g := c.GPIO(); g.Relay != "GPIO27" || !g.RelayActiveLow || g.Hook != "GPIO5" {
		t.Errorf("GPIO() = %+v", g)
	}
	if o := c.BoothOptions(); o.Debounce != 40*time.Millisecond || o.Settle != 50*time.Millisecond || o.Config.Relay != "GPIO27" {
		t.Errorf("BoothOptions() = %+v", o)
	}
	o, name, po := c.Reader()
	if name != "pn532" || o.Path != "/dev/ttyAMA0" || o.ConfirmFrames != 3 || o.RetryMax != 10*time.Second ||
		po.PN532.PollInterval != 150*time.Millisecond || po.PN532.PassiveRetries != 5 || po.PN532.PortName != "/dev/ttyAMA0" {
		t.Errorf("Reader() = %+v, %q, %+v", o, name, po)
	}
	if c.Lang() != "en" {
		t.Errorf("Lang() = %q, want the file's en", c.Lang())
	}
	if c.ResetPin() != "GPIO4" {
		t.Errorf("ResetPin() = %q", c.ResetPin())
	}
	r, err := c.Rules()
	if err != nil {
		t.Fatal(err)
	}
	if r.Location.String() != "Asia/Makassar" || r.Period != policy.Week || r.Allowance != time.Hour || r.PerCall != 15*time.Minute ||
		r.Billing != (policy.Billing{Unit: policy.PerStartedMinute, Minimum: time.Minute}) || r.Officer != policy.OfficerGrant ||
		r.OfficerGrant != 5*time.Minute || len(r.Hours.Weekly) != 1 || len(r.Rotation["C"].Weekly[time.Sunday]) != 1 {
		t.Errorf("Rules() = %+v", r)
	}
	// The rules decide: Sunday 09:15 in Makassar is open and C's turn.
	at := time.Date(2026, 11, 29, 9, 15, 0, 0, r.Location)
	d := r.Decide(policy.Request{Now: at, ClockTrusted: true, Known: true, Block: "C", SinceLastEnd: -1})
	if !d.Allow || d.EndsBy != policy.ReasonTurnEnd {
		t.Errorf("Decide at %v = %+v, want allowed until the turn ends", at, d)
	}
	s := c.Session()
	if s.Checkpoint != 3*time.Second || !s.SecondTapEnds || s.OffHookTimeout != 20*time.Second || s.OfficerRateLimit != 6 ||
		!reflect.DeepEqual(s.Warnings, []session.Warning{{Before: 2 * time.Minute, Signal: "warning_minute"}}) || s.Rules.Location != r.Location {
		t.Errorf("Session() = %+v", s)
	}
	if s.ChooseTimeout != 30*time.Second || s.RingTimeout != 90*time.Second {
		t.Errorf("Session() choose timeout %v, ring timeout %v: want the default 30s and the file's 90s", s.ChooseTimeout, s.RingTimeout)
	}
	if p, so := c.StoreOptions(); p != "/tmp/x.db" || so.Device != "lapas-x/b01" {
		t.Errorf("StoreOptions() = %q, %+v", p, so)
	}
	if !strings.Contains(c.Summary(), "device lapas-x/b01, relay GPIO27, reader pn532 on /dev/ttyAMA0") {
		t.Errorf("Summary() = %q", c.Summary())
	}
}

func TestLoadChecksFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosk.toml")
	doc := base + "bundle = \"" + filepath.Join(dir, "bundle") + "\"\n[store]\npath = \"" + filepath.Join(dir, "state", "booth.db") + "\"\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load accepted a missing bundle and state directory")
	}
	want := []string{path + ":4: gateway.bundle: ", path + ":6: store.path: directory: "}
	if got := strings.Split(err.Error(), "\n"); len(got) != 2 || !strings.HasPrefix(got[0], want[0]) || !strings.HasPrefix(got[1], want[1]) {
		t.Errorf("Load: %v\nwant lines starting %q", err, want)
	}
	for _, d := range []string{"bundle", "state"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Load(path); err != nil {
		t.Errorf("Load with both directories: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.toml")); err == nil || !strings.Contains(err.Error(), "none.toml") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

// FuzzParse: any bytes give a Config or problems, never a panic; every
// problem's line is inside the file; an accepted file's rules pass the
// policy's own check.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	if b, err := os.ReadFile(example); err == nil {
		f.Add(b)
		f.Add(uncommented(b))
	}
	f.Add([]byte(base + "[[session.warnings]]\nbefore = \"1s\"\nsignal = \"closed\"\n[policy.hours.weekly]\nmonday = [\"00:00-24:00\"]\n"))
	f.Add([]byte("a = {b = [ {c = 1}, [2] ]}\n[[x.y]]\n[x.y.z]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "f.toml")
		if err != nil {
			n := strings.Count(string(data), "\n") + 1
			for _, e := range unjoin(err) {
				var p *Problem
				if !errors.As(e, &p) {
					t.Fatalf("not a *Problem: %v", e)
				}
				if p.Line < 0 || p.Line > n {
					t.Fatalf("line %d outside the file's %d lines: %v", p.Line, n, p)
				}
			}
			return
		}
		if _, err := c.Rules(); err != nil {
			t.Fatalf("accepted, but Rules: %v", err)
		}
	})
}

// TestReferenceHasEveryKey: docs/config.md has a row for every key of
// Config, written as the reference names it (map keys as DAY, DATE, BLOCK;
// list elements as [N]).
func TestReferenceHasEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	placeholder := map[string]string{"weekly": "DAY", "exceptions": "DATE", "rotation": "BLOCK"}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := f.Tag.Get("toml")
			if !f.IsExported() || tag == "" {
				continue
			}
			key := join(prefix, tag)
			switch ft := f.Type; {
			case ft.Kind() == reflect.Struct:
				walk(key, ft)
				continue
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(key+"[N]", ft.Elem())
				continue
			case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
				walk(key+"."+placeholder[tag], ft.Elem())
				continue
			case ft.Kind() == reflect.Map:
				key += "." + placeholder[tag]
			}
			if !strings.Contains(string(doc), "| `"+key+"` |") {
				t.Errorf("docs/config.md has no row for `%s`", key)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
}

// BenchmarkParse parses the shipped example: the cost at every start and
// every `config check`.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(example)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "kiosk.toml"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEveryKeyBlamedOnItsLine breaks each value of the example in turn, one
// per run, and checks the problem names that key and that line: no key's
// error points elsewhere. Table paths are followed here with a plain line
// reader, independent of scanLines.
func TestEveryKeyBlamedOnItsLine(t *testing.T) {
	src := strings.Split(string(uncommented(readExample(t))), "\n")
	header := regexp.MustCompile(`^(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$`)
	keyval := regexp.MustCompile(`^\s*("[^"]*"|[A-Za-z0-9_-]+)\s*=\s*(.*?)\s*(#.*)?$`)
	prefix := ""
	arrays := map[string]int{}
	n := 0
	for i, line := range src {
		if m := header.FindStringSubmatch(line); m != nil {
			prefix = m[2]
			if m[1] == "[[" {
				idx, seen := arrays[prefix]
				if seen {
					idx++
				}
				arrays[prefix] = idx
				prefix += "[" + strconv.Itoa(idx) + "]"
			}
			continue
		}
		m := keyval.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := join(prefix, strings.Trim(m[1], `"`))
		val := m[2]
		var bad string
		switch {
		case key == "reader.serial_number" || val == "true" || val == "false":
			continue // any string is a serial number; a bool cannot be out of range
		case strings.HasPrefix(val, "["):
			bad, key = `["%bad"]`, key+"[0]"
		case strings.HasPrefix(val, `"`):
			bad = `"%bad"`
			if d := strings.Trim(val, `"`); d != "" {
				if _, err := time.ParseDuration(d); err == nil {
					bad = `"-5s"`
				}
			}
		default:
			bad = "-1"
		}
		n++
		t.Run(key, func(t *testing.T) {
			doc := slices.Clone(src)
			doc[i] = strings.Replace(line, val, bad, 1)
			_, err := Parse([]byte(strings.Join(doc, "\n")), "k.toml")
			want := "k.toml:" + strconv.Itoa(i+1) + ": " + key + ": "
			if err == nil || !slices.ContainsFunc(strings.Split(err.Error(), "\n"), func(l string) bool { return strings.HasPrefix(l, want) }) {
				t.Errorf("with %s = %s: want a problem starting %q, got:\n%v", key, bad, want, err)
			}
		})
	}
	if n < 70 {
		t.Errorf("only %d keys tried: the example's lines were not read", n)
	}
}
