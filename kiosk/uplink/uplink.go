// Package uplink is the booth's one network adapter: it drains the outbox
// to the central gateway, syncs the roster, sends heartbeats and asks the
// gateway to authorise taps, all over the /v1 protocol (kiosk/protocol).
//
// Delivery is at least once from the booth and exactly once at the
// gateway: a record leaves the outbox only after the gateway's StoredUpTo
// covers it, and a batch resent after a lost answer is accepted by the
// gateway as duplicates. All durable state is the store, so a restart
// resumes where the last confirmed batch ended.
package uplink

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

// Defaults of Options.
const (
	DefaultBatchSize         = 200
	DefaultBackoffMin        = 1 * time.Second
	DefaultBackoffMax        = 5 * time.Minute
	DefaultDrainInterval     = 5 * time.Second
	DefaultSyncInterval      = 5 * time.Minute
	DefaultHeartbeatInterval = 1 * time.Minute
	DefaultRequestTimeout    = 30 * time.Second
	// DefaultSyncPageCards is the roster page asked for: about 130 KB,
	// 16 s at 64 kbit/s, so a cut link costs at most that much again.
	DefaultSyncPageCards = 1000
)

// Store is what the uplink needs of the booth's store; kiosk/store.Store
// implements it.
type Store interface {
	// PendingAfter returns up to limit unacknowledged records with a seq
	// above after, oldest first (after 0: from the acknowledged point).
	PendingAfter(after uint64, limit int) ([]record.Record, error)
	// Ack deletes the records up to and including upToSeq; an Ack at or
	// below the acknowledged point does nothing. It may run while
	// PendingAfter reads.
	Ack(upToSeq uint64) error
	// Depth is the number of records waiting.
	Depth() (int, error)
	// RosterVersion is the roster version held (0: none).
	RosterVersion() (int64, error)
	// ApplyRosterBlocked applies a delta in one transaction (and voids a
	// stage), with the cards' numbers, replacing the blocked list unless
	// blocked is nil.
	ApplyRosterBlocked(version int64, upserts []record.CardInfo, deletes []string, blocked []string) error
	// ChainHead is the store's chain identity and its last record's seq
	// and hash, reported in every heartbeat.
	ChainHead() (chain string, seq uint64, hash string)
	// RosterStage returns the paged sync in progress (ok false: none).
	RosterStage() (st record.RosterStage, ok bool, err error)
	// StageRoster keeps one page and the progress after it, in one
	// transaction, apart from the roster taps are answered from.
	StageRoster(st record.RosterStage, upserts []record.CardInfo, deletes []string) error
	// ApplyStaged makes the staged pages the roster at version in one
	// transaction (a full stage replaces it) and clears the stage.
	ApplyStaged(version int64) error
	// DiscardRosterStage forgets the stage; the roster held is untouched.
	DiscardRosterStage() error
}

// CardLister is optionally implemented by a Store so that a full resync
// can delete the cards the gateway no longer lists. Without it a full
// sync only upserts, and stale cards stay until a delta deletes them.
type CardLister interface {
	CardIDs() ([]string, error)
}

// BoothState is what the heartbeat reports about the booth.
type BoothState struct {
	State        string   // the engine's state, e.g. "ready"
	OutOfService []string // why new calls are refused (the engine's causes)
	Faults       []string // active faults of the parts, for the centre's dashboard
	ClockTrusted bool     // the wall clock has been confirmed since boot
}

