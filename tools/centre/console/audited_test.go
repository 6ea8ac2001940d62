package console

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"wartelsuspas/tools/centre/ledger"
)

// unaudited is a ledger whose audit trail cannot be written (a full disk,
// a broken chain).
type unaudited struct{ ledger.Store }

func (unaudited) AppendAudit(context.Context, ledger.AuditEntry) (ledger.AuditEntry, error) {
	return ledger.AuditEntry{}, errors.New("audit trail unwritable (test)")
}

// TestChangeWithoutItsAuditIsNotMade: a change whose audit entry cannot be
// written is not made: the block, a registered number and the policy stay
// as they were, on both databases (the change and its entry are one
// transaction, Store.Atomic). An officer's changes cannot slip past the
// trail.
func TestChangeWithoutItsAuditIsNotMade(t *testing.T) {
	onBothDatabases(t, changeWithoutAudit)
}

func changeWithoutAudit(t *testing.T, st ledger.Store) {
	ctx := context.Background()
	seed := newEnvOn(t, st)
	seedRoster(t, seed)
	op := seed.account("ratna", ledger.RoleOperator, "lp")
	e := newEnvOn(t, unaudited{st})
	cookie := e.login(op)
	before, err := st.RosterSince(ctx, "lp", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/f/lp/inmates/block", url.Values{"card": {"em:0400D8B2A5"}}},
		{"/f/lp/numbers/register", url.Values{"person": {"W-1"}, "number": {"081234567890"}, "slot": {"1"}, "label": {"ibu"}}},
		{"/f/lp/policy", url.Values{"zone": {"Asia/Jakarta"}, "period": {"day"}, "allowance": {"25"}}},
	} {
		c.form.Set("csrf", e.csrf(cookie))
		if r := e.do("POST", c.path, cookie, c.form); r.status < 500 {
			t.Errorf("POST %s with the audit trail unwritable: %d, want a server error", c.path, r.status)
		}
	}
	after, err := st.RosterSince(ctx, "lp", 0)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || string(after.Policy) != string(before.Policy) {
		t.Errorf("roster version %d → %d, policy %s → %s: changed without an audit entry", before.Version, after.Version, before.Policy, after.Policy)
	}
	for _, c := range after.Upserts {
		if c.Blocked && c.Card == "em:0400D8B2A5" {
			t.Error("the card was blocked without an audit entry")
		}
	}
	if ns, err := st.Numbers(ctx, "lp", "W-1"); err != nil || len(ns) != 0 {
		t.Errorf("numbers of W-1 %v (%v): registered without an audit entry", ns, err)
	}
}
