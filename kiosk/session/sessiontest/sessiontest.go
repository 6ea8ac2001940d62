// Package sessiontest provides in-memory fakes of the session engine's ports
// — a Store that keeps a real hash chain, a Booth that records what it was
// told with the monotonic instant, a Dialer and Numbers for a booth with a
// modem — and Drive, which advances a fake clock deadline by deadline so
// every timed action happens at its own instant.
package sessiontest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// ErrBroken is the error a Store returns while broken (SetBroken(true)).
var ErrBroken = errors.New("sessiontest: store broken (disk full)")

// Store is an in-memory session.Store. Each method commits atomically, as
// the SQLite store does, so dropping the engine and keeping the Store is a
// crash: what a method returned nil for is kept, the rest never happened.
type Store struct {
	Device string

	mu      sync.Mutex
	roster  map[string]record.CardInfo
	usage   map[[2]string]record.Usage
	centre  map[[2]string]centreBalance
	journal map[int64]record.OpenCall
	nextID  int64
	records []record.Record
	broken  bool
	fail    func(op string) error
	opened  []int64 // every call id OpenCall returned, in order
	version int64   // roster version (SetRosterVersion)

	// What Usage adds up over the records, kept as each record is
	// appended, so that a Usage costs the same on the 20,000th call as
	// on the first (tools/testbed/bench runs that many).
	sinceCentre map[[2]string]centreTally   // records above the key's last SetCentreBalance's counted (all, if none)
	unconfirmed map[[2]string]time.Duration // charges of calls since the last Ack
	acked       uint64                      // the seq the last Ack reached: Usage's Confirmed
	officers    map[string][]record.Officer // officer records by officer, for OfficerCredits
}

// centreBalance is the centre's answer kept by SetCentreBalance.
type centreBalance struct {
	remaining time.Duration
}

// centreTally is what the records of one inmate and period written after
// the centre's answer change: credits minus charges, and the charges of
// calls authorised offline.
type centreTally struct {
	delta   time.Duration
	offline time.Duration
}

// NewStore returns an empty store for device with the given roster.
func NewStore(device string, roster ...record.CardInfo) *Store {
	s := &Store{
		Device:  device,
		roster:  map[string]record.CardInfo{},
		usage:   map[[2]string]record.Usage{},
		centre:  map[[2]string]centreBalance{},
		journal: map[int64]record.OpenCall{},

		sinceCentre: map[[2]string]centreTally{},
		unconfirmed: map[[2]string]time.Duration{},
		officers:    map[string][]record.Officer{},
	}
	for _, c := range roster {
		s.roster[c.Card] = c
	}
	return s
}

// SetBroken makes every method fail with ErrBroken (true), as a full disk
// does, or work again (false).
func (s *Store) SetBroken(b bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = b
}

