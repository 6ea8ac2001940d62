package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"wartelsuspas/kiosk/protocol"
)

// Load is what each online booth does.
//
// The tap rate: a booth is open about 5.5 hours a day (08:00–11:30 and
// 13:00–15:00, DESIGN.md); a call is at most 10 minutes (the policy's
// per_call) and averages about 5, and the next inmate takes a minute to
// come in, so a busy booth sees a call about every 6 minutes. About as many
// taps again are refused or repeated (no minutes left, not the block's
// turn, too soon, a second tap), and each tap of a known inmate asks the
// gateway. So the busy hour brings one tap every 3 minutes a booth
// (DefaultTapEvery), about 110 a day, with heartbeats every minute
// (kiosk/uplink's DefaultHeartbeatInterval).
type Load struct {
	// TapEvery is the mean time between taps at one booth (Poisson).
	TapEvery time.Duration
	// Heartbeat is the time between heartbeats.
	Heartbeat time.Duration
	// Spread is the window over which booths starting together make
	// their first request, as booths do not all power on at one instant.
	Spread time.Duration
	// DrainAfter is how long after a call its record is uploaded (the
	// booth's drain interval, kiosk/uplink's DefaultDrainInterval).
	DrainAfter time.Duration
	// Batch is the most records in one upload (kiosk/uplink's DefaultBatchSize).
	Batch int
	// Weight makes each client stand for Weight booths: it taps and
	// heartbeats Weight times as often, on its one connection (0 or 1: a
	// booth is a client). A machine runs out of loopback connections and
	// memory for clients long before the gateways run out of CPU at the
	// busy hour's rate, so the ramp finds the gateways' limit with a weight
	// and measures a connection's memory with weight 1.
	Weight int
}

// weight is l.Weight, at least 1.
func (l Load) weight() int { return max(1, l.Weight) }

// Defaults of Load.
const (
	DefaultTapEvery   = 3 * time.Minute
	DefaultHeartbeat  = time.Minute
	DefaultDrainAfter = 5 * time.Second
	DefaultBatch      = 200
)

// authoriseBound bounds the wait for one authorise: the booth gives up at
// protocol.AuthoriseDeadline and decides offline, but the load generator
// waits longer to measure how late the answer would have been.
const authoriseBound = 10 * time.Second

// Stats collects what the booths saw.
type Stats struct {
	mu    sync.Mutex
	auth  []time.Duration
	taps  int
	beats int
	ups   int
	errs  map[string]int
	first error
}

func newStats() *Stats { return &Stats{errs: map[string]int{}} }

func (s *Stats) authorised(d time.Duration) {
	s.mu.Lock()
	s.auth = append(s.auth, d)
	s.taps++
	s.mu.Unlock()
}

func (s *Stats) count(what string) {
	s.mu.Lock()
	switch what {
	case "heartbeat":
		s.beats++
	case "upload":
		s.ups++
	}
	s.mu.Unlock()
}

func (s *Stats) failed(what string, err error) {
	s.mu.Lock()
	s.errs[what]++
	if s.first == nil {
		s.first = err
	}
	s.mu.Unlock()
}

// Window is what the booths saw since the last Take.
type Window struct {
	Auth             []time.Duration
	Taps, Beats, Ups int
	Errors           map[string]int
	FirstErr         error
}

// Errs is how many requests failed.
func (w Window) Errs() int {
	n := 0
	for _, v := range w.Errors {
		n += v
	}
	return n
}

// Take returns what was seen and starts a new window.
func (s *Stats) Take() Window {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := Window{Auth: s.auth, Taps: s.taps, Beats: s.beats, Ups: s.ups, Errors: s.errs, FirstErr: s.first}
	s.auth, s.taps, s.beats, s.ups, s.errs, s.first = nil, 0, 0, 0, map[string]int{}, nil
	return w
}

