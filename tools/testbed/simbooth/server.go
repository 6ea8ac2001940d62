package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/modem/modemtest"
	"wartelsuspas/firmware/i18n"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/testbed/boothrig"
)

//go:embed web
var webFiles embed.FS

// booth is what the page reads and drives of one booth; *boothrig.Booth is
// one, a fake in the tests is another.
type booth interface {
	Tap(card cardid.ID) error
	Lift() error
	Hang() error
	Panel(open bool) error
	Pins() (map[string]string, error)
	Status(ctx context.Context) (boothrig.Status, error)
}

// modemBooth is what the page drives of a booth with a modem (its keypad
// and the far ends the emulator plays); *boothrig.Booth is one.
type modemBooth interface {
	Key(k rune) error
	Script(number string, s modemtest.Script) error
	Scripts() map[string]modemtest.Script
	Commands() []string
}

// centre is the part of the gateway's ledger the page shows; a
// ledger.Store is one.
type centre interface {
	Devices(ctx context.Context, facility string) ([]ledger.DeviceStatus, error)
	MonthlyReport(ctx context.Context, facility, month string) ([]ledger.ReportRow, error)
	Balance(ctx context.Context, facility, inmate, period string) (used, credit time.Duration, err error)
}

// site is one booth as the server knows it.
type site struct {
	name, device string
	b            booth
	modem        modemBooth // nil: a relay-only booth
	feed         *feed
}

// server is the page and its JSON API.
type server struct {
	cat       *i18n.Catalogue
	sites     []*site
	centre    centre
	facility  string
	roster    []boothrig.Person
	numbers   []boothrig.Number // registered for the roster's inmates
	allowance time.Duration     // per inmate per day, unless a card has its own
	zone      *time.Location
	now       func() time.Time
	page      *template.Template
	log       *slog.Logger

	mu       sync.Mutex
	cached   []byte
	cachedAt time.Time
}

// stateMaxAge lets several open pages share one look at the booths.
const stateMaxAge = 100 * time.Millisecond

func newServer(cat *i18n.Catalogue, sites []*site, c centre, facility string, roster []boothrig.Person, numbers []boothrig.Number, allowance time.Duration, log *slog.Logger) (*server, error) {
	zone, err := policy.LoadZone("Asia/Jakarta")
	if err != nil {
		return nil, fmt.Errorf("time zone of the facility: %w", err)
	}
	page, err := template.ParseFS(webFiles, "web/index.html")
	if err != nil {
		return nil, fmt.Errorf("page template: %w", err)
	}
	return &server{cat: cat, sites: sites, centre: c, facility: facility, roster: roster, numbers: numbers,
		allowance: allowance, zone: zone, now: time.Now, page: page, log: log}, nil
}

// Handler serves the page, its files and the API. Requests from other
// sites' pages are refused (a page elsewhere must not tap cards here).
func (s *server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFiles, "web")
	mux.HandleFunc("GET /{$}", s.index)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /api/state", s.state)
	mux.HandleFunc("POST /api/booths/{name}/{action}", s.act)
	return http.NewCrossOriginProtection().Handler(mux)
}

// pageTexts are the catalogue keys the page's script shows.
var pageTexts = []string{
	"sim.title", "sim.booth", "sim.lamps", "sim.relay", "sim.buzzer", "sim.on", "sim.off", "sim.handset",
	"sim.lifted", "sim.on_hook", "sim.panel", "sim.panel_open", "sim.panel_close", "sim.inmate",
	"sim.time_left", "sim.final_seconds", "sim.reader", "sim.gateway", "sim.online", "sim.offline",
	"sim.working", "sim.down", "sim.outbox", "sim.cards", "sim.unknown_card", "sim.events", "sim.no_events",
	"sim.centre", "sim.devices", "sim.last_seen", "sim.never", "sim.ago", "sim.report", "sim.col.device", "sim.col.inmate",
	"sim.col.calls", "sim.col.talked", "sim.col.charged", "sim.col.denials", "sim.col.officer",
	"sim.col.credit", "sim.col.left_today", "sim.unknown_cards", "sim.blocked", "sim.unreachable",
	"word.green", "word.amber", "word.red", "word.open", "word.closed",
	"sim.keypad", "sim.progress", "sim.modem", "sim.far_ends", "sim.col.number", "sim.col.slot", "sim.col.does",
	"sim.col.change", "sim.seconds", "sim.set", "sim.at",
}

