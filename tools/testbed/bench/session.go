package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/session/sessiontest"
	"wartelsuspas/kiosk/store"
)

func init() {
	register("session", benchSession)
}

// benchSession measures the engine: cut-off precision with real timers,
// calls per second on the in-memory and the SQLite store, and the journal
// commit beside one raw fsync on the same disk.
func benchSession(r *Report) error {
	const engines, perEngine = 50, 21 // 1050 one-second calls, about 25 s
	errs, err := cutoffErrors(engines, perEngine)
	if err != nil {
		return fmt.Errorf("cut-off precision: %w", err)
	}
	how := fmt.Sprintf("%d calls of 1 s, %d engines in parallel, real timers, in-memory store; engine only", len(errs), engines)
	for _, q := range []float64{0.50, 0.99} {
		r.Add(Figure{Name: fmt.Sprintf("engine cut-off |relay off − allowed| p%.0f", q*100), Value: Ms(Percentile(errs, q)), Unit: "ms",
			Limit: Ms(relayOperate), LimitNote: "relay operate time", Note: how})
	}

	const memCalls = 20000
	rate, err := callRate(sessiontest.NewStore("bench/mem", benchCardInfo()), memCalls)
	if err != nil {
		return fmt.Errorf("calls per second, in-memory store: %w", err)
	}
	r.Add(Figure{Name: "engine calls/s (in-memory store)", Value: rate, Unit: "calls/s",
		Note: fmt.Sprintf("%d tap→off-hook→hang-up calls, fake clock, engine overhead only", memCalls)})

	dir, err := os.MkdirTemp("", "bench-session-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "booth.db"), store.Options{Device: "bench/sqlite"})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.ApplyRoster(1, []record.CardInfo{benchCardInfo()}, nil); err != nil {
		return err
	}
	commit, fsync, err := journalCommit(st, dir, 200)
	if err != nil {
		return fmt.Errorf("journal commit in %s: %w", dir, err)
	}
	r.Add(Figure{Name: "engine journal commit (OpenCall) p50", Value: Ms(commit), Unit: "ms", Limit: Ms(fsync), LimitNote: "1-byte write + fsync p50",
		Note: fmt.Sprintf("200 commits on a new store (its WAL still growing), each after a raw fsync timed beside it, SQLite WAL synchronous=FULL, in %s", os.TempDir())})
	const dbCalls = 300
	rate, err = callRate(st, dbCalls)
	if err != nil {
		return fmt.Errorf("calls per second, SQLite store: %w", err)
	}
	limit := float64(time.Second) / float64(fsync) / 2 // OpenCall and CloseCall each commit
	r.Add(Figure{Name: "engine calls/s (SQLite store)", Value: rate, Unit: "calls/s", Limit: limit, LimitNote: "2 raw fsyncs a call",
		Note: fmt.Sprintf("%d calls, fake clock", dbCalls)})
	return nil
}

// benchRules: open around the clock, a large allowance, calls capped at
// one second, billed per second.
func benchRules() policy.Rules {
	open := map[time.Weekday][]policy.Window{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		open[d] = []policy.Window{{From: 0, To: 24 * 60}}
	}
	return policy.Rules{
		Location:  time.UTC,
		Period:    policy.Day,
		Allowance: 100000 * time.Hour,
		PerCall:   time.Second,
		Billing:   policy.Billing{Unit: policy.PerSecond},
		Hours:     policy.Hours{Weekly: open},
		Untrusted: policy.UntrustedRefuse,
	}
}

const benchCard = "em:00BE4C0001"

func benchCardInfo() record.CardInfo {
	return record.CardInfo{Card: benchCard, Role: record.RoleInmate, Person: "bench"}
}

// cutBooth notes, on the engine's clock, when talking starts (the engine
// shows "talking" at the instant it takes as talk start) and when the relay
// then opens.
type cutBooth struct {
	clk     clock.Clock
	mu      sync.Mutex
	talking time.Duration // 0: not talking
	cut     chan [2]time.Duration
}

func (b *cutBooth) SetRelay(on bool) error {
	if on {
		return nil
	}
	now := b.clk.Mono()
	b.mu.Lock()
	start := b.talking
	b.talking = 0
	b.mu.Unlock()
	if start > 0 {
		b.cut <- [2]time.Duration{start, now}
	}
	return nil
}

func (b *cutBooth) ClearFaults() error { return nil }

