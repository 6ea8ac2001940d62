package main

import (
	"context"
	"os"
	"os/user"
	"time"

	"wartelsuspas/tools/centre/console"
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

// audited runs a command's change and appends it to the audit trail, as
// the host user (g.actor) through the CLI: every command that changes
// anything goes through it.
func (g *globals) audited(ctx context.Context, s ledger.Store, action, facility, target string, do func() (before, after any, err error)) error {
	return console.Audited(ctx, s, time.Now(), console.AuditChange{Actor: "host:" + g.actor(), Via: "cli", Action: action, Facility: facility, Target: target}, do)
}
