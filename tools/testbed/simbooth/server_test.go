package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/modem/modemtest"
	"wartelsuspas/firmware/i18n"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/testbed/boothrig"
)

// fakeBooth records what the page asked of it.
type fakeBooth struct {
	mu     sync.Mutex
	calls  []string
	pins   map[string]string
	status string // the status socket's JSON; "": not answering
	err    error  // returned by every action
}

func (f *fakeBooth) do(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return f.err
}

func (f *fakeBooth) Tap(c cardid.ID) error { return f.do("tap " + string(c)) }
func (f *fakeBooth) Lift() error           { return f.do("lift") }
func (f *fakeBooth) Hang() error           { return f.do("hang") }
func (f *fakeBooth) Panel(open bool) error {
	if open {
		return f.do("panel open")
	}
	return f.do("panel closed")
}
func (f *fakeBooth) Pins() (map[string]string, error) { return f.pins, nil }
func (f *fakeBooth) Status(ctx context.Context) (boothrig.Status, error) {
	if f.status == "" {
		return boothrig.Status{}, errors.New("dial unix st.sock: connection refused")
	}
	var s boothrig.Status
	if err := json.Unmarshal([]byte(f.status), &s); err != nil {
		return s, err
	}
	s.Raw = json.RawMessage(f.status)
	return s, nil
}

func (f *fakeBooth) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

// fakeCentre is a gateway ledger with fixed answers.
type fakeCentre struct {
	devices []ledger.DeviceStatus
	report  []ledger.ReportRow
	used    map[string]time.Duration
	credit  map[string]time.Duration
	asked   []string // periods Balance was asked for
}

func (c *fakeCentre) Devices(ctx context.Context, facility string) ([]ledger.DeviceStatus, error) {
	return c.devices, nil
}
func (c *fakeCentre) MonthlyReport(ctx context.Context, facility, month string) ([]ledger.ReportRow, error) {
	return c.report, nil
}
func (c *fakeCentre) Balance(ctx context.Context, facility, inmate, period string) (time.Duration, time.Duration, error) {
	c.asked = append(c.asked, period)
	return c.used[inmate], c.credit[inmate], nil
}

func newTestServer(t *testing.T, lang string, b *fakeBooth, c centre) *server {
	t.Helper()
	cat := i18n.New(lang)
	sites := []*site{{name: "b01", device: "lapas-demo/b01", b: b, feed: newFeed(cat, personNamer(boothrig.DemoRoster))}}
	s, err := newServer(cat, sites, c, "lapas-demo", boothrig.DemoRoster, boothrig.DemoNumbers, 40*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestActions(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		body     string
		ctype    string
		header   map[string]string
		boothErr error
		code     int
		call     string // the booth's last call; "": none
		errHas   string
	}{
		{"tap demo name", "/api/booths/b01/tap", `{"card":"budi"}`, "", nil, nil, 204, "tap em:0400D8B2A5", ""},
		{"tap officer", "/api/booths/b01/tap", `{"card":"agus"}`, "", nil, nil, 204, "tap em:1A2B3C4D5E", ""},
		{"tap unknown", "/api/booths/b01/tap", `{"card":"unknown"}`, "", nil, nil, 204, "tap " + boothrig.UnknownCard, ""},
		{"tap raw id", "/api/booths/b01/tap", `{"card":"em:0102030405"}`, "", nil, nil, 204, "tap em:0102030405", ""},
		{"tap short id", "/api/booths/b01/tap", `{"card":"em:0102"}`, "", nil, nil, 400, "", "unknown card"},
		{"tap no such card", "/api/booths/b01/tap", `{"card":"nobody"}`, "", nil, nil, 400, "", "budi, siti"},
		{"tap not json", "/api/booths/b01/tap", `card=budi`, "", nil, nil, 400, "", `{"card":"budi"}`},
		{"tap unknown field", "/api/booths/b01/tap", `{"card":"budi","x":1}`, "", nil, nil, 400, "", "unknown field"},
		{"tap huge body", "/api/booths/b01/tap", `{"card":"` + strings.Repeat("A", 4096) + `"}`, "", nil, nil, 400, "", "too large"},
		{"lift", "/api/booths/b01/lift", ``, "", nil, nil, 204, "lift", ""},
		{"hang", "/api/booths/b01/hang", `{}`, "", nil, nil, 204, "hang", ""},
		{"panel open", "/api/booths/b01/panel", `{"open":true}`, "", nil, nil, 204, "panel open", ""},
		{"panel close", "/api/booths/b01/panel", `{"open":false}`, "", nil, nil, 204, "panel closed", ""},
		{"panel without open", "/api/booths/b01/panel", `{}`, "", nil, nil, 400, "", `"open"`},
		{"unknown booth", "/api/booths/b07/lift", ``, "", nil, nil, 404, "", "booths are b01"},
		{"unknown action", "/api/booths/b01/dance", ``, "", nil, nil, 404, "", "tap, lift, hang, panel, key or script"},
		{"key on a relay-only booth", "/api/booths/b01/key", `{"key":"1"}`, "", nil, nil, 404, "", "relay-only"},
		{"booth fails", "/api/booths/b01/lift", ``, "", nil, errors.New("sim dir gone"), 500, "lift", "sim dir gone"},
		{"another site's page", "/api/booths/b01/tap", `{"card":"budi"}`, "", map[string]string{"Sec-Fetch-Site": "cross-site"}, nil, 403, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBooth{err: tt.boothErr}
			h := newTestServer(t, "en", b, nil).Handler()
			req := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("POST %s %s: %d %s, want %d", tt.path, tt.body, rec.Code, rec.Body, tt.code)
			}
			if got := b.last(); got != tt.call {
				t.Errorf("booth's last call = %q, want %q", got, tt.call)
			}
			if tt.errHas != "" {
				var e struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !strings.Contains(e.Error, tt.errHas) {
					t.Errorf("error body %s, want a message with %q", rec.Body, tt.errHas)
				}
			}
		})
	}
}