// Options configure New. BaseURL, Store and one of HTTPClient or
// Transport are required.
type Options struct {
	// BaseURL is the gateway, e.g. "https://gateway.lapas.example:8443".
	BaseURL string
	// HTTPClient carries every request; its transport holds the booth's
	// mutual-TLS configuration. If nil, one is built from TLS.
	HTTPClient *http.Client
	// TLS is the client TLS configuration used when HTTPClient is nil.
	TLS   *tls.Config
	Store Store
	// Clock drives intervals and backoff (nil: the real clock).
	Clock clock.Clock
	// BatchSize is the most records per upload (0: DefaultBatchSize; at
	// most protocol.MaxBatch).
	BatchSize int
	// BackoffMin and BackoffMax bound the retry delay after a failure. The
	// n-th consecutive failure waits a uniformly random time in
	// [BackoffMin, min(BackoffMax, BackoffMin·2ⁿ⁻¹)].
	BackoffMin, BackoffMax time.Duration
	// Rand draws the jitter (nil: seeded from the clock). Only Run uses it.
	Rand *rand.Rand
	// DrainInterval is how often an empty outbox is looked at again
	// (Kick wakes the uplink sooner).
	DrainInterval     time.Duration
	SyncInterval      time.Duration
	HeartbeatInterval time.Duration
	// RequestTimeout bounds one HTTP exchange (0: DefaultRequestTimeout).
	RequestTimeout time.Duration
	// SyncPageCards is the most roster entries asked for in one page of
	// /v1/sync (0: DefaultSyncPageCards; the gateway caps it at
	// protocol.MaxSyncPage).
	SyncPageCards int
	Log           *slog.Logger
	// Firmware is the version reported in heartbeats.
	Firmware string
	// BootID names this start of the daemon in heartbeats (random per
	// start; see NewBootID), so the gateway can tell a restart from a
	// copied identity running twice.
	BootID string
	// State reports the booth's state for heartbeats (nil: "unknown").
	State func() BoothState
	// OnServerTime is called after each heartbeat with the gateway's time
	// corrected for half the round trip, and the offset gateway minus
	// booth (positive: the booth is behind), so firmware can set its
	// clock and mark it trusted.
	OnServerTime func(server time.Time, offset time.Duration)
	// OnPolicy receives the facility policy document when a sync carries
	// one, before the roster version that carries it is stored: the caller
	// keeps and applies it. An error leaves the roster version as it was,
	// so the next sync brings the document again.
	OnPolicy func(policy json.RawMessage) error
}

// Status is a snapshot of the uplink for the engine and the technician.
type Status struct {
	Online        bool          // the last exchange with the gateway succeeded
	LastSuccess   time.Time     // booth wall time of the last successful exchange
	LastSync      time.Time     // booth wall time of the last applied roster sync
	RosterVersion int64         // roster version after the last sync
	OutboxDepth   int           // records waiting, as of the last drain
	ClockOffset   time.Duration // gateway clock minus booth clock at the last heartbeat (positive: booth behind)
	ClockKnown    bool          // ClockOffset has been measured
	LastError     string        // the last failure, "" after a success
	Failures      int           // consecutive failures
	Uploaded      uint64        // records confirmed by the gateway since start
}

// Uplink talks to the gateway for one booth. Create it with New, run it
// with Run; Status, Kick, Authorise and Release are safe to call from any
// goroutine.
type Uplink struct {
	opt    Options
	client *http.Client
	base   string
	kick   chan struct{}

	mu     sync.Mutex
	status Status
	sent   *BoothState // what the last answered heartbeat reported
}

