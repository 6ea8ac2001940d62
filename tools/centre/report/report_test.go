package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/ledger/ledgertest"
)

func officers(credits ...int) []ledger.OfficerRow {
	var out []ledger.OfficerRow
	for i, c := range credits {
		out = append(out, ledger.OfficerRow{Officer: fmt.Sprintf("P-%d", i+1), Grants: int64(c / 10), Credit: time.Duration(c) * time.Minute})
	}
	return out
}

// TestCompare: who is marked, by the robust z-score over the facility's
// officers; the MAD falls back to the mean absolute deviation when most
// officers credit the same; too few officers, or all alike, mark nobody.
func TestCompare(t *testing.T) {
	tests := []struct {
		name     string
		rows     []ledger.OfficerRow
		made     bool
		outliers []string
	}{
		{"one officer far above eight alike ones", officers(30, 40, 35, 45, 30, 50, 40, 600), true, []string{"P-8"}},
		// With mean and standard deviation P-8's z would be 2.47 at most: hidden.
		{"the same with two high ones", officers(30, 40, 35, 45, 30, 50, 600, 650), true, []string{"P-7", "P-8"}},
		{"a spread-out facility", officers(10, 80, 150, 40, 120, 60), true, nil},
		{"MAD 0: most credit nothing", officers(0, 0, 0, 0, 10, 300), true, []string{"P-6"}},
		{"all alike", officers(20, 20, 20, 20), true, nil},
		{"two officers: no comparison", officers(10, 900), false, nil},
		{"none", nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, c := compare(tt.rows)
			if c.Made != tt.made {
				t.Errorf("comparison made %v, want %v", c.Made, tt.made)
			}
			var out []string
			for _, o := range got {
				if o.Outlier {
					out = append(out, o.Officer)
				}
			}
			if !slices.Equal(out, tt.outliers) {
				t.Errorf("outliers %v, want %v (%+v %+v)", out, tt.outliers, got, c)
			}
		})
	}
}

// TestCompareProperties: the scores do not depend on the order of the
// officers, and only an officer above the median is ever marked.
func TestCompareProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		credits := rapid.SliceOfN(rapid.IntRange(0, 2000), 0, 25).Draw(t, "credits")
		rows := officers(credits...)
		got, c := compare(rows)
		perm := slices.Clone(rows)
		seed := rapid.Int().Draw(t, "seed")
		for i := len(perm) - 1; i > 0; i-- {
			j := (seed + i*7919) % (i + 1)
			if j < 0 {
				j = -j
			}
			perm[i], perm[j] = perm[j], perm[i]
		}
		again, _ := compare(perm)
		byName := map[string]Officer{}
		for _, o := range again {
			byName[o.Officer] = o
		}
		for _, o := range got {
			if p := byName[o.Officer]; p.CreditZ != o.CreditZ || p.ActionsZ != o.ActionsZ || p.Outlier != o.Outlier {
				t.Fatalf("officer %s scored %+v in one order, %+v in another", o.Officer, o, p)
			}
			if o.Outlier && o.Credit.Minutes() <= c.CreditMedian && float64(o.Actions()) <= c.ActionsMedian {
				t.Fatalf("officer %+v marked at or below both medians %+v", o, c)
			}
		}
	})
}

// seal appends a record to a booth's chain.
func seal(recs []record.Record, device string, kind record.Kind, payload any) []record.Record {
	p, _ := json.Marshal(payload)
	r := record.Record{Device: device, Seq: uint64(len(recs) + 1), Kind: kind, Payload: p}
	var prev *record.Record
	if len(recs) > 0 {
		prev = &recs[len(recs)-1]
	}
	r.Seal(prev)
	return append(recs, r)
}

