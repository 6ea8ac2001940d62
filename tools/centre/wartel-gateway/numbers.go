package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"wartelsuspas/tools/centre/console"

	"wartelsuspas/kiosk/dialplan"
	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
)

// The numbers subcommands register numbers for inmates and keep the
// facility's blocked list (docs/dial.md). The command line has no login:
// the host's operator names the account acting with -by, and the rules
// (another account approves) hold between the names given. The console
// uses real accounts.

const numbersUsage = `usage: wartel-gateway numbers SUBCOMMAND -facility F ...
  add      -by ACCOUNT -person P -number N [-slot D] [-label L] [-from T] [-until T]   register a number (pending)
  approve  -by ACCOUNT ID                   approve a pending number (not its registrar)
  reject   -by ACCOUNT -reason R ID         reject a pending number
  revoke   -by ACCOUNT -reason R ID         withdraw a pending or approved number
  list     [-person P] [-status S]          list registered numbers, every status
  block    -by ACCOUNT -reason R NUMBER     put a number on the facility's blocked list
  unblock  -by ACCOUNT NUMBER               take a number off the blocked list
  blocked                                   list the blocked list`

func cmdNumbers(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(g.stderr, numbersUsage)
		return errUsage
	}
	sub, ok := map[string]func(context.Context, *globals, []string) error{
		"add": numbersAdd, "approve": numbersApprove, "reject": numbersReject, "revoke": numbersRevoke,
		"list": numbersList, "block": numbersBlock, "unblock": numbersUnblock, "blocked": numbersBlocked,
	}[args[0]]
	if !ok {
		fmt.Fprintf(g.stderr, "wartel-gateway numbers: unknown subcommand %q\n%s\n", args[0], numbersUsage)
		return errUsage
	}
	return sub(ctx, g, args[1:])
}

func numbersAdd(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("numbers add")
	facility := fs.String("facility", "", "facility of the inmate")
	by := &g.by // the common -by: the account named in the audit trail and on the numbers
	person := fs.String("person", "", "the inmate's id, as in the roster's person column")
	number := fs.String("number", "", "the number as written: 0812…, 62812…, +62812… or +<country>…")
	slot := fs.Int("slot", 0, "the digit 1..9 the inmate presses to choose it; 0: by keying the full number only")
	label := fs.String("label", "", "the relationship: ibu, kakak, pengacara…")
	from := fs.String("from", "", "valid from (RFC 3339, or a date 2026-12-01: from its start in the facility's zone); default: at once")
	until := fs.String("until", "", "valid until: the instant it stops (RFC 3339), or the last day it is valid (2026-12-31, in the facility's zone); default: no end")
	if _, err := parse(fs, args, 0, "facility", "by", "person", "number"); err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		loc, err := console.FacilityZone(ctx, s, *facility)
		if err != nil {
			return err
		}
		vf, err := parseInstant(*from, loc, false)
		if err != nil {
			return fmt.Errorf("-from %q: %w", *from, err)
		}
		vu, err := parseInstant(*until, loc, true)
		if err != nil {
			return fmt.Errorf("-until %q: %w", *until, err)
		}
		n, err := s.RegisterNumber(ctx, *facility, ledger.NumberEntry{Person: *person, E164: *number, Slot: *slot, Label: *label,
			RegisteredBy: *by, ValidFrom: vf, ValidUntil: vu})
		if err != nil {
			return err
		}
		g.changed("numbers.add", *facility, fmt.Sprint(n.ID), nil, n)
		fmt.Fprintf(g.stdout, "registered number %d: %s for %s, slot %d, pending a supervisor's approval (wartel-gateway numbers approve -facility %s -by ACCOUNT %d)\n",
			n.ID, n.E164, n.Person, n.Slot, *facility, n.ID)
		return nil
	})
}

func numbersApprove(ctx context.Context, g *globals, args []string) error {
	return numbersDecide(ctx, g, "approve", args)
}

func numbersReject(ctx context.Context, g *globals, args []string) error {
	return numbersDecide(ctx, g, "reject", args)
}

func numbersRevoke(ctx context.Context, g *globals, args []string) error {
	return numbersDecide(ctx, g, "revoke", args)
}