// New checks o and returns an Uplink.
func New(o Options) (*Uplink, error) {
	if o.BaseURL == "" {
		return nil, errors.New("uplink: no gateway URL configured")
	}
	if o.Store == nil {
		return nil, errors.New("uplink: no store")
	}
	if o.HTTPClient == nil {
		if o.TLS == nil {
			return nil, errors.New("uplink: neither an HTTP client nor a TLS configuration: the booth cannot prove its identity")
		}
		o.HTTPClient = &http.Client{Transport: &http.Transport{
			TLSClientConfig:     o.TLS,
			ForceAttemptHTTP2:   false,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 15 * time.Second,
		}}
	}
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.BatchSize > protocol.MaxBatch {
		o.BatchSize = protocol.MaxBatch
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.BackoffMax < o.BackoffMin {
		return nil, fmt.Errorf("uplink: backoff maximum %v is below its minimum %v", o.BackoffMax, o.BackoffMin)
	}
	if o.Rand == nil {
		seed := uint64(o.Clock.Now().UnixNano())
		o.Rand = rand.New(rand.NewPCG(seed, seed>>7|1))
	}
	if o.DrainInterval <= 0 {
		o.DrainInterval = DefaultDrainInterval
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.SyncPageCards <= 0 {
		o.SyncPageCards = DefaultSyncPageCards
	}
	o.SyncPageCards = min(o.SyncPageCards, protocol.MaxSyncPage)
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Uplink{
		opt:    o,
		client: o.HTTPClient,
		base:   strings.TrimRight(o.BaseURL, "/"),
		kick:   make(chan struct{}, 1),
	}, nil
}

// String names the uplink for logs.
func (u *Uplink) String() string { return "uplink to " + u.base }

// Status returns a snapshot.
func (u *Uplink) Status() Status {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.status
}

// Kick wakes Run to drain now (call it after appending a record).
func (u *Uplink) Kick() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// Run drains, syncs and heartbeats until ctx ends, and returns ctx's
// error. Failures never end it: they are logged, reported in Status and
// retried after a jittered, growing backoff.
func (u *Uplink) Run(ctx context.Context) error {
	var nextSync, nextBeat time.Duration // due at once
	lastBeat, beatFailed := -u.opt.DrainInterval, false
	drainTurn := false // between two roster pages the outbox gets a turn
	// A failing heartbeat or sync never holds the outbox back: after its
	// backoff the outbox drains first (drainFirst), and a round of batches
	// is not cut short for a job that is failing. A failing heartbeat then
	// lets a due sync go before it (yieldSync): the roster (a card blocked)
	// still reaches the booth.
	syncFailed, drainFirst, yieldSync := false, false, false
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		now := u.opt.Clock.Mono()
		// The centre sees a tamper or a fault at the next wake
		// (DrainInterval), not a minute later; never more often, and a
		// failing heartbeat waits for its interval as before.
		beatEarly := func(now time.Duration) bool {
			return now < nextBeat && !beatFailed && now >= lastBeat+u.opt.DrainInterval && u.changed()
		}
		if beatEarly(now) {
			nextBeat = now
		}
		var err error
		more := true     // after a heartbeat or sync, drain at once
		job := true      // a heartbeat or a roster page ran, not the drain
		reached := false // the drain had the gateway confirm records
		switch {
		case now >= nextBeat && !drainFirst && !(yieldSync && now >= nextSync && !drainTurn):
			lastBeat = now
			err = u.heartbeat(ctx)
			beatFailed = err != nil
			yieldSync = beatFailed
			if err == nil {
				nextBeat = now + u.opt.HeartbeatInterval
			}
		case now >= nextSync && !drainTurn && !drainFirst:
			var pending bool
			pending, err = u.syncPage(ctx)
			syncFailed, yieldSync = err != nil, false
			if err == nil {
				if pending {
					drainTurn = true // the next page is due at once, after a drain
				} else {
					nextSync = now + u.opt.SyncInterval
				}
			}
		default:
			job, drainTurn, drainFirst = false, false, false
			before := u.uploaded()
			// A round of batches ends when a heartbeat or a roster page
			// falls due (between two pages: one batch), as the loop would
			// see it between two batches; not for one that is failing.
			more, err = u.drain(ctx, func() bool {
				now := u.opt.Clock.Mono()
				return now >= nextBeat && !beatFailed || now >= nextSync && !syncFailed || beatEarly(now)
			})
			reached = u.uploaded() != before
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var wait time.Duration
		var he *HTTPError
		if err != nil && errors.As(err, &he) && he.Permanent() {
			// A refused heartbeat or sync must not hold the outbox back:
			// try that job again only at its next interval.
			if now >= nextBeat {
				nextBeat = now + u.opt.HeartbeatInterval
			} else if now >= nextSync {
				nextSync = now + u.opt.SyncInterval
			}
		}
		if err != nil {
			wait = u.failed(err)
			drainFirst = job
		} else {
			// A drain that sent nothing says nothing of the gateway: while
			// a heartbeat or sync is failing, the link stays reported down.
			if job || reached || !beatFailed && !syncFailed {
				u.succeeded()
			}
			if more || u.opt.Clock.Mono() >= min(nextBeat, nextSync) {
				continue
			}
			wait = min(u.opt.DrainInterval, min(nextBeat, nextSync)-u.opt.Clock.Mono())
		}
		if err := u.sleep(ctx, wait, err == nil); err != nil {
			return err
		}
	}
}

// uploaded is how many records the gateway has confirmed since start.
func (u *Uplink) uploaded() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.status.Uploaded
}

// sleep waits d on the uplink's clock; a Kick ends the wait early only
// when the uplink is healthy, so a kick cannot defeat the backoff.
func (u *Uplink) sleep(ctx context.Context, d time.Duration, kickable bool) error {
	t := u.opt.Clock.NewTimer(d)
	defer t.Stop()
	kick := u.kick
	if !kickable {
		kick = nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
	case <-kick:
	}
	return nil
}

// Backoff returns the delay before retry after the n-th consecutive failure
// (n ≥ 1): uniform in [min, min(max, min·2ⁿ⁻¹)].
func Backoff(n int, lo, hi time.Duration, r *rand.Rand) time.Duration {
	ceil := lo
	for i := 1; i < n && ceil < hi; i++ {
		ceil *= 2
	}
	ceil = min(ceil, hi)
	if ceil <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(ceil-lo)+1))
}

