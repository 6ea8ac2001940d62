package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wartelsuspas/kiosk/session"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/testbed/boothrig"
)

// TestBrowserOfficers: in chromium against a real gateway with a real
// booth, an operator imports an officer card at the console; the booth,
// synced, refuses the card; the operator has no decision to make on the
// Officer cards page; a supervisor approves it there; the booth, synced,
// honours it as an officer's (issue 16).
func TestBrowserOfficers(t *testing.T) {
	b := newChrome(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // bounds a hang only
	defer cancel()
	r, c := rigCentre(t, ctx, ledger.RoleOperator, ledger.RoleSupervisor)
	f, booth := r.Facility(), r.Booths[0]
	const card, officer = "em:1A2B3C4D60", "PTG-0002"
	page := c.url + "/f/" + f + "/officers"
	row := `table[data-role="officers"] tr[data-card="` + card + `"]`

	c.browserLogin(b, c.people["op"])
	b.run("import an officer card", chromedp.Navigate(c.url+"/f/"+f+"/inmates"), chromedp.WaitVisible(chromedp.CSS(`[data-role="import"] textarea`)),
		chromedp.SetValue(chromedp.CSS(`[data-role="import"] textarea`), "role,person,name,block,card,allowance_min,blocked\nofficer,"+officer+",Pak Baru,,"+card+",,\n"),
		chromedp.Click(chromedp.CSS(`[data-role="preview"]`)), chromedp.WaitVisible(chromedp.CSS(`button[data-role="do-import"]`)),
		chromedp.Click(chromedp.CSS(`button[data-role="do-import"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-role="withheld"]`)))
	b.run("the officer cards", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(row+`[data-status="pending"] [data-role="awaits"]`)))
	if b.eval(`String(document.querySelector('[data-role="approve"]') === null)`) != "true" {
		t.Error("the operator is offered an approval")
	}

	// Synced, the booth does not take the pending card for an officer's.
	tap := func(want session.ActivityKind) boothrig.Activity {
		t.Helper()
		if err := booth.Resync(ctx); err != nil {
			t.Fatal(err)
		}
		s, err := booth.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := booth.Tap(card); err != nil {
			t.Fatal(err)
		}
		a, err := booth.WaitActivity(ctx, s.LastSeq(), func(a boothrig.Activity) bool {
			return a.Kind == session.ActivityDenied || a.Kind == session.ActivityOfficerMode
		})
		if err != nil {
			t.Fatal(err)
		}
		if a.Kind != want {
			t.Fatalf("tap of the officer card: %+v, want %s", a, want)
		}
		return a
	}
	tap(session.ActivityDenied)

	b.run("log out", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`button[data-role="logout"]`)), chromedp.Click(chromedp.CSS(`button[data-role="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[data-role="login"]`)))
	c.browserLogin(b, c.people["sup"])
	b.run("the pending card", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(row+` button[data-role="approve"]`)))
	b.shot("console-officers.png")
	b.run("approve", chromedp.Click(chromedp.CSS(row+` button[data-role="approve"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-done="approved"]`)))
	if got := b.text(row + ` [data-col="decided"]`); !contains(got, "sup") {
		t.Errorf("the approval shows %q", got)
	}
	if a := tap(session.ActivityOfficerMode); a.Officer != officer {
		t.Errorf("the approved card: %+v, want officer mode of %s", a, officer)
	}
	log, err := c.store.AuditLog(ctx, ledger.AuditQuery{Facilities: []string{f}})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) == 0 {
		t.Fatal("nothing in the audit trail")
	}
	if e := log[0]; e.Action != "officers.approve" || e.Actor != "sup" || e.Via != "console" || e.Target != card {
		t.Errorf("the newest audit entry %+v, want officers.approve of %s by sup via console", e, card)
	}
}
