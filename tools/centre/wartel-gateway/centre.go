package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/report"
	"wartelsuspas/tools/centre/server"
)

func cmdPolicy(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 || args[0] != "set" {
		fmt.Fprintln(g.stderr, "usage: wartel-gateway policy set -facility F FILE.json")
		return errUsage
	}
	fs := g.flags("policy set")
	facility := fs.String("facility", "", "facility the rules apply to")
	rest, err := parse(fs, args[1:], 1, "facility")
	if err != nil {
		return err
	}
	doc, err := os.ReadFile(rest[0])
	if err != nil {
		return fmt.Errorf("read the policy: %w", err)
	}
	if _, err := server.ParsePolicy(doc); err != nil {
		return fmt.Errorf("%s: %w (nothing changed; see docs/gateway.md for the format)", rest[0], err)
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		old, err := s.RosterSince(ctx, *facility, 0)
		if err != nil {
			return fmt.Errorf("read the policy of %s: %w", *facility, err)
		}
		version, err := s.SetPolicy(ctx, *facility, doc)
		if err != nil {
			return fmt.Errorf("store the policy of %s: %w", *facility, err)
		}
		g.changed("policy.set", *facility, *facility, policyDoc(old.Policy), policyDoc(doc))
		fmt.Fprintf(g.stdout, "policy of %s set; roster version %d (booths apply it at their next sync)\n", *facility, version)
		return nil
	})
}

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

func cmdReport(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("report")
	facility := fs.String("facility", "", "facility to report on")
	month := fs.String("month", "", "month, YYYY-MM")
	officers := fs.Bool("officers", false, "the per-officer report: resets, grants, minutes credited, distinct inmates, robust z-scores, outliers")
	days := fs.Bool("days", false, "calls and minutes per day of the month")
	out := fs.String("out", "", "CSV file to write (default: standard output)")
	if _, err := parse(fs, args, 0, "facility", "month"); err != nil {
		return err
	}
	if !monthRE.MatchString(*month) {
		return fmt.Errorf("-month %q is not YYYY-MM, e.g. 2026-11", *month)
	}
	if *officers && *days {
		return fmt.Errorf("-officers and -days are two reports: ask for one at a time")
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	var (
		write func(io.Writer) error
		what  string
		m     report.Monthly
	)
	if *officers || *days {
		if m, err = report.Build(ctx, s, *facility, *month); err != nil {
			return err
		}
		write, what = func(w io.Writer) error { return report.WriteDaysCSV(w, m) }, fmt.Sprintf("%d days", len(m.Days))
		if *officers {
			write, what = func(w io.Writer) error { return report.WriteOfficersCSV(w, m) }, fmt.Sprintf("%d officers", len(m.Officers))
		}
	} else {
		rows, err := s.MonthlyReport(ctx, *facility, *month)
		if err != nil {
			return fmt.Errorf("report of %s for %s: %w", *facility, *month, err)
		}
		if m.Purged, err = purgedAt(ctx, s, *facility, *month); err != nil {
			return err
		}
		write, what = func(w io.Writer) error { return ledger.WriteReportCSV(w, rows) }, fmt.Sprintf("%d inmates", len(rows))
	}
	// The CSV stays plain RFC 4180; that a month was purged goes beside it.
	if note := report.PurgedNote(m, report.English); note != "" {
		fmt.Fprintf(g.stderr, "report of %s for %s: %s\n", *facility, *month, note)
	}
	if *out == "" {
		return write(g.stdout)
	}
	if err := writeReplacing(*out, write); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "report of %s for %s: %s, written to %s\n", *facility, *month, what, *out)
	return nil
}

// purgedAt is when retention purged a facility's month (zero: never).
func purgedAt(ctx context.Context, s ledger.Store, facility, month string) (time.Time, error) {
	ps, err := s.Purges(ctx, facility)
	if err != nil {
		return time.Time{}, err
	}
	for _, p := range ps {
		if p.Month == month {
			return p.At, nil
		}
	}
	return time.Time{}, nil
}

// writeReplacing writes a file beside its target and renames it, so a
// half-written report never passes for a whole one.
func writeReplacing(out string, write func(io.Writer) error) error {
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("create the report: %w", err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write the report %s: %w", out, err)
	}
	return nil
}

func cmdDevices(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("devices")
	facility := fs.String("facility", "", "facility to list")
	if _, err := parse(fs, args, 0, "facility"); err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	ds, err := s.Devices(ctx, *facility)
	if err != nil {
		return fmt.Errorf("devices of %s: %w", *facility, err)
	}
	now := time.Now()
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DEVICE\tLINK\tSTATE\tOUT-OF-SERVICE\tFAULTS\tCLOCK\tLAST-HEARTBEAT\tOUTBOX\tFIRMWARE\tCHAIN-ERRORS\tSTORE\tALERTS")
	for _, d := range ds {
		link, last := "offline", "never"
		if !d.LastSeen.IsZero() {
			last = d.LastSeen.UTC().Format(time.RFC3339)
			if now.Sub(d.LastSeen) <= server.DefaultOnlineWindow {
				link = "online"
			}
		}
		if d.Revoked {
			link = "revoked"
		}
		ces, err := s.ChainErrors(ctx, d.Device)
		if err != nil {
			return fmt.Errorf("chain errors of %s: %w", d.Device, err)
		}
		open := 0
		for _, ce := range ces {
			if !ce.Cleared {
				open++
			}
		}
		clk := "-"
		if !d.LastSeen.IsZero() {
			clk = "untrusted"
			if d.ClockTrusted {
				clk = "trusted"
			}
			clk += " " + signed(d.ClockOffset)
		}
		alerts := "-"
		if !d.CloneSuspected.IsZero() {
			alerts = string(ledger.EventCloneSuspected) + " " + d.CloneSuspected.UTC().Format(time.RFC3339)
		}
		// A replaced store is never silent: how often, and the records lost
		// with the old ones (the store_replaced centre event has the details).
		st := "ok"
		if d.StoreReplaced > 0 {
			st = fmt.Sprintf("REPLACED %dx, %d lost", d.StoreReplaced, d.LostRecords)
		}
		// Everything but the device id (the CA's, checked at enrolment)
		// and our own words came from the booth: inert, so a newline
		// cannot forge a row nor an escape reach the terminal.
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d open / %d\t%s\t%s\n", d.Device, link,
			boothWord(d.State), boothList(d.OutOfService), boothList(d.Faults), clk, last, d.OutboxDepth,
			orDash(inert.Text(d.Firmware, protocol.MaxFirmwareLen)), open, len(ces), st, alerts)
	}
	return w.Flush()
}

// boothWord shows one word a booth sent (a state, a cause, a fault).
func boothWord(s string) string { return orDash(inert.Text(s, protocol.MaxWordLen)) }

// boothList shows a list of words a booth sent, comma-separated.
func boothList(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = inert.Text(s, protocol.MaxWordLen)
	}
	return strings.Join(out, ",")
}

// signed shows a clock offset (gateway minus booth) with its sign.
func signed(d time.Duration) string {
	if d < 0 {
		return d.Round(time.Millisecond).String()
	}
	return "+" + d.Round(time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// policyDoc is a policy for the audit trail: its JSON as is ("" : none).
func policyDoc(doc []byte) any {
	if len(doc) == 0 {
		return nil
	}
	if !json.Valid(doc) {
		return string(doc)
	}
	return json.RawMessage(doc)
}
