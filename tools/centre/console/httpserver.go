package console

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"
)

// NewHTTPServer returns the console's HTTPS server: cert as its identity
// (issued by the gateway's CA, or the Kanwil's own: docs/console.md), TLS
// 1.2 or later (the browsers at facilities are not all new), no client
// certificate (people log in with a password and a code), every timeout
// set.
func NewHTTPServer(h http.Handler, cert tls.Certificate, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
