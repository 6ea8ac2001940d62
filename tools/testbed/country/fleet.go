package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/testbed/pgtest"
)

// A country is one throwaway PostgreSQL, the gateway's CA with a bundle
// for every booth the run needs, and Replicas `wartel-gateway serve`
// processes over that database, all on loopback. Booths are spread over
// the replicas in turn, as a TCP balancer would.

// boothsPerFacility is how many booths each simulated facility has: within
// the 4–21 of a real one.
const boothsPerFacility = 10

// inmatesPerFacility are the facility's inmate cards; taps pick among them.
const inmatesPerFacility = 200

// countryPolicy is every simulated facility's rules: a long allowance so
// that taps keep getting leases (the path that writes to the database)
// for the whole run instead of running out of minutes.
const countryPolicy = `{"allowance_ms":36000000,"period":"day","zone":"Asia/Jakarta","per_call_ms":600000}`

// Config says where a country runs.
type Config struct {
	// Dir is the run's folder: the PostgreSQL data directory lives in the
	// temp dir, the gateways' logs here.
	Dir string
	// Cache holds the CA (Cache/ca) and the enrolled bundles
	// (Cache/bundles.json) so that a second run reuses them; "": Dir.
	Cache string
	// GatewayBin is the wartel-gateway binary.
	GatewayBin string
	// Replicas is how many serve processes share the database (0: 2).
	Replicas int
	// Log receives progress lines (nil: discarded).
	Log io.Writer
}

// Country is a running set of gateway replicas over one PostgreSQL.
type Country struct {
	cfg       Config
	pg        *pgtest.Server
	dsn       string
	led       ledger.Store
	db        *sql.DB
	authority *ca.CA
	gateways  []*gateway

	mu         sync.Mutex
	bundles    map[string]bundle.Bundle // by device, as cached
	facilities map[string]bool          // with their policy and roster
	registered map[string]bool          // devices registered in the ledger
	made       []*Booth                 // every client made, for duplicates
}

