package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/tools/centre/ca"
)

// boothNames are the online booths first..first+n-1, boothsPerFacility to
// a facility, named lapas-NNNN/bNN.
func boothNames(prefix string, first, n int) []ca.Booth {
	out := make([]ca.Booth, n)
	for i := range out {
		j := first + i
		out[i] = ca.Booth{Facility: fmt.Sprintf("%s-%04d", prefix, j/boothsPerFacility), Booth: fmt.Sprintf("b%02d", j%boothsPerFacility)}
	}
	return out
}

// Ramp steps the number of online booths.
type Ramp struct {
	Start, Max int
	Factor     float64
	// Step is the measured window of each step, after Load.Spread of
	// warm-up in which the step's new booths connect.
	Step time.Duration
}

// Step is one measured count of booths.
type Step struct {
	Booths     int     `json:"booths"` // booths' worth of load: clients × weight
	Clients    int     `json:"clients"`
	Taps       int     `json:"taps"`
	P50Ms      float64 `json:"authorise_p50_ms"`
	P99Ms      float64 `json:"authorise_p99_ms"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Heartbeats int     `json:"heartbeats"`
	Uploads    int     `json:"uploads"`
	// GatewayCores is the replicas' CPU time over the window's length
	// (1 = one core busy); GatewayRSS their resident sets summed, MiB.
	GatewayCores  float64 `json:"gateway_cores"`
	GatewayRSSMiB float64 `json:"gateway_rss_mib"`
	// ClientCores is this process's CPU over the window: the booths'
	// side, on the same machine.
	ClientCores float64 `json:"client_cores"`
	// ServerP99Ms is authorise's p99 as the gateways measured it, from
	// their latency histogram: the upper bound of its bucket (-1: past the
	// last bucket, 2.5 s). Far below P99Ms, the time went outside the
	// gateways' handler (the booths' side, the loopback, the scheduler).
	ServerP99Ms float64 `json:"server_p99_ms"`
	Held        bool    `json:"held"`
}

// RampResult is the ramp's steps and what they say.
type RampResult struct {
	Steps []Step `json:"steps"`
	// Held is the largest step whose authorise p99 stayed under the
	// booth's deadline with no failed request (0: none did), in booths'
	// worth of load (clients × Weight).
	Held int `json:"held"`
	// Weight is how many booths each client stands for (Load.Weight).
	Weight int `json:"weight"`
	// Crossed says a step failed; false: the ramp reached Max and held.
	Crossed bool `json:"crossed"`
	// Per booth at Held: the replicas' CPU (% of one core) and memory
	// above their idle resident set (KiB) per client connection: a real
	// booth holds one.
	CPUPerBoothPct  float64 `json:"cpu_per_booth_pct"`
	RSSPerBoothKiB  float64 `json:"rss_per_booth_kib"`
	IdleRSSMiB      float64 `json:"idle_rss_mib"`
	Records         int64   `json:"records"`
	Stored          int64   `json:"stored"`
	TapEverySeconds float64 `json:"tap_every_s"`
	HeartbeatSec    float64 `json:"heartbeat_s"`
	StepSeconds     float64 `json:"step_s"`
}

// RunRamp steps the online clients from r.Start by r.Factor until a step's
// authorise p99 crosses the deadline (or a request fails) or r.Max is
// passed; then stops the booths, uploads what they hold, and checks that
// the ledger holds every record they wrote, once.
func (c *Country) RunRamp(ctx context.Context, r Ramp, l Load) (RampResult, error) {
	res := RampResult{TapEverySeconds: l.TapEvery.Seconds(), HeartbeatSec: l.Heartbeat.Seconds(), StepSeconds: r.Step.Seconds(), Weight: l.weight()}
	idle, err := sampleProcs(c.pids())
	if err != nil {
		return res, err
	}
	res.IdleRSSMiB = float64(idle.rss) / (1 << 20)
	f := startFleet(ctx)
	stopped := false
	defer func() {
		if !stopped {
			f.stop(ctx, l.Batch)
		}
	}()
	for n := r.Start; n <= r.Max; n = max(n+1, int(float64(n)*r.Factor)) {
		have := len(f.booths)
		bs, err := c.Booths(ctx, boothNames("lapas", have, n-have), have)
		if err != nil {
			return res, err
		}
		f.add(bs, l)
		fmt.Fprintf(c.cfg.Log, "country: ramp: %d clients (%d booths' load), warming up %v then measuring %v\n", n, n*l.weight(), l.Spread, r.Step)
		if err := wait(ctx, l.Spread); err != nil {
			return res, err
		}
		f.stats.Take()
		before, err := sampleProcs(c.pids())
		if err != nil {
			return res, err
		}
		selfBefore, _ := sampleProcs([]int{os.Getpid()})
		histBefore, err := scrapeLatency(ctx, c.gateways, protocol.PathAuthorise)
		if err != nil {
			return res, err
		}
		t0 := time.Now()
		if err := wait(ctx, r.Step); err != nil {
			return res, err
		}
		w := f.stats.Take()
		after, err := sampleProcs(c.pids())
		if err != nil {
			return res, err
		}
		selfAfter, _ := sampleProcs([]int{os.Getpid()})
		histAfter, err := scrapeLatency(ctx, c.gateways, protocol.PathAuthorise)
		if err != nil {
			return res, err
		}
		serverP99 := histAfter.since(histBefore).quantile(0.99)
		s := Step{Booths: n * l.weight(), Clients: n, Taps: w.Taps, P50Ms: ms(Percentile(w.Auth, 0.5)), P99Ms: ms(Percentile(w.Auth, 0.99)),
			Errors: w.Errs(), Heartbeats: w.Beats, Uploads: w.Ups,
			GatewayCores: (after.cpu - before.cpu).Seconds() / time.Since(t0).Seconds(), GatewayRSSMiB: float64(after.rss) / (1 << 20),
			ClientCores: (selfAfter.cpu - selfBefore.cpu).Seconds() / time.Since(t0).Seconds(), ServerP99Ms: serverP99 * 1000}
		if math.IsInf(serverP99, 1) {
			s.ServerP99Ms = -1
		}
		if w.FirstErr != nil {
			s.FirstError = w.FirstErr.Error()
		}
		s.Held = w.Taps > 0 && s.Errors == 0 && Percentile(w.Auth, 0.99) < authoriseDeadline
		res.Steps = append(res.Steps, s)
		fmt.Fprintf(c.cfg.Log, "country: ramp: %d booths' load: %d taps, authorise p50 %.1f ms p99 %.1f ms (gateways' own p99 ≤ %.0f ms; -1: over 2.5 s), %d errors, gateways %.2f cores %.0f MiB, load generator %.2f cores\n",
			s.Booths, s.Taps, s.P50Ms, s.P99Ms, s.ServerP99Ms, s.Errors, s.GatewayCores, s.GatewayRSSMiB, s.ClientCores)
		if !s.Held {
			res.Crossed = true
			break
		}
		res.Held = s.Booths
		res.CPUPerBoothPct = 100 * s.GatewayCores / float64(s.Booths)
		res.RSSPerBoothKiB = (s.GatewayRSSMiB - res.IdleRSSMiB) * 1024 / float64(n)
	}
	stopped = true
	if err := f.stop(ctx, l.Batch); err != nil {
		return res, err
	}
	res.Records = f.written()
	if res.Stored, err = c.storedRecords(ctx, "lapas-"); err != nil {
		return res, err
	}
	if res.Stored != res.Records {
		return res, fmt.Errorf("country: ramp: the booths wrote %d records, the ledger holds %d", res.Records, res.Stored)
	}
	return res, nil
}

// Outage is a regional outage's return.
type Outage struct {
	Booths int // booths that come back at once
	Days   int // how long they were cut off
	PerDay int // records a day each
	Online int // booths that stayed online, tapping meanwhile
	// Limit bounds the wait for the backlog to be stored.
	Limit time.Duration
}

// OutageResult is what the return cost.
type OutageResult struct {
	Booths          int     `json:"booths"`
	RecordsEach     int     `json:"records_each"`
	Records         int64   `json:"records"`
	Online          int     `json:"online"`
	StoredSeconds   float64 `json:"stored_s"`
	RatePerSecond   float64 `json:"rec_per_s"`
	RawPerSecond    float64 `json:"raw_rec_per_s"`
	Taps            int     `json:"taps"`
	P50Ms           float64 `json:"authorise_p50_ms"`
	P99Ms           float64 `json:"authorise_p99_ms"`
	Errors          int     `json:"errors"`
	FirstError      string  `json:"first_error,omitempty"`
	GatewayCores    float64 `json:"gateway_cores"`
	UploadBatchSize int     `json:"batch"`
}

// RunOutage keeps o.Online booths tapping while o.Booths booths come back
// at once, each with o.Days × o.PerDay records, and drain them in batches as
// their outboxes do. It returns when the ledger holds every one of them
// (counted there, not taken from the answers), with the authorise latency
// of the online booths meanwhile.
func (c *Country) RunOutage(ctx context.Context, o Outage, l Load) (OutageResult, error) {
	each := o.Days * o.PerDay
	res := OutageResult{Booths: o.Booths, RecordsEach: each, Records: int64(o.Booths * each), Online: o.Online, UploadBatchSize: l.Batch}
	f := startFleet(ctx)
	stopped := false
	defer func() {
		if !stopped {
			f.stop(ctx, l.Batch)
		}
	}()
	online, err := c.Booths(ctx, boothNames("online", 0, o.Online), 0)
	if err != nil {
		return res, err
	}
	back, err := c.Booths(ctx, boothNames("region", 0, o.Booths), 0)
	if err != nil {
		return res, err
	}
	for _, b := range back {
		b.Backlog(each, o.Days)
	}
	f.add(online, l)
	fmt.Fprintf(c.cfg.Log, "country: outage: %d booths online; %d come back with %d records each\n", o.Online, o.Booths, each)
	if err := wait(ctx, l.Spread); err != nil {
		return res, err
	}
	f.stats.Take()
	before, err := sampleProcs(c.pids())
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	drained := make(chan error, 1)
	go func() {
		drained <- parallel(len(back), len(back), func(i int) error {
			if err := back[i].Heartbeat(ctx); err != nil {
				return err
			}
			return back[i].Drain(ctx, l.Batch)
		})
	}()
	// The ledger is the judge: poll its count until it holds the lot.
	deadline := time.Now().Add(o.Limit)
	var stored int64
	for {
		if stored, err = c.storedRecords(ctx, "region-"); err != nil {
			return res, err
		}
		if stored >= res.Records {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("country: outage: %d of %d records stored after %v", stored, res.Records, o.Limit)
		}
		select {
		case err := <-drained:
			if err != nil {
				return res, fmt.Errorf("country: outage: %w", err)
			}
			drained = nil // done: the count catches up at once
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	took := time.Since(t0)
	w := f.stats.Take()
	after, _ := sampleProcs(c.pids())
	if drained != nil {
		if err := <-drained; err != nil {
			return res, fmt.Errorf("country: outage: %w", err)
		}
	}
	for _, b := range back {
		b.Close()
	}
	res.StoredSeconds = took.Seconds()
	res.RatePerSecond = float64(res.Records) / took.Seconds()
	res.Taps, res.Errors = w.Taps, w.Errs()
	res.P50Ms, res.P99Ms = ms(Percentile(w.Auth, 0.5)), ms(Percentile(w.Auth, 0.99))
	res.GatewayCores = (after.cpu - before.cpu).Seconds() / took.Seconds()
	if w.FirstErr != nil {
		res.FirstError = w.FirstErr.Error()
	}
	if stored != res.Records {
		return res, fmt.Errorf("country: outage: the ledger holds %d records of the returning booths, they wrote %d", stored, res.Records)
	}
	fmt.Fprintf(c.cfg.Log, "country: outage: %d records stored in %.1f s (%.0f rec/s); authorise p50 %.1f ms p99 %.1f ms over %d taps, %d errors\n",
		res.Records, res.StoredSeconds, res.RatePerSecond, res.P50Ms, res.P99Ms, res.Taps, res.Errors)
	stopped = true
	if err := f.stop(ctx, l.Batch); err != nil {
		return res, err
	}
	if res.RawPerSecond, err = c.rawInsertRate(ctx, int(res.Records), l.Batch); err != nil {
		return res, err
	}
	return res, nil
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