// pageTextsOf adds the page's words of the lists the script shows:
// progress and the far end's outcomes.
func pageTextsOf() []string {
	keys := append([]string(nil), pageTexts...)
	for _, w := range allProgress() {
		keys = append(keys, "sim.progress."+w)
	}
	for _, w := range scriptWords {
		keys = append(keys, "sim.script."+w, "sim.choose."+w)
	}
	return keys
}

// allProgress is every progress word: the call's stages and every way
// one ends (record.AllOutcomes).
func allProgress() []string {
	words := append([]string(nil), progressWords...)
	for _, o := range record.AllOutcomes {
		words = append(words, string(o))
	}
	return words
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	texts := map[string]string{}
	for _, k := range pageTextsOf() {
		texts[k] = s.cat.T(k)
	}
	var cards []cardButton
	for _, p := range s.roster {
		cards = append(cards, cardButton{Key: p.Short, Label: p.Info.Name, Role: string(p.Info.Role), Blocked: p.Info.Blocked})
	}
	cards = append(cards, cardButton{Key: "unknown", Label: s.cat.T("sim.unknown_card"), Role: "unknown"})
	var booths []pageBooth
	for _, st := range s.sites {
		pb := pageBooth{Name: st.name, Modem: st.modem != nil}
		if st.modem != nil {
			pb.Numbers = s.numberRows(st)
		}
		booths = append(booths, pb)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := s.page.Execute(w, struct {
		Lang    string
		Title   string
		Texts   map[string]string
		Cards   []cardButton
		Booths  []pageBooth
		Scripts []string
		Keys    []string
	}{s.cat.Lang(), s.cat.T("sim.title"), texts, cards, booths, scriptWords, keypadKeys})
	if err != nil {
		// The headers are sent: the log is where this can still be seen.
		s.log.Error("page not rendered", "err", err)
	}
}

// pageBooth is one booth's panel as the page's template draws it.
type pageBooth struct {
	Name    string
	Modem   bool
	Numbers []numberRow
}

// keypadKeys are the keypad's keys in the order a 3×4 keypad shows them.
var keypadKeys = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"}

// cardButton is one card the page offers to tap.
type cardButton struct {
	Key, Label, Role string
	Blocked          bool
}

// pageState is GET /api/state: everything the page shows.
type pageState struct {
	Lang     string       `json:"lang"`
	Facility string       `json:"facility"`
	Today    string       `json:"today"` // the allowance period's key
	Booths   []boothState `json:"booths"`
	Centre   centreState  `json:"centre"`
	Taken    time.Time    `json:"taken"`
}

type boothState struct {
	Name       string `json:"name"`
	Device     string `json:"device"`
	Error      string `json:"error,omitempty"` // the daemon did not answer
	State      string `json:"state"`
	StateText  string `json:"state_text"`
	Inmate     string `json:"inmate,omitempty"`
	InmateName string `json:"inmate_name,omitempty"`
	LeftMs     int64  `json:"left_ms"`
	// Pins are the outputs and switches as people see them: lamps,
	// buzzer and relay on; handset lifted; panel open.
	Pins          map[string]bool `json:"pins"`
	ReaderUp      bool            `json:"reader_up"`
	ReaderError   string          `json:"reader_error,omitempty"`
	GatewayOnline bool            `json:"gateway_online"`
	GatewayError  string          `json:"gateway_error,omitempty"`
	Outbox        int             `json:"outbox"`
	Calls         int             `json:"calls"`
	Denials       int             `json:"denials"`
	OfficerActs   int             `json:"officer_acts"`
	Events        []event         `json:"events"`
	Modem         *modemState     `json:"modem,omitempty"` // a booth with a modem
}

// modemState is a booth's modem as the page shows it: its health as the
// daemon reports it, the call's progress, what each number's far end does
// and the last commands the emulator received.
type modemState struct {
	Up           bool        `json:"up"`
	Text         string      `json:"text"` // operator and signal, or why it is down
	Progress     string      `json:"progress"`
	ProgressText string      `json:"progress_text"`
	Numbers      []numberRow `json:"numbers"`
	AT           []string    `json:"at"`
}

// numberRow is a registered demo number and what its far end does now.
type numberRow struct {
	Key     string `json:"key"` // boothrig.Number.Short
	Inmate  string `json:"inmate"`
	Slot    int    `json:"slot"`
	Label   string `json:"label"`
	E164    string `json:"e164"`
	Outcome string `json:"outcome"` // one of scriptWords
	AfterS  int    `json:"after_s"`
	Text    string `json:"text"`
}

type centreState struct {
	Error   string      `json:"error,omitempty"`
	Devices []deviceRow `json:"devices"`
	Inmates []inmateRow `json:"inmates"`
}

type deviceRow struct {
	Device   string    `json:"device"`
	LastSeen time.Time `json:"last_seen"`
	AgoMs    int64     `json:"ago_ms"` // -1: never
	Outbox   int       `json:"outbox"`
}

type inmateRow struct {
	Key            string `json:"key"` // the card button's key; "" for unknown cards
	Person         string `json:"person"`
	Name           string `json:"name"`
	Blocked        bool   `json:"blocked"`
	Calls          int64  `json:"calls"`
	TalkedMs       int64  `json:"talked_ms"`
	ChargedMs      int64  `json:"charged_ms"`
	Denials        int64  `json:"denials"`
	OfficerActions int64  `json:"officer_actions"`
	CreditMs       int64  `json:"credit_ms"`
	LeftTodayMs    int64  `json:"left_today_ms"` // -1: not an allowance holder (unknown cards)
}

func (s *server) state(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached == nil || s.now().Sub(s.cachedAt) >= stateMaxAge {
		b, err := json.Marshal(s.snapshot(r.Context()))
		if err != nil {
			httpError(w, http.StatusInternalServerError, "encoding the state: %v", err)
			return
		}
		s.cached, s.cachedAt = b, s.now()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(s.cached)
}

// snapshot looks at every booth and at the gateway's ledger.
func (s *server) snapshot(ctx context.Context) pageState {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now := s.now()
	ps := pageState{Lang: s.cat.Lang(), Facility: s.facility, Taken: now,
		Today: policy.PeriodOf(now, policy.Day, s.zone).Key}
	for _, st := range s.sites {
		ps.Booths = append(ps.Booths, s.boothState(ctx, st))
	}
	ps.Centre = s.centreState(ctx, now, ps.Today)
	return ps
}

func (s *server) boothState(ctx context.Context, st *site) boothState {
	bs := boothState{Name: st.name, Device: st.device, Pins: map[string]bool{}, Events: []event{}}
	if pins, err := st.b.Pins(); err == nil {
		// Levels as the example kiosk.toml wires them: outputs active
		// high, the hook switch active low, the panel switch high when open.
		for _, p := range []string{"lamp_green", "lamp_amber", "lamp_red", "buzzer", "relay", "tamper"} {
			bs.Pins[p] = pins[p] == "1"
		}
		bs.Pins["hook"] = pins["hook"] == "0"
	}
	s2, err := st.b.Status(ctx)
	st.feed.update(s2, err, s.now())
	bs.Events = st.feed.recent()
	if err != nil {
		bs.Error = s.cat.T("sim.not_running", err)
		bs.State, bs.StateText = "down", s.cat.T("sim.down")
		return bs
	}
	bs.State, bs.StateText = s2.Session.State, s.cat.State(s2.Session.State)
	bs.Inmate, bs.LeftMs = s2.Session.Inmate, s2.Session.LeftMs
	if bs.Inmate != "" {
		bs.InmateName = s.personName(bs.Inmate)
	}
	bs.GatewayOnline, bs.GatewayError = s2.Gateway.Online, s2.Gateway.LastError
	bs.Outbox, bs.Calls, bs.Denials, bs.OfficerActs = s2.Outbox, s2.Session.Calls, s2.Session.Denials, s2.Session.OfficerActs
	var raw struct {
		Reader struct {
			Up      bool
			LastErr string
		} `json:"reader"`
	}
	if json.Unmarshal(s2.Raw, &raw) == nil {
		bs.ReaderUp, bs.ReaderError = raw.Reader.Up, raw.Reader.LastErr
	}
	if st.modem != nil {
		bs.Modem = s.modemState(st, s2)
	}
	return bs
}

// atShown is how many of the emulator's last commands the page shows.
const atShown = 8

func (s *server) modemState(st *site, s2 boothrig.Status) *modemState {
	ms := &modemState{Numbers: s.numberRows(st), AT: []string{}}
	var denial string
	ms.Progress, denial = st.feed.progress(s2.Session.State)
	if ms.Progress == "denied" {
		ms.ProgressText = s.cat.T("sim.progress.denied", s.cat.Denial(denial))
	} else {
		ms.ProgressText = s.cat.T("sim.progress." + ms.Progress)
	}
	var raw struct {
		Modem *struct {
			Up              bool
			Cause, Err, SIM string
			RSSI            int
			Operator        string
		} `json:"modem"`
	}
	if json.Unmarshal(s2.Raw, &raw) == nil && raw.Modem != nil {
		m := raw.Modem
		ms.Up = m.Up
		if m.Up {
			ms.Text = fmt.Sprintf("%s, +CSQ %d", m.Operator, m.RSSI)
		} else {
			ms.Text = strings.TrimSpace(m.Cause + " " + m.Err)
		}
	}
	cmds := st.modem.Commands()
	ms.AT = append(ms.AT, cmds[max(len(cmds)-atShown, 0):]...)
	return ms
}

// numberRows are the demo numbers with what their far ends do at st.
func (s *server) numberRows(st *site) []numberRow {
	scripts := st.modem.Scripts()
	rows := []numberRow{}
	for _, n := range s.numbers {
		sc, ok := scripts[n.E164]
		if !ok {
			sc = modemtest.Script{Outcome: modemtest.Ring}
		}
		word, after := scriptWord(sc)
		text := s.cat.T("sim.script."+word, after)
		if word == "ring" {
			text = s.cat.T("sim.script.ring")
		}
		rows = append(rows, numberRow{Key: n.Short, Inmate: s.personName(n.Person), Slot: n.Slot, Label: n.Label, E164: n.E164,
			Outcome: word, AfterS: after, Text: text})
	}
	return rows
}

func (s *server) centreState(ctx context.Context, now time.Time, today string) centreState {
	cs := centreState{Devices: []deviceRow{}, Inmates: []inmateRow{}}
	if s.centre == nil {
		return cs
	}
	var errs []error
	devs, err := s.centre.Devices(ctx, s.facility)
	errs = append(errs, err)
	for _, d := range devs {
		row := deviceRow{Device: d.Device, LastSeen: d.LastSeen, AgoMs: -1, Outbox: d.OutboxDepth}
		if !d.LastSeen.IsZero() {
			row.AgoMs = max(now.Sub(d.LastSeen).Milliseconds(), 0)
		}
		cs.Devices = append(cs.Devices, row)
	}
	rows, err := s.centre.MonthlyReport(ctx, s.facility, now.In(s.zone).Format("2006-01"))
	errs = append(errs, err)
	byPerson := map[string]ledger.ReportRow{}
	for _, r := range rows {
		byPerson[r.Inmate] = r
	}
	for _, p := range s.roster {
		if p.Info.Role != record.RoleInmate {
			continue
		}
		r := byPerson[p.Info.Person]
		delete(byPerson, p.Info.Person)
		row := reportRow(p.Short, p.Info.Person, p.Info.Name, r)
		row.Blocked = p.Info.Blocked
		allowance := s.allowance
		if p.Info.Allowance > 0 {
			allowance = p.Info.Allowance
		}
		used, credit, err := s.centre.Balance(ctx, s.facility, p.Info.Person, today)
		errs = append(errs, err)
		row.LeftTodayMs = max(allowance+credit-used, 0).Milliseconds()
		cs.Inmates = append(cs.Inmates, row)
	}
	// Inmates of the ledger not in the demo roster, and the denials of
	// unknown cards (Inmate ""), last.
	rest := make([]string, 0, len(byPerson))
	for k := range byPerson {
		rest = append(rest, k)
	}
	slices.Sort(rest)
	slices.Reverse(rest) // "" last
	for _, k := range rest {
		name := k
		if k == "" {
			name = s.cat.T("sim.unknown_cards")
		}
		row := reportRow("", k, name, byPerson[k])
		row.LeftTodayMs = -1
		cs.Inmates = append(cs.Inmates, row)
	}
	if err := errors.Join(errs...); err != nil {
		cs.Error = "gateway ledger: " + err.Error()
	}
	return cs
}

func reportRow(key, person, name string, r ledger.ReportRow) inmateRow {
	return inmateRow{Key: key, Person: person, Name: name, Calls: r.Calls, TalkedMs: r.Talked.Milliseconds(),
		ChargedMs: r.Charged.Milliseconds(), Denials: r.Denials, OfficerActions: r.OfficerActions, CreditMs: r.Credit.Milliseconds()}
}

// personName is the roster's name of a person id, or the id.
func (s *server) personName(person string) string { return personNamer(s.roster)(person) }

// maxBody bounds a request body: the API takes a card id or a flag.
const maxBody = 1 << 10

// act is POST /api/booths/{name}/{action}: tap, lift, hang, panel.
func (s *server) act(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	var st *site
	for _, x := range s.sites {
		if x.name == name {
			st = x
		}
	}
	if st == nil {
		httpError(w, http.StatusNotFound, "no booth %q here: the booths are %s", name, s.boothNames())
		return
	}
	var body struct {
		Card    string `json:"card"`
		Open    *bool  `json:"open"`
		Key     string `json:"key"`
		Number  string `json:"number"`
		Outcome string `json:"outcome"`
		AfterS  *int   `json:"after_s"`
	}
	if (action == "key" || action == "script") && st.modem == nil {
		httpError(w, http.StatusNotFound, "%s is a relay-only booth: no keypad, nothing dialled; the booths with a modem are %s", name, s.modemNames())
		return
	}
	if action == "tap" || action == "panel" || action == "key" || action == "script" {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			httpError(w, http.StatusBadRequest, "%s %s: the body must be JSON such as %s: %v", name, action, exampleBody[action], err)
			return
		}
	}
	var err error
	switch action {
	case "tap":
		card, ok := s.card(body.Card)
		if !ok {
			httpError(w, http.StatusBadRequest, "%s tap: unknown card %q: give a demo name (%s), \"unknown\", or an EM card id such as em:0400D8B2A5", name, body.Card, s.cardNames())
			return
		}
		err = st.b.Tap(card)
	case "lift":
		err = st.b.Lift()
	case "hang":
		err = st.b.Hang()
	case "panel":
		if body.Open == nil {
			httpError(w, http.StatusBadRequest, "%s panel: say {\"open\": true} or {\"open\": false}", name)
			return
		}
		err = st.b.Panel(*body.Open)
	case "key":
		if len(body.Key) != 1 || !strings.Contains("0123456789*#", body.Key) {
			httpError(w, http.StatusBadRequest, "%s key: %q is not a key of the keypad: send one of 0-9, * or #, e.g. {\"key\":\"1\"}", name, body.Key)
			return
		}
		err = st.modem.Key(rune(body.Key[0]))
	case "script":
		var n *boothrig.Number
		for i := range s.numbers {
			if s.numbers[i].Short == body.Number || s.numbers[i].E164 == body.Number {
				n = &s.numbers[i]
			}
		}
		if n == nil {
			httpError(w, http.StatusBadRequest, "%s script: no registered demo number %q: give one of %s", name, body.Number, s.numberNames())
			return
		}
		after := 0
		if body.AfterS != nil {
			after = *body.AfterS
		}
		sc, ok := scriptOf(body.Outcome, after)
		if !ok {
			httpError(w, http.StatusBadRequest, "%s script: outcome %q with after_s %d: want one of %s and 0 to 600 seconds, e.g. %s",
				name, body.Outcome, after, strings.Join(scriptWords, ", "), exampleBody["script"])
			return
		}
		err = st.modem.Script(n.E164, sc)
	default:
		httpError(w, http.StatusNotFound, "%s: no action %q: use tap, lift, hang, panel, key or script", name, action)
		return
	}
	if err != nil {
		httpError(w, http.StatusInternalServerError, "%s %s: %v", name, action, err)
		return
	}
	s.mu.Lock()
	s.cached = nil // the next look shows the effect's beginning
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

var exampleBody = map[string]string{"tap": `{"card":"budi"}`, "panel": `{"open":true}`, "key": `{"key":"1"}`,
	"script": `{"number":"budi-1","outcome":"answer","after_s":2}`}

// scriptWords are the far end's behaviours the page offers.
var scriptWords = []string{"answer", "busy", "no_answer", "drop", "fail", "ring"}

// scriptOf is the emulator's script for a behaviour the page chose: after
// seconds of ringing answer, busy, no answer or fail; drop answers after a
// second and hangs up after seconds; ring rings until the booth gives up.
func scriptOf(word string, after int) (modemtest.Script, bool) {
	if after < 0 || after > 600 {
		return modemtest.Script{}, false
	}
	d := time.Duration(after) * time.Second
	switch word {
	case "answer":
		return modemtest.Script{Outcome: modemtest.Answer, After: d}, true
	case "busy":
		return modemtest.Script{Outcome: modemtest.Busy, After: d}, true
	case "no_answer":
		return modemtest.Script{Outcome: modemtest.NoAnswer, After: d}, true
	case "fail":
		return modemtest.Script{Outcome: modemtest.Fail, After: d}, true
	case "drop":
		return modemtest.Script{Outcome: modemtest.Answer, After: time.Second, DropAfter: max(d, time.Second)}, true
	case "ring":
		return modemtest.Script{Outcome: modemtest.Ring}, true
	}
	return modemtest.Script{}, false
}

// scriptWord is the page's word and seconds for a script.
func scriptWord(sc modemtest.Script) (string, int) {
	secs := func(d time.Duration) int { return int(d / time.Second) }
	switch {
	case sc.Outcome == modemtest.Answer && sc.DropAfter > 0:
		return "drop", secs(sc.DropAfter)
	case sc.Outcome == modemtest.Answer:
		return "answer", secs(sc.After)
	case sc.Outcome == modemtest.Busy:
		return "busy", secs(sc.After)
	case sc.Outcome == modemtest.NoAnswer:
		return "no_answer", secs(sc.After)
	case sc.Outcome == modemtest.Fail:
		return "fail", secs(sc.After)
	}
	return "ring", 0
}

func (s *server) modemNames() string {
	var n []string
	for _, st := range s.sites {
		if st.modem != nil {
			n = append(n, st.name)
		}
	}
	if len(n) == 0 {
		return "none (simbooth -modems 1)"
	}
	return strings.Join(n, ", ")
}

func (s *server) numberNames() string {
	var n []string
	for _, x := range s.numbers {
		n = append(n, x.Short)
	}
	return strings.Join(n, ", ")
}

// card resolves a demo name, "unknown", or an EM card id.
func (s *server) card(key string) (cardid.ID, bool) {
	if key == "unknown" {
		return boothrig.UnknownCard, true
	}
	for _, p := range s.roster {
		if p.Short == key {
			return cardid.ID(p.Info.Card), true
		}
	}
	// The emulated readers speak EM4100: five bytes, ten hex digits.
	c := cardid.ID(key)
	return c, c.Tech() == cardid.TechEM && len(c.UID()) == 10 && c.Valid()
}

func (s *server) boothNames() string {
	var n []string
	for _, st := range s.sites {
		n = append(n, st.name)
	}
	return strings.Join(n, ", ")
}

func (s *server) cardNames() string {
	var n []string
	for _, p := range s.roster {
		n = append(n, p.Short)
	}
	return strings.Join(n, ", ")
}

// httpError answers {"error": "..."}: the page shows the message as is.
func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf(format, args...)})
}
