package uplink

import (
	"crypto/tls"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"wartelsuspas/kiosk/protocol"
)

const device = "lapas-test/b01"

func TestBackoffBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		lo, hi time.Duration
	}{{time.Second, 5 * time.Minute}, {time.Millisecond, time.Millisecond}, {3 * time.Second, 7 * time.Second}} {
		for n := 1; n < 80; n++ {
			ceil := time.Duration(min(float64(tc.hi), float64(tc.lo)*math.Pow(2, float64(n-1))))
			for range 20 {
				if d := Backoff(n, tc.lo, tc.hi, r); d < tc.lo || d > ceil {
					t.Fatalf("Backoff(%d, %v, %v) = %v, outside [%v, %v]", n, tc.lo, tc.hi, d, tc.lo, ceil)
				}
			}
		}
	}
}

func TestNewRefuses(t *testing.T) {
	st := newMemStore(0)
	tlsConf := &tls.Config{}
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"no URL", Options{Store: st, TLS: tlsConf}},
		{"no store", Options{BaseURL: "https://g", TLS: tlsConf}},
		{"no identity", Options{BaseURL: "https://g", Store: st}},
		{"backoff inverted", Options{BaseURL: "https://g", Store: st, TLS: tlsConf, BackoffMin: time.Minute, BackoffMax: time.Second}},
	} {
		if _, err := New(tc.o); err == nil {
			t.Errorf("%s: New accepted %+v", tc.name, tc.o)
		}
	}
	u, err := New(Options{BaseURL: "https://g/", Store: st, TLS: tlsConf, BatchSize: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if u.opt.BatchSize != protocol.MaxBatch || u.base != "https://g" {
		t.Errorf("batch %d, base %q: want the protocol's maximum and no trailing slash", u.opt.BatchSize, u.base)
	}
}
