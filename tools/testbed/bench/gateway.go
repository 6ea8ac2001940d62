package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/server"
	"wartelsuspas/tools/testbed/pgtest"
)

var (
	gatewayBooths  = flag.Int("gateway-booths", 1000, "simulated booths, each with its own enrolled certificate")
	gatewayBatches = flag.Int("gateway-batches", 2, "upload batches per booth")
	gatewayBatch   = flag.Int("gateway-batch", 25, "records per batch")
	gatewayBudget  = flag.Duration("gateway-budget", 40*time.Second, "time bound of the load phase")
	gatewayProbes  = flag.Int("gateway-probes", 4, "authorise probe loops beside the load, each back to back (0: the ingest alone)")
)

// One run: 1000 enrolled booths loading each database take a minute or
// more on a 2-core machine; each figure is already over 50000 records or
// hundreds of probes.
func init() { registerSlow("gateway", 1, benchGateway) }

// gatewayOneRun ends the notes of this suite's figures.
const gatewayOneRun = "; one run (about a minute per database)"

// gatewayBackend is one database the gateway runs on in the bench.
type gatewayBackend struct {
	name string
	open func(dir string) (ledger.Store, error)
	// raw inserts n rows in batches with plain INSERTs into the same kind of
	// database and returns rows per second.
	raw  func(dir string, n, batch int, payload []byte) (float64, error)
	note string
}

