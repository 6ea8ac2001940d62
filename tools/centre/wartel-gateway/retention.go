package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"wartelsuspas/tools/centre/ledger"
)

// cmdRetention sets, shows and applies the facilities' retention periods
// (UU 27/2022; docs/console.md "Retention").
func cmdRetention(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(g.stderr, "usage: wartel-gateway retention set -facility F -months N | show | apply")
		return errUsage
	}
	switch args[0] {
	case "set":
		fs := g.flags("retention set")
		facility := fs.String("facility", "", "facility the period applies to")
		months := fs.String("months", "", "months after its end a month keeps its personal fields (0: for ever)")
		if _, err := parse(fs, args[1:], 0, "facility", "months"); err != nil {
			return err
		}
		n, err := strconv.Atoi(*months)
		if err != nil || n < 0 || n > ledger.MaxRetentionMonths {
			return fmt.Errorf("-months %q: want a whole number of months, 0…%d (0 keeps everything)", *months, ledger.MaxRetentionMonths)
		}
		s, err := g.openLedger(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		return g.atomic(ctx, s, func(ctx context.Context) error {
			before, err := retentionOf(ctx, s, *facility)
			if err != nil {
				return err
			}
			if err := s.SetRetention(ctx, *facility, n, time.Now()); err != nil {
				return err
			}
			g.changed("retention.set", *facility, *facility, before, map[string]int{"months": n})
			if n == 0 {
				fmt.Fprintf(g.stdout, "retention of %s removed: its records keep their personal fields\n", *facility)
				return nil
			}
			fmt.Fprintf(g.stdout, "retention of %s: %d months; months up to %s are purged at the next run (serve runs it daily, or: wartel-gateway retention apply)\n",
				*facility, n, ledger.PurgeCutoff(time.Now(), n))
			return nil
		})
	case "show":
		fs := g.flags("retention show")
		if _, err := parse(fs, args[1:], 0); err != nil {
			return err
		}
		s, err := g.openLedger(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		ps, err := s.RetentionPeriods(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "FACILITY\tMONTHS\tSET\tPURGED-UP-TO")
		for _, p := range ps {
			purges, err := s.Purges(ctx, p.Facility)
			if err != nil {
				return err
			}
			last := "-"
			if len(purges) > 0 {
				l := purges[len(purges)-1]
				last = l.Month + " (" + l.At.Format("2006-01-02") + ")"
			}
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", p.Facility, p.Months, p.SetAt.Format(time.RFC3339), last)
		}
		return w.Flush()
	case "apply":
		fs := g.flags("retention apply")
		if _, err := parse(fs, args[1:], 0); err != nil {
			return err
		}
		s, err := g.openLedger(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		// Each month purged is audited in the ledger, in the transaction
		// of its first records purged (a purge runs in many).
		purged, err := s.ApplyRetention(ctx, time.Now(), ledger.AuditEntry{Actor: "host:" + g.actor(), Via: "cli"})
		for _, p := range purged {
			fmt.Fprintf(g.stdout, "%s %s: personal fields of %d records purged\n", p.Facility, p.Month, p.Records)
		}
		if err != nil {
			return err
		}
		if len(purged) == 0 {
			fmt.Fprintln(g.stdout, "nothing due")
		}
		return nil
	}
	fmt.Fprintf(g.stderr, "wartel-gateway retention: unknown subcommand %q (set, show, apply)\n", args[0])
	return errUsage
}

// retentionOf is a facility's retention as the audit trail shows it
// before a change: {"months": N} (0: none set, kept for ever).
func retentionOf(ctx context.Context, s ledger.Store, facility string) (map[string]int, error) {
	ps, err := s.RetentionPeriods(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Facility == facility {
			return map[string]int{"months": p.Months}, nil
		}
	}
	return map[string]int{"months": 0}, nil
}
