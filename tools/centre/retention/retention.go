// Package retention runs the ledger's retention (UU 27/2022) on a
// schedule inside `wartel-gateway serve`: once at start, then every
// interval, on an injected clock. What a run purges, and why the chains
// still verify, is the ledger's (ledger.Store.ApplyRetention,
// docs/console.md "Retention").
package retention

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/tools/centre/ledger"
)

// DefaultEvery is how often serve runs retention: daily. A month is purged
// at the earliest on the first day it is due, so a day late at most.
const DefaultEvery = 24 * time.Hour

// Actor and Via name the scheduled run in the audit trail (a person's
// `retention apply` is host:NAME via cli).
const (
	Actor = "system:retention"
	Via   = "serve"
)

// Options configure Run.
type Options struct {
	Store ledger.Store
	Clock clock.Clock   // Now is the instant each run purges at
	Every time.Duration // between runs; > 0
	Log   *slog.Logger  // nil: slog.Default()
	// Ran, if set, is called after every run with what it purged (tests
	// wait on it; it must not block long).
	Ran func([]ledger.Purge, error)
}

// Run applies retention at once and then every o.Every until ctx ends. A
// run that fails is logged and retried at the next interval: a database
// that does not answer delays a purge, it never stops the gateway.
func Run(ctx context.Context, o Options) error {
	if o.Store == nil || o.Clock == nil || o.Every <= 0 {
		return errors.New("retention: a store, a clock and an interval above 0 are needed")
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	for {
		// Each month's audit entry is written with its first records
		// purged, by the schedule rather than a person.
		purged, err := o.Store.ApplyRetention(ctx, o.Clock.Now(), ledger.AuditEntry{Actor: Actor, Via: Via})
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			log.Error("retention run failed; retrying at the next interval", "err", err, "every", o.Every)
		}
		for _, p := range purged {
			log.Info("retention purged a month's personal fields", "facility", p.Facility, "month", p.Month, "records", p.Records)
		}
		if o.Ran != nil {
			o.Ran(purged, err)
		}
		t := o.Clock.NewTimer(o.Every)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}
