package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"
)

// CentreEvent is something the gateway itself noticed about a device —
// a store replaced, a clone suspected — as opposed to an event the booth
// recorded in its own chain. Both kinds are what the centre must see.
type CentreEvent struct {
	Facility string
	Device   string
	Kind     CentreEventKind // one of AllCentreEventKinds
	Detail   string          // for the operator: what was seen and what to do
	At       time.Time
}

// CentreEventKind is what a CentreEvent says the gateway noticed.
type CentreEventKind string

// Kinds of CentreEvent.
const (
	EventStoreReplaced  CentreEventKind = "store_replaced"  // a known device uploads from a new chain
	EventCloneSuspected CentreEventKind = "clone_suspected" // one identity seen from two boots at once
)

// AllCentreEventKinds lists every CentreEvent kind, for tests that give each
// its place (a label, a metric label, a console row).
var AllCentreEventKinds = []CentreEventKind{EventStoreReplaced, EventCloneSuspected}

// execer is what both *sql.DB and *sql.Tx offer for writes, so an event can
// be raised inside the transaction that noticed it.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// raiseEvent appends e through x (a transaction or the database).
func (s *sqlStore) raiseEvent(ctx context.Context, x execer, e CentreEvent) error {
	facility, err := facilityOf(e.Device)
	if err != nil {
		return err
	}
	if e.Facility == "" {
		e.Facility = facility
	}
	_, err = x.ExecContext(ctx, s.q(`INSERT INTO centre_events (facility, device, kind, detail, at_ms) VALUES (?, ?, ?, ?, ?)`),
		e.Facility, e.Device, e.Kind, e.Detail, msOf(e.At))
	if err != nil {
		return err
	}
	if tx, ok := x.(*sql.Tx); ok {
		s.raised.hold(tx, e) // heard of when s.tx commits it
	} else {
		s.raised.tell(e)
	}
	return nil
}

// ObserveCentreEvents implements Store.
func (s *sqlStore) ObserveCentreEvents(fn func(CentreEvent)) {
	s.raised.mu.Lock()
	defer s.raised.mu.Unlock()
	s.raised.observers = append(s.raised.observers, fn)
}

// raisedEvents tells observers (the gateway's metrics) of the centre events
// this handle raised, once they are committed: an event raised in a
// transaction that rolls back never happened.
type raisedEvents struct {
	mu        sync.Mutex
	observers []func(CentreEvent)
	pending   map[*sql.Tx][]CentreEvent
}

func (r *raisedEvents) hold(tx *sql.Tx, e CentreEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[*sql.Tx][]CentreEvent{}
	}
	r.pending[tx] = append(r.pending[tx], e)
}

// mark returns how many events are held for tx, for drop.
func (r *raisedEvents) mark(tx *sql.Tx) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending[tx])
}

// drop forgets the events held for tx after the first n (mark): those of
// a savepoint rolled back (group.go).
func (r *raisedEvents) drop(tx *sql.Tx, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending[tx]) > n {
		r.pending[tx] = r.pending[tx][:n]
	}
}

// settle tells the events held for tx if it committed, and forgets them.
func (r *raisedEvents) settle(tx *sql.Tx, committed bool) {
	r.mu.Lock()
	held := r.pending[tx]
	delete(r.pending, tx)
	r.mu.Unlock()
	if committed {
		for _, e := range held {
			r.tell(e)
		}
	}
}

func (r *raisedEvents) tell(e CentreEvent) {
	r.mu.Lock()
	obs := slices.Clone(r.observers)
	r.mu.Unlock()
	for _, fn := range obs {
		fn(e)
	}
}

// RaiseEvent implements Store.
func (s *sqlStore) RaiseEvent(ctx context.Context, e CentreEvent) error {
	if err := s.raiseEvent(ctx, s.db, e); err != nil {
		return s.errf("raise "+string(e.Kind)+" event for "+e.Device, err)
	}
	return nil
}

// CentreEvents implements Store.
func (s *sqlStore) CentreEvents(ctx context.Context, facility string, since time.Time) ([]CentreEvent, error) {
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT device, kind, detail, at_ms FROM centre_events WHERE facility = ? AND at_ms >= ? ORDER BY at_ms, id`), facility, msOf(since))
	if err != nil {
		return nil, s.errf("centre events of "+facility, err)
	}
	defer rows.Close()
	var out []CentreEvent
	for rows.Next() {
		e := CentreEvent{Facility: facility}
		var at int64
		if err := rows.Scan(&e.Device, &e.Kind, &e.Detail, &at); err != nil {
			return nil, s.errf("centre events of "+facility, err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf(fmt.Sprintf("centre events of %s", facility), err)
	}
	return out, nil
}
