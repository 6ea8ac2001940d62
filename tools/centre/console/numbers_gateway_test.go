package console_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wartelsuspas/tools/centre/console"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/testbed/boothrig"
)

// kioskBinary is wartel-kiosk, built without -race: it is the booth the
// gateway serves, not the code under test.
func kioskBinary(t *testing.T) string {
	t.Helper()
	return binary(t, "wartelsuspas/firmware")
}

// TestBrowserNumbers: in chromium against a real gateway with a real
// booth (boothrig: wartel-kiosk run synced from that gateway), an operator
// logs in with a TOTP code and registers two numbers for an inmate; the
// operator's own approval is refused; an auditor's registration is
// refused; a supervisor approves one and rejects the other. The booth,
// synced, holds the approved number and not the rejected one.
func TestBrowserNumbers(t *testing.T) {
	b := newChrome(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // bounds a hang only
	defer cancel()
	r, c := rigCentre(t, ctx, ledger.RoleOperator, ledger.RoleSupervisor, ledger.RoleAuditor)
	st, f := c.store, r.Facility()
	inmate := boothrig.DemoRoster[0].Info.Person
	login := func(p person) { t.Helper(); c.browserLogin(b, p) }
	page := c.url + "/f/" + f + "/numbers"

	// The operator registers two numbers from the inmate's link.
	login(c.people["op"])
	b.run("the inmates", chromedp.Navigate(c.url+"/f/"+f+"/inmates"), chromedp.WaitVisible(chromedp.CSS(`tr[data-person="`+inmate+`"] a[data-role="numbers"]`)))
	b.run("the inmate's numbers", chromedp.Click(chromedp.CSS(`tr[data-person="`+inmate+`"] a[data-role="numbers"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[data-role="register"]`)))
	if got := b.eval(`document.querySelector('form[data-role="register"] input[name="person"]').value`); got != inmate {
		t.Errorf("the register form is for %q, want %s", got, inmate)
	}
	for _, n := range []struct{ number, e164, slot, label string }{{"0812-3456-7890", "+6281234567890", "1", "ibu"}, {"0813 1111 2222", "+6281311112222", "2", "teman"}} {
		b.run("register "+n.number, chromedp.SendKeys(chromedp.CSS(`input[data-field="number"]`), n.number),
			chromedp.SendKeys(chromedp.CSS(`input[data-field="slot"]`), n.slot), chromedp.SendKeys(chromedp.CSS(`input[data-field="label"]`), n.label),
			chromedp.Click(chromedp.CSS(`button[data-role="do-register"]`)),
			chromedp.WaitVisible(chromedp.CSS(`table[data-role="numbers"] tr[data-e164="`+n.e164+`"][data-status="pending"]`)))
	}
	ns, err := st.Numbers(ctx, f, inmate)
	if err != nil || len(ns) != 2 || ns[0].E164 != "+6281234567890" || ns[1].E164 != "+6281311112222" || ns[0].RegisteredBy != "op" {
		t.Fatalf("registered %+v, %v", ns, err)
	}
	approveID, rejectID := ns[0].ID, ns[1].ID
	if got := b.text(`table[data-role="pending"] tr[data-id="` + itoa(approveID) + `"] [data-role="awaits"]`); got == "(none)" {
		t.Error("the operator's pending list does not say the number awaits a supervisor")
	}
	// Nothing on the page lets the operator decide; a decision posted with
	// the operator's session is refused all the same.
	if b.eval(`String(document.querySelector('[data-role="approve"]') === null)`) != "true" {
		t.Error("the operator is offered an approval")
	}
	b.run("the operator approves its own", chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form"); f.method = "post"; f.action = "/f/`+f+`/numbers/decide";
		for (const [k, v] of [["csrf", document.querySelector('input[name="csrf"]').value], ["id", "`+itoa(approveID)+`"], ["verdict", "approve"]]) {
			const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
		}
		document.body.appendChild(f); f.submit();
	})()`), chromedp.WaitVisible(chromedp.CSS(`[data-role="error"]`)))
	if got := b.text(`[data-role="error"]`); got != "Akun Anda tidak boleh melakukan ini di sini." {
		t.Errorf("the operator's approval answered %q", got)
	}
	if ns, _ := st.Numbers(ctx, f, inmate); ns[0].Status != ledger.NumberPending {
		t.Fatalf("the operator's approval went through: %+v", ns[0])
	}
	b.run("log out", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`button[data-role="logout"]`)), chromedp.Click(chromedp.CSS(`button[data-role="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[data-role="login"]`)))

	// An auditor (no second factor) reads the page; its registration is refused.
	aud := c.client()
	if _, _, status := aud.login(c.people["aud"], c.people["aud"].password); status != 303 {
		t.Fatalf("auditor login: %d", status)
	}
	tok := aud.csrf("/f/" + f + "/numbers")
	if status, _ := aud.do("POST", "/f/"+f+"/numbers/register", url.Values{"csrf": {tok}, "person": {inmate}, "number": {"081277778888"}, "slot": {"3"}}); status != 403 {
		t.Errorf("an auditor's registration: %d, want 403", status)
	}

	// The supervisor approves one and rejects the other, with a reason.
	login(c.people["sup"])
	pending := func(id int64) string { return `table[data-role="pending"] tr[data-id="` + itoa(id) + `"]` }
	b.run("the pending numbers", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(pending(approveID)+` button[data-role="approve"]`)))
	b.shot("console-numbers.png")
	b.run("approve", chromedp.Click(chromedp.CSS(pending(approveID)+` button[data-role="approve"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-done="approved"]`)))
	b.run("reject", chromedp.SendKeys(chromedp.CSS(pending(rejectID)+` input[name="reason"]`), "bukan keluarga"),
		chromedp.Click(chromedp.CSS(pending(rejectID)+` button[data-role="reject"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-done="rejected"]`)))
	if got := b.text(`table[data-role="numbers"] tr[data-id="` + itoa(approveID) + `"] [data-col="status"]`); got != "disetujui" {
		t.Errorf("the approved number's status shows %q", got)
	}
	if got := b.text(`table[data-role="numbers"] tr[data-id="` + itoa(rejectID) + `"] [data-col="decided"]`); !contains(got, "sup", "bukan keluarga") {
		t.Errorf("the rejection shows %q", got)
	}

	// The booth syncs, and holds the approved number only.
	booth := r.Booths[0]
	if err := booth.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := booth.Stop(); err != nil {
		t.Fatal(err)
	}
	held, _, err := booth.StoredNumbers(inmate)
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 1 || held[0].E164 != "+6281234567890" || held[0].Slot != 1 || held[0].Label != "ibu" || held[0].RegisteredBy != "op" || held[0].ApprovedBy != "sup" {
		t.Fatalf("the booth holds %+v, want the approved +6281234567890 only", held)
	}

	// The trail has both accounts' changes, from the console.
	log, err := st.AuditLog(ctx, ledger.AuditQuery{Facilities: []string{f}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		if strings.HasPrefix(e.Action, "numbers.") {
			got = append(got, e.Action+" "+e.Actor+" "+e.Via)
		}
	}
	if strings.Join(got, ", ") != "numbers.reject sup console, numbers.approve sup console, numbers.add op console, numbers.add op console" {
		t.Errorf("audit trail %v", got)
	}
}

// rigCentre starts a rig (boothrig: a real gateway with its console and a
// real booth) and adds a console account of each role to its facility,
// named "op", "sup" and "aud" by role.
func rigCentre(t *testing.T, ctx context.Context, roles ...ledger.Role) (*boothrig.Rig, *centre) {
	t.Helper()
	r, err := boothrig.Start(ctx, boothrig.Options{Dir: t.TempDir(), KioskBin: kioskBinary(t), GatewayBin: gatewayBinary(t), Console: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	st, err := r.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	cheap := console.Argon2Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}
	c := &centre{t: t, url: strings.TrimSuffix(r.Gateway.Console, "/"), people: map[string]person{}, store: st}
	names := map[ledger.Role]string{ledger.RoleOperator: "op", ledger.RoleSupervisor: "sup", ledger.RoleAuditor: "aud"}
	for _, role := range roles {
		a, cr, err := console.NewAccount(names[role], role, []string{r.Facility()}, "", cheap, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		c.people[names[role]] = person{names[role], cr.Password, cr.TOTPSecret, role}
	}
	return r, c
}

// browserLogin logs p in in chromium with its password and a TOTP code.
func (c *centre) browserLogin(b *chrome, p person) {
	c.t.Helper()
	b.run("log in as "+p.name, chromedp.Navigate(c.url+"/login"), chromedp.WaitVisible(chromedp.CSS(`form[data-role="login"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), p.name), chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), p.password),
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), c.code(p)), chromedp.Click(chromedp.CSS(`form[data-role="login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-role="facilities"]`)))
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
