// Package ledgertest is what the tests of the centre's packages share
// about a ledger they seed.
package ledgertest

import (
	"context"
	"testing"

	"wartelsuspas/tools/centre/ledger"
)

// ApproveOfficers approves every pending officer card of facility as the
// account by, the honest way (ledger.Store.DecideOfficer, so by must not
// be the account that added them): the roster withholds an officer card
// from the booths until another account approves it (docs/console.md).
func ApproveOfficers(t testing.TB, s ledger.Store, facility, by string) {
	t.Helper()
	ctx := context.Background()
	cards, err := s.OfficerCards(ctx, facility)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Status == ledger.OfficerPending {
			if _, err := s.DecideOfficer(ctx, facility, c.Card, c.Person, by, true, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
}
