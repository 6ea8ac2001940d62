package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"wartelsuspas/kiosk/record"
)

// EventSource says who noticed an event: the booth (a record of kind event
// in its chain) or the gateway itself (a CentreEvent).
type EventSource string

const (
	SourceBooth  EventSource = "booth"
	SourceCentre EventSource = "centre"
)

// AllEventSources lists every EventSource.
var AllEventSources = []EventSource{SourceBooth, SourceCentre}

// EventEntry is one line of a facility's event log: a booth's event record
// or a centre event. Detail and, for a booth, Kind are the booth's own text:
// make them inert (tools/centre/inert) before showing them.
type EventEntry struct {
	Source EventSource
	Device string
	Seq    uint64    // the booth record's seq; 0 for a centre event
	Kind   string    // a record.EventName (booth) or one of AllCentreEventKinds
	Detail string    //
	At     time.Time // the gateway's clock: when it stored the record, or raised the event
	// BoothAt is the booth's clock when it recorded the event (zero for a
	// centre event); ClockTrusted says whether that clock was confirmed.
	BoothAt      time.Time
	ClockTrusted bool
	// Problem says why a booth entry is not what the booth wrote, or not
	// readable: empty when the record verifies and decodes.
	Problem string
}

// EventQuery selects a facility's event log: every device of Facility, or
// only Device when set; entries stored or raised at or after Since (the
// gateway's clock; zero: all).
type EventQuery struct {
	Facility string
	Device   string
	Since    time.Time
}

// Events implements Store. Booth entries are selected by device and kind
// through the records_events index, never by the records table's full key,
// so the key may grow (a chain identity) without changing this.
func (s *sqlStore) Events(ctx context.Context, q EventQuery) ([]EventEntry, error) {
	what := "events of " + q.Facility
	if q.Facility == "" {
		return nil, s.errf("events", fmt.Errorf("no facility given"))
	}
	if q.Device != "" {
		f, err := facilityOf(q.Device)
		if err != nil {
			return nil, s.errf(what, err)
		}
		if f != q.Facility {
			return nil, s.errf(what, fmt.Errorf("device %s is not of facility %s", q.Device, q.Facility))
		}
		what = "events of " + q.Device
	}
	out, err := s.boothEvents(ctx, q)
	if err != nil {
		return nil, s.errf(what, err)
	}
	centre, err := s.centreEvents(ctx, q)
	if err != nil {
		return nil, s.errf(what, err)
	}
	out = append(out, centre...)
	slices.SortStableFunc(out, func(a, b EventEntry) int { return a.At.Compare(b.At) })
	return out, nil
}

// deviceCol is the device column compared in byte order: a facility's
// devices are the ids from "F/" up to "F0" ('0' follows '/'), which holds
// in byte order only, not in a PostgreSQL locale's collation.
func (s *sqlStore) deviceCol() string {
	if s.dialect == postgres {
		return `device COLLATE "C"`
	}
	return "device"
}

func (s *sqlStore) boothEvents(ctx context.Context, q EventQuery) ([]EventEntry, error) {
	// kind = 'event' is written out so the partial index applies.
	query := `SELECT device, seq, payload, hash_ok, received_ms FROM records WHERE kind = 'event' AND `
	args := []any{}
	if q.Device != "" {
		query += s.deviceCol() + ` = ?`
		args = append(args, q.Device)
	} else {
		query += s.deviceCol() + ` >= ? AND ` + s.deviceCol() + ` < ?`
		args = append(args, q.Facility+"/", q.Facility+"0")
	}
	query += ` AND received_ms >= ? ORDER BY received_ms, device, seq`
	args = append(args, msOf(q.Since))
	rows, err := s.on(ctx).QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EventEntry
	for rows.Next() {
		var (
			e       = EventEntry{Source: SourceBooth}
			seq, at int64
			payload []byte
			hashOK  int
		)
		if err := rows.Scan(&e.Device, &seq, &payload, &hashOK, &at); err != nil {
			return nil, err
		}
		e.Seq, e.At = uint64(seq), time.UnixMilli(at).UTC()
		var ev record.Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			e.Problem = "payload unreadable: " + err.Error()
			e.Detail = string(payload)
		} else {
			e.Kind, e.Detail, e.BoothAt, e.ClockTrusted = string(ev.Event), ev.Detail, ev.At, ev.ClockTrusted
		}
		if hashOK == 0 {
			e.Problem = "hash does not match the content: edited or corrupt"
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *sqlStore) centreEvents(ctx context.Context, q EventQuery) ([]EventEntry, error) {
	query := `SELECT device, kind, detail, at_ms FROM centre_events WHERE facility = ? AND at_ms >= ?`
	args := []any{q.Facility, msOf(q.Since)}
	if q.Device != "" {
		query += ` AND device = ?`
		args = append(args, q.Device)
	}
	rows, err := s.on(ctx).QueryContext(ctx, s.q(query+` ORDER BY at_ms, id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EventEntry
	for rows.Next() {
		var (
			e  = EventEntry{Source: SourceCentre}
			at int64
		)
		if err := rows.Scan(&e.Device, &e.Kind, &e.Detail, &at); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// boothEventLabels and centreEventLabels say in a few words what each kind
// means to an operator; a test keeps them complete.
var (
	boothEventLabels = map[record.EventName]string{
		record.EventTamper:             "panel opened: out of service until an officer card clears it",
		record.EventRelayFault:         "relay fault: out of service; check the relay board",
		record.EventReaderDown:         "card reader down: no new calls",
		record.EventReaderUp:           "card reader back",
		record.EventPowerLossRecovered: "restarted after a power cut: open calls billed to their last checkpoint",
		record.EventClockTrusted:       "clock confirmed",
		record.EventClockUntrusted:     "clock no longer confirmed",
		record.EventPolicyApplied:      "centre policy in force",
		record.EventDenialsUnrecorded:  "denials counted while the store failed",
		record.EventModemDown:          "modem or mobile network down: no new calls",
		record.EventModemUp:            "modem working again",
		record.EventIncomingRefused:    "incoming call to the booth's SIM refused",
		record.EventHookSuspect:        "hook switch suspect: calls in a row never moved it; check the switch",
		record.EventHookOK:             "hook switch moves again",
	}
	centreEventLabels = map[CentreEventKind]string{
		EventStoreReplaced:  "store replaced: records of the old store may be lost",
		EventCloneSuspected: "identity used from two machines: revoke and re-enrol",
	}
)

// EventLabel says what an entry's kind means, and false for a kind this
// gateway does not know (a newer booth's, or a forged one).
func EventLabel(source EventSource, kind string) (string, bool) {
	var l string
	var ok bool
	switch source {
	case SourceBooth:
		l, ok = boothEventLabels[record.EventName(kind)]
	case SourceCentre:
		l, ok = centreEventLabels[CentreEventKind(kind)]
	}
	return l, ok
}