// fakeModem is a booth with a modem: its keys and far ends.
type fakeModem struct {
	fakeBooth
	scripts map[string]modemtest.Script
}

func (f *fakeModem) Key(k rune) error { return f.do("key " + string(k)) }
func (f *fakeModem) Script(number string, s modemtest.Script) error {
	f.scripts[number] = s
	return f.do(fmt.Sprintf("script %s %d %v %v", number, s.Outcome, s.After, s.DropAfter))
}
func (f *fakeModem) Scripts() map[string]modemtest.Script { return f.scripts }
func (f *fakeModem) Commands() []string                   { return []string{"ATH", "AT", "ATE0", "ATD+6281211110001;"} }

// TestModemActions: the keypad and the far ends of a booth with a modem.
func TestModemActions(t *testing.T) {
	tests := []struct {
		name, path, body string
		code             int
		call, errHas     string
	}{
		{"key digit", "/api/booths/b01/key", `{"key":"1"}`, 204, "key 1", ""},
		{"key hash", "/api/booths/b01/key", `{"key":"#"}`, 204, "key #", ""},
		{"key star", "/api/booths/b01/key", `{"key":"*"}`, 204, "key *", ""},
		{"key letter", "/api/booths/b01/key", `{"key":"A"}`, 400, "", "0-9, * or #"},
		{"key two", "/api/booths/b01/key", `{"key":"12"}`, 400, "", "not a key"},
		{"script answer", "/api/booths/b01/script", `{"number":"budi-1","outcome":"answer","after_s":3}`, 204, "script +6281211110001 1 3s 0s", ""},
		{"script by number", "/api/booths/b01/script", `{"number":"+6281211110002","outcome":"busy","after_s":0}`, 204, "script +6281211110002 2 0s 0s", ""},
		{"script drop", "/api/booths/b01/script", `{"number":"siti-1","outcome":"drop","after_s":5}`, 204, "script +6281211110003 1 1s 5s", ""},
		{"script ring", "/api/booths/b01/script", `{"number":"siti-2","outcome":"ring"}`, 204, "script +6281211110004 0 0s 0s", ""},
		{"script no such number", "/api/booths/b01/script", `{"number":"joko-1","outcome":"ring"}`, 400, "", "budi-1, budi-2"},
		{"script bad outcome", "/api/booths/b01/script", `{"number":"budi-1","outcome":"sing"}`, 400, "", "answer, busy"},
		{"script too long", "/api/booths/b01/script", `{"number":"budi-1","outcome":"answer","after_s":9000}`, 400, "", "0 to 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeModem{scripts: map[string]modemtest.Script{}}
			s := newTestServer(t, "en", &b.fakeBooth, nil)
			s.sites[0].b, s.sites[0].modem = b, b
			req := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("POST %s %s: %d %s, want %d", tt.path, tt.body, rec.Code, rec.Body, tt.code)
			}
			if got := b.last(); got != tt.call {
				t.Errorf("booth's last call = %q, want %q", got, tt.call)
			}
			if tt.errHas != "" && !strings.Contains(rec.Body.String(), tt.errHas) {
				t.Errorf("error body %s, want a message with %q", rec.Body, tt.errHas)
			}
		})
	}
}

