package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
)

// Widths to which booth text is cut in the event listing.
const (
	eventKindWidth   = 40
	eventDetailWidth = 200
)

func cmdEvents(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("events")
	facility := fs.String("facility", "", "facility to list")
	device := fs.String("device", "", "only this booth: FACILITY/BOOTH, or BOOTH of -facility")
	since := fs.String("since", "", "from this time on the gateway's clock: RFC 3339 (2026-11-29T08:00:00+07:00) or a duration ago (24h, 90m, 7d); default: all")
	if _, err := parse(fs, args, 0, "facility"); err != nil {
		return err
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return fmt.Errorf("-since %q: %w", *since, err)
	}
	q := ledger.EventQuery{Facility: *facility, Device: *device, Since: from}
	if q.Device != "" && !strings.Contains(q.Device, "/") {
		q.Device = q.Facility + "/" + q.Device
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	es, err := s.Events(ctx, q)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RECEIVED\tSOURCE\tDEVICE\tSEQ\tBOOTH TIME\tEVENT\tWHAT\tDETAIL")
	for _, e := range es {
		seq, boothAt := "-", "-"
		if e.Source == ledger.SourceBooth {
			seq = strconv.FormatUint(e.Seq, 10)
			if !e.BoothAt.IsZero() {
				boothAt = e.BoothAt.UTC().Format(time.RFC3339)
				if !e.ClockTrusted {
					boothAt += " (unconfirmed)"
				}
			}
		}
		what, ok := ledger.EventLabel(e.Source, e.Kind)
		if !ok {
			what = "unknown event: not in this gateway's vocabulary"
		}
		if e.Problem != "" {
			what += "; NOT VERIFIED: " + e.Problem
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Source, inert.Text(e.Device, 0), seq, boothAt,
			inert.Text(e.Kind, eventKindWidth), inert.Text(what, eventDetailWidth), inert.Text(e.Detail, eventDetailWidth))
	}
	return w.Flush()
}

// parseSince reads -since: empty (everything), an RFC 3339 time, or a
// positive duration before now (Go's 90m, 24h, or whole days as 7d).
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		var n int
		if n, err = strconv.Atoi(days); err == nil {
			d = time.Duration(n) * 24 * time.Hour
		}
	}
	if err != nil || d <= 0 {
		return time.Time{}, errors.New("want an RFC 3339 time (2026-11-29T08:00:00+07:00) or a positive duration ago (24h, 90m, 7d)")
	}
	return now.Add(-d), nil
}