// failed records err and returns how long to wait before the next try.
func (u *Uplink) failed(err error) time.Duration {
	u.mu.Lock()
	u.status.Online = false
	u.status.Failures++
	u.status.LastError = err.Error()
	n := u.status.Failures
	u.mu.Unlock()

	d := Backoff(n, u.opt.BackoffMin, u.opt.BackoffMax, u.opt.Rand)
	var he *HTTPError
	switch {
	case errors.As(err, &he) && he.Permanent():
		// The gateway refuses what we send: retrying soon would only
		// repeat it. A technician must look.
		d = u.opt.BackoffMax
		u.opt.Log.Error("uplink: the gateway refused a request; retrying at the longest backoff",
			"err", err, "retry_in", d, "action", "check the booth's certificate, firmware version and the gateway log")
	case errors.As(err, &he) && he.RetryAfter > 0:
		d = max(d, min(he.RetryAfter, u.opt.BackoffMax))
		u.opt.Log.Warn("uplink: gateway busy", "err", err, "retry_in", d)
	case n == 1 || n%20 == 0:
		// Weeks offline must not flood the log: the first failure and
		// every 20th are warnings, the rest debug.
		u.opt.Log.Warn("uplink: gateway unreachable or failing; records stay in the outbox", "err", err, "failures", n, "retry_in", d)
	default:
		u.opt.Log.Debug("uplink: gateway unreachable or failing", "err", err, "failures", n, "retry_in", d)
	}
	return d
}

func (u *Uplink) succeeded() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.status.Online = true
	u.status.Failures = 0
	u.status.LastError = ""
	u.status.LastSuccess = u.opt.Clock.Now()
}

func (u *Uplink) setDepth() int {
	n, err := u.opt.Store.Depth()
	if err != nil {
		u.opt.Log.Warn("uplink: count outbox", "err", err)
		return 0
	}
	u.mu.Lock()
	u.status.OutboxDepth = n
	u.mu.Unlock()
	return n
}

// sync brings the roster up to date: every page, then the version applied.
func (u *Uplink) sync(ctx context.Context) error {
	for {
		pending, err := u.syncPage(ctx)
		if err != nil || !pending {
			return err
		}
	}
}

