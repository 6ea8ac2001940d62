package ledger

import (
	"context"
	"fmt"
	"slices"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
)

// AlertKind is a condition of a booth someone at the centre must see.
type AlertKind string

// Kinds of Alert. The conditions are decided in one place, Alerts, so the
// console's page and anything else that alerts (metrics, rules) agree.
const (
	AlertOffline        AlertKind = "booth_offline"   // no heartbeat for longer than AlertRules.OfflineAfter
	AlertTamper         AlertKind = "tamper"          // the panel opened (a cause until an officer clears it) or is open now
	AlertRelayFault     AlertKind = "relay_fault"     // the relay did not follow its command
	AlertReaderDown     AlertKind = "reader_down"     // the card reader does not answer
	AlertHookSuspect    AlertKind = "hook_suspect"    // calls in a row ended with the hook switch never changing
	AlertStoreReplaced  AlertKind = "store_replaced"  // the booth's store was wiped, re-flashed or swapped
	AlertCloneSuspected AlertKind = "clone_suspected" // its identity ran on two machines at once
	AlertChainFlags     AlertKind = "chain_flags"     // gaps, edits, conflicts, rewrites: open chain flags
	AlertOutboxGrowing  AlertKind = "outbox_growing"  // records waiting on the booth beyond AlertRules.OutboxLimit
)

// AllAlertKinds lists every AlertKind, for tests that give each its place
// (a label in both languages, a rule).
var AllAlertKinds = []AlertKind{AlertOffline, AlertTamper, AlertRelayFault, AlertReaderDown, AlertHookSuspect, AlertStoreReplaced, AlertCloneSuspected, AlertChainFlags, AlertOutboxGrowing}

// AlertRules are the thresholds of the conditions.
type AlertRules struct {
	// OfflineAfter: a booth whose last heartbeat is older is offline.
	OfflineAfter time.Duration
	// OutboxLimit: more records than this waiting on a booth that is
	// online means its uploads are failing (a healthy booth's outbox
	// empties within a heartbeat or two).
	OutboxLimit int
	// EventWindow is how far back the booths' and the centre's events are
	// read to date a condition.
	EventWindow time.Duration
}

// DefaultAlertRules: offline after 10 minutes (five missed heartbeat
// windows), 200 records waiting, events of the last 30 days.
var DefaultAlertRules = AlertRules{OfflineAfter: 10 * time.Minute, OutboxLimit: 200, EventWindow: 30 * 24 * time.Hour}

// Alert is one condition of one booth now.
type Alert struct {
	Facility string
	Device   string
	Kind     AlertKind
	// Since is when the condition began as far as the centre can date it
	// (the last heartbeat for offline, the booth's or the centre's event
	// that raised it); zero when it cannot. (Device, Kind, Since) names
	// one occurrence: an acknowledgement holds for that occurrence only.
	Since time.Time
	// Detail is the centre's own words plus numbers (never booth text),
	// in English; Args are its numbers in order, for a translation of the
	// kind's detail (the console's "alertdetail.KIND").
	Detail string
	Args   []any
	// Ack is the acknowledgement of this occurrence (nil: none).
	Ack *AlertAck
}

// AlertAck is someone at the centre saying they have seen an alert.
type AlertAck struct {
	Account string
	Note    string
	At      time.Time
}

// AlertAcks is the storage of acknowledgements.
type AlertAcks interface {
	// AckAlert records ack for the occurrence (facility, device, kind,
	// since); acknowledging again replaces the note.
	AckAlert(ctx context.Context, a Alert, ack AlertAck) error
	// AlertAcksOf lists a facility's acknowledgements.
	AlertAcksOf(ctx context.Context, facility string) ([]StoredAck, error)
	// DropAlertAck forgets one acknowledgement.
	DropAlertAck(ctx context.Context, facility, device string, kind AlertKind, since time.Time) error
}

func (s *sqlStore) DropAlertAck(ctx context.Context, facility, device string, kind AlertKind, since time.Time) error {
	_, err := s.on(ctx).ExecContext(ctx, s.q(`DELETE FROM console_alert_acks WHERE facility = ? AND device = ? AND kind = ? AND since_ms = ?`),
		facility, device, string(kind), sinceMs(since))
	return s.errf2("drop an acknowledgement", err)
}