// numbersDecide is approve, reject and revoke: one number by its id.
func numbersDecide(ctx context.Context, g *globals, verb string, args []string) error {
	fs := g.flags("numbers " + verb)
	facility := fs.String("facility", "", "facility of the number")
	by := &g.by // the common -by: the account named in the audit trail and on the numbers
	reason := fs.String("reason", "", "why (required to reject or revoke)")
	required := []string{"facility", "by"}
	if verb != "approve" {
		required = append(required, "reason")
	}
	rest, err := parse(fs, args, 1, required...)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("%q is not a number's id: give the ID that numbers list shows", rest[0])
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		var n ledger.NumberEntry
		if verb == "revoke" {
			n, err = s.RevokeNumber(ctx, *facility, id, *by, *reason)
		} else {
			n, err = s.DecideNumber(ctx, *facility, id, *by, verb == "approve", *reason)
		}
		if err != nil {
			return err
		}
		g.changed("numbers."+verb, *facility, fmt.Sprint(n.ID), nil, n)
		fmt.Fprintf(g.stdout, "number %d (%s for %s) is %s by %s\n", n.ID, n.E164, n.Person, n.Status, n.DecidedBy)
		return nil
	})
}

func numbersList(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("numbers list")
	facility := fs.String("facility", "", "facility to list")
	person := fs.String("person", "", "only this inmate")
	status := fs.String("status", "", "only this status: pending, approved, rejected or revoked")
	if _, err := parse(fs, args, 0, "facility"); err != nil {
		return err
	}
	if *status != "" && !validStatus(ledger.NumberStatus(*status)) {
		return fmt.Errorf("-status %q: use pending, approved, rejected or revoked", *status)
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	ns, err := s.Numbers(ctx, *facility, *person)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPERSON\tNUMBER\tSLOT\tLABEL\tSTATUS\tREGISTERED BY\tREGISTERED\tDECIDED BY\tDECIDED\tVALID FROM\tVALID UNTIL\tREASON")
	for _, n := range ns {
		if *status != "" && string(n.Status) != *status {
			continue
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, inert.Text(n.Person, 64), n.E164, n.Slot,
			inert.Text(n.Label, 64), n.Status, inert.Text(n.RegisteredBy, 64), stamp(n.RegisteredAt), dash(inert.Text(n.DecidedBy, 64)),
			stamp(n.DecidedAt), stamp(n.ValidFrom), stamp(n.ValidUntil), dash(inert.Text(n.Reason, 200)))
	}
	return w.Flush()
}

func numbersBlock(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("numbers block")
	facility := fs.String("facility", "", "facility whose booths must never dial it")
	by := &g.by // the common -by: the account named in the audit trail and on the numbers
	reason := fs.String("reason", "", "why: victim, witness, official…")
	rest, err := parse(fs, args, 1, "facility", "by", "reason")
	if err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		if err := s.BlockNumber(ctx, *facility, ledger.BlockedNumber{E164: rest[0], Reason: *reason, AddedBy: *by}); err != nil {
			return err
		}
		e, _ := dialplan.Parse(rest[0]) // BlockNumber parsed it
		g.changed("numbers.block", *facility, e, nil, map[string]any{"reason": *reason})
		fmt.Fprintf(g.stdout, "blocked %s in %s: no booth dials it from its next sync, whoever registered it\n", e, *facility)
		return nil
	})
}

func numbersUnblock(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("numbers unblock")
	facility := fs.String("facility", "", "facility of the blocked list")
	by := &g.by // the common -by: the account named in the audit trail and on the numbers
	rest, err := parse(fs, args, 1, "facility", "by")
	if err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		if err := s.UnblockNumber(ctx, *facility, rest[0], *by); err != nil {
			return err
		}
		e, _ := dialplan.Parse(rest[0])
		g.changed("numbers.unblock", *facility, e, map[string]any{"blocked": true}, nil)
		fmt.Fprintf(g.stdout, "unblocked %s in %s\n", e, *facility)
		return nil
	})
}

func numbersBlocked(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("numbers blocked")
	facility := fs.String("facility", "", "facility to list")
	if _, err := parse(fs, args, 0, "facility"); err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	bs, err := s.BlockedNumbers(ctx, *facility)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NUMBER\tADDED BY\tADDED\tREASON")
	for _, b := range bs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", b.E164, inert.Text(b.AddedBy, 64), stamp(b.AddedAt), inert.Text(b.Reason, 200))
	}
	return w.Flush()
}

func validStatus(s ledger.NumberStatus) bool {
	for _, x := range ledger.AllNumberStatuses {
		if x == s {
			return true
		}
	}
	return false
}

// parseInstant reads -from and -until: empty (no bound), RFC 3339, or a
// date, which is a whole day in the facility's zone loc as at the console
// (console.ValidityDay: -until 2026-12-31 includes the 31st).
func parseInstant(s string, loc *time.Location, until bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, ok := console.ValidityDay(s, loc, until); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("write RFC 3339 (2026-12-01T08:00:00+07:00) or a date (2026-12-01, a whole day in the facility's zone)")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
