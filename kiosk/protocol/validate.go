package protocol

import (
	"encoding/json"
	"fmt"

	"wartelsuspas/kiosk/record"
)

// MaxFaults bounds the faults one heartbeat reports.
const MaxFaults = 64

// Validate reports the first value of r that no booth would send, as a
// *DecodeError naming it. Whether the records belong to the sender is the
// gateway's check, against the client certificate.
func (r UploadRequest) Validate() error {
	if len(r.Records) == 0 {
		return fieldErr("records", "want at least one record")
	}
	if len(r.Records) > MaxBatch {
		return fieldErr("records", fmt.Sprintf("%d records in one batch, at most %d", len(r.Records), MaxBatch))
	}
	for i, rec := range r.Records {
		at := func(f string) string { return fmt.Sprintf("records[%d].%s", i, f) }
		switch {
		case rec.Device == "":
			return fieldErr(at("device"), "empty device")
		case i > 0 && rec.Device != r.Records[0].Device:
			return fieldErr(at("device"), fmt.Sprintf("device %q in a batch of %q: one booth per batch", rec.Device, r.Records[0].Device))
		case rec.Seq == 0:
			return fieldErr(at("seq"), "sequence numbers start at 1")
		case i > 0 && rec.Seq <= r.Records[i-1].Seq:
			return fieldErr(at("seq"), fmt.Sprintf("seq %d after %d: a batch is in increasing order", rec.Seq, r.Records[i-1].Seq))
		case !knownKind(rec.Kind):
			return fieldErr(at("kind"), fmt.Sprintf("unknown kind %q (want call, denial, officer or event)", rec.Kind))
		case len(rec.Payload) == 0 || !json.Valid(rec.Payload):
			return fieldErr(at("payload"), "missing or not JSON")
		case !isHash(rec.Prev):
			return fieldErr(at("prev"), "want 64 lower-case hex digits")
		case !isHash(rec.Hash):
			return fieldErr(at("hash"), "want 64 lower-case hex digits")
		}
	}
	return nil
}

// Validate reports a version no booth holds and a page request no booth
// makes.
func (r SyncRequest) Validate() error {
	switch {
	case r.RosterVersion < 0:
		return fieldErr("roster_version", fmt.Sprintf("negative version %d", r.RosterVersion))
	case r.PageCards < 0:
		return fieldErr("page_cards", fmt.Sprintf("negative page size %d", r.PageCards))
	case r.Cursor != "" && r.PageCards == 0:
		return fieldErr("cursor", "a cursor without page_cards: send the page size with every page")
	case len(r.Cursor) > MaxCursorBytes:
		return fieldErr("cursor", fmt.Sprintf("%d bytes, at most %d", len(r.Cursor), MaxCursorBytes))
	}
	return nil
}

// Validate reports a missing card, inmate or period.
func (r AuthoriseRequest) Validate() error {
	switch {
	case r.Card == "":
		return fieldErr("card", "empty card id")
	case r.Inmate == "":
		return fieldErr("inmate", "empty inmate id")
	case r.Period == "":
		return fieldErr("period", "empty period key")
	}
	return nil
}

// Validate reports a missing lease or a negative charge.
func (r ReleaseRequest) Validate() error {
	switch {
	case r.Lease == "":
		return fieldErr("lease", "empty lease")
	case r.ChargedMs < 0:
		return fieldErr("charged_ms", fmt.Sprintf("negative charge %d", r.ChargedMs))
	}
	return nil
}

// Validate reports impossible counts.
func (r HeartbeatRequest) Validate() error {
	switch {
	case r.OutboxDepth < 0:
		return fieldErr("outbox_depth", fmt.Sprintf("negative depth %d", r.OutboxDepth))
	case r.RosterVersion < 0:
		return fieldErr("roster_version", fmt.Sprintf("negative version %d", r.RosterVersion))
	case len(r.Faults) > MaxFaults:
		return fieldErr("faults", fmt.Sprintf("%d faults, at most %d", len(r.Faults), MaxFaults))
	}
	return nil
}

func fieldErr(field, msg string) error {
	return &DecodeError{Field: field, Msg: fmt.Sprintf("field %s: %s", field, msg)}
}

func knownKind(k record.Kind) bool {
	switch k {
	case record.KindCall, record.KindDenial, record.KindOfficer, record.KindEvent:
		return true
	}
	return false
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
