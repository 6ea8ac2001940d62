package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/ledger/ledgertest"
)

// seedMonth puts a month of facility lp in the ledger: calls, and four
// officers of whom P-4 resets far more often, one of P-4's grants with
// another officer's card (withheld), and an officer id that is markup.
func seedMonth(t *testing.T, st ledger.Store) {
	t.Helper()
	ctx := context.Background()
	var cards []record.CardInfo
	for i := 1; i <= 4; i++ {
		cards = append(cards, record.CardInfo{Card: fmt.Sprintf("em:P%d", i), Role: record.RoleOfficer, Person: fmt.Sprintf("P-%d", i)})
	}
	cards = append(cards, record.CardInfo{Card: "em:X", Role: record.RoleOfficer, Person: "<script>x</script>"})
	if _, err := st.UpsertCards(ctx, "lp", "operator", cards); err != nil {
		t.Fatal(err)
	}
	ledgertest.ApproveOfficers(t, st, "lp", "supervisor")
	if _, err := st.SetPolicy(ctx, "lp", []byte(`{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta"}`)); err != nil {
		t.Fatal(err)
	}
	var recs []record.Record
	add := func(kind record.Kind, payload any) {
		p, _ := json.Marshal(payload)
		r := record.Record{Device: "lp/b01", Seq: uint64(len(recs) + 1), Kind: kind, Payload: p}
		var prev *record.Record
		if len(recs) > 0 {
			prev = &recs[len(recs)-1]
		}
		r.Seal(prev)
		recs = append(recs, r)
	}
	at := time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC)
	for i := range 12 {
		add(record.KindCall, record.Call{CallID: int64(i), Card: "em:W", Inmate: fmt.Sprintf("W-%d", i%4), Period: "2026-11",
			AuthorisedAt: at.Add(time.Duration(i) * 26 * time.Hour), MaxMs: 600000, TalkedMs: 181000, ChargedMs: 180000, EndReason: "hangup"})
	}
	officer := func(p, card, action, inmate string, min int) {
		add(record.KindOfficer, record.Officer{At: at, Officer: p, OfficerCard: card, Action: record.OfficerAction(action), Inmate: inmate,
			Period: "2026-11", CreditMs: int64(min) * 60000})
	}
	for i := 1; i <= 3; i++ {
		officer(fmt.Sprintf("P-%d", i), fmt.Sprintf("em:P%d", i), "grant", "W-1", 10+i)
	}
	for i := range 7 {
		officer("P-4", "em:P4", "reset", fmt.Sprintf("W-%d", i%3), 45)
	}
	officer("P-4", "em:P1", "grant", "W-2", 30)
	officer("<script>x</script>", "em:X", "end_call", "W-3", 0)
	if _, err := st.Ingest(ctx, "lp/b01", recs); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserReports: a supervisor opens the Reports page in chromium: the
// per-officer table shows the ledger's figures (MonthActivity) with P-4
// alone marked an outlier, the charts are inline SVG with their
// accessible names, and a markup officer id is text.
func TestBrowserReports(t *testing.T) {
	e := newEnv(t)
	seedMonth(t, e.st)
	sup := e.account("sari", ledger.RoleSupervisor, "lp")
	b := newBrowser(t, e)
	b.login(sup)
	b.open("/f/lp/reports?month=2026-11")
	b.wait("the per-officer table", `document.querySelector('#officers tbody tr') !== null`)

	var rows [][]string
	b.eval(`[...document.querySelectorAll('#officers tbody tr')].map(tr => [tr.dataset.officer, ...[...tr.cells].map(c => c.textContent.trim())])`, &rows)
	a, err := e.st.MonthActivity(context.Background(), "lp", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(a.Officers) {
		t.Fatalf("page shows %d officers, the ledger has %d: %q", len(rows), len(a.Officers), rows)
	}
	for i, o := range a.Officers {
		// officer, name cell, resets, grants, other, minutes, inmates, withheld, z, z, outlier
		want := []string{o.Officer, o.Officer, strconv.FormatInt(o.Resets, 10), strconv.FormatInt(o.Grants, 10), strconv.FormatInt(o.Other, 10),
			fmt.Sprintf("%.1f", o.Credit.Minutes()), strconv.FormatInt(o.Inmates, 10), strconv.FormatInt(o.Withheld, 10)}
		if got := rows[i][:len(want)]; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("officer row %q, the ledger's %q", got, want)
		}
		if outlier := strings.HasPrefix(rows[i][10], "▲"); outlier != (o.Officer == "P-4") {
			t.Errorf("officer %s outlier cell %q", o.Officer, rows[i][10])
		}
	}
	var charts []string
	b.eval(`[...document.querySelectorAll('svg[role="img"]')].map(s => s.getAttribute('aria-labelledby') + ' ' + s.querySelector('title').textContent)`, &charts)
	if len(charts) != 3 {
		t.Errorf("charts %q, want days, week and officers", charts)
	}
	var scripts int
	b.eval(`document.querySelectorAll('script').length`, &scripts)
	if scripts != 0 {
		t.Errorf("%d script elements on the page (the markup officer id ran?)", scripts)
	}
	t.Logf("screenshot: %s", b.shot("console-reports.png"))
}

// TestReportCSVDownloads: the page's CSV links give the ledger's rows;
// an account of another facility gets none of them; a month not YYYY-MM
// is refused with what to write.
func TestReportCSVDownloads(t *testing.T) {
	e := newEnv(t)
	seedMonth(t, e.st)
	cookie := e.login(e.account("sari", ledger.RoleSupervisor, "lp"))
	page := e.do("GET", "/f/lp/reports?month=2026-11", cookie, nil)
	if page.status != 200 || !strings.Contains(page.body, `/f/lp/reports/officers.csv?month=2026-11`) {
		t.Fatalf("reports page %d:\n%.500s", page.status, page.body)
	}
	for kind, rows := range map[string]int{"inmates": 1 + 4, "days": 1 + 30, "officers": 1 + 5} {
		r := e.do("GET", "/f/lp/reports/"+kind+".csv?month=2026-11", cookie, nil)
		recs, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if r.status != 200 || err != nil || len(recs) != rows {
			t.Errorf("%s.csv: %d, %d rows (%v), want %d:\n%s", kind, r.status, len(recs), err, rows, r.body)
		}
	}
	if r := e.do("GET", "/f/lp/reports/secrets.csv?month=2026-11", cookie, nil); r.status != 404 {
		t.Errorf("an unknown CSV: %d", r.status)
	}
	if r := e.do("GET", "/f/lp/reports?month="+url.QueryEscape("2026-13"), cookie, nil); r.status != 400 || !strings.Contains(r.body, "YYYY-MM") {
		t.Errorf("month 2026-13: %d", r.status)
	}
	other := e.login(e.account("budi", ledger.RoleSupervisor, "other"))
	for _, p := range []string{"/f/lp/reports?month=2026-11", "/f/lp/reports/officers.csv?month=2026-11"} {
		if r := e.do("GET", p, other, nil); r.status != 403 || strings.Contains(r.body, "P-4") {
			t.Errorf("another facility's supervisor on %s: %d", p, r.status)
		}
	}
}