// StoredAck is an acknowledgement with the occurrence it is for.
type StoredAck struct {
	Device string
	Kind   AlertKind
	Since  time.Time
	AlertAck
}

func (s *sqlStore) AckAlert(ctx context.Context, a Alert, ack AlertAck) error {
	_, err := s.on(ctx).ExecContext(ctx, s.q(`INSERT INTO console_alert_acks (facility, device, kind, since_ms, account, note, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (facility, device, kind, since_ms) DO UPDATE SET account = excluded.account, note = excluded.note, at_ms = excluded.at_ms`),
		a.Facility, a.Device, string(a.Kind), sinceMs(a.Since), ack.Account, ack.Note, msOf(ack.At))
	return s.errf2("acknowledge "+string(a.Kind)+" of "+a.Device, err)
}

// sinceMs keeps a zero Since as 0, not the Unix milliseconds of year 1.
func sinceMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return msOf(t)
}

func (s *sqlStore) AlertAcksOf(ctx context.Context, facility string) ([]StoredAck, error) {
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT device, kind, since_ms, account, note, at_ms FROM console_alert_acks WHERE facility = ?`), facility)
	if err != nil {
		return nil, s.errf("acknowledgements of "+facility, err)
	}
	defer rows.Close()
	var out []StoredAck
	for rows.Next() {
		var a StoredAck
		var kind string
		var since, at int64
		if err := rows.Scan(&a.Device, &kind, &since, &a.Account, &a.Note, &at); err != nil {
			return nil, s.errf("acknowledgements of "+facility, err)
		}
		a.Kind, a.At = AlertKind(kind), time.UnixMilli(at).UTC()
		if since != 0 {
			a.Since = time.UnixMilli(since).UTC()
		}
		out = append(out, a)
	}
	return out, s.errf2("acknowledgements of "+facility, rows.Err())
}

// HeartbeatAlertKinds are the conditions a booth's last heartbeat (and
// the centre's clone check) state by themselves, with no threshold: the
// gateway's metrics export each as wartel_booth_condition through
// HeartbeatStates, the decision Alerts makes, so the page and the rules
// cannot disagree.
var HeartbeatAlertKinds = []AlertKind{AlertTamper, AlertRelayFault, AlertReaderDown, AlertHookSuspect, AlertCloneSuspected}

// heartbeatWords are the words of a heartbeat each condition is read
// from: the engine's out-of-service causes (kiosk/session) and the
// firmware's faults (firmware/report.go), either one enough.
var heartbeatWords = map[AlertKind]struct{ causes, faults []string }{
	AlertTamper:     {[]string{string(session.CauseTamper)}, []string{"panel_open"}},
	AlertRelayFault: {[]string{string(session.CauseRelay)}, []string{"relay_fault"}},
	AlertReaderDown: {[]string{string(session.CauseReader)}, []string{"reader_down"}},
	// The fault alone: the heartbeat states it whichever way the switch
	// reads; the cause hook (read off-hook, out of service) comes with it.
	AlertHookSuspect: {nil, []string{"hook_suspect"}},
}

// HeartbeatStates reports whether the device's last heartbeat states the
// condition k, one of HeartbeatAlertKinds (false for any other kind).
func HeartbeatStates(d DeviceStatus, k AlertKind) bool {
	if k == AlertCloneSuspected {
		return !d.CloneSuspected.IsZero()
	}
	w, ok := heartbeatWords[k]
	if !ok {
		return false
	}
	for _, c := range w.causes {
		if slices.Contains(d.OutOfService, c) {
			return true
		}
	}
	for _, f := range w.faults {
		if slices.Contains(d.Faults, f) {
			return true
		}
	}
	// A booth whose engine is in the tamper state is tampered with, whatever
	// its causes say.
	return k == AlertTamper && d.State == string(session.StateTamper)
}

// Alerts computes the alerts of a facility's booths at now: the one place
// the conditions are decided. Revoked booths raise none (they are refused
// anyway). Alerts come by device, then in AllAlertKinds order, with their
// acknowledgements.
func Alerts(ctx context.Context, s Store, facility string, now time.Time, r AlertRules) ([]Alert, error) {
	if r.OfflineAfter <= 0 {
		r.OfflineAfter = DefaultAlertRules.OfflineAfter
	}
	if r.OutboxLimit <= 0 {
		r.OutboxLimit = DefaultAlertRules.OutboxLimit
	}
	if r.EventWindow <= 0 {
		r.EventWindow = DefaultAlertRules.EventWindow
	}
	ds, err := s.Devices(ctx, facility)
	if err != nil {
		return nil, err
	}
	evs, err := s.Events(ctx, EventQuery{Facility: facility, Since: now.Add(-r.EventWindow)})
	if err != nil {
		return nil, err
	}
	// The latest event of each kind per device dates a condition.
	last := map[string]map[string]time.Time{}
	for _, e := range evs {
		if e.Problem != "" {
			continue // an edited record dates nothing; its flag is an alert of its own
		}
		m := last[e.Device]
		if m == nil {
			m = map[string]time.Time{}
			last[e.Device] = m
		}
		if e.At.After(m[e.Kind]) {
			m[e.Kind] = e.At
		}
	}
	acks, err := s.AlertAcksOf(ctx, facility)
	if err != nil {
		return nil, err
	}
	var out []Alert
	for _, d := range ds {
		if d.Revoked {
			continue
		}
		raise := func(k AlertKind, since time.Time, format string, args ...any) {
			a := Alert{Facility: facility, Device: d.Device, Kind: k, Since: since, Detail: fmt.Sprintf(format, args...), Args: args}
			for _, ack := range acks {
				if ack.Device == d.Device && ack.Kind == k && ack.Since.Equal(since) {
					a.Ack = &ack.AlertAck
				}
			}
			out = append(out, a)
		}
		ev := last[d.Device]
		online := !d.LastSeen.IsZero() && now.Sub(d.LastSeen) <= r.OfflineAfter
		switch {
		case d.LastSeen.IsZero():
			raise(AlertOffline, time.Time{}, "no heartbeat ever")
		case !online:
			raise(AlertOffline, d.LastSeen, "last heartbeat %s ago", now.Sub(d.LastSeen).Truncate(time.Second).String())
		}
		if HeartbeatStates(d, AlertTamper) {
			raise(AlertTamper, ev[string(record.EventTamper)], "panel opened; an officer card clears it after inspection")
		}
		if HeartbeatStates(d, AlertRelayFault) {
			raise(AlertRelayFault, ev[string(record.EventRelayFault)], "relay did not follow its command; check the relay board")
		}
		if HeartbeatStates(d, AlertReaderDown) {
			raise(AlertReaderDown, ev[string(record.EventReaderDown)], "card reader not answering; check its cable")
		}
		if HeartbeatStates(d, AlertHookSuspect) {
			raise(AlertHookSuspect, ev[string(record.EventHookSuspect)], "calls in a row ended with the hook switch never moving; check the switch and its wiring")
		}
		if d.StoreReplaced > 0 {
			raise(AlertStoreReplaced, ev[string(EventStoreReplaced)], "store replaced %d time(s), %d record(s) lost", d.StoreReplaced, d.LostRecords)
		}
		if HeartbeatStates(d, AlertCloneSuspected) {
			raise(AlertCloneSuspected, d.CloneSuspected, "its identity ran on two machines at once: revoke and re-enrol")
		}
		ces, err := s.ChainErrors(ctx, d.Device)
		if err != nil {
			return nil, err
		}
		var open int
		var first time.Time
		for _, ce := range ces {
			if !ce.Cleared {
				open++
				if ce.FirstSeen.After(first) {
					first = ce.FirstSeen
				}
			}
		}
		if open > 0 {
			raise(AlertChainFlags, first, "%d open chain flag(s)", open)
		}
		if online && d.OutboxDepth > r.OutboxLimit {
			// Heartbeats keep only the latest depth: dated by nothing, so
			// an acknowledgement holds until the depth falls (below).
			raise(AlertOutboxGrowing, time.Time{}, "%d records waiting (limit %d)", d.OutboxDepth, r.OutboxLimit)
		}
	}
	// An undated condition's acknowledgement lapses when the condition
	// clears, so its next occurrence is not taken as seen.
	for _, ack := range acks {
		if !ack.Since.IsZero() {
			continue
		}
		if !slices.ContainsFunc(out, func(a Alert) bool { return a.Device == ack.Device && a.Kind == ack.Kind && a.Since.IsZero() }) {
			if err := s.DropAlertAck(ctx, facility, ack.Device, ack.Kind, ack.Since); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