// benchGateway measures the reference gateway on SQLite and, where
// PostgreSQL's binaries are installed (make test installs them), on a
// throwaway PostgreSQL: ingest throughput from many booths over loopback
// mutual TLS, each with its own certificate (identity must match the
// records), against the raw batched insert rate of the same database, and
// authorise latency under that load.
func benchGateway(r *Report) error {
	backends := []gatewayBackend{{
		name: "SQLite",
		open: func(dir string) (ledger.Store, error) { return ledger.OpenSQLite(filepath.Join(dir, "gateway.db")) },
		raw: func(dir string, n, batch int, payload []byte) (float64, error) {
			return rawInsertRate("sqlite", "file:"+filepath.Join(dir, "raw.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)", "?", n, batch, payload)
		},
		note: "WAL+FULL",
	}}
	if _, err := pgtest.Bin(); err == nil {
		pg, err := pgtest.NewServer()
		if err != nil {
			return fmt.Errorf("start PostgreSQL for the bench: %w", err)
		}
		defer pg.Stop()
		dsn := pg.DSN("postgres")
		backends = append(backends, gatewayBackend{
			name: "PostgreSQL",
			open: func(string) (ledger.Store, error) { return ledger.OpenPostgres(context.Background(), dsn) },
			raw: func(_ string, n, batch int, payload []byte) (float64, error) {
				return rawInsertRate("pgx", dsn, "$", n, batch, payload)
			},
			note: "throwaway server, fsync off for both sides",
		})
	} else {
		r.Add(Figure{Name: "ingest over mTLS, PostgreSQL", Value: math.NaN(), Unit: "rec/s",
			Note: "not run: PostgreSQL's binaries are not installed (make deps installs them)"})
	}
	for _, b := range backends {
		if err := benchGatewayOn(r, b); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
	}
	return nil
}

func benchGatewayOn(r *Report, backend gatewayBackend) error {
	dir, err := os.MkdirTemp(*storeDirOrTemp(), "bench-gateway")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	authority, err := ca.Init(filepath.Join(dir, "ca"), "bench CA")
	if err != nil {
		return err
	}
	store, err := backend.open(dir)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx := context.Background()
	const facilities = 50
	for f := range facilities {
		fac := fmt.Sprintf("lapas-%02d", f)
		if _, err := store.SetPolicy(ctx, fac, []byte(`{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`)); err != nil {
			return err
		}
		cards := make([]record.CardInfo, 0, 100)
		for i := range 100 {
			cards = append(cards, record.CardInfo{Card: fmt.Sprintf("em:04%08X", f*1000+i+1), Role: record.RoleInmate, Person: fmt.Sprintf("w%d", i)})
		}
		if _, err := store.UpsertCards(ctx, fac, "bench", cards); err != nil {
			return err
		}
	}

	t0 := time.Now()
	bundles := make([]bundle.Bundle, *gatewayBooths)
	for i := range bundles {
		fac := fmt.Sprintf("lapas-%02d", i%facilities)
		if bundles[i], err = authority.Enroll(fac, fmt.Sprintf("b%04d", i), 24*time.Hour); err != nil {
			return err
		}
		if err := store.RegisterDevice(ctx, bundles[i].Device, time.Now()); err != nil {
			return err
		}
	}
	enrollTime := time.Since(t0)

	url, stop, err := serveGateway(authority, store)
	if err != nil {
		return err
	}
	defer stop()

	clients := make([]*http.Client, len(bundles))
	for i, b := range bundles {
		conf, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: "127.0.0.1"})
		if err != nil {
			return err
		}
		// 1000 booths queue at a server that serves 4 uploads at a time:
		// the last ones wait for the whole load (40 s on PostgreSQL here).
		clients[i] = &http.Client{Transport: &http.Transport{TLSClientConfig: conf, MaxIdleConnsPerHost: 1}, Timeout: 3 * time.Minute}
		defer clients[i].CloseIdleConnections()
	}
	post := func(c *http.Client, path string, body, out any) error {
		raw, _ := json.Marshal(body)
		resp, err := c.Post(url+path, protocol.ContentType, bytes.NewReader(raw))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: status %d: %s", path, resp.StatusCode, got)
		}
		return json.Unmarshal(got, out)
	}

	// Authorise probes run beside the load, from the first booths, each
	// loop back to back: hundreds of taps a second, far above what 1000
	// booths ask (one tap every 3 minutes a booth), and on PostgreSQL
	// most of the server's CPU during the load (docs/benchmarks.md).
	var (
		stopProbe = make(chan struct{})
		probeWG   sync.WaitGroup
		latMu     sync.Mutex
		lat       []time.Duration
		probeErr  atomic.Value
	)
	for p := range *gatewayProbes {
		probeWG.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stopProbe:
					return
				default:
				}
				fac := p % facilities
				req := protocol.AuthoriseRequest{Card: fmt.Sprintf("em:04%08X", fac*1000+n%100+1), Inmate: fmt.Sprintf("w%d", n%100), Period: "2026-11-29"}
				var a protocol.AuthoriseResponse
				s := time.Now()
				if err := post(clients[p], protocol.PathAuthorise, req, &a); err != nil {
					probeErr.Store(err)
					return
				}
				d := time.Since(s)
				latMu.Lock()
				lat = append(lat, d)
				latMu.Unlock()
				if a.Lease != "" {
					post(clients[p], protocol.PathRelease, protocol.ReleaseRequest{Lease: a.Lease}, nil)
				}
			}
		})
	}

	// The load: every booth uploads its batches, all booths at once.
	var (
		stored   atomic.Int64
		loadErr  atomic.Value
		wg       sync.WaitGroup
		deadline = time.Now().Add(*gatewayBudget)
	)
	payload, _ := json.Marshal(record.Denial{At: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), Card: "em:0400000001", Reason: "closed", ClockTrusted: true})
	t1 := time.Now()
	for i := range bundles {
		wg.Go(func() {
			var prev *record.Record
			seq := uint64(0)
			for range *gatewayBatches {
				if time.Now().After(deadline) {
					return
				}
				recs := make([]record.Record, *gatewayBatch)
				for j := range recs {
					seq++
					recs[j] = record.Record{Device: bundles[i].Device, Seq: seq, Kind: record.KindDenial, Payload: payload}
					recs[j].Seal(prev)
					prev = &recs[j]
				}
				var res protocol.UploadResponse
				if err := post(clients[i], protocol.PathUpload, protocol.UploadRequest{Records: recs}, &res); err != nil {
					loadErr.Store(fmt.Errorf("booth %s: %w", bundles[i].Device, err))
					return
				}
				stored.Add(int64(len(res.Results)))
			}
		})
	}
	wg.Wait()
	loadTime := time.Since(t1)
	close(stopProbe)
	probeWG.Wait()
	if err, _ := loadErr.Load().(error); err != nil {
		return err
	}
	if err, _ := probeErr.Load().(error); err != nil {
		return fmt.Errorf("authorise probe: %w", err)
	}

	direct, err := ingestDirect(store, len(bundles), *gatewayBatches, *gatewayBatch, payload)
	if err != nil {
		return err
	}
	raw, err := backend.raw(dir, int(stored.Load()), *gatewayBatch, payload)
	if err != nil {
		return err
	}
	rate := float64(stored.Load()) / loadTime.Seconds()
	r.Add(Figure{Name: "ledger ingest in-process, " + backend.name, Value: direct, Unit: "rec/s", Limit: raw, LimitNote: "raw batched INSERT",
		Note: fmt.Sprintf("the same batches straight into ledger.Ingest, %d at once (the server's upload slots), no TLS, HTTP nor clients: the ledger's own share of the figure above", server.DefaultUploads) + gatewayOneRun})
	r.Add(Figure{Name: "enrol a booth (key, cert, register), " + backend.name, Value: Ms(enrollTime) / float64(len(bundles)), Unit: "ms",
		Note: fmt.Sprintf("%d booths in-process, ECDSA P-256", len(bundles)) + gatewayOneRun})
	r.Add(Figure{Name: "ingest over mTLS, " + backend.name, Value: rate, Unit: "rec/s", Limit: raw, LimitNote: "raw batched INSERT",
		Note: fmt.Sprintf("%d booths at once (the server serves 4 uploads at a time), %d records in batches of %d, loopback, %s; raw = same rows and batches, plain INSERT", len(bundles), stored.Load(), *gatewayBatch, backend.note) + gatewayOneRun})
	if len(lat) > 0 {
		r.Add(Figure{Name: "authorise p99 under ingest load, " + backend.name, Value: Ms(Percentile(lat, 0.99)), Unit: "ms",
			Limit: Ms(protocol.AuthoriseDeadline), LimitNote: "the booth's authorise deadline", Goal: Max,
			Note: fmt.Sprintf("%d probes from %d booths, p50 %.1f ms", len(lat), *gatewayProbes, Ms(Percentile(lat, 0.5))) + gatewayOneRun})
	}
	return nil
}