// FailWith installs f, asked before each method by name ("Card", "Usage",
// "SetCentreBalance", "OpenCall", "Checkpoint", "CloseCall", "OpenCalls", "Deny", "Officer",
// "Event", "Probe", "RosterVersion", "OfficerCredits"); a non-nil answer fails that call with nothing changed.
// nil removes it.
func (s *Store) FailWith(f func(op string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

func (s *Store) check(op string) error {
	if s.broken {
		return fmt.Errorf("%s: %w", op, ErrBroken)
	}
	if s.fail != nil {
		if err := s.fail(op); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

// Card implements session.Store.
func (s *Store) Card(card string) (record.CardInfo, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Card"); err != nil {
		return record.CardInfo{}, false, err
	}
	c, ok := s.roster[card]
	return c, ok, nil
}

// Usage implements session.Store. Its offline view counts the records
// above the last SetCentreBalance's counted, as kiosk/store's does.
func (s *Store) Usage(inmate, period string) (record.Usage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Usage"); err != nil {
		return record.Usage{}, err
	}
	k := [2]string{inmate, period}
	u := s.usage[k]
	b, known := s.centre[k]
	t := s.sinceCentre[k]
	u.Centre, u.CentreRemaining = known, b.remaining+t.delta
	u.OfflineUsed += t.offline
	u.Unconfirmed += s.unconfirmed[k]
	u.Confirmed = s.acked
	if !known {
		u.CentreRemaining = 0
	}
	return u, nil
}

// tallyLocked adds a record just appended to what Usage and
// OfficerCredits add up, decoding it as they would have.
func (s *Store) tallyLocked(r record.Record) {
	if k, t, charged, ok := tallyOf(r); ok {
		s.sinceCentre[k] = s.sinceCentre[k].add(t)
		s.unconfirmed[k] += charged
	}
	if r.Kind == record.KindOfficer {
		var o record.Officer
		if err := json.Unmarshal(r.Payload, &o); err != nil {
			panic(fmt.Sprintf("sessiontest: record #%d does not decode as %s: %v", r.Seq, r.Kind, err))
		}
		s.officers[o.Officer] = append(s.officers[o.Officer], o)
	}
}

// tallyOf is what a record changes in its inmate and period's usage: the
// tally since the centre's answer and the charge not yet confirmed. ok is
// false for a record that changes no usage.
func tallyOf(r record.Record) (k [2]string, t centreTally, charged time.Duration, ok bool) {
	switch r.Kind {
	case record.KindCall, record.KindOfficer:
	default:
		return k, t, 0, false
	}
	// A call's payload has no credit_ms: p.Call is the call. An
	// officer's decodes into the same inmate, period and credit.
	var p struct {
		record.Call
		CreditMs int64 `json:"credit_ms"`
	}
	if json.Unmarshal(r.Payload, &p) != nil {
		return k, t, 0, false
	}
	t.delta = time.Duration(p.CreditMs-p.ChargedMs) * time.Millisecond
	if r.Kind == record.KindCall {
		charged = time.Duration(p.ChargedMs) * time.Millisecond
		if p.Offline {
			t.offline = charged
		}
	}
	return [2]string{p.Inmate, p.Period}, t, charged, true
}

func (t centreTally) add(u centreTally) centreTally {
	return centreTally{delta: t.delta + u.delta, offline: t.offline + u.offline}
}

// Ack marks every record written so far as stored by the centre, as the
// uplink does when the gateway confirms an upload: their usage is no longer
// Unconfirmed, and Usage's Confirmed reaches the last of them.
func (s *Store) Ack() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.unconfirmed)
	s.acked = uint64(len(s.records))
}

// SetCentreBalance implements session.Store.
func (s *Store) SetCentreBalance(inmate, period string, remaining time.Duration, counted uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("SetCentreBalance"); err != nil {
		return err
	}
	k := [2]string{inmate, period}
	s.centre[k] = centreBalance{remaining: remaining}
	// The records above counted (at most the acknowledged head) count as
	// since the answer: back from the newest, so the cost is the records
	// not yet confirmed, not the whole store.
	var since centreTally
	for i := len(s.records) - 1; i >= 0 && s.records[i].Seq > min(counted, s.acked); i-- {
		if rk, t, _, ok := tallyOf(s.records[i]); ok && rk == k {
			since = since.add(t)
		}
	}
	s.sinceCentre[k] = since
	return nil
}

// OpenCall implements session.Store.
func (s *Store) OpenCall(c record.Call) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("OpenCall"); err != nil {
		return 0, err
	}
	s.nextID++
	c.CallID = s.nextID
	c.TalkedMs, c.ChargedMs, c.EndReason = 0, 0, ""
	s.journal[c.CallID] = record.OpenCall{CallID: c.CallID, Call: c}
	s.opened = append(s.opened, c.CallID)
	return c.CallID, nil
}

// Checkpoint implements session.Store.
func (s *Store) Checkpoint(id int64, talked time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Checkpoint"); err != nil {
		return err
	}
	oc, ok := s.journal[id]
	if !ok {
		return fmt.Errorf("checkpoint: call %d is not open", id)
	}
	oc.Call.TalkedMs = talked.Milliseconds()
	s.journal[id] = oc
	return nil
}

// Answered implements session.Store.
func (s *Store) Answered(id int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Answered"); err != nil {
		return err
	}
	oc, ok := s.journal[id]
	if !ok {
		return fmt.Errorf("answered: call %d is not open", id)
	}
	oc.Call.AnsweredAt, oc.Call.TalkStartAt = at, at
	s.journal[id] = oc
	return nil
}

