package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/uplink"
	"wartelsuspas/tools/testbed/pgtest"
)

var countryArgs = flag.String("country-args", "", "extra flags for tools/testbed/country in the country suite (e.g. \"-ramp-max 8000 -outage-booths 100\"); see go run ./tools/testbed/country -h")

// One run: the ramp, the outage and the roster sync take minutes, and each
// figure is already over hundreds of taps or the whole backlog.
func init() { registerSlow("country", 1, benchCountry) }

const countryOneRun = "; one run"

// countryResults is the part of tools/testbed/country's -json the table
// shows (the command is a main package: its output is the contract).
type countryResults struct {
	Ramp *struct {
		Steps          []countryStep `json:"steps"`
		Held           int           `json:"held"`
		Weight         int           `json:"weight"`
		Crossed        bool          `json:"crossed"`
		CPUPerBoothPct float64       `json:"cpu_per_booth_pct"`
		RSSPerBoothKiB float64       `json:"rss_per_booth_kib"`
		IdleRSSMiB     float64       `json:"idle_rss_mib"`
		Records        int64         `json:"records"`
		TapEvery       float64       `json:"tap_every_s"`
		Heartbeat      float64       `json:"heartbeat_s"`
		Step           float64       `json:"step_s"`
	} `json:"ramp"`
	Outage *struct {
		Booths       int     `json:"booths"`
		RecordsEach  int     `json:"records_each"`
		Records      int64   `json:"records"`
		Online       int     `json:"online"`
		Stored       float64 `json:"stored_s"`
		Rate         float64 `json:"rec_per_s"`
		Raw          float64 `json:"raw_rec_per_s"`
		Taps         int     `json:"taps"`
		P50Ms        float64 `json:"authorise_p50_ms"`
		P99Ms        float64 `json:"authorise_p99_ms"`
		Errors       int     `json:"errors"`
		GatewayCores float64 `json:"gateway_cores"`
		Batch        int     `json:"batch"`
	} `json:"outage"`
	Roster *struct {
		Cards     int     `json:"cards"`
		Booths    int     `json:"booths"`
		PageCards int     `json:"page_cards"`
		Seconds   float64 `json:"s"`
		Slowest   float64 `json:"slowest_s"`
		Pages     int     `json:"pages_each"`
		Bytes     int     `json:"bytes_each"`
		Load      float64 `json:"load_s"`
		Reload    float64 `json:"reload_s"`
	} `json:"roster"`
}

type countryStep struct {
	Booths       int     `json:"booths"`
	Clients      int     `json:"clients"`
	Taps         int     `json:"taps"`
	P50Ms        float64 `json:"authorise_p50_ms"`
	P99Ms        float64 `json:"authorise_p99_ms"`
	Errors       int     `json:"errors"`
	GatewayCores float64 `json:"gateway_cores"`
	ClientCores  float64 `json:"client_cores"`
	ServerP99Ms  float64 `json:"server_p99_ms"`
	Held         bool    `json:"held"`
}

// serverP99 says what the gateways' own histogram put authorise's p99
// at, for a note ("" when the run did not read it).
func (s countryStep) serverP99() string {
	switch {
	case s.ServerP99Ms < 0:
		return ", the gateways' own p99 over 2.5 s"
	case s.ServerP99Ms > 0:
		return fmt.Sprintf(", the gateways' own p99 ≤ %.0f ms (their histogram's bucket)", s.ServerP99Ms)
	}
	return ""
}

