package console

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/tools/centre/ledger"
)

// TestBrowserPolicy: an operator edits the facility's rules; a negative
// allowance and a window past midnight are refused by the booths' own
// checks, each error shown beside its field, and nothing is stored; the
// corrected form is stored (audited) as a document the booths accept.
func TestBrowserPolicy(t *testing.T) {
	e := newEnv(t)
	seedRoster(t, e)
	op := e.account("ratna", ledger.RoleOperator, "lp")
	b := newBrowser(t, e)
	b.login(op)
	b.open("/f/lp/policy")
	var allowance string
	b.eval(`document.querySelector('[name="allowance"]').value`, &allowance)
	if allowance != "10" {
		t.Errorf("allowance shown %q, want the stored 10 minutes", allowance)
	}
	before, _ := e.st.RosterSince(context.Background(), "lp", 0)

	b.step("write a negative allowance and a bad Monday window", chromedp.Steps(
		chromedp.SetValue(chromedp.CSS(`[name="allowance"]`), "-5"),
		chromedp.SetValue(chromedp.CSS(`[name="hours.monday"]`), "08:00-11:30, 13:00-25:00"),
		chromedp.Click(chromedp.CSS(`[data-role="save"]`)),
	))
	b.wait("the errors", `document.querySelector('[data-error-for="allowance"]') !== null`)
	// Beside its field: the error follows the label holding the input.
	var beside map[string]string
	b.eval(`Object.fromEntries([...document.querySelectorAll('[data-error-for]')].map(p => [p.dataset.errorFor,
		(p.previousElementSibling && p.previousElementSibling.querySelector('[name="' + p.dataset.errorFor + '"]') ? "beside: " : "elsewhere: ") + p.textContent]))`, &beside)
	// In the page's language (Indonesian by default), the booths' parser's
	// problems too.
	negative := translate("id", "policy.problem.negative", -5*time.Minute)
	window := translate("id", "policy.problem.window_end_time", "13:00-25:00", "25:00")
	if len(beside) != 2 || strings.TrimSpace(beside["allowance"]) != "beside: "+negative ||
		strings.TrimSpace(beside["hours.monday"]) != "beside: "+window {
		t.Errorf("errors %q, want one beside allowance (%q) and one beside Monday (%q)", beside, negative, window)
	}
	t.Logf("screenshot: %s", b.shot("console-policy-errors.png"))
	if after, _ := e.st.RosterSince(context.Background(), "lp", 0); after.Version != before.Version || string(after.Policy) != string(before.Policy) {
		t.Errorf("a refused policy was stored: %s", after.Policy)
	}

	b.step("correct them", chromedp.Steps(
		chromedp.SetValue(chromedp.CSS(`[name="allowance"]`), "15"),
		chromedp.SetValue(chromedp.CSS(`[name="hours.monday"]`), "08:00-11:30, 13:00-15:00"),
		chromedp.SetValue(chromedp.CSS(`[name="officer_credit_per_day"]`), "60"),
		chromedp.Click(chromedp.CSS(`[data-role="save"]`)),
	))
	b.wait("saved", `document.querySelector('[data-role="saved"]') !== null`)
	after, err := e.st.RosterSince(context.Background(), "lp", 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := protocol.ParsePolicy(after.Policy)
	if err != nil || p.AllowanceMs != 900000 || p.Hours == nil || strings.Join(p.Hours.Weekly["monday"], ",") != "08:00-11:30,13:00-15:00" ||
		p.OfficerCreditPerDayMs == nil || *p.OfficerCreditPerDayMs != 3600000 || p.Zone != "Asia/Jakarta" {
		t.Errorf("stored policy %s (%v)", after.Policy, err)
	}
	log, _ := e.st.AuditLog(context.Background(), ledger.AuditQuery{Facilities: []string{"lp"}, Limit: 1})
	if len(log) != 1 || log[0].Action != "policy.set" || log[0].Actor != "ratna" || !strings.Contains(log[0].Before, "600000") || !strings.Contains(log[0].After, "900000") {
		t.Errorf("audit %+v", log)
	}
	t.Logf("screenshot: %s", b.shot("console-policy.png"))
}

// TestPolicyAccess: an auditor and a supervisor see the rules but may not
// change them; a rotation that is not JSON is refused beside its field.
func TestPolicyAccess(t *testing.T) {
	e := newEnv(t)
	seedRoster(t, e)
	for _, role := range []ledger.Role{ledger.RoleAuditor, ledger.RoleSupervisor} {
		c := e.login(e.account("x-"+string(role), role, "lp"))
		if r := e.do("GET", "/f/lp/policy", c, nil); r.status != 200 || strings.Contains(r.body, `data-role="save"`) {
			t.Errorf("%s: policy page %d, offers save: %v", role, r.status, strings.Contains(r.body, `data-role="save"`))
		}
		if r := e.do("POST", "/f/lp/policy", c, url.Values{"csrf": {e.csrf(c)}, "zone": {"Asia/Jakarta"}, "period": {"day"}, "allowance": {"99"}}); r.status != 403 {
			t.Errorf("%s: POST policy %d, want 403", role, r.status)
		}
	}
	op := e.login(e.account("ratna", ledger.RoleOperator, "lp"))
	r := e.do("POST", "/f/lp/policy", op, url.Values{"csrf": {e.csrf(op)}, "zone": {"Asia/Jakarta"}, "period": {"month"}, "allowance": {"10"}, "rotation": {"{A:"}})
	if r.status != 400 || !strings.Contains(r.body, `data-error-for="rotation"`) {
		t.Errorf("a bad rotation: %d", r.status)
	}
	r = e.do("POST", "/f/lp/policy", op, url.Values{"csrf": {e.csrf(op)}, "zone": {"Europe/Paris"}, "period": {"fortnight"}, "allowance": {"10"}})
	if r.status != 400 || !strings.Contains(r.body, `data-error-for="zone"`) || !strings.Contains(r.body, `data-error-for="period"`) {
		t.Errorf("a foreign zone and an unknown period: %d", r.status)
	}
}