// Start starts PostgreSQL, opens (or creates) the CA and starts the
// replicas. Close stops everything it started.
func Start(ctx context.Context, cfg Config) (*Country, error) {
	if cfg.Replicas <= 0 {
		cfg.Replicas = 2
	}
	if cfg.Cache == "" {
		cfg.Cache = cfg.Dir
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.GatewayBin == "" {
		return nil, errors.New("country: Config.GatewayBin is required (go build ./tools/centre/wartel-gateway)")
	}
	raiseFileLimit()
	c := &Country{cfg: cfg, bundles: map[string]bundle.Bundle{}, facilities: map[string]bool{}, registered: map[string]bool{}}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	var err error
	caDir := filepath.Join(cfg.Cache, "ca")
	if _, statErr := os.Stat(filepath.Join(caDir, ca.KeyFile)); statErr == nil {
		c.authority, err = ca.Load(caDir)
		if err == nil {
			err = c.readCache()
		}
	} else {
		c.authority, err = ca.Init(caDir, "country load test CA")
	}
	if err != nil {
		return nil, fmt.Errorf("country: the CA in %s: %w", caDir, err)
	}
	if c.pg, err = pgtest.NewServer(); err != nil {
		return nil, fmt.Errorf("country: %w", err)
	}
	c.dsn = c.pg.DSN("postgres")
	if c.led, err = ledger.OpenPostgres(ctx, c.dsn); err != nil {
		return nil, fmt.Errorf("country: %w", err)
	}
	if c.db, err = sql.Open("pgx", c.dsn); err != nil {
		return nil, fmt.Errorf("country: %w", err)
	}
	for i := range cfg.Replicas {
		g, err := startGateway(ctx, cfg.GatewayBin, cfg.Cache, c.dsn, filepath.Join(cfg.Dir, fmt.Sprintf("gateway-%d.log", i+1)))
		if err != nil {
			return nil, err
		}
		c.gateways = append(c.gateways, g)
	}
	fmt.Fprintf(cfg.Log, "country: %d gateway replicas over one PostgreSQL: %v\n", len(c.gateways), c.addrs())
	ok = true
	return c, nil
}

func (c *Country) addrs() []string {
	var a []string
	for _, g := range c.gateways {
		a = append(a, g.addr)
	}
	return a
}

// Close stops the replicas and PostgreSQL.
func (c *Country) Close() error {
	var errs []error
	for _, g := range c.gateways {
		errs = append(errs, g.stop())
	}
	if c.db != nil {
		c.db.Close()
	}
	if c.led != nil {
		c.led.Close()
	}
	if c.pg != nil {
		errs = append(errs, c.pg.Stop())
	}
	return errors.Join(errs...)
}

// Gateways are the replicas' process ids, for their CPU and memory.
func (c *Country) pids() []int {
	var p []int
	for _, g := range c.gateways {
		p = append(p, g.cmd.Process.Pid)
	}
	return p
}

// Booths returns connected clients for the named booths: enrolled (from
// the cache or now, all at once), registered in the ledger, their
// facility's policy and roster loaded. Booth i dials replica i mod
// Replicas. They are not started.
func (c *Country) Booths(ctx context.Context, names []ca.Booth, first int) ([]*Booth, error) {
	if err := c.enroll(names); err != nil {
		return nil, err
	}
	if err := c.prepare(ctx, names); err != nil {
		return nil, err
	}
	out := make([]*Booth, len(names))
	for i, n := range names {
		device, _ := bundle.DeviceID(n.Facility, n.Booth)
		c.mu.Lock()
		b := c.bundles[device]
		c.mu.Unlock()
		bt, err := newBooth(b, "https://"+c.gateways[(first+i)%len(c.gateways)].addr)
		if err != nil {
			return nil, err
		}
		out[i] = bt
	}
	c.mu.Lock()
	c.made = append(c.made, out...)
	c.mu.Unlock()
	return out, nil
}

// enroll issues the bundles the cache lacks, in one batch.
func (c *Country) enroll(names []ca.Booth) error {
	var missing []ca.Booth
	c.mu.Lock()
	for _, n := range names {
		device, err := bundle.DeviceID(n.Facility, n.Booth)
		if err != nil {
			c.mu.Unlock()
			return fmt.Errorf("country: %w", err)
		}
		if _, ok := c.bundles[device]; !ok {
			missing = append(missing, n)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	t := time.Now()
	bs, err := c.authority.EnrollAll(missing, 30*24*time.Hour)
	if err != nil {
		return fmt.Errorf("country: enrol %d booths: %w", len(missing), err)
	}
	c.mu.Lock()
	for _, b := range bs {
		c.bundles[b.Device] = b
	}
	c.mu.Unlock()
	fmt.Fprintf(c.cfg.Log, "country: enrolled %d booths in %v\n", len(bs), time.Since(t).Round(time.Millisecond))
	return c.writeCache()
}

// cacheFile keeps the bundles of the CA in Cache/ca, by device.
func (c *Country) cacheFile() string { return filepath.Join(c.cfg.Cache, "bundles.json") }

func (c *Country) readCache() error {
	raw, err := os.ReadFile(c.cacheFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &c.bundles); err != nil {
		return fmt.Errorf("%s: %w (delete the cache folder to enrol again)", c.cacheFile(), err)
	}
	// A bundle past its date, or of another CA, is enrolled again.
	for d, b := range c.bundles {
		if _, err := bundle.Check(b); err != nil || time.Until(b.NotAfter) < 24*time.Hour || string(b.CAPEM) != string(c.authority.CertPEM()) {
			delete(c.bundles, d)
		}
	}
	return nil
}

func (c *Country) writeCache() error {
	c.mu.Lock()
	raw, err := json.Marshal(c.bundles)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	tmp := c.cacheFile() + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return fmt.Errorf("country: cache the bundles: %w", err)
	}
	return os.Rename(tmp, c.cacheFile())
}

// prepare registers the devices and loads their facilities' policy and
// roster once each, on a few connections at once.
func (c *Country) prepare(ctx context.Context, names []ca.Booth) error {
	var facs, devs []string
	c.mu.Lock()
	for _, n := range names {
		if !c.facilities[n.Facility] {
			c.facilities[n.Facility] = true
			facs = append(facs, n.Facility)
		}
		d, _ := bundle.DeviceID(n.Facility, n.Booth)
		if !c.registered[d] {
			c.registered[d] = true
			devs = append(devs, d)
		}
	}
	c.mu.Unlock()
	err := parallel(8, len(facs), func(i int) error {
		if _, err := c.led.SetPolicy(ctx, facs[i], []byte(countryPolicy)); err != nil {
			return err
		}
		_, err := c.led.UpsertCards(ctx, facs[i], "country", facilityRoster(facs[i], inmatesPerFacility))
		return err
	})
	if err != nil {
		return fmt.Errorf("country: load the facilities: %w", err)
	}
	now := time.Now()
	if err := parallel(8, len(devs), func(i int) error { return c.led.RegisterDevice(ctx, devs[i], now) }); err != nil {
		return fmt.Errorf("country: register the booths: %w", err)
	}
	return nil
}

// facilityRoster is n inmate cards of facility; card k belongs to inmate k.
func facilityRoster(facility string, n int) []record.CardInfo {
	cards := make([]record.CardInfo, n)
	for k := range cards {
		cards[k] = record.CardInfo{Card: cardOf(facility, k), Role: record.RoleInmate, Person: inmateOf(k), Name: "Warga " + inmateOf(k)}
	}
	return cards
}

// cardOf is inmate k's card: the facility's hash and k make it unique
// across the country.
func cardOf(facility string, k int) string {
	var h uint32 = 2166136261
	for i := 0; i < len(facility); i++ {
		h = (h ^ uint32(facility[i])) * 16777619
	}
	return fmt.Sprintf("em:%06X%04X", h&0xFFFFFF, k)
}

func inmateOf(k int) string { return fmt.Sprintf("WB-%05d", k) }

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(workers, n int, f func(i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = errors.Join(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// raiseFileLimit lifts the soft limit on open files to the hard one:
// thousands of booths hold a connection each, and so do the replicas,
// which inherit it (Go restores the original soft limit in children
// unless the program sets it itself).
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// storedRecords counts what the ledger holds of the devices whose id
// starts with prefix ("" for all): one row per (device, chain, seq).
func (c *Country) storedRecords(ctx context.Context, prefix string) (int64, error) {
	var n int64
	err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM records WHERE device LIKE $1`, prefix+"%").Scan(&n)
	return n, err
}

// conflicts counts the records the ledger holds in two versions.
func (c *Country) conflicts(ctx context.Context) (int64, error) {
	var n int64
	err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM conflicts`).Scan(&n)
	return n, err
}

// duplicates is how many records the booths' uploads were answered other
// than stored.
func (c *Country) duplicates() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, b := range c.made {
		n += b.Duplicates()
	}
	return n
}