// benchCountry runs the simulated country (tools/testbed/country: thousands
// of booth clients, two wartel-gateway replicas, one PostgreSQL) and puts its
// figures in the table.
func benchCountry(r *Report) error {
	if _, err := pgtest.Bin(); err != nil {
		r.Add(Figure{Name: "booths carried, authorise p99 under the deadline", Value: math.NaN(), Unit: "booths",
			Note: "not run: PostgreSQL's binaries are not installed (make deps installs them)"})
		return nil
	}
	dir, err := os.MkdirTemp("", "bench-country")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "country.json")
	args := append([]string{"run", "./tools/testbed/country", "-dir", dir, "-json", out}, strings.Fields(*countryArgs)...)
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = progress, progress
	runErr := cmd.Run()
	raw, err := os.ReadFile(out)
	if err != nil {
		return errors.Join(runErr, fmt.Errorf("country wrote no results: %w", err))
	}
	var res countryResults
	if err := json.Unmarshal(raw, &res); err != nil {
		return errors.Join(runErr, fmt.Errorf("country's results: %w", err))
	}
	deadline := Ms(protocol.AuthoriseDeadline)
	if rp := res.Ramp; rp != nil && len(rp.Steps) > 0 {
		largest := rp.Steps[len(rp.Steps)-1].Booths
		how := fmt.Sprintf("2 wartel-gateway replicas, one PostgreSQL, loopback; each client its own certificate and mTLS connection and the requests of %d booths (a tap every %.0f s on average a booth, the busy hour, and a heartbeat every %.0f s); steps of %s booths, %.0f s measured each",
			max(1, rp.Weight), rp.TapEvery, rp.Heartbeat, stepList(rp.Steps), rp.Step)
		if rp.Crossed {
			last := rp.Steps[len(rp.Steps)-1]
			how += fmt.Sprintf("; %d booths crossed: p99 %.0f ms%s, %d errors, gateways %.2f cores, load generator %.2f cores", last.Booths, last.P99Ms, last.serverP99(), last.Errors, last.GatewayCores, last.ClientCores)
		} else {
			how += "; never crossed: the machine carries more than the ramp tried"
		}
		r.Add(Figure{Name: "booths carried with authorise p99 under the deadline", Value: float64(rp.Held), Unit: "booths",
			Limit: float64(largest), LimitNote: "the ramp's largest step", Note: how + countryOneRun})
		for _, s := range rp.Steps {
			if s.Booths == rp.Held {
				r.Add(Figure{Name: "authorise p99 at the booths carried", Value: s.P99Ms, Unit: "ms", Limit: deadline,
					LimitNote: "the booth's authorise deadline", Goal: Max,
					Note: fmt.Sprintf("%d booths, %d taps, p50 %.1f ms%s; the clients and the gateways share the machine", s.Booths, s.Taps, s.P50Ms, s.serverP99()) + countryOneRun})
				r.Add(Figure{Name: "gateway CPU per booth", Value: rp.CPUPerBoothPct, Unit: "% of a core",
					Note: fmt.Sprintf("utime+stime of both replicas from /proc over the step at %d booths: %.2f cores; PostgreSQL not counted", s.Booths, s.GatewayCores) + countryOneRun})
			}
		}
		r.Add(Figure{Name: "gateway memory per booth connection", Value: rp.RSSPerBoothKiB, Unit: "KiB",
			Note: fmt.Sprintf("VmRSS of both replicas at %d booths' load minus idle (%.0f MiB for both), per client connection (a booth holds one)", rp.Held, rp.IdleRSSMiB) + countryOneRun})
	}
	if o := res.Outage; o != nil && o.Stored > 0 {
		rawTime := float64(o.Records) / o.Raw
		how := fmt.Sprintf("%d booths come back at once with %d records each (a week at %d a day), uploads of %d as the outbox drains; time until the ledger's count (read in PostgreSQL) holds all %d; %d booths tap meanwhile",
			o.Booths, o.RecordsEach, o.RecordsEach/7, o.Batch, o.Records, o.Online)
		r.Add(Figure{Name: "outage: every record stored", Value: o.Stored, Unit: "s", Limit: rawTime,
			LimitNote: "the same records by raw batched INSERT", Note: how + countryOneRun})
		r.Add(Figure{Name: "outage: ingest from the returning booths", Value: o.Rate, Unit: "rec/s", Limit: o.Raw,
			LimitNote: "raw batched INSERT, same PostgreSQL", Note: fmt.Sprintf("gateways %.2f cores meanwhile", o.GatewayCores) + countryOneRun})
		r.Add(Figure{Name: "outage: authorise p99 while the backlog drains", Value: o.P99Ms, Unit: "ms", Limit: deadline,
			LimitNote: "the booth's authorise deadline", Goal: Max,
			Note: fmt.Sprintf("%d taps of the %d online booths, p50 %.1f ms, %d errors; the gateway serves 4 uploads at a time, authorise has no such queue", o.Taps, o.Online, o.P50Ms, o.Errors) + countryOneRun})
	}
	if rs := res.Roster; rs != nil && rs.Pages > 0 {
		how := fmt.Sprintf("a %d-card facility, %d booths sync from nothing at the same moment, %d cards a page (the booth's default)", rs.Cards, rs.Booths, rs.PageCards)
		r.Add(Figure{Name: fmt.Sprintf("roster sync, %d cards to %d booths at once", rs.Cards, rs.Booths), Value: rs.Seconds, Unit: "s",
			Limit: uplink.DefaultSyncInterval.Seconds(), LimitNote: "the booth's sync interval", Goal: Max,
			Note: how + fmt.Sprintf("; until the last booth holds every card; slowest booth %.2f s", rs.Slowest) + countryOneRun})
		r.Add(Figure{Name: "roster sync: pages per booth", Value: float64(rs.Pages), Unit: "pages",
			Limit: math.Ceil(float64(rs.Cards) / float64(rs.PageCards)), LimitNote: "cards ÷ page size", Note: how + countryOneRun})
		r.Add(Figure{Name: "roster sync: bytes per booth", Value: float64(rs.Bytes) / 1e6, Unit: "MB",
			Note: fmt.Sprintf("JSON bodies of the answers, %.0f B a card, no compression; TLS framing not counted", float64(rs.Bytes)/float64(rs.Cards)) + countryOneRun})
		r.Add(Figure{Name: fmt.Sprintf("roster import of %d cards, PostgreSQL", rs.Cards), Value: rs.Load, Unit: "s",
			Note: "ledger.UpsertCards in one call, as wartel-gateway roster import of one file: the setup of the sync above" + countryOneRun})
		if rs.Reload > 0 {
			r.Add(Figure{Name: fmt.Sprintf("roster import of the same %d cards again, PostgreSQL", rs.Cards), Value: rs.Reload, Unit: "s",
				Note: "as a nightly import of an unchanged file, after the sync above: every person checked against the roster as it stands" + countryOneRun})
		}
	}
	return runErr
}

func stepList(steps []countryStep) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, fmt.Sprint(s.Booths))
	}
	return strings.Join(parts, ", ")
}
