package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", to read the gateway's records

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/tools/testbed/boothrig"
)

// Config is what every drill runs with.
type Config struct {
	KioskBin, GatewayBin string
	// Dir holds one folder per drill (its rig, gateway and booths).
	Dir string
	// Seed draws every random choice of the drills; a failing run repeats
	// with the same seed (timing on the machine aside).
	Seed uint64
	// Calls is how many calls the power-cut drill makes; Records how many
	// records the network drill queues.
	Calls, Records int
	// Short is the bounded form `go test` runs: fewer repetitions, one
	// direction of the clock jump.
	Short bool
	// Log receives the daemons' logs and the drills' progress (nil: none).
	Log io.Writer
}

// Drill is one fault drill: Run does it and returns its summary (what was
// done, how many times, what was lost); lost lists what broke an invariant,
// err a drill that could not be carried out (a harness fault or a hang).
type Drill struct {
	Name string
	Run  func(ctx context.Context, c *Config) (summary string, lost []string, err error)
}

// Drills are all the drills, in the order `drill` runs them.
var Drills = []Drill{
	{"power-cut", powerCut},
	{"network", network},
	{"disk-full", diskFull},
	{"reader-unplug", readerUnplug},
	{"gateway-restart", gatewayRestart},
	{"clock-jump", clockJump},
	{"dial-crash", dialCrash},
}

// Line is the one summary line of a drill's outcome.
func Line(name, summary string, lost []string, err error) string {
	switch {
	case err != nil:
		return fmt.Sprintf("%s: %s — ERROR: %v", name, summary, err)
	case len(lost) > 0:
		return fmt.Sprintf("%s: %s — FAIL: %s", name, summary, strings.Join(lost, "; "))
	}
	return fmt.Sprintf("%s: %s — PASS", name, summary)
}

// Bounds of the drills. None is an assertion on speed: each only ends a
// hang so the drill reports it instead of waiting forever.
const (
	// hang bounds one wait for a booth or the gateway to react.
	hang = 30 * time.Second
	// drainHang bounds the wait for a backlog to reach the gateway; the
	// booths' backoff after a long outage reaches minutes (uplink
	// BackoffMax 5 min).
	drainHang = 8 * time.Minute
	// checkpoint is the booths' checkpoint interval in the billing drills:
	// the most a power cut may leave unbilled.
	checkpoint = time.Second
	// billingUnit is the rounding of per-second billing: charged is the
	// talk time truncated to whole seconds.
	billingUnit = time.Second
	// hookSlack bounds how far the booth's view of the hook lags the
	// drill's writes of the hook file: 30 ms debounce, 10 ms poll, and the
	// scheduling of a loaded 2-core machine. It is not billing tolerance:
	// the booth's talk interval is the drill's shifted by these lags.
	hookSlack = 250 * time.Millisecond
)

// drillRules give every drill inmate hours of minutes, calls up to ten
// minutes and a short checkpoint, so no one runs out and a power cut loses
// at most a second.
var drillRules = boothrig.Rules{Allowance: 24 * time.Hour, PerCall: 10 * time.Minute, Checkpoint: checkpoint}

// blockedCard is a roster card that is blocked.
const blockedCard = "em:0BADC0FFEE"

// drillRoster is n inmates with large allowances, one officer and one
// blocked card.
func drillRoster(n int) (cards []record.CardInfo, inmates []record.CardInfo) {
	for i := 1; i <= n; i++ {
		c := record.CardInfo{
			Card: fmt.Sprintf("em:5A%08X", i), Role: record.RoleInmate, Person: fmt.Sprintf("DRL-%04d", i),
			Name: fmt.Sprintf("Drill Inmate %d", i), Block: "A", Allowance: 20 * time.Hour,
		}
		inmates = append(inmates, c)
	}
	cards = append(cards, inmates...)
	cards = append(cards,
		record.CardInfo{Card: "em:1A2B3C4D5E", Role: record.RoleOfficer, Person: "PTG-0001", Name: "Officer"},
		record.CardInfo{Card: blockedCard, Role: record.RoleInmate, Person: "WBP-BLOCK", Name: "Blocked", Block: "B", Blocked: true},
	)
	return cards, inmates
}

// unknownCard is the i-th card in no roster: each tap a new card, so the
// reader never takes it for the previous one still held.
func unknownCard(i int) cardid.ID { return cardid.ID(fmt.Sprintf("em:00%08X", 0xDE000000+i)) }

// rng is the drill's random source: one stream per drill, from the seed.
func rng(c *Config, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(c.Seed, stream)) }

