package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Timeouts of the booths' listener. A batch is at most 1 MiB: even over a
// poor prison link at 64 kbit/s that is ~2 minutes, so ReadTimeout allows it
// while a client that never finishes its headers is cut at 10 s.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 3 * time.Minute
	WriteTimeout      = 3 * time.Minute
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 16 << 10
)

// NewHTTPServer returns the http.Server for the booths' mTLS listener, with
// every timeout and header limit set. tlsConf comes from ca.ServerTLSConfig.
func NewHTTPServer(h http.Handler, tlsConf *tls.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// NewMetricsServer returns a plain-HTTP server for /metrics of gatherer.
// Bind it to loopback or a management network: it is not authenticated.
func NewMetricsServer(gatherer prometheus.Gatherer) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// Run serves api over TLS on apiLn and metrics on metricsLn (nil: none)
// until ctx ends, then shuts both down, giving requests in flight up to
// grace to finish. It returns the first serving error, or nil after a clean
// shutdown.
func Run(ctx context.Context, api *http.Server, apiLn net.Listener, metrics *http.Server, metricsLn net.Listener, grace time.Duration) error {
	errc := make(chan error, 2)
	go func() { errc <- api.ServeTLS(apiLn, "", "") }()
	n := 1
	if metrics != nil && metricsLn != nil {
		n++
		go func() { errc <- metrics.Serve(metricsLn) }()
	}
	var first error
	select {
	case <-ctx.Done():
	case err := <-errc:
		n--
		if !errors.Is(err, http.ErrServerClosed) {
			first = fmt.Errorf("server: serving stopped: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := api.Shutdown(sctx); err != nil && first == nil {
		first = fmt.Errorf("server: graceful shutdown of the booths' listener: %w", err)
	}
	if metrics != nil {
		metrics.Shutdown(sctx)
	}
	for ; n > 0; n-- {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && first == nil {
			first = fmt.Errorf("server: serving stopped: %w", err)
		}
	}
	return first
}