// Percentile is the q-quantile of ds by the nearest-rank method, as the
// bench's table computes it.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Run is one online booth until ctx ends: heartbeats every l.Heartbeat,
// taps at random with mean l.TapEvery, each authorised at the gateway and
// ending in a record uploaded l.DrainAfter later (a failed upload is tried
// again at the next one: the outbox keeps it). A request in flight when
// stop ends is finished, not cut, as a booth shutting down finishes its
// exchange: so that a clean run sends no record twice.
func (b *Booth) Run(stop context.Context, l Load, st *Stats) {
	ctx := context.WithoutCancel(stop)
	r := rng(b.Device)
	tapEvery := l.TapEvery / time.Duration(l.weight())
	beatEvery := l.Heartbeat / time.Duration(l.weight())
	now := time.Now()
	first := now.Add(time.Duration(r.Int64N(int64(l.Spread) + 1)))
	nextBeat := first
	nextTap := first.Add(time.Duration(r.ExpFloat64() * float64(tapEvery)))
	var uploadAt time.Time
	beats := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := nextBeat
		if nextTap.Before(next) {
			next = nextTap
		}
		if !uploadAt.IsZero() && uploadAt.Before(next) {
			next = uploadAt
		}
		timer.Reset(time.Until(next))
		select {
		case <-stop.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		switch {
		case !uploadAt.IsZero() && !now.Before(uploadAt):
			uploadAt = time.Time{}
			if err := b.Drain(ctx, l.Batch); err != nil {
				st.failed("upload", err)
				continue
			}
			st.count("upload")
		case !now.Before(nextBeat):
			// After the first, at a random phase: booths that started
			// together do not heartbeat together ever after.
			next := beatEvery
			if beats == 0 {
				next = time.Duration(r.Int64N(int64(beatEvery)) + 1)
			}
			beats++
			nextBeat = now.Add(next)
			if err := b.Heartbeat(ctx); err != nil {
				st.failed("heartbeat", err)
				continue
			}
			st.count("heartbeat")
		default:
			nextTap = now.Add(time.Duration(r.ExpFloat64() * float64(tapEvery)))
			k := r.IntN(inmatesPerFacility)
			actx, cancel := context.WithTimeout(ctx, authoriseBound)
			t0 := time.Now()
			a, err := b.Authorise(actx, k)
			d := time.Since(t0)
			cancel()
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					st.authorised(authoriseBound) // as late as it gets
				}
				st.failed("authorise", err)
				continue
			}
			st.authorised(d)
			if a.Busy || a.RemainingMs <= 0 {
				b.Busy(k, a, time.Now())
			} else {
				talked := time.Duration(60+r.IntN(540)) * time.Second
				b.Call(k, a, time.Now(), min(talked, time.Duration(a.RemainingMs)*time.Millisecond))
			}
			if uploadAt.IsZero() {
				uploadAt = time.Now().Add(l.DrainAfter)
			}
		}
	}
}

// fleet is booths running a Load.
type fleet struct {
	ctx    context.Context
	booths []*Booth
	stats  *Stats
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startFleet(ctx context.Context) *fleet {
	ctx, cancel := context.WithCancel(ctx)
	return &fleet{ctx: ctx, stats: newStats(), cancel: cancel}
}

func (f *fleet) add(bs []*Booth, l Load) {
	for _, b := range bs {
		f.booths = append(f.booths, b)
		f.wg.Go(func() { b.Run(f.ctx, l, f.stats) })
	}
}

// stop ends the booths' loops and uploads what their outboxes still hold,
// so that every record they wrote can be looked for in the ledger.
func (f *fleet) stop(ctx context.Context, batch int) error {
	f.cancel()
	f.wg.Wait()
	err := parallel(32, len(f.booths), func(i int) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		return f.booths[i].Drain(ctx, batch)
	})
	for _, b := range f.booths {
		b.Close()
	}
	if err != nil {
		return fmt.Errorf("country: final upload of the booths' outboxes: %w", err)
	}
	return nil
}

// written is how many records the fleet's booths wrote.
func (f *fleet) written() int64 {
	var n int64
	for _, b := range f.booths {
		n += int64(b.Written())
	}
	return n
}

// authoriseDeadline is the booth's: past it, the booth decides offline.
const authoriseDeadline = protocol.AuthoriseDeadline