// ingestDirect uploads booths×batches batches of batch denials (fresh
// devices of their own, built before the clock starts) straight into the
// ledger, server.DefaultUploads at once as the server's upload slots
// allow, and returns records per second.
func ingestDirect(store ledger.Store, booths, batches, batch int, payload []byte) (float64, error) {
	type upload struct {
		device string
		recs   []record.Record
	}
	perBooth := make([][]upload, booths)
	for i := range perBooth {
		device := fmt.Sprintf("lapas-%02d/direct%04d", i%50, i)
		var prev *record.Record
		seq := uint64(0)
		for range batches {
			recs := make([]record.Record, batch)
			for j := range recs {
				seq++
				recs[j] = record.Record{Device: device, Seq: seq, Kind: record.KindDenial, Payload: payload}
				recs[j].Seal(prev)
				prev = &recs[j]
			}
			perBooth[i] = append(perBooth[i], upload{device, recs})
		}
	}
	var (
		next    atomic.Int64
		failed  atomic.Value
		workers sync.WaitGroup
	)
	start := time.Now()
	for range server.DefaultUploads {
		workers.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= booths {
					return
				}
				for _, u := range perBooth[i] {
					if _, err := store.Ingest(context.Background(), u.device, u.recs); err != nil {
						failed.Store(err)
						return
					}
				}
			}
		})
	}
	workers.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return 0, fmt.Errorf("ingest in-process: %w", err)
	}
	return float64(booths*batches*batch) / time.Since(start).Seconds(), nil
}

// storeDirOrTemp is the directory flag of the store suite, or the temp dir.
func storeDirOrTemp() *string {
	if *storeDir != "" {
		return storeDir
	}
	d := os.TempDir()
	return &d
}

// rawInsertRate inserts n records' rows in batches, one transaction a
// batch, into a fresh table of the database behind driver and dsn, and
// returns rows per second: the floor under which no ingest path can go.
// ph is the placeholder style: "?" (SQLite) or "$" (PostgreSQL).
func rawInsertRate(driver, dsn, ph string, n, batch int, payload []byte) (float64, error) {
	if n == 0 {
		return 0, errors.New("no records were ingested")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	blob := "BLOB"
	if driver == "pgx" {
		blob = "BYTEA"
	}
	if _, err := db.Exec(`CREATE TABLE bench_raw (device TEXT, seq BIGINT, kind TEXT, payload ` + blob + `, prev TEXT, hash TEXT, PRIMARY KEY (device, seq))`); err != nil {
		return 0, err
	}
	insert := `INSERT INTO bench_raw VALUES (?, ?, ?, ?, ?, ?)`
	if ph == "$" {
		insert = `INSERT INTO bench_raw VALUES ($1, $2, $3, $4, $5, $6)`
	}
	hash := record.GenesisHash
	start := time.Now()
	for i := 0; i < n; i += batch {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		for j := i; j < min(i+batch, n); j++ {
			if _, err := tx.Exec(insert, fmt.Sprintf("lapas/b%04d", j/batch), j, "denial", payload, hash, hash); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// serveGateway serves the /v1 API over mutual TLS on a loopback port, with
// the rate limits out of the way, and returns its URL and how to stop it.
func serveGateway(authority *ca.CA, led ledger.Store) (url string, stop func() error, err error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := server.New(server.Options{Ledger: led, Log: quiet, Rate: 1e6, Burst: 1 << 20})
	if err != nil {
		return "", nil, err
	}
	cert, err := authority.ServerCert(nil)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := server.NewHTTPServer(h, ca.ServerTLSConfig(authority.Certificate(), cert, authority.Revoked), quiet)
	go srv.ServeTLS(ln, "", "")
	return "https://" + ln.Addr().String(), srv.Close, nil
}
