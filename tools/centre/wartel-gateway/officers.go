package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/roster"
)

// The roster officers subcommands decide officer cards (docs/console.md
// "Officer cards"): a card imported as officer, or whose person or role
// changed, reaches no booth until another account approves it. As with
// numbers, the host has no login: -by names the account acting, and the
// rule (not the account that added the card) holds between the names.

const officersUsage = `usage: wartel-gateway roster officers SUBCOMMAND -facility F ...
  list                                  the facility's officer cards, pending first
  approve  -by ACCOUNT CARD             approve a pending officer card (not the account that added it)
  reject   -by ACCOUNT -reason R CARD   reject a pending officer card`

func rosterOfficers(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(g.stderr, officersUsage)
		return errUsage
	}
	switch args[0] {
	case "list":
		return officersList(ctx, g, args[1:])
	case "approve", "reject":
		return officersDecide(ctx, g, args[0], args[1:])
	}
	fmt.Fprintf(g.stderr, "wartel-gateway roster officers: unknown subcommand %q\n%s\n", args[0], officersUsage)
	return errUsage
}

func officersList(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("roster officers list")
	facility := fs.String("facility", "", "facility to list")
	if _, err := parse(fs, args, 0, "facility"); err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	all, err := s.OfficerCards(ctx, *facility)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CARD\tPERSON\tNAME\tBLOCKED\tSTATUS\tADDED BY\tADDED\tDECIDED BY\tDECIDED\tREASON")
	for _, o := range all {
		fmt.Fprintf(w, "%s\t%s\t%s\t%t\t%s\t%s\t%s\t%s\t%s\t%s\n", o.Card, inert.Text(o.Person, 64), inert.Text(o.Name, 64), o.Blocked, o.Status,
			dash(inert.Text(o.AddedBy, 64)), stamp(o.AddedAt), dash(inert.Text(o.DecidedBy, 64)), stamp(o.DecidedAt), dash(inert.Text(o.Reason, 200)))
	}
	return w.Flush()
}

// officersDecide is approve and reject: one officer card by its id.
func officersDecide(ctx context.Context, g *globals, verb string, args []string) error {
	fs := g.flags("roster officers " + verb)
	facility := fs.String("facility", "", "facility of the card")
	by := &g.by // the common -by: the account named in the audit trail and on the card
	reason := fs.String("reason", "", "why (required to reject)")
	person := fs.String("person", "", "the card's person as roster officers list shows it: the decision is refused if the card has changed since")
	required := []string{"facility", "by", "person"}
	if verb == "reject" {
		required = append(required, "reason")
	}
	rest, err := parse(fs, args, 1, required...)
	if err != nil {
		return err
	}
	id, err := cardid.Parse(rest[0])
	if err != nil {
		return fmt.Errorf("%q: %w: give the CARD that roster officers list shows", rest[0], err)
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		before, err := officerCard(ctx, s, *facility, string(id))
		if err != nil {
			return err
		}
		o, err := s.DecideOfficer(ctx, *facility, string(id), *person, *by, verb == "approve", *reason)
		if err != nil {
			return err
		}
		g.changed("officers."+verb, *facility, o.Card, before, o)
		then := "booths honour it from their next sync"
		if o.Status != ledger.OfficerApproved {
			then = "no booth honours it"
		}
		fmt.Fprintf(g.stdout, "officer card %s (%s) is %s by %s: %s\n", o.Card, inert.Text(o.Person, 64), o.Status, o.DecidedBy, then)
		return nil
	})
}

// officerCard is the facility's officer card as it stands, for the audit
// trail's before (nil: no such officer card; the decision then says so).
func officerCard(ctx context.Context, s ledger.Store, facility, card string) (any, error) {
	all, err := s.OfficerCards(ctx, facility)
	if err != nil {
		return nil, fmt.Errorf("read the officer cards of %s: %w", facility, err)
	}
	for _, o := range all {
		if o.Card == card {
			return o, nil
		}
	}
	return nil, nil
}

// pendingOfficers counts the facility's officer cards awaiting approval.
func pendingOfficers(ctx context.Context, s ledger.Store, facility string) (int, error) {
	all, err := s.OfficerCards(ctx, facility)
	if err != nil {
		return 0, fmt.Errorf("read the officer cards of %s: %w", facility, err)
	}
	n := 0
	for _, o := range all {
		if o.Status == ledger.OfficerPending {
			n++
		}
	}
	return n, nil
}

// officersNeedBy refuses a roster file with officer cards imported without
// -by, naming the first such line: a new officer card (or one whose person
// changes) is pending in the name of the account that adds it, and the
// host's $USER is no account a supervisor can be told apart from.
func officersNeedBy(by string, cards []record.CardInfo, lines []int) error {
	if by != "" {
		return nil
	}
	for i, c := range cards {
		if c.Role == record.RoleOfficer {
			return roster.RowError{Line: lines[i], Column: "role", Msg: "an officer card: name the importing account with -by (a new officer card is pending until another account approves it)"}
		}
	}
	return nil
}
