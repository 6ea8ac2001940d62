package systest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/uplink"
	"wartelsuspas/tools/testbed/faultproxy"
)

const device = "lapas-test/b01"

// runUplink starts u.Run and returns a stop function that waits for it.
func runUplink(t *testing.T, u *uplink.Uplink) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Run returned %v, want context.Canceled", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return within 30 s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func fastOptions(g *testGateway, addr string, st uplink.Store) uplink.Options {
	return uplink.Options{
		BaseURL:    "https://" + addr,
		TLS:        g.clientTLS("lapas-test", "b01"),
		Store:      st,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		DrainInterval: 5 * time.Millisecond,
		Rand:          rand.New(rand.NewPCG(1, 2)),
		Log:           quietLog(),
		Firmware:      "test",
	}
}

// TestWeekOffline: 5000 records queued while the gateway is unreachable
// all arrive exactly once, in order, once it is up.
func TestWeekOffline(t *testing.T) {
	g := newTestGateway(t, nil)
	st, recs := newBooth(t, device, 5000)
	const down = 30 // connections refused before the gateway "comes up"
	p, err := faultproxy.New(faultproxy.Options{Target: g.addr(), Plan: func(n int, _ *rand.Rand) faultproxy.Action {
		if n < down {
			return faultproxy.Action{Fault: faultproxy.Refuse}
		}
		return faultproxy.Action{Fault: faultproxy.Pass}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	u, err := uplink.New(fastOptions(g, p.Addr(), st))
	if err != nil {
		t.Fatal(err)
	}
	runUplink(t, u)
	waitDrained(t, st, u)
	g.checkExactlyOnce(device, recs)
	if c := p.Counts()[faultproxy.Refuse]; c != down {
		t.Errorf("proxy refused %d connections, want %d: the gateway was never down", c, down)
	}
	if s := u.Status(); s.Uploaded != 5000 {
		t.Errorf("Status().Uploaded = %d, want 5000", s.Uploaded)
	}
}

// TestExactlyOnceThroughFaults drives the uplink through TCP faults (the
// proxy) and HTTP faults (the gateway wrapper) from fixed seeds.
func TestExactlyOnceThroughFaults(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			g := newTestGateway(t, nil)
			hr := rand.New(rand.NewPCG(seed, 99))
			g.setPlan(func(n int, path string) hfault {
				if path != protocol.PathUpload {
					return hPass
				}
				return []hfault{hPass, hPass, hPass, h500, hLose, hDuplicate, h429, hTruncate}[hr.IntN(8)]
			})
			st, recs := newBooth(t, device, 600)
			p, err := faultproxy.New(faultproxy.Options{Target: g.addr(), Seed: seed, MaxBytes: 6000, MaxDelay: 5 * time.Millisecond,
				Weights: map[faultproxy.Fault]int{
					faultproxy.Pass: 3, faultproxy.Refuse: 1, faultproxy.Delay: 1,
					faultproxy.Truncate: 1, faultproxy.LoseAnswer: 1, faultproxy.Reset: 1,
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			o := fastOptions(g, p.Addr(), st)
			o.BatchSize = 40
			// A new connection per request, so the proxy's faults hit every stage.
			o.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: o.TLS, DisableKeepAlives: true}}
			u, err := uplink.New(o)
			if err != nil {
				t.Fatal(err)
			}
			runUplink(t, u)
			waitDrained(t, st, u)
			g.checkExactlyOnce(device, recs)
			t.Logf("proxy faults %v, duplicates answered %d", p.Counts(), g.dups)
		})
	}
}

// TestStoredThenAnswerLost: the gateway stores a batch and the answer is
// lost; the booth keeps every record, resends, and the gateway counts the
// resend as duplicates.
func TestStoredThenAnswerLost(t *testing.T) {
	for _, f := range []hfault{hLose, hTruncate} {
		t.Run(fmt.Sprint(f), func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.setPlan(func(n int, _ string) hfault {
				if n == 0 {
					return f
				}
				return hPass
			})
			st, recs := newBooth(t, device, 50)
			u, err := uplink.New(fastOptions(g, g.addr(), st))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := u.Drain(ctx); err == nil {
				t.Fatal("drain succeeded although the answer was lost")
			}
			if n, _ := st.Depth(); n != 50 {
				t.Fatalf("after a lost answer the outbox holds %d, want all 50: deleted unconfirmed records", n)
			}
			g.checkExactlyOnce(device, recs) // stored although unanswered
			if more, err := u.Drain(ctx); err != nil || more {
				t.Fatalf("second drain: more %v, err %v", more, err)
			}
			if n, _ := st.Depth(); n != 0 {
				t.Fatalf("outbox holds %d after the confirmed resend", n)
			}
			if g.dups != 50 {
				t.Errorf("gateway answered %d duplicates, want 50", g.dups)
			}
			g.checkExactlyOnce(device, recs)
		})
	}
}

