package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/console"
	"wartelsuspas/tools/centre/ledger"
)

// startConsole serves the centre's console on addr until ctx ends (or it
// fails, which calls fail to stop the gateway); the returned func shuts it
// down. Without certFile it issues itself a certificate from the gateway's
// CA for addr's host, the -host names and loopback.
func startConsole(ctx context.Context, g *globals, c *ca.CA, store ledger.Store, log *slog.Logger, now func() time.Time, addr string, hosts []string, certFile, keyFile string, fail func()) (func() error, error) {
	var cert tls.Certificate
	var err error
	switch {
	case certFile != "" || keyFile != "":
		if cert, err = tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			return nil, fmt.Errorf("-console-cert %s / -console-key %s: %w", certFile, keyFile, err)
		}
	default:
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("-console %q: %w", addr, err)
		}
		if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
			hosts = append(hosts, host)
		}
		if cert, err = c.ServerCert(hosts); err != nil {
			return nil, fmt.Errorf("issue the console's certificate: %w", err)
		}
	}
	h, err := console.New(console.Options{Store: store, Log: log, Now: now})
	if err != nil {
		return nil, err
	}
	srv := console.NewHTTPServer(h, cert, log)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the console on %s: %w", addr, err)
	}
	fmt.Fprintf(g.stdout, "console on https://%s/\n", ln.Addr())
	done := make(chan error, 1)
	go func() {
		err := srv.ServeTLS(ln, "", "")
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("console stopped serving", "err", err)
			fail()
			done <- fmt.Errorf("console: %w", err)
			return
		}
		done <- nil
	}()
	return func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return <-done
	}, nil
}