// CloseCall implements session.Store.
func (s *Store) CloseCall(c record.Call) (record.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("CloseCall"); err != nil {
		return record.Record{}, err
	}
	if _, ok := s.journal[c.CallID]; !ok {
		return record.Record{}, fmt.Errorf("close: call %d is not open", c.CallID)
	}
	r, err := s.appendLocked(record.KindCall, c)
	if err != nil {
		return r, err
	}
	delete(s.journal, c.CallID)
	k := [2]string{c.Inmate, c.Period}
	u := s.usage[k]
	u.Used += time.Duration(c.ChargedMs) * time.Millisecond
	if c.TalkedMs > 0 {
		u.LastEnd = c.TalkStartAt.Add(time.Duration(c.TalkedMs) * time.Millisecond)
	}
	s.usage[k] = u
	return r, nil
}

// OpenCalls implements session.Store.
func (s *Store) OpenCalls() ([]record.OpenCall, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("OpenCalls"); err != nil {
		return nil, err
	}
	out := make([]record.OpenCall, 0, len(s.journal))
	for _, oc := range s.journal {
		out = append(out, oc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CallID < out[j].CallID })
	return out, nil
}

// Deny implements session.Store.
func (s *Store) Deny(d record.Denial) (record.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Deny"); err != nil {
		return record.Record{}, err
	}
	return s.appendLocked(record.KindDenial, d)
}

// Officer implements session.Store.
func (s *Store) Officer(o record.Officer) (record.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Officer"); err != nil {
		return record.Record{}, err
	}
	r, err := s.appendLocked(record.KindOfficer, o)
	if err != nil {
		return r, err
	}
	if o.CreditMs != 0 {
		k := [2]string{o.Inmate, o.Period}
		u := s.usage[k]
		u.Granted += time.Duration(o.CreditMs) * time.Millisecond
		s.usage[k] = u
	}
	return r, nil
}

// Event implements session.Store.
func (s *Store) Event(e record.Event) (record.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Event"); err != nil {
		return record.Record{}, err
	}
	return s.appendLocked(record.KindEvent, e)
}

// Probe implements session.Store.
func (s *Store) Probe() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.check("Probe")
}

// RosterVersion implements session.Store.
func (s *Store) RosterVersion() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("RosterVersion"); err != nil {
		return 0, err
	}
	return s.version, nil
}

// SetRosterVersion sets the roster version the store holds, as a sync does.
func (s *Store) SetRosterVersion(v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
}

// OfficerCredits implements session.Store: the credits of officer's
// records stamped at or after since.
func (s *Store) OfficerCredits(officer string, since time.Time) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("OfficerCredits"); err != nil {
		return 0, err
	}
	var total time.Duration
	for _, o := range s.officers[officer] {
		if !o.At.Before(since) {
			total += time.Duration(o.CreditMs) * time.Millisecond
		}
	}
	return total, nil
}

func (s *Store) appendLocked(kind record.Kind, payload any) (record.Record, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return record.Record{}, fmt.Errorf("encoding %s record: %w", kind, err)
	}
	r := record.Record{Device: s.Device, Seq: uint64(len(s.records)) + 1, Kind: kind, Payload: b}
	var prev *record.Record
	if n := len(s.records); n > 0 {
		prev = &s.records[n-1]
	}
	r.Seal(prev)
	s.records = append(s.records, r)
	s.tallyLocked(r)
	return r, nil
}

// Records returns every record written, in order.
func (s *Store) Records() []record.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]record.Record(nil), s.records...)
}

// Opened returns every call id OpenCall handed out, in order.
func (s *Store) Opened() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.opened...)
}

// Open returns the ids of the calls in the journal.
func (s *Store) Open() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.journal))
	for id := range s.journal {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Journal returns the journal entry of an open call.
func (s *Store) Journal(id int64) (record.OpenCall, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oc, ok := s.journal[id]
	return oc, ok
}

// UsageOf returns the usage of inmate in period, ignoring SetBroken.
func (s *Store) UsageOf(inmate, period string) record.Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage[[2]string{inmate, period}]
}

// Calls, Denials, Officers and Events decode the store's records by kind.
func (s *Store) Calls() []record.Call       { return decode[record.Call](s, record.KindCall) }
func (s *Store) Denials() []record.Denial   { return decode[record.Denial](s, record.KindDenial) }
func (s *Store) Officers() []record.Officer { return decode[record.Officer](s, record.KindOfficer) }
func (s *Store) Events() []record.Event     { return decode[record.Event](s, record.KindEvent) }

