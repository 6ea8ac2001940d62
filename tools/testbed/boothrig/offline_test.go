package boothrig

import (
	"context"
	"errors"
	"testing"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/tools/centre/ledger"
)

// TestRigOfflineOverspend: two real booths, the gateway stopped. The same
// inmate, with 2 s of authoritative balance left, calls at both booths
// offline again and again; the first booth's last balance from the centre
// is stale (it does not know the call at the second), and each booth's own
// view of usage still has 7 s. After the gateway is back and both outboxes
// have drained, the ledger shows the facility spent at most booths ×
// offline_cap beyond the balance it gave before the outage (docs/ledger.md
// "Offline, and the worst-case overspend").
func TestRigOfflineOverspend(t *testing.T) {
	const (
		offlineCap = 2 * time.Second
		perCall    = 5 * time.Second
	)
	rules := Rules{Allowance: 12 * time.Second, PerCall: perCall, Checkpoint: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 3*hang)
	defer cancel()
	r := startRig(ctx, t, Options{Booths: 2, Rules: rules,
		Configure: func(b *Booth, doc string) (string, error) {
			doc, ok := SetKey(doc, "policy", "offline_cap", `"`+offlineCap.String()+`"`)
			if !ok {
				return "", errors.New("no policy.offline_cap in the packaged kiosk.toml")
			}
			return doc, nil
		}})
	defer r.Close()
	l, err := r.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := policy.LoadZone("Asia/Jakarta")
	period := policy.PeriodOf(time.Now(), policy.Day, loc).Key
	budi := card("budi")
	balance := func() (used, credit time.Duration) {
		t.Helper()
		used, credit, err := l.Balance(ctx, r.Facility(), "WBP-0001", period)
		if err != nil {
			t.Fatal(err)
		}
		return used, credit
	}

	// Online: a whole call at each booth, to the per-call cut-off. The
	// centre's balance is then 2 s; b01 last heard 12 s, b02 7 s.
	for i, b := range r.Booths {
		talk(t, ctx, b, budi)
		if err := b.WaitRelay(ctx, false); err != nil {
			t.Fatal(err)
		}
		if err := b.Hang(); err != nil {
			t.Fatal(err)
		}
		waitCentre(t, ctx, r, func(m map[string]ledger.ReportRow) bool { return m["WBP-0001"].Calls == int64(i+1) })
	}
	usedBefore, creditBefore := balance()
	remainingBefore := rules.Allowance + creditBefore - usedBefore
	t.Logf("before the outage: used %v, authoritative balance %v", usedBefore, remainingBefore)

	if err := r.Gateway.Stop(); err != nil {
		t.Fatal(err)
	}
	// Offline: the inmate tries three times at each booth, talking each
	// granted call to its cut-off.
	granted := map[string]int{}
	// tap taps a card and waits for the booth's decision.
	tap := func(b *Booth, c cardid.ID) Status {
		t.Helper()
		before, err := b.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Tap(c); err != nil {
			t.Fatal(err)
		}
		s, err := b.WaitStatus(ctx, func(s Status) bool {
			return s.Session.Denials > before.Session.Denials || s.Session.State == "granted"
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for range 3 {
		for _, b := range r.Booths {
			// Another card first: the reader takes the inmate's next
			// tap as a new one, not as the same card still lying there.
			tap(b, UnknownCard)
			s := tap(b, budi)
			if s.Session.State != "granted" {
				continue
			}
			granted[b.Name]++
			if err := b.Lift(); err != nil {
				t.Fatal(err)
			}
			// The relay closes once the booth reads the handset lifted
			// (the hook debounce), then opens at the cut-off.
			if err := b.WaitRelay(ctx, true); err != nil {
				t.Fatal(err)
			}
			if err := b.WaitRelay(ctx, false); err != nil { // the cut-off
				t.Fatal(err)
			}
			if err := b.Hang(); err != nil {
				t.Fatal(err)
			}
			if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.State == "ready" }); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, b := range r.Booths {
		if granted[b.Name] == 0 {
			t.Errorf("%s granted nothing offline: the test did not reach the offline cap there", b.Name)
		}
	}

	// The gateway back on its address: the outboxes drain.
	if err := r.Gateway.Start(ctx, r.Gateway.Addr, nil); err != nil {
		t.Fatal(err)
	}
	for _, b := range r.Booths {
		if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Gateway.Online && s.Outbox == 0 }); err != nil {
			t.Fatal(err)
		}
	}
	usedAfter, creditAfter := balance()
	if creditAfter != creditBefore {
		t.Fatalf("credits changed during the outage: %v then %v", creditBefore, creditAfter)
	}
	spent := usedAfter - usedBefore
	overspend := spent - remainingBefore
	t.Logf("offline: granted %v calls, spent %v; overspend %v (limit %d booths × %v)", granted, spent, overspend, len(r.Booths), offlineCap)
	if limit := time.Duration(len(r.Booths)) * offlineCap; overspend > limit {
		t.Errorf("the facility spent %v offline beyond the authoritative balance %v: %v over, more than %d booths × offline cap %v",
			spent, remainingBefore, overspend, len(r.Booths), offlineCap)
	}
}