// syncPage fetches one page of the roster sync and keeps it: applied at once
// when it is a whole version by itself (a small delta: one round trip, one
// transaction), staged in the store otherwise, and the staged version
// applied when its last page is in. pending reports that more pages are
// due. Where a sync stands lives in the store (record.RosterStage), so a
// cut link or a restart resumes at the page after the last one kept. The
// rules that end every sync at a version the gateway had, never a mix, are
// in docs/uplink.md.
func (u *Uplink) syncPage(ctx context.Context) (pending bool, err error) {
	held, err := u.opt.Store.RosterVersion()
	if err != nil {
		return false, fmt.Errorf("uplink: read roster version: %w", err)
	}
	st, staged, err := u.opt.Store.RosterStage()
	if err != nil {
		return false, fmt.Errorf("uplink: read the roster sync in progress: %w", err)
	}
	if staged && st.From != held {
		u.opt.Log.Warn("uplink: roster sync in progress began from another version; starting again", "began_from", st.From, "held", held)
		if err := u.opt.Store.DiscardRosterStage(); err != nil {
			return false, fmt.Errorf("uplink: discard the roster sync begun from version %d: %w", st.From, err)
		}
		staged = false
	}
	if !staged {
		st = record.RosterStage{From: held, Since: held}
	}
	if staged && st.Pages > 0 && st.Cursor == "" {
		// Every page is in and consistent; applying failed last time.
		return false, u.applyStaged(st)
	}
	req := protocol.SyncRequest{RosterVersion: st.Since, Cursor: st.Cursor, PageCards: u.opt.SyncPageCards, Numbers: true}
	var resp protocol.SyncResponse
	if err := u.post(ctx, protocol.PathSync, req, &resp); err != nil {
		return false, fmt.Errorf("uplink: roster sync from version %d (page %d of this pass): %w", st.Since, st.Pages+1, err)
	}
	if resp.Version < held {
		return false, fmt.Errorf("uplink: roster sync: the gateway offers version %d, older than the %d held; was the gateway's database restored from a backup?", resp.Version, held)
	}
	if resp.NextCursor != "" && (resp.NextCursor == st.Cursor || len(resp.Upserts)+len(resp.Deletes) == 0) {
		return false, fmt.Errorf("uplink: roster sync: the gateway's page after %q holds %d entries and points to %q: no progress; check the gateway", st.Cursor, len(resp.Upserts)+len(resp.Deletes), resp.NextCursor)
	}
	opening := !st.CatchUp && st.Pages == 0 // the first page decides full or delta
	if opening {
		st.Full = resp.Full
	} else if want := st.Full && !st.CatchUp; resp.Full != want {
		// The gateway can no longer answer this pass as it began (its
		// deletions were pruned meanwhile, or it was restored): what is
		// staged cannot be completed to one version. Start again.
		u.opt.Log.Warn("uplink: the gateway changed a roster sync from delta to full (or back) between pages; discarding the pages staged and starting again",
			"since", st.Since, "pages", st.Pages, "catch_up", st.CatchUp)
		if err := u.opt.Store.DiscardRosterStage(); err != nil {
			return false, fmt.Errorf("uplink: discard the roster sync from version %d: %w", st.Since, err)
		}
		return true, nil
	}
	if st.Pages == 0 {
		st.Version = resp.Version
	} else if resp.Version != st.Version {
		st.Mixed = true // the roster changed during the pass: catch up at its end
	}
	if len(resp.Policy) > 0 {
		st.Policy = resp.Policy
	}
	if resp.Blocked != nil {
		st.Blocked, st.BlockedSent = append([]string{}, resp.Blocked.Numbers...), true
	}
	st.Pages++
	st.Cursor = resp.NextCursor
	upserts := make([]record.CardInfo, len(resp.Upserts))
	for i, c := range resp.Upserts {
		upserts[i] = c.Info()
	}
	if !staged && opening && resp.NextCursor == "" {
		return false, u.applyWhole(resp, held, upserts)
	}
	if st.Cursor == "" && st.Mixed {
		// Pages of this pass were read at different versions. Every card
		// staged is as it was at some version from st.Version on, so the
		// changes since st.Version, read again, make one version of it.
		st = record.RosterStage{From: st.From, Full: st.Full, Since: st.Version, CatchUp: true, Policy: st.Policy,
			Blocked: st.Blocked, BlockedSent: st.BlockedSent}
	}
	if err := u.opt.Store.StageRoster(st, upserts, resp.Deletes); err != nil {
		return false, fmt.Errorf("uplink: keep roster page %d from version %d: %w", st.Pages, st.Since, err)
	}
	if st.Pages > 0 && st.Cursor == "" {
		return false, u.applyStaged(st)
	}
	return true, nil
}

// applyStaged hands on the policy staged, then applies the staged version.
func (u *Uplink) applyStaged(st record.RosterStage) error {
	// The policy comes only with the version that changed it: it must be
	// kept before that version is.
	if len(st.Policy) > 0 && u.opt.OnPolicy != nil {
		if err := u.opt.OnPolicy(st.Policy); err != nil {
			return fmt.Errorf("uplink: policy of roster version %d: %w", st.Version, err)
		}
	}
	if err := u.opt.Store.ApplyStaged(st.Version); err != nil {
		return fmt.Errorf("uplink: apply staged roster version %d: %w", st.Version, err)
	}
	u.synced(st.From, st.Version, st.Full, -1, -1)
	return nil
}