// Roster adds or replaces a roster entry.
func (s *Store) Roster(c record.CardInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roster[c.Card] = c
}

// SetUsage sets an inmate's usage in a period, as a sync from the centre does.
func (s *Store) SetUsage(inmate, period string, u record.Usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage[[2]string{inmate, period}] = u
}

func decode[T any](s *Store, kind record.Kind) []T {
	var out []T
	for _, r := range s.Records() {
		if r.Kind != kind {
			continue
		}
		var v T
		if err := json.Unmarshal(r.Payload, &v); err != nil {
			panic(fmt.Sprintf("sessiontest: record #%d does not decode as %s: %v", r.Seq, kind, err))
		}
		out = append(out, v)
	}
	return out
}

// BoothEvent is one thing the engine told the Booth.
type BoothEvent struct {
	Mono   time.Duration // the clock's monotonic reading
	Relay  *bool         // set for SetRelay
	Signal signal.Signal // set for Show
}

// Booth is a session.Booth that records relay changes and signals with the
// monotonic instant.
type Booth struct {
	clk clock.Clock

	mu       sync.Mutex
	relay    bool
	events   []BoothEvent
	relayErr error
	clearErr error
	clears   int
	// OnRelay, if set, is called (without the lock) after each SetRelay
	// that succeeded: tests check the journal at the instant the relay closes.
	OnRelay func(on bool)
}

// NewBooth returns a booth whose events are stamped with clk.Mono().
func NewBooth(clk clock.Clock) *Booth { return &Booth{clk: clk} }

// SetRelay implements session.Booth.
func (b *Booth) SetRelay(on bool) error {
	b.mu.Lock()
	if b.relayErr != nil && on {
		err := b.relayErr
		b.mu.Unlock()
		return err
	}
	b.relay = on
	b.events = append(b.events, BoothEvent{Mono: b.clk.Mono(), Relay: &on})
	f := b.OnRelay
	b.mu.Unlock()
	if f != nil {
		f(on)
	}
	return nil
}

// FailRelay makes SetRelay(true) fail with err (nil: works again). Opening
// the relay always works, as the hardware's pull-down guarantees.
func (b *Booth) FailRelay(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.relayErr = err
}

// Show implements session.Booth.
func (b *Booth) Show(sig signal.Signal) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, BoothEvent{Mono: b.clk.Mono(), Signal: sig})
	return nil
}

// ClearFaults implements session.Booth; FailClear makes it fail.
func (b *Booth) ClearFaults() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.clearErr != nil {
		return b.clearErr
	}
	b.clears++
	return nil
}

// FailClear makes ClearFaults fail with err (nil: works again).
func (b *Booth) FailClear(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clearErr = err
}

// Clears reports how many times ClearFaults succeeded.
func (b *Booth) Clears() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clears
}

// Relay reports whether the relay is closed.
func (b *Booth) Relay() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.relay
}

// PowerCut opens the relay as the hardware does when the process dies.
func (b *Booth) PowerCut() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.relay = false
}

// Events returns everything the booth was told, in order.
func (b *Booth) Events() []BoothEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]BoothEvent(nil), b.events...)
}

// Signals returns the signals shown, in order.
func (b *Booth) Signals() []signal.Signal {
	var out []signal.Signal
	for _, e := range b.Events() {
		if e.Relay == nil {
			out = append(out, e.Signal)
		}
	}
	return out
}

// LastSignal returns the last signal shown, or "".
func (b *Booth) LastSignal() signal.Signal {
	s := b.Signals()
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// Stepper is the synchronous core of a session.Engine.
type Stepper interface {
	NextDeadline() (time.Duration, bool)
	Fire()
}

// Drive advances fc by d, stopping at each of e's deadlines on the way to
// fire it at its own instant, as the engine's Run loop does with real time.
func Drive(fc *clock.Fake, e Stepper, d time.Duration) {
	end := fc.Mono() + d
	stuck := 0
	for {
		dl, ok := e.NextDeadline()
		now := fc.Mono()
		if !ok || dl > end {
			fc.Advance(end - now)
			return
		}
		if dl > now {
			fc.Advance(dl - now)
			stuck = 0
		} else if stuck++; stuck > 100 {
			panic(fmt.Sprintf("sessiontest: Drive: deadline %v stays due after Fire at %v", dl, now))
		}
		e.Fire()
	}
}
