package console

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"wartelsuspas/tools/centre/ledger"
)

var fieldErrRE = regexp.MustCompile(`data-error-for="([^"]+)">([^<]*)</p>`)

// fieldErrors are the problems a page shows beside its fields, by field.
func fieldErrorsOf(body string) map[string]string {
	out := map[string]string{}
	for _, m := range fieldErrRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = strings.TrimSpace(html.UnescapeString(m[2]))
	}
	return out
}

// TestNumbersRules: every rule of the ledger a registration or a decision
// can break is named beside its field, in the page's language; nothing
// is written on a refusal; every change is audited with before and after.
func TestNumbersRules(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, st ledger.Store) { numbersRules(t, newEnvOn(t, st)) })
}

func numbersRules(t *testing.T, e *env) {
	seedRoster(t, e)
	ctx := context.Background()
	// One inmate may hold two live numbers here.
	if _, err := e.st.SetPolicy(ctx, "lp", []byte(`{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta","max_numbers_per_inmate":2}`)); err != nil {
		t.Fatal(err)
	}
	op := e.login(e.account("ratna", ledger.RoleOperator, "lp"))
	sup := e.login(e.account("sari", ledger.RoleSupervisor, "lp"))
	admin := e.login(e.account("kanwil", ledger.RoleAdmin))
	aud := e.login(e.account("audit", ledger.RoleAuditor, "lp"))
	english := func(c string) {
		if r := e.do("POST", "/lang", c, url.Values{"csrf": {e.csrf(c)}, "lang": {"en"}, "back": {"/"}}); r.status != 303 {
			t.Fatalf("language: %d", r.status)
		}
	}
	english(sup)
	english(admin)

	register := func(c string, f url.Values) resp {
		t.Helper()
		f.Set("csrf", e.csrf(c))
		return e.do("POST", "/f/lp/numbers/register", c, f)
	}
	r := register(op, url.Values{"person": {"W-1"}, "number": {"0812-3456-7890"}, "slot": {"1"}, "label": {"ibu"}, "until": {"2027-06-30"}})
	if r.status != 303 || !strings.Contains(r.loc, "done=registered") {
		t.Fatalf("register: %d %q\n%s", r.status, r.loc, r.body)
	}
	ns, _ := e.st.Numbers(ctx, "lp", "W-1")
	if len(ns) != 1 || ns[0].E164 != "+6281234567890" || ns[0].Status != ledger.NumberPending || ns[0].RegisteredBy != "ratna" || ns[0].Slot != 1 ||
		ns[0].ValidUntil.UTC().Format("2006-01-02 15:04") != "2027-06-30 17:00" { // the day after, 00:00 WIB
		t.Fatalf("registered %+v", ns)
	}
	id := ns[0].ID
	if err := e.st.BlockNumber(ctx, "lp", ledger.BlockedNumber{E164: "081299990000", Reason: "saksi", AddedBy: "sari"}); err != nil {
		t.Fatal(err)
	}

	// Refusals, in Indonesian (the operator's session): each beside its field.
	for _, c := range []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"letters", url.Values{"person": {"W-1"}, "number": {"0812-abc"}}, "number", "Nomor telepon hanya berisi angka"},
		{"short", url.Values{"person": {"W-1"}, "number": {"112"}}, "number", "Terlalu pendek"},
		{"no person", url.Values{"number": {"081211112222"}}, "person", "Sebutkan warga binaan"},
		{"an officer", url.Values{"person": {"P-1"}, "number": {"081211112222"}}, "person", "P-1 tidak memegang kartu warga binaan"},
		{"slot taken", url.Values{"person": {"W-1"}, "number": {"081211112222"}, "slot": {"1"}}, "slot", "Slot 1 sudah dipakai"},
		{"slot not a digit", url.Values{"person": {"W-1"}, "number": {"081211112222"}, "slot": {"12"}}, "slot", "Gunakan satu angka"},
		{"already live", url.Values{"person": {"W-1"}, "number": {"+62 812 3456 7890"}, "slot": {"2"}}, "number", "sudah terdaftar"},
		{"blocked", url.Values{"person": {"W-1"}, "number": {"081299990000"}, "slot": {"2"}}, "number", "daftar blokir"},
		{"bad date", url.Values{"person": {"W-1"}, "number": {"081211112222"}, "from": {"31/12/2026"}}, "from", "TTTT-BB-HH"},
		{"until before from", url.Values{"person": {"W-1"}, "number": {"081211112222"}, "from": {"2027-01-02"}, "until": {"2027-01-01"}}, "until", "sebelum hari pertama"},
	} {
		r := register(op, c.form)
		errs := fieldErrorsOf(r.body)
		if r.status != 400 || !strings.Contains(errs[c.field], c.want) {
			t.Errorf("%s: %d, errors %q, want %q beside %s", c.name, r.status, errs, c.want, c.field)
		}
		if !strings.Contains(html.UnescapeString(r.body), `value="`+c.form.Get("number")+`"`) {
			t.Errorf("%s: the form lost what was typed", c.name)
		}
	}
	// The policy's limit (2): a second is fine, a third refused.
	if r := register(op, url.Values{"person": {"W-1"}, "number": {"081211112222"}, "slot": {"2"}, "label": {"<script>kakak</script>"}}); r.status != 303 {
		t.Fatalf("second number: %d\n%s", r.status, fieldErrorsOf(r.body))
	}
	if r := register(admin, url.Values{"person": {"W-1"}, "number": {"081233334444"}, "slot": {"3"}}); r.status != 400 ||
		!strings.Contains(fieldErrorsOf(r.body)["person"], "as many live numbers as the facility's policy allows") {
		t.Errorf("over the limit, in English: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if ns, _ := e.st.Numbers(ctx, "lp", ""); len(ns) != 2 {
		t.Fatalf("refusals wrote numbers: %+v", ns)
	}
	page := e.do("GET", "/f/lp/numbers?person=W-1", op, nil)
	if page.status != 200 || strings.Contains(page.body, "<script>kakak") || !strings.Contains(page.body, "&lt;script&gt;kakak") {
		t.Errorf("the label with markup: %d", page.status)
	}
	if strings.Contains(page.body, `data-role="approve"`) || !strings.Contains(page.body, `data-role="do-register"`) {
		t.Error("the operator's page offers approval, or no registration")
	}

	decide := func(c string, id int64, verdict, reason string) resp {
		t.Helper()
		return e.do("POST", "/f/lp/numbers/decide", c, url.Values{"csrf": {e.csrf(c)}, "id": {itoa(id)}, "verdict": {verdict}, "reason": {reason}})
	}
	// Whoever registered a number may not decide it: the admin registers
	// one (W-2), and its own approval is refused with the reason.
	if r := register(admin, url.Values{"person": {"W-2"}, "number": {"081255556666"}, "slot": {"1"}}); r.status != 303 {
		t.Fatalf("admin registers: %d", r.status)
	}
	w2, _ := e.st.Numbers(ctx, "lp", "W-2")
	page = e.do("GET", "/f/lp/numbers", admin, nil)
	if !strings.Contains(page.body, `data-role="not-yours"`) {
		t.Error("the admin's own pending number offers it approval")
	}
	r = decide(admin, w2[0].ID, "approve", "")
	if r.status != 400 || !strings.Contains(fieldErrorsOf(r.body)["n"+itoa(w2[0].ID)], "kanwil registered this number") {
		t.Errorf("own approval: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if r := decide(op, id, "approve", ""); r.status != 403 {
		t.Errorf("an operator's approval: %d, want 403", r.status)
	}
	if r := decide(sup, w2[0].ID, "reject", ""); r.status != 400 || !strings.Contains(fieldErrorsOf(r.body)["n"+itoa(w2[0].ID)], "a reason is required") {
		t.Errorf("a rejection without reason: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if r := decide(sup, id, "approve", ""); r.status != 303 || !strings.Contains(r.loc, "done=approved") {
		t.Fatalf("approve: %d %q %q", r.status, r.loc, fieldErrorsOf(r.body))
	}
	if r := decide(sup, id, "approve", ""); r.status != 400 || !strings.Contains(fieldErrorsOf(r.body)["n"+itoa(id)], "This number is approved") {
		t.Errorf("approved twice: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if r := decide(sup, w2[0].ID, "reject", "bukan keluarga"); r.status != 303 {
		t.Fatalf("reject: %d", r.status)
	}
	revoke := func(c string, id int64, reason string) resp {
		return e.do("POST", "/f/lp/numbers/revoke", c, url.Values{"csrf": {e.csrf(c)}, "id": {itoa(id)}, "reason": {reason}})
	}
	if r := revoke(aud, id, "x"); r.status != 403 {
		t.Errorf("an auditor's revoke: %d", r.status)
	}
	if r := revoke(op, id, "pindah"); r.status != 303 {
		t.Fatalf("revoke: %d %q", r.status, fieldErrorsOf(r.body))
	}

	// The blocked list: add (twice refused), remove; a supervisor may not.
	block := func(c, number, reason string) resp {
		return e.do("POST", "/f/lp/numbers/block", c, url.Values{"csrf": {e.csrf(c)}, "number": {number}, "reason": {reason}})
	}
	if r := block(op, "0811 1111 1111", "korban"); r.status != 303 {
		t.Fatalf("block: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if r := block(op, "+6281111111111", "lagi"); r.status != 400 || !strings.Contains(fieldErrorsOf(r.body)["block_number"], "Sudah ada di daftar blokir") {
		t.Errorf("blocked twice: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if r := block(op, "081111111112", ""); r.status != 400 || fieldErrorsOf(r.body)["block_reason"] == "" {
		t.Errorf("a block without reason: %d", r.status)
	}
	if r := block(sup, "081111111113", "x"); r.status != 403 {
		t.Errorf("a supervisor's block: %d", r.status)
	}
	if r := e.do("POST", "/f/lp/numbers/unblock", op, url.Values{"csrf": {e.csrf(op)}, "number": {"+6281111111111"}}); r.status != 303 {
		t.Errorf("unblock: %d", r.status)
	}
	if bl, _ := e.st.BlockedNumbers(ctx, "lp"); len(bl) != 1 || bl[0].E164 != "+6281299990000" {
		t.Errorf("blocked list %+v", bl)
	}

	// An auditor reads the page, with no form, and its POSTs are refused.
	page = e.do("GET", "/f/lp/numbers", aud, nil)
	if page.status != 200 || strings.Contains(page.body, `method="post" action="/f/lp/numbers`) {
		t.Errorf("the auditor's page: %d, offers a form: %v", page.status, strings.Contains(page.body, `action="/f/lp/numbers`))
	}
	if r := register(aud, url.Values{"person": {"W-1"}, "number": {"081277778888"}}); r.status != 403 {
		t.Errorf("an auditor's registration: %d", r.status)
	}

	// The audit trail: every change, by whom, before and after.
	log, err := e.st.AuditLog(ctx, ledger.AuditQuery{Facilities: []string{"lp"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(log) - 1; i >= 0; i-- {
		a := log[i]
		got = append(got, a.Action+" "+a.Actor+" "+a.Target)
		switch a.Action {
		case "numbers.approve":
			if !strings.Contains(a.Before, `"Status":"pending"`) || !strings.Contains(a.After, `"Status":"approved"`) || !strings.Contains(a.After, `"DecidedBy":"sari"`) {
				t.Errorf("approval's before/after: %s → %s", a.Before, a.After)
			}
		case "numbers.unblock":
			if !strings.Contains(a.Before, `"Reason":"korban"`) || a.After != "" {
				t.Errorf("unblock's before/after: %s → %s", a.Before, a.After)
			}
		}
	}
	want := []string{"numbers.add ratna " + itoa(id), "numbers.add ratna " + itoa(id+1), "numbers.add kanwil " + itoa(w2[0].ID),
		"numbers.approve sari " + itoa(id), "numbers.reject sari " + itoa(w2[0].ID), "numbers.revoke ratna " + itoa(id),
		"numbers.block ratna +6281111111111", "numbers.unblock ratna +6281111111111"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := e.st.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

// TestNumbersLinked: the inmates page links each inmate to its numbers,
// and the navigation has the page.
func TestNumbersLinked(t *testing.T) {
	e := newEnv(t)
	seedRoster(t, e)
	c := e.login(e.account("ratna", ledger.RoleOperator, "lp"))
	r := e.do("GET", "/f/lp/inmates", c, nil)
	if !strings.Contains(r.body, `href="/f/lp/numbers?person=W-1"`) || strings.Contains(r.body, `href="/f/lp/numbers?person=P-1"`) {
		t.Error("the inmates page does not link inmates (and only inmates) to their numbers")
	}
	if !strings.Contains(r.body, `<a href="/f/lp/numbers">`) {
		t.Error("no navigation link to the numbers page")
	}
}

// TestDialErrorsWorded: every refusal of the dialplan has its words.
func TestDialErrorsWorded(t *testing.T) {
	for _, de := range dialErrors {
		if _, ok := english[de.key]; !ok {
			t.Errorf("%v: key %s missing", de.err, de.key)
		}
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// TestBrowserNumbersRefused: in chromium, an operator's registration that
// breaks two rules (a slot taken, a number that does not parse) comes
// back with each problem beside its field and the form as typed; a
// screenshot of the refusal.
func TestBrowserNumbersRefused(t *testing.T) {
	e := newEnv(t)
	seedRoster(t, e)
	ctx := context.Background()
	if _, err := e.st.RegisterNumber(ctx, "lp", ledger.NumberEntry{Person: "W-1", E164: "081234567890", Slot: 1, Label: "ibu", RegisteredBy: "ratna"}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.BlockNumber(ctx, "lp", ledger.BlockedNumber{E164: "081299990000", Reason: "saksi perkara 12/2026", AddedBy: "ratna"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	b.login(e.account("ratna", ledger.RoleOperator, "lp"))
	b.open("/f/lp/numbers?person=W-1")
	b.step("a number that does not parse", chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`input[data-field="number"]`), "0812-34x"),
		chromedp.SendKeys(chromedp.CSS(`input[data-field="slot"]`), "1"),
		chromedp.SendKeys(chromedp.CSS(`input[data-field="label"]`), "kakak"),
		chromedp.Click(chromedp.CSS(`[data-role="do-register"]`)),
	))
	b.wait("the refusal", `document.querySelector('[data-error-for="number"]') !== null`)
	var msg, number, slot string
	b.eval(`document.querySelector('[data-error-for="number"]').textContent.trim()`, &msg)
	b.eval(`document.querySelector('input[data-field="number"]').value`, &number)
	if !strings.HasPrefix(msg, "Nomor telepon hanya berisi angka") || number != "0812-34x" {
		t.Errorf("the number's error %q, the number typed came back as %q", msg, number)
	}
	// Corrected, it breaks the slot rule: the ledger's refusal, beside the slot.
	b.step("correct the number", chromedp.Steps(
		chromedp.SetValue(chromedp.CSS(`input[data-field="number"]`), "0813 1111 2222"),
		chromedp.Click(chromedp.CSS(`[data-role="do-register"]`)),
	))
	b.wait("the slot's refusal", `document.querySelector('[data-error-for="slot"]') !== null && document.querySelector('[data-error-for="number"]') === null`)
	b.eval(`document.querySelector('[data-error-for="slot"]').textContent.trim()`, &slot)
	if !strings.HasPrefix(slot, "Slot 1 sudah dipakai") {
		t.Errorf("the slot's error: %q", slot)
	}
	if ns, _ := e.st.Numbers(ctx, "lp", "W-1"); len(ns) != 1 {
		t.Errorf("the refusals wrote: %+v", ns)
	}
	t.Logf("screenshot: %s", b.shot("console-numbers-refused.png"))
}