// applyWhole applies an answer that is a whole version by itself.
func (u *Uplink) applyWhole(resp protocol.SyncResponse, have int64, upserts []record.CardInfo) error {
	deletes := resp.Deletes
	if resp.Full {
		keep := make(map[string]bool, len(upserts))
		for _, c := range upserts {
			keep[c.Card] = true
		}
		if l, ok := u.opt.Store.(CardLister); ok {
			ids, err := l.CardIDs()
			if err != nil {
				return fmt.Errorf("uplink: full roster sync: list cards held: %w", err)
			}
			for _, id := range ids {
				if !keep[id] {
					deletes = append(deletes, id)
				}
			}
		} else if have > 0 {
			u.opt.Log.Warn("uplink: full roster sync applied as upserts only: the store cannot list its cards, so cards removed at the centre stay until deleted by a delta")
		}
	}
	// The policy comes only with the version that changed it: it must be
	// kept before that version is.
	if len(resp.Policy) > 0 && u.opt.OnPolicy != nil {
		if err := u.opt.OnPolicy(resp.Policy); err != nil {
			return fmt.Errorf("uplink: policy of roster version %d: %w", resp.Version, err)
		}
	}
	var blocked []string // nil: the list held stays
	if resp.Blocked != nil {
		blocked = append([]string{}, resp.Blocked.Numbers...)
	}
	if resp.Version != have || len(upserts) > 0 || len(deletes) > 0 || blocked != nil {
		if err := u.opt.Store.ApplyRosterBlocked(resp.Version, upserts, deletes, blocked); err != nil {
			return fmt.Errorf("uplink: apply roster version %d: %w", resp.Version, err)
		}
	}
	u.synced(have, resp.Version, resp.Full, len(upserts), len(deletes))
	return nil
}

// synced notes a version applied (counts -1: staged, not counted here).
func (u *Uplink) synced(from, to int64, full bool, upserts, deletes int) {
	u.mu.Lock()
	u.status.LastSync = u.opt.Clock.Now()
	u.status.RosterVersion = to
	u.mu.Unlock()
	if to != from {
		u.opt.Log.Info("uplink: roster synced", "from", from, "to", to, "full", full, "upserts", upserts, "deletes", deletes)
	}
}

// Beat is what one heartbeat learnt.
type Beat struct {
	Server time.Time     // the gateway's time now: its stamp plus half the round trip
	Offset time.Duration // gateway minus booth (positive: the booth is behind)
	RTT    time.Duration // on the monotonic clock
}

// Drain uploads one batch of the outbox now and acknowledges it, and says
// whether more records wait; Run sends rounds of batches, pipelined. For a
// caller that steps the uplink itself instead of running it: the unit
// tests and the whole-system tests (tools/testbed/systest) check exactly
// once between two batches.
func (u *Uplink) Drain(ctx context.Context) (more bool, err error) {
	return u.drain(ctx, func() bool { return true })
}

// Sync brings the roster up to date, every page of it, as Run does every
// SyncInterval; for a caller that steps the uplink.
func (u *Uplink) Sync(ctx context.Context) error { return u.sync(ctx) }

func (u *Uplink) heartbeat(ctx context.Context) error {
	_, err := u.Heartbeat(ctx)
	return err
}

// changed reports whether the booth's state differs from what the last
// answered heartbeat reported.
func (u *Uplink) changed() bool {
	if u.opt.State == nil {
		return false
	}
	st := u.opt.State()
	u.mu.Lock()
	sent := u.sent
	u.mu.Unlock()
	return sent == nil || st.State != sent.State || st.ClockTrusted != sent.ClockTrusted ||
		!slices.Equal(st.Faults, sent.Faults) || !slices.Equal(st.OutOfService, sent.OutOfService)
}