// TestScriptWords: every far-end behaviour the page offers reads back as
// itself, and has its words in both languages.
func TestScriptWords(t *testing.T) {
	for _, w := range scriptWords {
		sc, ok := scriptOf(w, 7)
		if !ok {
			t.Fatalf("scriptOf(%q) refused", w)
		}
		if got, _ := scriptWord(sc); got != w {
			t.Errorf("scriptWord(scriptOf(%q)) = %q", w, got)
		}
	}
}

// TestProgressWords: every progress word, and so every record.Outcome, has
// its words on the page in both languages.
func TestProgressWords(t *testing.T) {
	for _, l := range i18n.Languages {
		cat := i18n.New(l)
		for _, k := range pageTextsOf() {
			if !cat.Has(k) {
				t.Errorf("%s: no %q in the catalogue", l, k)
			}
		}
	}
	for _, o := range record.AllOutcomes {
		if !slices.Contains(allProgress(), string(o)) {
			t.Errorf("outcome %q is not a progress word", o)
		}
	}
}

// TestModemState: a modem booth's panel shows the module, the progress of
// the call, the far ends and the last AT commands.
func TestModemState(t *testing.T) {
	b := &fakeModem{scripts: map[string]modemtest.Script{"+6281211110002": {Outcome: modemtest.Busy, After: time.Second}}}
	b.pins = map[string]string{"relay": "1", "hook": "0"}
	b.status = `{"session":{"state":"ringing","inmate":"WBP-0001","left_ms":9000},"reader":{"Up":true},"gateway":{"online":true},
		"modem":{"Up":true,"Operator":"TELKOMSEL","RSSI":20,"SIM":"READY"}}`
	s := newTestServer(t, "en", &b.fakeBooth, nil)
	s.sites[0].b, s.sites[0].modem = b, b
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/state", nil))
	var ps pageState
	if err := json.Unmarshal(rec.Body.Bytes(), &ps); err != nil {
		t.Fatal(err)
	}
	m := ps.Booths[0].Modem
	if m == nil || !m.Up || m.Text != "TELKOMSEL, +CSQ 20" || m.Progress != "ringing" || m.ProgressText != "ringing" ||
		len(m.AT) != 4 || m.AT[3] != "ATD+6281211110001;" {
		t.Fatalf("modem state %+v", m)
	}
	if len(m.Numbers) != len(boothrig.DemoNumbers) || m.Numbers[1].Outcome != "busy" || m.Numbers[1].Text != "busy after 1 s" ||
		m.Numbers[0].Outcome != "ring" || m.Numbers[0].Inmate != "Budi Santoso" {
		t.Errorf("numbers %+v", m.Numbers)
	}
	// The page draws the keypad and the far ends for it.
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	for _, want := range []string{`data-modem="1"`, `data-key="#"`, `data-number="siti-2"`, `data-role="progress"`, `data-role="at"`, "busy after N s"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestState(t *testing.T) {
	b := &fakeBooth{
		pins: map[string]string{"relay": "1", "lamp_green": "1", "lamp_amber": "0", "hook": "0", "tamper": "0", "buzzer": "0"},
		status: `{"device":"lapas-demo/b01","session":{"state":"talking","inmate":"WBP-0001","left_ms":9000,"calls":1},
			"reader":{"Up":true},"gateway":{"online":true},"outbox_depth":2}`,
	}
	seen := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	c := &fakeCentre{
		devices: []ledger.DeviceStatus{{Device: "lapas-demo/b01", LastSeen: seen, OutboxDepth: 2}, {Device: "lapas-demo/b02"}},
		report: []ledger.ReportRow{
			{Inmate: "WBP-0001", Calls: 2, Talked: 25 * time.Second, Charged: 25 * time.Second, OfficerActions: 1, Credit: 12 * time.Second},
			{Inmate: "", Denials: 3},
		},
		used:   map[string]time.Duration{"WBP-0001": 25 * time.Second, "WBP-0002": time.Minute},
		credit: map[string]time.Duration{"WBP-0001": 12 * time.Second},
	}
	s := newTestServer(t, "id", b, c)
	// 23:30 UTC is already the next day in Jakarta (UTC+7).
	s.now = func() time.Time { return time.Date(2026, 11, 29, 23, 30, 0, 0, time.UTC) }
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/state", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /api/state: %d %s", rec.Code, rec.Body)
	}
	var ps pageState
	if err := json.Unmarshal(rec.Body.Bytes(), &ps); err != nil {
		t.Fatal(err)
	}
	if ps.Today != "2026-11-30" || c.asked[0] != "2026-11-30" {
		t.Errorf("period = %q, asked the ledger for %v; want Jakarta's day 2026-11-30", ps.Today, c.asked)
	}
	bs := ps.Booths[0]
	if bs.State != "talking" || bs.StateText != "Sedang bicara" || bs.InmateName != "Budi Santoso" || bs.LeftMs != 9000 {
		t.Errorf("booth = %+v; want talking, Sedang bicara, Budi Santoso, 9000 ms", bs)
	}
	if !bs.Pins["relay"] || !bs.Pins["lamp_green"] || bs.Pins["lamp_amber"] || !bs.Pins["hook"] || bs.Pins["tamper"] {
		t.Errorf("pins = %v; want relay, green, handset lifted (hook 0 is active low)", bs.Pins)
	}
	if !bs.ReaderUp || !bs.GatewayOnline || bs.Outbox != 2 {
		t.Errorf("health = reader %v gateway %v outbox %d", bs.ReaderUp, bs.GatewayOnline, bs.Outbox)
	}
	if len(ps.Centre.Devices) != 2 || ps.Centre.Devices[0].AgoMs != (22*time.Hour+30*time.Minute).Milliseconds() || ps.Centre.Devices[1].AgoMs != -1 {
		t.Errorf("devices = %+v", ps.Centre.Devices)
	}
	rows := map[string]inmateRow{}
	for _, r := range ps.Centre.Inmates {
		rows[r.Person] = r
	}
	if r := rows["WBP-0001"]; r.Key != "budi" || r.Calls != 2 || r.LeftTodayMs != (40+12-25)*1000 || r.CreditMs != 12000 {
		t.Errorf("budi = %+v; want 2 calls, 27 s left (40 + 12 − 25)", r)
	}
	if r := rows["WBP-0002"]; r.LeftTodayMs != 0 {
		t.Errorf("siti used more than her allowance: left %d ms, want 0", r.LeftTodayMs)
	}
	if r := rows["WBP-0004"]; !r.Blocked {
		t.Errorf("joko = %+v; want blocked", r)
	}
	if _, ok := rows["PTG-0001"]; ok {
		t.Error("the officer has a report row")
	}
	last := ps.Centre.Inmates[len(ps.Centre.Inmates)-1]
	if last.Person != "" || last.Denials != 3 || last.LeftTodayMs != -1 || last.Name != i18n.New("id").T("sim.unknown_cards") {
		t.Errorf("last row = %+v; want the unknown cards' 3 denials", last)
	}
}

