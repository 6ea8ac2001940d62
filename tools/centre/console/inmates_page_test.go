package console

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/roster"
)

const testRoster = "role,person,name,block,card,allowance_min,blocked\n" +
	"inmate,W-1,Budi Santoso,A,em:0400D8B2A5,,\n" +
	"inmate,W-2,<b>Joko</b>,B,em:0400D8B2A6,30,\n" +
	"officer,P-1,Agus,,em:0A00000001,,\n"

// seedRoster imports testRoster and a policy into lp, and a call of W-1
// this period (December 2026 on the env's clock).
func seedRoster(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	cards, err := parseCSV(testRoster)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpsertCards(ctx, "lp", "operator", cards); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetPolicy(ctx, "lp", []byte(`{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta"}`)); err != nil {
		t.Fatal(err)
	}
	p, _ := json.Marshal(record.Call{CallID: 1, Card: "em:0400D8B2A5", Inmate: "W-1", Period: "2026-12", AuthorisedAt: e.clock(),
		MaxMs: 600000, TalkedMs: 180400, ChargedMs: 180000, EndReason: "hangup"})
	r := record.Record{Device: "lp/b01", Seq: 1, Kind: record.KindCall, Payload: p}
	r.Seal(nil)
	if _, err := e.st.Ingest(ctx, "lp/b01", []record.Record{r}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserInmates: an operator finds an inmate with this period's
// balance, blocks the card (audited); a roster CSV with an error on line 3
// is refused in the preview naming line 3 and writes nothing, even when
// confirmed; a good one is previewed line by line and imported.
func TestBrowserInmates(t *testing.T) {
	e := newEnv(t)
	seedRoster(t, e)
	op := e.account("ratna", ledger.RoleOperator, "lp")
	b := newBrowser(t, e)
	b.login(op)

	row := `document.querySelector('tr[data-person="W-1"]')`
	b.open("/f/lp/inmates?q=budi")
	b.wait("W-1 found", row+` !== null && document.querySelectorAll('[data-role="cards"] tbody tr').length === 1`)
	var left string
	b.eval(row+`.querySelector('[data-col="left"]').textContent`, &left)
	if left != "7.0" {
		t.Errorf("W-1's minutes left %q, want 7.0 (10 allowed, 3 used)", left)
	}
	b.step("block W-1's card", chromedp.Click(chromedp.CSS(`tr[data-person="W-1"] [data-role="block"]`)))
	b.wait("W-1 blocked", row+` !== null && `+row+`.dataset.blocked === "true" && `+row+`.dataset.byHand === "true"`)
	log, err := e.st.AuditLog(context.Background(), ledger.AuditQuery{Facilities: []string{"lp"}})
	if err != nil || len(log) == 0 || log[0].Action != "roster.block" || log[0].Actor != "ratna" || log[0].Target != "em:0400D8B2A5" ||
		!strings.Contains(log[0].Before, `"Blocked":false`) || !strings.Contains(log[0].After, `"Blocked":true`) {
		t.Errorf("audit trail after the block: %+v %v", log, err)
	}

	before, err := e.st.RosterSince(context.Background(), "lp", 0)
	if err != nil {
		t.Fatal(err)
	}
	bad := "role,person,name,block,card,allowance_min,blocked\n" +
		"inmate,W-7,Dewi,C,em:0400D8B2B1,,\n" +
		"inmate,W-8,Sri,C,not-a-card,,\n" +
		"inmate,W-9,Tono,C,em:0400D8B2B3,,\n"
	b.open("/f/lp/inmates")
	b.step("paste a roster with a bad card on line 3", chromedp.SetValue(chromedp.CSS(`[data-role="import"] textarea`), bad))
	b.step("preview it", chromedp.Click(chromedp.CSS(`[data-role="preview"]`)))
	b.wait("the errors", `document.querySelector('[data-role="import-errors"]') !== null`)
	var lines []string
	b.eval(`[...document.querySelectorAll('[data-role="import-errors"] li')].map(li => li.dataset.line + ' ' + li.textContent)`, &lines)
	// In the page's language (Indonesian by default): the parser's problem
	// worded from its code.
	unread := strings.TrimSuffix(translate("id", "roster.problem.card"), "%v")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "3 ") || !strings.Contains(lines[0], "card") || !strings.Contains(lines[0], unread) {
		t.Errorf("errors shown %q, want one naming line 3 and the card column, saying %q", lines, unread)
	}
	var confirm bool
	b.eval(`document.querySelector('[data-role="confirm"]') !== null`, &confirm)
	if confirm {
		t.Error("a file with errors can be confirmed")
	}
	t.Logf("screenshot: %s", b.shot("console-inmates-import-refused.png"))
	// Posted as confirmed anyway: refused the same, nothing written.
	cookie := e.login(op)
	r := e.do("POST", "/f/lp/inmates/import", cookie, url.Values{"csrf": {e.csrf(cookie)}, "csv": {bad}, "confirm": {"1"}})
	if r.status != 200 || !strings.Contains(r.body, `data-line="3"`) {
		t.Errorf("a bad file confirmed: %d", r.status)
	}
	after, err := e.st.RosterSince(context.Background(), "lp", 0)
	if err != nil || after.Version != before.Version || len(after.Upserts) != len(before.Upserts) {
		t.Errorf("roster after the refused imports: version %d → %d, %d → %d cards (%v)", before.Version, after.Version, len(before.Upserts), len(after.Upserts), err)
	}

	good := strings.Replace(bad, "not-a-card", "em:0400D8B2B2", 1)
	b.open("/f/lp/inmates")
	// The good one as an operator has it: a file, chosen with the file input.
	file := filepath.Join(t.TempDir(), "roster.csv")
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	b.step("choose the roster file", chromedp.SetUploadFiles(chromedp.CSS(`[data-role="import"] input[type="file"]`), []string{file}))
	b.step("preview it", chromedp.Click(chromedp.CSS(`[data-role="preview"]`)))
	b.wait("the preview", `document.querySelectorAll('[data-role="import-preview"] tbody tr').length === 3`)
	if r, _ := e.st.RosterSince(context.Background(), "lp", 0); r.Version != before.Version {
		t.Errorf("the preview wrote: version %d → %d", before.Version, r.Version)
	}
	b.step("import", chromedp.Click(chromedp.CSS(`[data-role="do-import"]`)))
	b.wait("the new cards listed", `document.querySelector('tr[data-person="W-8"]') !== null`)
	after, err = e.st.RosterSince(context.Background(), "lp", 0)
	if err != nil || len(after.Upserts) != len(before.Upserts)+3 {
		t.Errorf("roster after the import: %d cards, want %d (%v)", len(after.Upserts), len(before.Upserts)+3, err)
	}
	t.Logf("screenshot: %s", b.shot("console-inmates.png"))
}

// TestInmatesAccess: an auditor sees the cards but may not block or
// import; a name holding markup is shown as text.
func TestInmatesAccess(t *testing.T) {
	e := newEnv(t)
	seedRoster(t, e)
	aud := e.login(e.account("ani", ledger.RoleAuditor, "lp"))
	page := e.do("GET", "/f/lp/inmates", aud, nil)
	if page.status != 200 || !strings.Contains(page.body, "&lt;b&gt;Joko&lt;/b&gt;") || strings.Contains(page.body, "<b>Joko") {
		t.Errorf("inmates page for an auditor: %d", page.status)
	}
	if strings.Contains(page.body, `data-role="import"`) || strings.Contains(page.body, `data-role="block"`) {
		t.Error("an auditor is offered block or import")
	}
	for _, p := range []string{"/f/lp/inmates/block", "/f/lp/inmates/import"} {
		r := e.do("POST", p, aud, url.Values{"csrf": {e.csrf(aud)}, "card": {"em:0400D8B2A5"}, "csv": {testRoster}, "confirm": {"1"}})
		if r.status != 403 {
			t.Errorf("auditor POST %s: %d, want 403", p, r.status)
		}
	}
	full, _ := e.st.RosterSince(context.Background(), "lp", 0)
	for _, c := range full.Upserts {
		if c.Blocked {
			t.Errorf("card %s blocked by a refused request", c.Card)
		}
	}
}

func parseCSV(s string) ([]record.CardInfo, error) { return roster.Parse(strings.NewReader(s)) }

// TestBlockByHandAndByFile: the page tells a card an officer blocked
// from one the roster file blocks; the file's block is not lifted here
// (the next import would set it again), and the refusal says where to
// lift it and is no entry of the audit trail. An import of a file that
// does not block a card blocked by hand leaves it blocked.
func TestBlockByHandAndByFile(t *testing.T) {
	e := newEnv(t)
	seedRoster(t, e)
	ctx := context.Background()
	op := e.login(e.account("ratna", ledger.RoleOperator, "lp"))
	inFile := strings.Replace(testRoster, "em:0400D8B2A6,30,", "em:0400D8B2A6,30,yes", 1)
	post := func(path string, v url.Values) resp {
		v.Set("csrf", e.csrf(op))
		return e.do("POST", path, op, v)
	}
	if r := post("/f/lp/inmates/import", url.Values{"csv": {inFile}, "confirm": {"1"}}); r.status != 303 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	if r := post("/f/lp/inmates/block", url.Values{"card": {"em:0400D8B2A5"}}); r.status != 303 {
		t.Fatalf("block W-1: %d %s", r.status, r.body)
	}
	if r := post("/f/lp/inmates/import", url.Values{"csv": {inFile}, "confirm": {"1"}}); r.status != 303 {
		t.Fatalf("import again: %d %s", r.status, r.body)
	}
	list := e.do("GET", "/f/lp/inmates", op, nil).body
	for card, want := range map[string]string{
		"em:0400D8B2A5": `data-blocked="true" data-by-hand="true"`,
		"em:0400D8B2A6": `data-blocked="true" data-by-hand="false"`,
	} {
		if !strings.Contains(list, `data-card="`+card+`"`) || !regexp.MustCompile(`data-card="`+card+`"[^>]*`+want).MatchString(list) {
			t.Errorf("card %s not listed with %s", card, want)
		}
	}
	for _, text := range []string{translate("id", "inmates.blocked_by_hand"), translate("id", "inmates.blocked_in_file")} {
		if !strings.Contains(list, text) {
			t.Errorf("the page does not say %q", text)
		}
	}
	logged := func() int {
		log, err := e.st.AuditLog(ctx, ledger.AuditQuery{Facilities: []string{"lp"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(log)
	}
	n := logged()
	r := post("/f/lp/inmates/block", url.Values{"card": {"em:0400D8B2A6"}, "unblock": {"1"}})
	if want := strings.SplitN(translate("id", "inmates.err.blocked_in_file"), "%s", 2)[1]; r.status != 400 || !strings.Contains(r.body, want[:20]) {
		t.Errorf("unblocking a card the file blocks: %d, want 400 saying %q", r.status, want)
	}
	if logged() != n {
		t.Error("the refused unblock is in the audit trail")
	}
	full, _ := e.st.RosterSince(ctx, "lp", 0)
	for _, c := range full.Upserts {
		if c.Card == "em:0400D8B2A6" && !c.Blocked {
			t.Error("the refused unblock lifted the file's block")
		}
	}
}

// TestImportRefusesNumbers: a roster CSV whose numbers column registers
// numbers is refused by the console's import, on every line that has
// some, previewed or confirmed, and nothing is written (not even the
// cards, which would leave the file half applied): registering numbers
// there would bypass the numbers page, where another account approves
// what one registered. A numbers column left empty is fine.
func TestImportRefusesNumbers(t *testing.T) {
	e := newEnv(t)
	seedRoster(t, e)
	op := e.login(e.account("ratna", ledger.RoleOperator, "lp"))
	ctx := context.Background()
	before, err := e.st.RosterSince(ctx, "lp", 0)
	if err != nil {
		t.Fatal(err)
	}
	withNumbers := "role,person,name,block,card,allowance_min,blocked,numbers\n" +
		"inmate,W-7,Dewi,C,em:0400D8B2B1,,,1:081234567890:ibu\n" +
		"inmate,W-8,Sri,C,em:0400D8B2B2,,,\n" +
		"inmate,W-9,Tono,C,em:0400D8B2B3,,,1:081298765432:kakak;2:+6281311112222:teman\n"
	errLine := regexp.MustCompile(`<li data-line="(\d+)">([^<]*)</li>`)
	for _, confirm := range []string{"", "1"} {
		r := e.do("POST", "/f/lp/inmates/import", op, url.Values{"csrf": {e.csrf(op)}, "csv": {withNumbers}, "confirm": {confirm}})
		var got []string
		for _, m := range errLine.FindAllStringSubmatch(r.body, -1) {
			got = append(got, m[1])
			if msg := html.UnescapeString(m[2]); !strings.Contains(msg, roster.NumbersColumn) || !strings.Contains(msg, translate("id", "inmates.err.numbers")) {
				t.Errorf("confirm %q: line %s says %q", confirm, m[1], msg)
			}
		}
		if r.status != 200 || strings.Join(got, ",") != "2,4" || strings.Contains(r.body, `data-role="confirm"`) {
			t.Errorf("confirm %q: %d, lines refused %v, want 2 and 4 and no confirmation", confirm, r.status, got)
		}
	}
	after, err := e.st.RosterSince(ctx, "lp", 0)
	if err != nil || after.Version != before.Version || len(after.Upserts) != len(before.Upserts) {
		t.Errorf("the refused imports wrote: version %d → %d, %d → %d cards (%v)", before.Version, after.Version, len(before.Upserts), len(after.Upserts), err)
	}
	if ns, _ := e.st.Numbers(ctx, "lp", ""); len(ns) != 0 {
		t.Errorf("the refused imports registered %+v", ns)
	}
	// The column present but empty: imported.
	empty := strings.NewReplacer("1:081234567890:ibu", "", "1:081298765432:kakak;2:+6281311112222:teman", "").Replace(withNumbers)
	r := e.do("POST", "/f/lp/inmates/import", op, url.Values{"csrf": {e.csrf(op)}, "csv": {empty}, "confirm": {"1"}})
	if r.status != 303 {
		t.Fatalf("an empty numbers column: %d\n%s", r.status, r.body)
	}
	if after, _ := e.st.RosterSince(ctx, "lp", 0); len(after.Upserts) != len(before.Upserts)+3 {
		t.Errorf("after the import: %d cards, want %d", len(after.Upserts), len(before.Upserts)+3)
	}
}
