package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/retention"
	"wartelsuspas/tools/centre/server"
)

func cmdServe(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("serve")
	listen := fs.String("listen", "127.0.0.1:8443", "address for the booths (mutual TLS only)")
	metricsAddr := fs.String("metrics", "127.0.0.1:9464", "plain-HTTP address for /metrics; empty: none")
	var hosts []string
	fs.Func("host", "extra name or address for the server certificate (repeatable), as booths dial it", func(s string) error {
		hosts = append(hosts, s)
		return nil
	})
	leaseTTL := fs.Duration("lease-ttl", server.DefaultLeaseTTL, "how long a lease outlives the longest call it covers (remaining minutes)")
	rate := fs.Float64("rate", server.DefaultRate, "requests per second allowed per booth")
	burst := fs.Int("burst", server.DefaultBurst, "requests a booth may send at once")
	uploads := fs.Int("uploads", server.DefaultUploads, "uploads served at once; the others wait before touching the database, so taps keep their deadline while a backlog drains (docs/gateway.md)")
	grace := fs.Duration("grace", 10*time.Second, "time given to requests in flight at shutdown")
	retentionEvery := fs.Duration("retention-every", retention.DefaultEvery, "how often to purge the personal fields of months past their facility's retention period (wartel-gateway retention); 0: never from serve")
	consoleAddr := fs.String("console", "", "HTTPS address for the centre's console (e.g. 127.0.0.1:8444); empty: none")
	consoleCert := fs.String("console-cert", "", "PEM certificate for the console (with -console-key); default: one issued by the gateway's CA")
	consoleKey := fs.String("console-key", "", "PEM private key of -console-cert")
	skew := fs.Duration("clock-skew", 0, "drill aid only: shift the time the gateway reports and keeps by this much (e.g. 1h, -1h) to jump the booths' idea of the wall clock")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *uploads < 1 {
		return fmt.Errorf("-uploads %d: the gateway needs at least one upload slot, or no booth could ever upload its records (default %d)", *uploads, server.DefaultUploads)
	}
	log := slog.New(slog.NewTextHandler(g.stderr, nil))
	c, err := g.loadCA()
	if err != nil {
		return err
	}
	store, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer store.Close()

	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", *listen, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		hosts = append(hosts, host)
	}
	cert, err := c.ServerCert(hosts)
	if err != nil {
		return fmt.Errorf("issue the server certificate: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	now := time.Now
	if *skew != 0 {
		log.Warn("clock skewed on purpose (-clock-skew): a drill aid; never run a facility's gateway so", "skew", *skew)
		now = func() time.Time { return time.Now().Add(*skew) }
	}
	h, err := server.New(server.Options{Ledger: store, Log: log, Registry: reg, LeaseTTL: *leaseTTL, Rate: *rate, Burst: *burst, Uploads: *uploads, Now: now})
	if err != nil {
		return err
	}
	revoked := func(cert *x509.Certificate) bool {
		if c.Revoked(cert) {
			return true
		}
		device, err := deviceOf(cert)
		if err != nil {
			return true
		}
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := store.CertificateRevoked(rctx, device, bundle.Serial(cert))
		if err != nil {
			log.Error("revocation check failed; refusing the booth until the database answers", "device", device, "err", err)
			return true // fail closed
		}
		return r
	}
	if err := c.RevocationErr(); err != nil {
		log.Error("the CA's revocation list is unreadable: every booth is refused until it is repaired", "err", err)
	}
	api := server.NewHTTPServer(h, ca.ServerTLSConfig(c.Certificate(), cert, revoked), log)
	apiLn, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen for booths on %s: %w", *listen, err)
	}
	var metrics = server.NewMetricsServer(reg)
	var metricsLn net.Listener
	if *metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", *metricsAddr); err != nil {
			apiLn.Close()
			return fmt.Errorf("listen for metrics on %s: %w", *metricsAddr, err)
		}
		fmt.Fprintf(g.stdout, "metrics on http://%s/metrics\n", metricsLn.Addr())
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopConsole := func() error { return nil }
	if *consoleAddr != "" {
		if stopConsole, err = startConsole(ctx, g, c, store, log, now, *consoleAddr, hosts, *consoleCert, *consoleKey, stop); err != nil {
			apiLn.Close()
			if metricsLn != nil {
				metricsLn.Close()
			}
			return err
		}
	}
	purging := make(chan struct{})
	if *retentionEvery > 0 {
		go func() {
			defer close(purging)
			retention.Run(ctx, retention.Options{Store: store, Clock: skewed{clock.NewReal(), now}, Every: *retentionEvery, Log: log})
		}()
	} else {
		close(purging)
	}
	fmt.Fprintf(g.stdout, "serving booths on https://%s (mutual TLS), storage %s\n", apiLn.Addr(), store)
	err = server.Run(ctx, api, apiLn, metrics, metricsLn, *grace)
	if cerr := stopConsole(); err == nil {
		err = cerr
	}
	stop()
	<-purging
	log.Info("gateway stopped", "err", err)
	return err
}

// skewed is a clock whose wall time is the gateway's (-clock-skew moves it).
type skewed struct {
	clock.Clock
	now func() time.Time
}

func (s skewed) Now() time.Time { return s.now() }

func deviceOf(cert *x509.Certificate) (string, error) {
	f, b, err := bundle.DeviceFromCert(cert)
	if err != nil {
		return "", err
	}
	return f + "/" + b, nil
}