func TestStateBoothDown(t *testing.T) {
	s := newTestServer(t, "en", &fakeBooth{pins: map[string]string{"hook": "1"}}, nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/state", nil))
	var ps pageState
	if err := json.Unmarshal(rec.Body.Bytes(), &ps); err != nil {
		t.Fatal(err)
	}
	if b := ps.Booths[0]; b.State != "down" || b.StateText != "down" || !strings.Contains(b.Error, "connection refused") || b.Pins["hook"] {
		t.Errorf("booth = %+v; want down with the daemon's error, handset on the hook", b)
	}
}

func TestPage(t *testing.T) {
	for _, lang := range []string{"id", "en"} {
		s := newTestServer(t, lang, &fakeBooth{}, nil)
		srv := httptest.NewServer(s.Handler())
		get := func(path string) string {
			res, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Fatalf("GET %s: %d", path, res.StatusCode)
			}
			return string(b)
		}
		page := get("/")
		cat := i18n.New(lang)
		for _, want := range []string{`<html lang="` + lang + `">`, `data-booth="b01"`, `data-card="budi"`, `data-card="agus"`,
			`data-card="joko"`, `data-card="unknown"`, `data-pin="relay"`, `data-role="handset"`, cat.T("sim.title"), `"sim.on_hook":`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s page lacks %q", lang, want)
			}
		}
		for _, bad := range []string{"http://", "https://", "!sim."} {
			if strings.Contains(page, bad) {
				t.Errorf("%s page has %q: no external resources, no missing texts", lang, bad)
			}
		}
		if js := get("/static/app.js"); !strings.Contains(js, "/api/state") || strings.Contains(js, "http") && strings.Contains(js, "://") {
			t.Errorf("app.js does not poll /api/state or names an external address")
		}
		get("/static/style.css")
		srv.Close()
	}
}