// facility is a ledger holding one month of a facility with a policy in
// Jakarta time: calls on three days (one whose booth clock is in
// October), and four officers of whom P-4 credits far more.
func facility(t *testing.T) ledger.Store {
	t.Helper()
	s, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	var cards []record.CardInfo
	for i := 1; i <= 4; i++ {
		cards = append(cards, record.CardInfo{Card: fmt.Sprintf("em:P%d", i), Role: record.RoleOfficer, Person: fmt.Sprintf("P-%d", i)})
	}
	cards = append(cards, record.CardInfo{Card: "em:X", Role: record.RoleOfficer, Person: "=HYPERLINK(\"x\")<script>"})
	if _, err := s.UpsertCards(ctx, "lp", "operator", cards); err != nil {
		t.Fatal(err)
	}
	ledgertest.ApproveOfficers(t, s, "lp", "supervisor")
	if _, err := s.SetPolicy(ctx, "lp", []byte(`{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta"}`)); err != nil {
		t.Fatal(err)
	}
	jkt, _ := time.LoadLocation("Asia/Jakarta")
	var recs []record.Record
	call := func(inmate string, at time.Time, min int) {
		recs = seal(recs, "lp/b01", record.KindCall, record.Call{Card: "em:" + inmate, Inmate: inmate, Period: "2026-11", AuthorisedAt: at,
			MaxMs: 3600000, TalkedMs: int64(min)*60000 + 900, ChargedMs: int64(min) * 60000, EndReason: "hangup"})
	}
	call("W-1", time.Date(2026, 11, 2, 8, 10, 0, 0, jkt), 5)  // Monday 08:00
	call("W-2", time.Date(2026, 11, 2, 8, 40, 0, 0, jkt), 7)  // Monday 08:00
	call("W-1", time.Date(2026, 11, 6, 14, 0, 0, 0, jkt), 3)  // Friday 14:00
	call("W-3", time.Date(2026, 10, 31, 23, 0, 0, 0, jkt), 2) // booth clock a day behind: undated; Saturday 23:00
	officer := func(p, card, action, inmate string, min int) {
		recs = seal(recs, "lp/b01", record.KindOfficer, record.Officer{At: time.Date(2026, 11, 3, 9, 0, 0, 0, jkt), Officer: p, OfficerCard: card,
			Action: record.OfficerAction(action), Inmate: inmate, Period: "2026-11", CreditMs: int64(min) * 60000})
	}
	for i := 1; i <= 3; i++ {
		officer(fmt.Sprintf("P-%d", i), fmt.Sprintf("em:P%d", i), "grant", "W-1", 10+i)
	}
	for i := range 6 {
		officer("P-4", "em:P4", "reset", fmt.Sprintf("W-%d", i%3+1), 60)
	}
	officer("P-4", "em:P1", "grant", "W-1", 30) // not P-4's card: withheld
	officer("=HYPERLINK(\"x\")<script>", "em:X", "end_call", "W-2", 0)
	if _, err := s.Ingest(ctx, "lp/b01", recs); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBuild: the days, the week grid and the per-officer rows of a month,
// the same figures as the ledger's.
func TestBuild(t *testing.T) {
	s := facility(t)
	m, err := Build(context.Background(), s, "lp", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Days) != 30 || m.Days[0].Date.Format(time.RFC3339) != "2026-11-01T00:00:00+07:00" {
		t.Fatalf("days %d from %v", len(m.Days), m.Days[0].Date)
	}
	if d := m.Days[1]; d.Calls != 2 || d.Charged != 12*time.Minute {
		t.Errorf("2 November: %+v", d)
	}
	if d := m.Days[5]; d.Calls != 1 || d.Charged != 3*time.Minute {
		t.Errorf("6 November: %+v", d)
	}
	if m.Undated.Calls != 1 || m.Total.Calls != 4 || m.Total.Charged != 17*time.Minute {
		t.Errorf("undated %+v total %+v", m.Undated, m.Total)
	}
	var days Use
	for _, d := range m.Days {
		days.Calls += d.Calls
		days.Charged += d.Charged
	}
	if days.Calls+m.Undated.Calls != m.Total.Calls || days.Charged+m.Undated.Charged != m.Total.Charged {
		t.Errorf("days %+v + undated %+v ≠ total %+v", days, m.Undated, m.Total)
	}
	if m.Week[0][8].Calls != 2 || m.Week[4][14].Calls != 1 || m.Week[5][23].Calls != 1 {
		t.Errorf("week: Mon 08 %+v, Fri 14 %+v, Sat 23 %+v", m.Week[0][8], m.Week[4][14], m.Week[5][23])
	}
	// The report's totals are the ledger's.
	var charged time.Duration
	var calls int64
	for _, r := range m.Inmates {
		charged += r.Charged
		calls += r.Calls
	}
	if charged != m.Total.Charged || calls != m.Total.Calls {
		t.Errorf("inmates sum %d calls %v, total %+v", calls, charged, m.Total)
	}
	var got []string
	for _, o := range m.Officers {
		got = append(got, fmt.Sprintf("%s r%d g%d o%d %v i%d w%d %v", o.Officer, o.Resets, o.Grants, o.Other, o.Credit, o.Inmates, o.Withheld, o.Outlier))
	}
	want := []string{
		`=HYPERLINK("x")<script> r0 g0 o1 0s i1 w0 false`,
		"P-1 r0 g1 o0 11m0s i1 w0 false",
		"P-2 r0 g1 o0 12m0s i1 w0 false",
		"P-3 r0 g1 o0 13m0s i1 w0 false",
		"P-4 r6 g1 o0 6h0m0s i3 w1 true",
	}
	if !slices.Equal(got, want) {
		t.Errorf("officers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !m.Comparison.Made || m.Comparison.CreditMedian != 12 {
		t.Errorf("comparison %+v", m.Comparison)
	}
	if _, err := Build(context.Background(), s, "lp", "11/2026"); err == nil {
		t.Error("a month not YYYY-MM accepted")
	}
}

// TestCSV: RFC 4180 (a header, CRLF, quoting), one row per day (and one
// undated) and one per officer, ids inert in a spreadsheet.
func TestCSV(t *testing.T) {
	m, err := Build(context.Background(), facility(t), "lp", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	read := func(write func(io.Writer, Monthly) error) [][]string {
		var b bytes.Buffer
		if err := write(&b, m); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) || bytes.Count(b.Bytes(), []byte("\n")) != bytes.Count(b.Bytes(), []byte("\r\n")) {
			t.Errorf("not CRLF lines: %q", b.String())
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	days := read(WriteDaysCSV)
	if !slices.Equal(days[0], DaysHeader) || len(days) != 1+30+1 {
		t.Fatalf("days csv: %d rows, header %q", len(days), days[0])
	}
	if !slices.Equal(days[2], []string{"2026-11-02", "2", "721", "720"}) || !slices.Equal(days[31], []string{UndatedDate, "1", "120", "120"}) {
		t.Errorf("days csv rows %q %q", days[2], days[31])
	}
	offs := read(WriteOfficersCSV)
	if !slices.Equal(offs[0], OfficersHeader) || len(offs) != 1+5 {
		t.Fatalf("officers csv %q", offs)
	}
	if offs[1][0] != `'=HYPERLINK("x")<script>` {
		t.Errorf("an officer id a spreadsheet would run: %q", offs[1][0])
	}
	if !slices.Equal(offs[5][:7], []string{"P-4", "6", "1", "0", "21600", "3", "1"}) || offs[5][9] != "yes" || offs[2][9] != "no" {
		t.Errorf("officers csv rows %q %q", offs[2], offs[5])
	}
}

// TestCharts: every chart is well-formed SVG with its accessible name
// and description, loads nothing, runs nothing, shows a hostile id as
// text, and marks the outlier in words as well as in colour.
func TestCharts(t *testing.T) {
	m, err := Build(context.Background(), facility(t), "lp", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range AllLangs {
		for name, svg := range map[string]string{"days": string(DaysChart(m, l)), "week": string(WeekChart(m, l)), "officers": string(OfficersChart(m, l))} {
			t.Run(string(l)+"/"+name, func(t *testing.T) {
				d := xml.NewDecoder(strings.NewReader(svg))
				var title, desc bool
				for {
					tok, err := d.Token()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("not well-formed: %v\n%s", err, svg)
					}
					if se, ok := tok.(xml.StartElement); ok {
						switch se.Name.Local {
						case "script", "image", "use", "foreignObject", "style":
							t.Errorf("element %s in a chart", se.Name.Local)
						case "title":
							for _, a := range se.Attr {
								title = title || a.Name.Local == "id" && a.Value == name+"-title"
							}
						case "desc":
							desc = true
						}
						for _, a := range se.Attr {
							if strings.HasPrefix(a.Name.Local, "on") || a.Name.Local == "href" || a.Name.Local == "style" {
								t.Errorf("attribute %s in a chart", a.Name.Local)
							}
						}
					}
				}
				if !title || !desc || !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, `aria-labelledby="`+name+`-title `+name+`-desc"`) {
					t.Errorf("no accessible name: %.300s", svg)
				}
				if strings.Contains(svg, "<script") || strings.Count(svg, "http") != 1 {
					t.Errorf("a script or a link (other than the SVG namespace): %s", svg)
				}
			})
		}
		if o := string(OfficersChart(m, l)); !strings.Contains(o, "▲ "+l.text("outlier")) || !strings.Contains(o, "&lt;script&gt;") {
			t.Errorf("%s: outlier not labelled or id not escaped: %s", l, o)
		}
	}
}

// TestFragment: the page fragment holds a table beside each chart, with
// the figures of the CSV, and says when and that a month was purged.
func TestFragment(t *testing.T) {
	m, err := Build(context.Background(), facility(t), "lp", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	m.Purged = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	for _, l := range AllLangs {
		h, err := Fragment(m, l)
		if err != nil {
			t.Fatal(err)
		}
		s := string(h)
		for _, want := range []string{`<svg`, `id="fig-days"`, `id="fig-week"`, `id="officers"`, `<td>2</td><td>12.0</td><td>12.0</td>`, `class="outlier" data-officer="P-4"`,
			"2026-12-02 03:00 UTC", `&lt;script&gt;`, l.text("col.outlier")} {
			if !strings.Contains(s, want) {
				t.Errorf("%s: fragment lacks %q", l, want)
			}
		}
		if strings.Contains(s, "<script>") {
			t.Errorf("%s: an id rendered as markup", l)
		}
		if only, _ := Fragment(m, l, "officers"); strings.Contains(string(only), `id="fig-days"`) {
			t.Errorf("%s: officers only shows the days", l)
		}
	}
	if PurgedNote(Monthly{}, English) != "" || !strings.Contains(PurgedNote(m, Indonesian), "2026-12-02") {
		t.Error("purged note")
	}
}

// TestLabels: every label in every language.
func TestLabels(t *testing.T) {
	for _, l := range AllLangs {
		for k := range labels[English] {
			if _, ok := labels[l][k]; !ok {
				t.Errorf("%s has no label %s", l, k)
			}
		}
		if len(labels[l]) != len(labels[English]) {
			t.Errorf("%s has %d labels, English %d", l, len(labels[l]), len(labels[English]))
		}
		if _, ok := weekdays[l]; !ok {
			t.Errorf("%s has no weekdays", l)
		}
	}
}