// TestPartialAck: the booth acknowledges only up to StoredUpTo, never
// what it sent beyond it.
func TestPartialAck(t *testing.T) {
	g := newTestGateway(t, nil)
	st, recs := newBooth(t, device, 20)
	o := fastOptions(g, g.addr(), st)
	u, err := uplink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	// The gateway first receives 11..20 alone (a gap): it stores them,
	// flags nothing yet it cannot confirm any.
	if _, err := g.ledger.Ingest(context.Background(), device, recs[10:]); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.stored[device] = map[uint64]int{}
	for _, r := range recs[10:] {
		g.stored[device][r.Seq] = 1
	}
	g.mu.Unlock()
	o.BatchSize = 5
	if u, err = uplink.New(o); err != nil { // batches of 5 from here on
		t.Fatal(err)
	}
	if _, err := u.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Depth(); n != 15 {
		t.Fatalf("depth %d after confirming 1..5, want 15", n)
	}
	for {
		more, err := u.Drain(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	if n, _ := st.Depth(); n != 0 {
		t.Fatalf("depth %d, want 0", n)
	}
}

// TestRestartMidDrain: cancelling Run mid-drain and starting a new uplink
// on the same store loses nothing and sends nothing twice.
func TestRestartMidDrain(t *testing.T) {
	g := newTestGateway(t, nil)
	st, recs := newBooth(t, device, 2000)
	p, err := faultproxy.New(faultproxy.Options{Target: g.addr(), Seed: 7, MaxDelay: 2 * time.Millisecond,
		Weights: map[faultproxy.Fault]int{faultproxy.Delay: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for round := 0; ; round++ {
		o := fastOptions(g, p.Addr(), st)
		o.BatchSize = 50
		u, err := uplink.New(o)
		if err != nil {
			t.Fatal(err)
		}
		stop := runUplink(t, u)
		if round == 3 {
			waitDrained(t, st, u)
			stop()
			break
		}
		// Stop once this uplink has made progress, at whatever point of a
		// request it is.
		start, _ := st.Depth()
		deadline := time.Now().Add(30 * time.Second)
		for n, _ := st.Depth(); n > start-200 && n > 0; n, _ = st.Depth() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no progress in 30 s; status %+v", round, u.Status())
			}
			time.Sleep(time.Millisecond)
		}
		stop()
	}
	g.checkExactlyOnce(device, recs)
}

// TestBackoff checks the retry delays under a fake clock: they grow,
// stay within bounds, follow the seeded jitter, honour Retry-After, go to
// the maximum on a refusal, and start over after a success.
func TestBackoff(t *testing.T) {
	g := newTestGateway(t, nil)
	var mu sync.Mutex
	fault := h500
	g.setPlan(func(int, string) hfault { mu.Lock(); defer mu.Unlock(); return fault })
	setFault := func(f hfault) { mu.Lock(); fault = f; mu.Unlock() }
	st, _ := newBooth(t, device, 3)
	fc := clock.NewFake(time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC))
	const lo, hi = time.Second, 40 * time.Second
	o := fastOptions(g, g.addr(), st)
	o.Clock, o.BackoffMin, o.BackoffMax = fc, lo, hi
	o.DrainInterval, o.HeartbeatInterval, o.SyncInterval = time.Hour, 2*time.Hour, 2*time.Hour
	o.Rand = rand.New(rand.NewPCG(5, 5))
	replica := rand.New(rand.NewPCG(5, 5))
	u, err := uplink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	runUplink(t, u)

	next := func() time.Duration {
		t.Helper()
		fc.WaitTimers(1)
		d, _ := fc.NextDeadline()
		return d
	}
	var grew bool
	var prevCeil time.Duration
	for n := 1; n <= 9; n++ {
		d := next()
		ceil := time.Duration(min(float64(hi), float64(lo)*math.Pow(2, float64(n-1))))
		if d < lo || d > ceil {
			t.Fatalf("failure %d: waits %v, want within [%v, %v]", n, d, lo, ceil)
		}
		if want := uplink.Backoff(n, lo, hi, replica); d != want {
			t.Fatalf("failure %d: waits %v, want %v from the seeded jitter", n, d, want)
		}
		grew = grew || ceil > prevCeil && n > 1
		prevCeil = ceil
		if s := u.Status(); s.Online || s.Failures != n || s.LastError == "" {
			t.Fatalf("failure %d: status %+v", n, s)
		}
		if n == 9 {
			setFault(h429)
		}
		fc.Advance(d)
	}
	if !grew {
		t.Error("the backoff ceiling never grew")
	}
	// 429 with Retry-After: 1 s: at least that, even if jitter says less.
	if d := next(); d < time.Second {
		t.Fatalf("after 429 waits %v, want ≥ Retry-After 1s", d)
	} else {
		replica.Int64N(1) // keep the replica in step is not needed: stop comparing exactly
		setFault(h400)
		fc.Advance(d)
	}
	if d := next(); d != hi {
		t.Fatalf("after a 400 waits %v, want the maximum %v", d, hi)
	} else {
		setFault(hPass)
		fc.Advance(d)
	}
	// Success: heartbeat, sync and drain, then an idle wait.
	if d := next(); d != time.Hour {
		t.Fatalf("healthy uplink waits %v, want the drain interval 1h; status %+v", d, u.Status())
	}
	if s := u.Status(); !s.Online || s.Failures != 0 || s.OutboxDepth != 0 {
		t.Fatalf("after success status %+v", s)
	}
	setFault(h500)
	if _, err := st.Event(record.Event{Event: "new"}); err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Hour)
	if d := next(); d != lo {
		t.Fatalf("first failure after a success waits %v, want %v: backoff did not reset", d, lo)
	}
}

// TestRefusedHeartbeatDoesNotBlockOutbox: a gateway that refuses
// heartbeats (say, a firmware field it cannot parse) still gets records.
func TestRefusedHeartbeatDoesNotBlockOutbox(t *testing.T) {
	g := newTestGateway(t, nil)
	g.setPlan(func(_ int, path string) hfault {
		if path == protocol.PathHeartbeat {
			return h400
		}
		return hPass
	})
	st, recs := newBooth(t, device, 30)
	o := fastOptions(g, g.addr(), st)
	o.BatchSize = 7
	u, err := uplink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	runUplink(t, u)
	waitDrained(t, st, u)
	g.checkExactlyOnce(device, recs)
}