// startRig starts a rig under dir/name with the drill roster and rules.
func startRig(ctx context.Context, c *Config, name string, booths int, roster []record.CardInfo, configure func(*boothrig.Booth, string) (string, error)) (*boothrig.Rig, error) {
	dir := filepath.Join(c.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r, err := boothrig.Start(ctx, boothrig.Options{
		Dir: dir, Booths: booths, KioskBin: c.KioskBin, GatewayBin: c.GatewayBin,
		Roster: roster, Rules: drillRules, Log: c.Log, Configure: configure,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// setKeys applies SetKey edits to a kiosk.toml, failing on a missing key.
func setKeys(doc string, kv ...string) (string, error) {
	for i := 0; i+2 < len(kv); i += 3 {
		var ok bool
		if doc, ok = boothrig.SetKey(doc, kv[i], kv[i+1], kv[i+2]); !ok {
			return "", fmt.Errorf("kiosk.toml has no key %s in [%s]", kv[i+1], kv[i])
		}
	}
	return doc, nil
}

// call makes one whole call: tap, granted, lift (relay on), talk for talk,
// hang up, relay off. It returns the talk time it measured (lift → hang).
func call(ctx context.Context, b *boothrig.Booth, card cardid.ID, talk time.Duration) (time.Duration, error) {
	measured, err := callNoWait(ctx, b, card, talk)
	if err != nil {
		return measured, err
	}
	wctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	if err := b.WaitRelay(wctx, false); err != nil {
		return measured, err
	}
	_, err = b.WaitStatus(wctx, func(s boothrig.Status) bool { return s.Session.State == "ready" })
	return measured, err
}

// tapGranted taps card and waits for the grant, the relay still open (it
// closes when the handset is lifted); a denial ends the wait at once. The booth's typed activity (its status socket) tells
// which came.
func tapGranted(ctx context.Context, b *boothrig.Booth, card cardid.ID) error {
	wctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	before, err := b.WaitStatus(wctx, func(s boothrig.Status) bool { return s.Session.State == "ready" })
	if err != nil {
		return err
	}
	if err := b.Tap(card); err != nil {
		return err
	}
	a, err := b.WaitActivity(wctx, before.LastSeq(), func(a boothrig.Activity) bool {
		return a.Kind == session.ActivityGranted || a.Kind == session.ActivityDenied
	})
	if err != nil {
		return fmt.Errorf("tap of %s: %w", card, err)
	}
	if a.Kind == session.ActivityDenied {
		return fmt.Errorf("tap of %s denied: %s (inmate %q); see %s/kiosk.log", card, a.Denial, a.Inmate, b.Dir)
	}
	// Granted, the handset down: nothing is heard until it is lifted.
	if on, err := b.Relay(); err != nil || on {
		s, _ := b.Status(wctx)
		return fmt.Errorf("tap of %s: relay on (%v) while granted with the handset down (status %s)", card, err, s.Raw)
	}
	return nil
}

// tapDenied taps card and waits for the booth's denied activity.
func tapDenied(ctx context.Context, b *boothrig.Booth, card cardid.ID) error {
	wctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	before, err := b.WaitStatus(wctx, func(s boothrig.Status) bool { return s.Session.State == "ready" })
	if err != nil {
		return err
	}
	if err := b.Tap(card); err != nil {
		return err
	}
	a, err := b.WaitActivity(wctx, before.LastSeq(), func(a boothrig.Activity) bool {
		return a.Kind == session.ActivityDenied || a.Kind == session.ActivityGranted
	})
	if err == nil && a.Kind == session.ActivityGranted {
		return fmt.Errorf("tap of %s: call %d granted, want a denial", card, a.CallID)
	}
	return err
}

// gwRecord is one record as the gateway stored it.
type gwRecord struct {
	Device  string
	Seq     uint64
	Kind    record.Kind
	Payload []byte
}

// gatewayDB reads the gateway's own tables beside the serving process
// (SQLite WAL allows readers): the ledger's Store has no per-record query.
type gatewayDB struct{ db *sql.DB }

func openGatewayDB(r *boothrig.Rig) (*gatewayDB, error) {
	db, err := boothrig.OpenGatewayDB(r.Gateway.Dir)
	if err != nil {
		return nil, err
	}
	return &gatewayDB{db}, nil
}

func (g *gatewayDB) Close() error { return g.db.Close() }

// records returns device's stored records by sequence.
func (g *gatewayDB) records(ctx context.Context, device string) ([]gwRecord, error) {
	rows, err := g.db.QueryContext(ctx, `SELECT device, seq, kind, payload FROM records WHERE device = ? ORDER BY seq`, device)
	if err != nil {
		return nil, fmt.Errorf("read the gateway's records of %s: %w", device, err)
	}
	defer rows.Close()
	var out []gwRecord
	for rows.Next() {
		var r gwRecord
		if err := rows.Scan(&r.Device, &r.Seq, &r.Kind, &r.Payload); err != nil {
			return nil, fmt.Errorf("read the gateway's records of %s: %w", device, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// count returns how many records of kind (all: "") device has stored.
func (g *gatewayDB) count(ctx context.Context, device string, kind record.Kind) (int, error) {
	var n int
	err := g.db.QueryRowContext(ctx, `SELECT count(*) FROM records WHERE device = ? AND (? = '' OR kind = ?)`, device, string(kind), string(kind)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the gateway's records of %s: %w", device, err)
	}
	return n, nil
}

// conflicts counts records kept aside as conflicts (same seq, other hash).
func (g *gatewayDB) conflicts(ctx context.Context) (int, error) {
	var n int
	if err := g.db.QueryRowContext(ctx, `SELECT count(*) FROM conflicts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the gateway's conflicts: %w", err)
	}
	return n, nil
}

// waitCount waits until device has at least n records of kind at the
// gateway.
func (g *gatewayDB) waitCount(ctx context.Context, device string, kind record.Kind, n int, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	last := -1
	for {
		got, err := g.count(ctx, device, kind)
		if err == nil && got >= n {
			return nil
		}
		if err == nil {
			last = got
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the gateway has %d of %d %s records of %s: %w", last, n, kindName(kind), device, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func kindName(k record.Kind) string {
	if k == "" {
		return "all"
	}
	return string(k)
}

// chainCheck verifies a device's records at the gateway: sequences 1..n
// each once, no conflicts, no chain flags. It returns the records and what
// is wrong.
func chainCheck(ctx context.Context, g *gatewayDB, r *boothrig.Rig, device string) ([]gwRecord, []string, error) {
	recs, err := g.records(ctx, device)
	if err != nil {
		return nil, nil, err
	}
	var lost []string
	for i, rec := range recs {
		if rec.Seq != uint64(i+1) {
			lost = append(lost, fmt.Sprintf("%s: record %d of the gateway has seq %d (a gap or a duplicate)", device, i+1, rec.Seq))
			break
		}
	}
	l, err := r.Ledger()
	if err != nil {
		return nil, nil, err
	}
	errs, err := l.ChainErrors(ctx, device)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range errs {
		lost = append(lost, fmt.Sprintf("%s: chain error %s at seq %d: %s", device, e.Kind, e.Seq, e.Detail))
	}
	return recs, lost, nil
}

// callsAtGateway waits for want call records of device at the gateway,
// checks the device's chain, and returns its call records and what was
// lost (a shortfall, chain errors).
func callsAtGateway(ctx context.Context, g *gatewayDB, r *boothrig.Rig, device string, want int) ([]record.Call, []string, error) {
	var lost []string
	if err := g.waitCount(ctx, device, record.KindCall, want, drainHang); err != nil {
		lost = append(lost, err.Error())
	}
	recs, chainLost, err := chainCheck(ctx, g, r, device)
	if err != nil {
		return nil, nil, err
	}
	calls, err := callsOf(recs)
	if err != nil {
		return nil, nil, err
	}
	return calls, append(lost, chainLost...), nil
}

// callsOf decodes the call records among recs, by sequence.
func callsOf(recs []gwRecord) ([]record.Call, error) {
	var out []record.Call
	for _, r := range recs {
		if r.Kind != record.KindCall {
			continue
		}
		var c record.Call
		if err := json.Unmarshal(r.Payload, &c); err != nil {
			return nil, fmt.Errorf("call record %s seq %d: %w", r.Device, r.Seq, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// billingCheck compares a call's record with the talk time the drill
// measured: never billed more than measured, nor less than measured minus
// the lost interval (one checkpoint for a power cut, none otherwise) and
// one billing unit (per-second billing truncates).
func billingCheck(what string, c record.Call, measured, lostInterval time.Duration) []string {
	charged := time.Duration(c.ChargedMs) * time.Millisecond
	var lost []string
	if charged > measured+hookSlack {
		lost = append(lost, fmt.Sprintf("%s: over-billed: charged %v for %v talked (measured by the drill)", what, charged, measured.Round(time.Millisecond)))
	}
	if floor := measured - lostInterval - billingUnit - hookSlack; charged < floor {
		lost = append(lost, fmt.Sprintf("%s: under-billed: charged %v for %v talked, below %v", what, charged, measured.Round(time.Millisecond), floor.Round(time.Millisecond)))
	}
	if c.ChargedMs != c.TalkedMs/1000*1000 {
		lost = append(lost, fmt.Sprintf("%s: charged %d ms for %d ms talked: per-second billing truncates to whole seconds", what, c.ChargedMs, c.TalkedMs))
	}
	return lost
}

// rawStatus is the part of the status document the rig's Status leaves
// out: the clock offset the uplink measured, the last roster sync.
type rawStatus struct {
	Gateway struct {
		ClockOffsetMs int64     `json:"clock_offset_ms"`
		ClockKnown    bool      `json:"clock_known"`
		LastSync      time.Time `json:"last_sync"`
	} `json:"gateway"`
}

func parseRaw(s boothrig.Status) (rawStatus, error) {
	var r rawStatus
	err := json.Unmarshal(s.Raw, &r)
	return r, err
}

// sortedKeys is m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// ingestCounts reads the gateway's wartel_records_ingested_total counters
// (since its start) by status: stored, duplicate, conflict.
func ingestCounts(ctx context.Context, metricsURL string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the gateway's metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the gateway's metrics: %w", err)
	}
	return parseIngest(string(body)), nil
}

// parseIngest picks the ingest counters out of a Prometheus text page.
func parseIngest(page string) map[string]float64 {
	m := map[string]float64{}
	for _, l := range strings.Split(page, "\n") {
		rest, ok := strings.CutPrefix(l, `wartel_records_ingested_total{status="`)
		if !ok {
			continue
		}
		status, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			m[status] = v
		}
	}
	return m
}

var errSkip = errors.New("skipped")
