package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
)

// metrics are the gateway's Prometheus series (docs/gateway.md lists them).
type metrics struct {
	ingested    *prometheus.CounterVec
	chainErrors *prometheus.CounterVec
	events      *prometheus.CounterVec
	officer     *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	clones      *prometheus.CounterVec
	booths      *boothCollector
}

func newMetrics(reg prometheus.Registerer, store ledger.Store, now func() time.Time, window time.Duration) (*metrics, error) {
	m := &metrics{
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wartel_records_ingested_total",
			Help: "Uploaded records by outcome: stored, duplicate, conflict.",
		}, []string{"status"}),
		chainErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wartel_chain_errors_total",
			Help: "Chain errors flagged on upload, by kind (gap, link, hash, conflict, payload).",
		}, []string{"kind"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wartel_events_total",
			Help: "Events by source and kind: booth event records stored at upload (kind as the booth names it, unknown for a word this gateway does not know), centre events as raised.",
		}, []string{"source", "kind"}),
		officer: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wartel_officer_actions_total",
			Help: "Officer action records stored at upload, by action (as the booth names it, unknown for a word this gateway does not know).",
		}, []string{"action"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wartel_request_duration_seconds",
			Help:    "Time to answer a booth's /v1 request, by path and HTTP status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .2, .4, 1, 2.5},
		}, []string{"path", "code"}),
		clones: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wartel_clone_suspected_total",
			Help: "Pairs of starts of one device identity seen heartbeating at once (a copied bundle?), by facility.",
		}, []string{"facility"}),
		booths: &boothCollector{
			store: store, now: now, window: window, facilities: make(map[string]bool),
			online: prometheus.NewDesc("wartel_booths_online",
				"Booths of a facility whose last heartbeat is within the online window.", []string{"facility"}, nil),
			depth: prometheus.NewDesc("wartel_outbox_depth",
				"Records waiting in a booth's outbox, as its last heartbeat reported.", []string{"device"}, nil),
			alerts: newAlertDescs(),
		},
	}
	// Every kind starts at 0, so an alert on its increase sees the first.
	for _, k := range record.AllEvents {
		m.events.WithLabelValues(string(ledger.SourceBooth), string(k))
	}
	for _, k := range ledger.AllCentreEventKinds {
		m.events.WithLabelValues(string(ledger.SourceCentre), string(k))
	}
	for _, a := range record.AllOfficerActions {
		m.officer.WithLabelValues(string(a))
	}
	store.ObserveCentreEvents(func(e ledger.CentreEvent) {
		kind := string(e.Kind)
		if !slices.Contains(ledger.AllCentreEventKinds, e.Kind) {
			kind = unknownEvent
		}
		m.events.WithLabelValues(string(ledger.SourceCentre), kind).Inc()
	})
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.ingested, m.chainErrors, m.events, m.officer, m.latency, m.clones, m.booths} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("server: register metrics: %w", err)
		}
	}
	return m, nil
}

// unknownEvent is the metric label of an event word this gateway does not
// know: a booth's word is its own text, and must not mint label values.
const unknownEvent = "unknown"

// countStored counts the event and officer records of an upload that were
// newly stored.
func (m *metrics) countStored(recs []record.Record, res ledger.IngestResult) {
	stored := make(map[uint64]bool, len(res.Records))
	for _, rr := range res.Records {
		stored[rr.Seq] = rr.Status == ledger.Stored
	}
	for _, rec := range recs {
		if (rec.Kind != record.KindEvent && rec.Kind != record.KindOfficer) || !stored[rec.Seq] {
			continue
		}
		stored[rec.Seq] = false // a twin in the same batch is a duplicate
		if rec.Kind == record.KindOfficer {
			m.officer.WithLabelValues(officerActionLabel(rec.Payload)).Inc()
			continue
		}
		kind := unknownEvent
		var ev record.Event
		if json.Unmarshal(rec.Payload, &ev) == nil && slices.Contains(record.AllEvents, ev.Event) {
			kind = string(ev.Event)
		}
		m.events.WithLabelValues(string(ledger.SourceBooth), kind).Inc()
	}
}

// officerActionLabel is the metric label of an officer record's action:
// its word when this gateway knows it, else unknown (the record is still
// stored and counted; a booth's word must not mint label values).
func officerActionLabel(payload []byte) string {
	var o record.Officer
	if json.Unmarshal(payload, &o) == nil && slices.Contains(record.AllOfficerActions, o.Action) {
		return string(o.Action)
	}
	return unknownEvent
}

func (m *metrics) seen(facility string) {
	m.booths.mu.Lock()
	m.booths.facilities[facility] = true
	m.booths.mu.Unlock()
}

// boothCollector reads booth status from the ledger at scrape time, so
// every replica reports the same numbers for the facilities it has heard of.
type boothCollector struct {
	store         ledger.Store
	now           func() time.Time
	window        time.Duration
	online, depth *prometheus.Desc
	alerts        alertDescs

	mu         sync.Mutex
	facilities map[string]bool
}

func (c *boothCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.online
	ch <- c.depth
	c.alerts.describe(ch)
}

func (c *boothCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	fs := make([]string, 0, len(c.facilities))
	for f := range c.facilities {
		fs = append(fs, f)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := c.now()
	for _, f := range fs {
		ds, err := c.store.Devices(ctx, f)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.online, fmt.Errorf("devices of %s: %w", f, err))
			continue
		}
		online := 0
		for _, d := range ds {
			if d.Revoked || d.LastSeen.IsZero() {
				continue
			}
			if now.Sub(d.LastSeen) <= c.window {
				online++
			}
			ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(d.OutboxDepth), d.Device)
			flags, err := c.store.ChainErrors(ctx, d.Device)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(c.alerts.flags, fmt.Errorf("chain flags of %s: %w", d.Device, err))
				continue
			}
			c.alerts.collect(ch, f, d, now.Sub(d.LastSeen).Seconds(), flags)
		}
		ch <- prometheus.MustNewConstMetric(c.online, prometheus.GaugeValue, float64(online), f)
	}
}
