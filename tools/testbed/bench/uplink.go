package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/store"
	"wartelsuspas/kiosk/uplink"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
)

var uplinkRecords = flag.Int("uplink-records", 5000, "records queued in the booth's outbox before the uplink drains it")

func init() { register("uplink", benchUplink) }

// benchUplink measures how fast one booth's uplink drains a week-offline
// outbox to the reference gateway (SQLite ledger) over loopback mutual TLS,
// beside the raw batched insert rate of SQLite with the gateway's settings.
func benchUplink(r *Report) error {
	dir, err := os.MkdirTemp(*storeDirOrTemp(), "bench-uplink")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	authority, err := ca.Init(filepath.Join(dir, "ca"), "bench CA")
	if err != nil {
		return err
	}
	led, err := ledger.OpenSQLite(filepath.Join(dir, "gateway.db"))
	if err != nil {
		return err
	}
	defer led.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	url, stop, err := serveGateway(authority, led)
	if err != nil {
		return err
	}
	defer stop()

	b, err := authority.Enroll("lapas-bench", "b01", 24*time.Hour)
	if err != nil {
		return err
	}
	if err := led.RegisterDevice(context.Background(), b.Device, time.Now()); err != nil {
		return err
	}
	conf, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: "127.0.0.1"})
	if err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(dir, "booth.db"), store.Options{Device: b.Device})
	if err != nil {
		return err
	}
	defer st.Close()
	n := *uplinkRecords
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	for i := range n {
		if _, err := st.Deny(record.Denial{At: at.Add(time.Duration(i) * time.Minute), Card: "em:0400D8B2A5", Inmate: "w1", Reason: "quota"}); err != nil {
			return err
		}
	}
	recs, err := st.Pending(0) // a copy, for the ledger's own rate below
	if err != nil || len(recs) == 0 {
		return fmt.Errorf("bench outbox empty: %v", err)
	}
	u, err := uplink.New(uplink.Options{BaseURL: url, TLS: conf, Store: st, Log: quiet,
		DrainInterval: time.Millisecond, HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- u.Run(ctx) }()
	// Uploaded counts the records acknowledged in the store: watching it
	// costs a lock, where counting the outbox (a scan of its table) every
	// few milliseconds took CPU from the drain it measures.
	for u.Status().Uploaded < uint64(n) {
		if time.Since(start) > 5*time.Minute {
			cancel()
			return fmt.Errorf("uplink drained only %d of %d records in 5 min; status %+v", u.Status().Uploaded, n, u.Status())
		}
		time.Sleep(500 * time.Microsecond)
	}
	elapsed := time.Since(start)
	cancel()
	<-done
	if d, err := st.Depth(); err != nil || d != 0 {
		return fmt.Errorf("uplink reports %d records uploaded, but the outbox holds %d (%v)", n, d, err)
	}
	drain := float64(n) / elapsed.Seconds()

	raw, err := rawInsertRate("sqlite", "file:"+filepath.Join(dir, "raw.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)", "?", n, uplink.DefaultBatchSize, recs[0].Payload)
	if err != nil {
		return err
	}
	ingest, err := ledgerIngestRate(filepath.Join(dir, "ingest.db"), b.Device, recs, uplink.DefaultBatchSize)
	if err != nil {
		return err
	}
	r.Add(Figure{
		Name:  "uplink outbox drain to gateway",
		Value: drain, Unit: "rec/s",
		Limit: raw, LimitNote: "raw batched SQLite insert",
		Note: fmt.Sprintf("%d records, batches of %d, one booth, loopback mTLS, SQLite ledger; a week offline drains in %v",
			n, uplink.DefaultBatchSize, elapsed.Round(time.Millisecond)),
	})
	r.Add(Figure{
		Name:  "uplink outbox drain / the ledger's own ingest",
		Value: drain, Unit: "rec/s",
		Limit: ingest, LimitNote: "the same batches into a new SQLite ledger, in process",
		Note: "what the booth, HTTP and TLS add to the gateway's own work: the drain cannot pass the ledger, one upload at a time",
	})
	return nil
}

// ledgerIngestRate is the rate at which a new SQLite ledger ingests recs in
// batches, one after another, with no server, network or booth: the most
// one booth's drain can reach.
func ledgerIngestRate(path, device string, recs []record.Record, batch int) (float64, error) {
	led, err := ledger.OpenSQLite(path)
	if err != nil {
		return 0, err
	}
	defer led.Close()
	ctx := context.Background()
	if err := led.RegisterDevice(ctx, device, time.Now()); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < len(recs); i += batch {
		res, err := led.Ingest(ctx, device, recs[i:min(i+batch, len(recs))])
		if err != nil {
			return 0, err
		}
		if want := recs[min(i+batch, len(recs))-1].Seq; res.Contiguous != want {
			return 0, fmt.Errorf("ledger stored up to #%d after ingesting up to #%d", res.Contiguous, want)
		}
	}
	return float64(len(recs)) / time.Since(start).Seconds(), nil
}
