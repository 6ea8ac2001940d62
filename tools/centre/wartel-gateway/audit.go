package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"wartelsuspas/tools/centre/console"
	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
)

// actor is who runs a changing command: -by, else $USER, else the user the
// process runs as.
func (g *globals) actor() string {
	if g.by != "" {
		return g.by
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// changed notes a change a command made, for the audit trail: the one way
// a command reports what it changed. run appends the notes after the
// command returns (also when it fails after changing something), so every
// command that changes anything is audited the same way.
func (g *globals) changed(action, facility, target string, before, after any) {
	g.changes = append(g.changes, ledger.AuditEntry{
		At: time.Now(), Actor: "host:" + g.actor(), Via: "cli", Action: action, Facility: facility, Target: target,
		Before: console.Doc(before), After: console.Doc(after),
	})
}

// flushAudit appends the command's changes to the audit trail.
func (g *globals) flushAudit(ctx context.Context) error {
	if len(g.changes) == 0 {
		return nil
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return fmt.Errorf("the change is made but not audited: %w", err)
	}
	defer s.Close()
	for _, e := range g.changes {
		if _, err := s.AppendAudit(ctx, e); err != nil {
			return fmt.Errorf("%s of %s is made but its audit entry is not written: %w", e.Action, e.Target, err)
		}
	}
	g.changes = nil
	return nil
}

func cmdAudit(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(g.stderr, "usage: wartel-gateway audit verify | audit list [-facility F] [-n 50]")
		return errUsage
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, g, args[1:])
	case "list":
		return auditList(ctx, g, args[1:])
	}
	fmt.Fprintf(g.stderr, "wartel-gateway audit: unknown subcommand %q; want verify or list\n", args[0])
	return errUsage
}

func auditVerify(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("audit verify")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.VerifyAudit(ctx)
	var br *ledger.AuditBreak
	if errors.As(err, &br) {
		return fmt.Errorf("audit trail BROKEN at entry %d of %d read: %s; the entries from %d on cannot be trusted: compare with a backup", br.Seq, n, br.Reason, br.Seq)
	}
	if err != nil {
		return err
	}
	head := "-"
	if es, err := s.AuditLog(ctx, ledger.AuditQuery{Limit: 1}); err == nil && len(es) == 1 {
		head = es[0].Hash
	}
	fmt.Fprintf(g.stdout, "audit trail ok: %d entries, head %s (note the head elsewhere: a rewrite of the whole trail changes it)\n", n, head)
	return nil
}

func auditList(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("audit list")
	facility := fs.String("facility", "", "only this facility's entries")
	n := fs.Int("n", 50, "how many of the newest entries (0: all)")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	q := ledger.AuditQuery{Limit: *n}
	if *facility != "" {
		q.Facilities = []string{*facility}
	}
	es, err := s.AuditLog(ctx, q)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tWHEN\tWHO\tVIA\tACTION\tFACILITY\tTARGET\tBEFORE\tAFTER")
	for _, e := range es {
		// Targets and documents hold what people typed (names, notes):
		// inert, so a newline cannot forge a row.
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format(time.RFC3339), inert.Text(e.Actor, 64), e.Via, e.Action,
			orDash(e.Facility), orDash(inert.Text(e.Target, 80)), orDash(inert.Text(e.Before, 120)), orDash(inert.Text(e.After, 120)))
	}
	return w.Flush()
}

// atomic runs the rest of a command that changes the ledger s in one of
// its transactions (console.AuditedChange), with the audit entries the command
// notes (g.changed) appended in it: the change is stored with its entries
// or not at all. What the command prints is held until the commit, so it
// never reports a change that was not made.
func (g *globals) atomic(ctx context.Context, s ledger.Store, do func(ctx context.Context) error) error {
	out := g.stdout
	var held bytes.Buffer
	g.stdout = &held
	defer func() { g.stdout = out }()
	err := console.AuditedChange(ctx, s, func(ctx context.Context) ([]ledger.AuditEntry, error) {
		err := do(ctx)
		return g.changes, err
	})
	g.changes = nil // appended with the change, or rolled back with it
	if err != nil {
		return err
	}
	_, err = out.Write(held.Bytes())
	return err
}