// TestPageTexts checks that every catalogue key the page's files name is
// sent to the page, and exists in both languages.
func TestPageTexts(t *testing.T) {
	keyRE := regexp.MustCompile(`"((?:sim|word|state)\.[a-z_.]+)"`)
	sent := map[string]bool{}
	for _, k := range pageTexts {
		sent[k] = true
	}
	for _, f := range []string{"web/index.html", "web/app.js"} {
		b, err := webFiles.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		keys := keyRE.FindAllStringSubmatch(string(b), -1)
		if len(keys) == 0 {
			t.Fatalf("%s names no catalogue key: has the page changed how it finds its texts?", f)
		}
		for _, m := range keys {
			if !sent[m[1]] {
				t.Errorf("%s uses %q, which is not in pageTexts", f, m[1])
			}
		}
	}
	for _, lang := range i18n.Languages {
		cat := i18n.New(lang)
		for _, k := range pageTexts {
			if !cat.Has(k) {
				t.Errorf("pageTexts has %q, missing from the %s catalogue", k, lang)
			}
		}
	}
}

// TestListenBusy: a taken address falls back to a free loopback port and
// says so; a bad address is an error that names the flag.
func TestListenBusy(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		addr    string
		fell    bool
		errHas  string
		sayLang string
	}{
		{taken.Addr().String(), true, "", "en"},
		{taken.Addr().String(), true, "", "id"},
		{"127.0.0.1:0", false, "", "en"},
		{"127.0.0.1:notaport", false, "-listen 127.0.0.1:notaport", "en"},
	}
	for _, tt := range tests {
		var out strings.Builder
		cat := i18n.New(tt.sayLang)
		ln, err := listen(tt.addr, cat, &out)
		if tt.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("listen(%q) error = %v, want one with %q", tt.addr, err, tt.errHas)
			}
			continue
		}
		if err != nil {
			t.Fatalf("listen(%q): %v", tt.addr, err)
		}
		got := ln.Addr().String()
		ln.Close()
		if tt.fell {
			want := cat.T("sim.listen_busy", tt.addr, got)
			if got == tt.addr || !strings.HasPrefix(got, "127.0.0.1:") || strings.TrimSpace(out.String()) != want {
				t.Errorf("listen(%q) = %s, said %q; want another loopback port and %q", tt.addr, got, out.String(), want)
			}
		} else if out.Len() != 0 {
			t.Errorf("listen(%q) said %q on a free address", tt.addr, out.String())
		}
	}
}

// BenchmarkSnapshot is one look at a booth and a ledger, without their
// I/O (fakes): the server's own share of GET /api/state.
func BenchmarkSnapshot(b *testing.B) {
	fb := &fakeBooth{pins: map[string]string{"relay": "1", "hook": "0"},
		status: `{"session":{"state":"talking","inmate":"WBP-0001","left_ms":9000},"reader":{"Up":true},"gateway":{"online":true}}`}
	c := &fakeCentre{report: []ledger.ReportRow{{Inmate: "WBP-0001", Calls: 2}}, used: map[string]time.Duration{}, credit: map[string]time.Duration{}}
	cat := i18n.New("en")
	sites := []*site{{name: "b01", b: fb, feed: newFeed(cat, personNamer(boothrig.DemoRoster))}}
	s, err := newServer(cat, sites, c, "lapas-demo", boothrig.DemoRoster, boothrig.DemoNumbers, 40*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := json.Marshal(s.snapshot(ctx)); err != nil {
			b.Fatal(err)
		}
	}
}
