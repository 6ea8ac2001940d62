package boothrig

import (
	"context"
	"fmt"
	"path/filepath"

	"wartelsuspas/tools/centre/ledger"
)

// approveOfficers approves the facility's pending officer cards through
// the gateway's command line, as DemoSupervisor: the roster is imported by
// DemoOperator, and the gateway withholds an officer card from every booth
// until another account approves it (docs/console.md "Officer cards"). A
// card approved by an earlier run stays approved.
func approveOfficers(ctx context.Context, g *Gateway, facility string) error {
	led, err := ledger.OpenSQLite(filepath.Join(g.Dir, "gateway.db"))
	if err != nil {
		return fmt.Errorf("boothrig: the gateway's ledger: %w", err)
	}
	cards, err := led.OfficerCards(ctx, facility)
	led.Close()
	if err != nil {
		return fmt.Errorf("boothrig: the gateway's officer cards: %w", err)
	}
	for _, c := range cards {
		if c.Status != ledger.OfficerPending {
			continue
		}
		if err := g.Run(ctx, "roster", "officers", "approve", "-facility", facility, "-by", DemoSupervisor, "-person", c.Person, c.Card); err != nil {
			return err
		}
	}
	return nil
}
