package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"unicode"
	"unicode/utf8"

	"wartelsuspas/kiosk/record"
)

// Bounds of a heartbeat's text. Booths are in prisons: what one sends is
// shown to operators, so it is bounded here and made inert where shown.
const (
	// MaxFaults bounds the faults one heartbeat reports.
	MaxFaults = 64
	// MaxCauses bounds the out-of-service causes one heartbeat reports.
	MaxCauses = 16
	// MaxWordLen bounds a state, a cause, a fault and a boot id.
	MaxWordLen = 64
	// MaxFirmwareLen bounds the firmware version string.
	MaxFirmwareLen = 64
)

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
		case !record.ValidChainID(rec.Chain):
			return fieldErr(at("chain"), fmt.Sprintf("chain %q: want 32 lower-case hex digits, or empty for the legacy chain", rec.Chain))
		case i > 0 && rec.Chain != r.Records[0].Chain:
			return fieldErr(at("chain"), fmt.Sprintf("chain %q in a batch of chain %q: one chain (one store) per batch", rec.Chain, r.Records[0].Chain))
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

// Validate reports impossible counts and text no booth sends: a firmware
// string over MaxFirmwareLen bytes or with control characters, and a
// state, cause, fault or boot id that is not a word (see isWord).
func (r HeartbeatRequest) Validate() error {
	switch {
	case r.OutboxDepth < 0:
		return fieldErr("outbox_depth", fmt.Sprintf("negative depth %d", r.OutboxDepth))
	case r.RosterVersion < 0:
		return fieldErr("roster_version", fmt.Sprintf("negative version %d", r.RosterVersion))
	case len(r.Faults) > MaxFaults:
		return fieldErr("faults", fmt.Sprintf("%d faults, at most %d", len(r.Faults), MaxFaults))
	case len(r.OutOfService) > MaxCauses:
		return fieldErr("out_of_service", fmt.Sprintf("%d causes, at most %d", len(r.OutOfService), MaxCauses))
	case len(r.Firmware) > MaxFirmwareLen:
		return fieldErr("firmware", fmt.Sprintf("%d bytes, at most %d", len(r.Firmware), MaxFirmwareLen))
	case !printable(r.Firmware):
		return fieldErr("firmware", "want printable UTF-8 text, no control characters")
	case r.State != "" && !isWord(r.State):
		return fieldErr("state", wordRule)
	case r.BootID != "" && !isWord(r.BootID):
		return fieldErr("boot_id", wordRule)
	case !record.ValidChainID(r.Chain):
		return fieldErr("chain", fmt.Sprintf("chain %q: want 32 lower-case hex digits, or empty for the legacy chain", r.Chain))
	case r.HeadSeq > math.MaxInt64:
		return fieldErr("head_seq", fmt.Sprintf("seq %d is out of range (0…2^63-1)", r.HeadSeq))
	case r.HeadSeq > 0 && !isHash(r.HeadHash):
		return fieldErr("head_hash", "want 64 lower-case hex digits: the hash of the record at head_seq")
	case r.HeadSeq == 0 && r.HeadHash != "" && r.HeadHash != record.GenesisHash:
		return fieldErr("head_hash", "an empty chain (head_seq 0) has no head hash but the genesis hash")
	}
	for _, l := range []struct {
		field string
		words []string
	}{{"faults", r.Faults}, {"out_of_service", r.OutOfService}} {
		for i, w := range l.words {
			if !isWord(w) {
				return fieldErr(fmt.Sprintf("%s[%d]", l.field, i), wordRule)
			}
		}
	}
	return nil
}

const wordRule = "want a word of 1 to 64 characters a-z, 0-9, '_', '-', '.' or ':'"

// isWord reports a token of a booth's vocabulary (states, causes,
// faults, boot ids): nothing in it can break a line or a table.
func isWord(s string) bool {
	if len(s) == 0 || len(s) > MaxWordLen {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// printable reports valid UTF-8 without control or format characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
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