// Heartbeat reports the booth once and learns the gateway's time; Run
// calls it every HeartbeatInterval, and the self-test once. The error
// wraps the transport's (a TLS alert, a verification error) or an
// *HTTPError.
func (u *Uplink) Heartbeat(ctx context.Context) (Beat, error) {
	st := BoothState{State: "unknown"}
	if u.opt.State != nil {
		st = u.opt.State()
	}
	depth, _ := u.opt.Store.Depth()
	ver, _ := u.opt.Store.RosterVersion()
	u.mu.Lock()
	lastOffset := u.status.ClockOffset
	u.mu.Unlock()
	c := u.opt.Clock
	sent, sentMono := c.Now(), c.Mono()
	req := protocol.HeartbeatRequest{
		Firmware: u.opt.Firmware, State: st.State, OutboxDepth: depth,
		ClockUnixMs: sent.UnixMilli(), ClockTrusted: st.ClockTrusted, Faults: nonNil(st.Faults), RosterVersion: ver,
		OutOfService: nonNil(st.OutOfService), ClockOffsetMs: lastOffset.Milliseconds(), BootID: u.opt.BootID,
	}
	// The head pins every record written so far, sent or not: rewriting
	// them afterwards shows at the gateway within one interval.
	req.Chain, req.HeadSeq, req.HeadHash = u.opt.Store.ChainHead()
	var resp protocol.HeartbeatResponse
	if err := u.post(ctx, protocol.PathHeartbeat, req, &resp); err != nil {
		return Beat{}, fmt.Errorf("uplink: heartbeat: %w", err)
	}
	rtt := c.Mono() - sentMono
	server := time.UnixMilli(resp.ServerUnixMs).Add(rtt / 2)
	// The booth's clock now is sent+rtt; the gateway's is server.
	offset := server.Sub(sent.Add(rtt))
	u.mu.Lock()
	u.status.ClockOffset, u.status.ClockKnown = offset, true
	u.status.OutboxDepth = depth
	u.sent = &st
	u.mu.Unlock()
	if u.opt.OnServerTime != nil {
		u.opt.OnServerTime(server, offset)
	}
	return Beat{Server: server, Offset: offset, RTT: rtt}, nil
}

// nonNil sends an empty list as [], as the protocol document has it,
// rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// HTTPError is a non-2xx answer from the gateway.
type HTTPError struct {
	Path       string
	StatusCode int
	Message    string        // the gateway's protocol.Error text
	Field      string        // the field it blamed, if any
	RetryAfter time.Duration // from a Retry-After header (seconds form)
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("gateway answered %s to %s", http.StatusText(e.StatusCode), e.Path)
	if e.StatusCode != 0 {
		msg = fmt.Sprintf("gateway answered %d %s to %s", e.StatusCode, http.StatusText(e.StatusCode), e.Path)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	return msg
}

// Permanent reports a refusal that a retry will not cure: a 4xx other
// than 408 and 429.
func (e *HTTPError) Permanent() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 &&
		e.StatusCode != http.StatusTooManyRequests && e.StatusCode != http.StatusRequestTimeout
}

// post sends req as JSON to path and decodes a 2xx answer strictly into
// resp (nil: the body is ignored).
func (u *Uplink) post(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	return u.postBody(ctx, path, body, resp)
}

// postBody is post of a request already encoded.
func (u *Uplink) postBody(ctx context.Context, path string, body []byte, resp any) error {
	ctx, cancel := context.WithTimeout(ctx, u.opt.RequestTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	hr.Header.Set("Content-Type", protocol.ContentType)
	res, err := u.client.Do(hr)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		he := &HTTPError{Path: path, StatusCode: res.StatusCode}
		var eb protocol.Error
		if b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10)); json.Unmarshal(b, &eb) == nil {
			he.Message, he.Field = eb.Error, eb.Field
		}
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			he.RetryAfter = time.Duration(s) * time.Second
		}
		return he
	}
	if resp == nil {
		_, err := io.Copy(io.Discard, io.LimitReader(res.Body, protocol.MaxBodyBytes))
		return err
	}
	if err := protocol.Decode(res.Body, protocol.MaxBodyBytes, resp); err != nil {
		return fmt.Errorf("read the gateway's answer: %w", err)
	}
	return nil
}