func (b *cutBooth) Show(signal session.Signal) error {
	if signal == "talking" {
		now := b.clk.Mono()
		b.mu.Lock()
		b.talking = now
		b.mu.Unlock()
	}
	return nil
}

// cutoffErrors runs engines Run loops in parallel on the real clock, each
// making calls one-second calls, and returns |relay off − (talk start + 1 s)|
// for every call.
func cutoffErrors(engines, calls int) ([]time.Duration, error) {
	clk := clock.NewReal()
	var (
		mu   sync.Mutex
		errs []time.Duration
		wg   sync.WaitGroup
	)
	failed := make(chan error, engines)
	for range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := &cutBooth{clk: clk, cut: make(chan [2]time.Duration, 1)}
			e, err := session.New(session.Config{Rules: benchRules(), ClockTrustedAtStart: true},
				session.Deps{Clock: clk, Store: sessiontest.NewStore("bench", benchCardInfo()), Booth: b})
			if err != nil {
				failed <- err
				return
			}
			ctx, cancel := context.WithCancel(context.Background())
			in := make(chan session.Input)
			done := make(chan error, 1)
			go func() { done <- e.Run(ctx, in) }()
			defer func() { cancel(); <-done }()
			for range calls {
				in <- session.Tap{Card: benchCard}
				in <- session.Hook{OffHook: true}
				select {
				case c := <-b.cut:
					d := c[1] - (c[0] + time.Second)
					mu.Lock()
					errs = append(errs, max(d, -d))
					mu.Unlock()
				case <-time.After(10 * time.Second):
					failed <- errors.New("no cut-off within 10 s of a 1 s call")
					return
				}
				in <- session.Hook{OffHook: false}
			}
		}()
	}
	wg.Wait()
	close(failed)
	if err := <-failed; err != nil {
		return nil, err
	}
	return errs, nil
}

// nopBooth is a booth with no outputs.
type nopBooth struct{}

func (nopBooth) SetRelay(bool) error       { return nil }
func (nopBooth) Show(session.Signal) error { return nil }
func (nopBooth) ClearFaults() error        { return nil }

// callRate runs n calls through the synchronous core on a fake clock and
// returns calls per second of real time: the engine and store's own cost.
func callRate(st session.Store, n int) (float64, error) {
	fc := clock.NewFake(time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC))
	e, err := session.New(session.Config{Rules: benchRules(), ClockTrustedAtStart: true},
		session.Deps{Clock: fc, Store: st, Booth: nopBooth{}})
	if err != nil {
		return 0, err
	}
	begin := time.Now()
	for range n {
		e.Handle(session.Tap{Card: benchCard})
		e.Handle(session.Hook{OffHook: true})
		fc.Advance(500 * time.Millisecond)
		e.Handle(session.Hook{OffHook: false})
		fc.Advance(500 * time.Millisecond)
	}
	el := time.Since(begin)
	if s := e.Status(); s.Calls != n || s.State != session.StateReady {
		return 0, fmt.Errorf("after %d calls the engine reports %d calls, state %s, out of service %v", n, s.Calls, s.State, s.OutOfService)
	}
	return float64(n) / el.Seconds(), nil
}

// journalCommit returns the median time of Store.OpenCall (one durable
// transaction), closing each call again outside the timing, and the median
// of a one-byte write and fsync in dir timed just before each: at the same
// moments on the same disk, since apart the disk's mood between two phases
// moved the ratio by a third (docs/benchmarks.md).
func journalCommit(st *store.Store, dir string, n int) (commit, fsync time.Duration, err error) {
	f, err := os.Create(filepath.Join(dir, "fsync"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	ds := make([]time.Duration, 0, n)
	fs := make([]time.Duration, 0, n)
	for i := range n {
		t := time.Now()
		if _, err := f.WriteAt([]byte{byte(i)}, int64(i)); err != nil {
			return 0, 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
		fs = append(fs, time.Since(t))
		c := record.Call{Card: benchCard, Inmate: "bench", Period: "bench", AuthorisedAt: time.Now(), MaxMs: 1000, ClockTrusted: true}
		t = time.Now()
		id, err := st.OpenCall(c)
		ds = append(ds, time.Since(t))
		if err != nil {
			return 0, 0, err
		}
		c.CallID, c.EndReason = id, session.EndNoOffHook
		if _, err := st.CloseCall(c); err != nil {
			return 0, 0, err
		}
	}
	return Percentile(ds, 0.5), Percentile(fs, 0.5), nil
}
