package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
)

// The booth's [policy] table and the centre's JSON document are two
// encodings of one policy.Document: the same rules written in each must
// give the same policy.Rules, and a mistake refused by one is refused by
// the other.

// centreFields clears what the centre's document decides, so that applying
// a document to the result must bring every one of them back.
func centreFields(r policy.Rules) policy.Rules {
	r.Location, r.Period, r.Allowance, r.PerCall, r.MinGap = nil, "", 0, 0, 0
	r.Hours, r.Rotation, r.DialFullNumber = policy.Hours{}, nil, false
	return r
}

// sameRules compares two Rules; zones are compared by name, since a
// loaded Location caches what it last looked up.
func sameRules(a, b policy.Rules) bool {
	if a.Location.String() != b.Location.String() {
		return false
	}
	a.Location, b.Location = nil, nil
	return reflect.DeepEqual(a, b)
}

// bothEncodings parses tomlPolicy (the lines of a [policy] table and its
// subtables) in a booth's file and doc as the centre's document applied
// over the file's own rules with the centre's fields cleared.
func bothEncodings(tomlPolicy, doc string) (fromFile, fromCentre policy.Rules, fileErr, centreErr error) {
	c, fileErr := Parse([]byte(base+tomlPolicy), "/etc/wartel/kiosk.toml")
	p, centreErr := protocol.ParsePolicy([]byte(doc))
	if fileErr != nil || centreErr != nil {
		return
	}
	fromFile, fileErr = c.Rules()
	fromCentre, centreErr = p.Apply(centreFields(fromFile))
	return
}

func TestOneDocumentTwoEncodings(t *testing.T) {
	file := `[policy]
time_zone = "Asia/Makassar"
period = "week"
allowance = "1h30m"
per_call = "15m"
min_gap = "10m"
dial_full_number = true
[policy.hours.weekly]
monday = ["08:00-11:30", "13:00-15:00"]
friday = ["08:00-11:00"]
[policy.hours.exceptions]
"2026-12-25" = []
[policy.rotation.A.weekly]
monday = ["08:00-09:00"]
[policy.rotation.B.weekly]
tuesday = ["09:00-10:00"]
[policy.rotation.B.exceptions]
"2026-12-26" = ["10:00-11:00"]
`
	doc := `{"zone":"Asia/Makassar","period":"week","allowance_ms":5400000,"per_call_ms":900000,"min_gap_ms":600000,"dial_full_number":true,
		"hours":{"weekly":{"monday":["08:00-11:30","13:00-15:00"],"friday":["08:00-11:00"]},"exceptions":{"2026-12-25":[]}},
		"rotation":{"A":{"weekly":{"monday":["08:00-09:00"]}},
		            "B":{"weekly":{"tuesday":["09:00-10:00"]},"exceptions":{"2026-12-26":["10:00-11:00"]}}}}`
	fromFile, fromCentre, ferr, cerr := bothEncodings(file, doc)
	if ferr != nil || cerr != nil {
		t.Fatalf("file: %v; centre: %v", ferr, cerr)
	}
	if !sameRules(fromFile, fromCentre) {
		t.Errorf("one document, two rules:\nfile   %+v\ncentre %+v", fromFile, fromCentre)
	}
	if fromFile.Allowance != 90*time.Minute || len(fromFile.Rotation["B"].Exceptions["2026-12-26"]) != 1 || !fromFile.DialFullNumber {
		t.Errorf("the file's rules are not the document's: %+v", fromFile)
	}
}

// TestFieldKeys checks that each encoding names every field it carries:
// the file every field but the centre's credit caps.
func TestFieldKeys(t *testing.T) {
	centreOnly := []policy.Field{policy.FieldOfficerCreditPerDay, policy.FieldInmateCreditPerPeriod}
	for _, f := range policy.AllFields {
		if _, ok := tomlKeys[f]; !ok && !slices.Contains(centreOnly, f) {
			t.Errorf("field %s has no key in the booth's file", f)
		}
	}
}

// schedule is a drawn Schedule, good and bad names and windows alike.
func drawSchedule(t *rapid.T, label string) policy.Schedule {
	win := rapid.SampledFrom([]string{"08:00-09:00", "08:30-10:00", "13:00-15:00", "00:00-24:00",
		"11:00-10:00", "25:00-26:00", "0800-0900", "09:00-09:00"})
	s := policy.Schedule{Weekly: map[string][]string{}}
	for _, d := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"monday", "friday", "sunday", "senin", "Monday", "noday"}),
		0, 3, rapid.ID).Draw(t, label+".days") {
		s.Weekly[d] = rapid.SliceOfN(win, 0, 3).Draw(t, label+"."+d)
	}
	for _, d := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"2026-12-25", "2027-01-01", "25-12-2026"}),
		0, 2, rapid.ID).Draw(t, label+".dates") {
		if s.Exceptions == nil {
			s.Exceptions = map[string][]string{}
		}
		s.Exceptions[d] = rapid.SliceOfN(win, 0, 2).Draw(t, label+"."+d)
	}
	return s
}

func tomlList(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = fmt.Sprintf("%q", w)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// tomlSchedule writes s as the [KEY.weekly] and [KEY.exceptions] tables.
func tomlSchedule(b *strings.Builder, key string, s policy.Schedule) {
	fmt.Fprintf(b, "[%s.weekly]\n", key)
	for d, ws := range s.Weekly {
		fmt.Fprintf(b, "%s = %s\n", d, tomlList(ws))
	}
	if s.Exceptions != nil {
		fmt.Fprintf(b, "[%s.exceptions]\n", key)
		for d, ws := range s.Exceptions {
			fmt.Fprintf(b, "%q = %s\n", d, tomlList(ws))
		}
	}
}

// TestEncodingsAgree draws documents, valid and not, within the file's
// bounds (tighter than the centre's: bounds_test.go), writes each in both
// encodings, and checks that both parsers accept or both refuse it, and
// that what they accept is the same Rules.
func TestEncodingsAgree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		minutes := func(most int, label string) time.Duration {
			return time.Duration(rapid.IntRange(0, most).Draw(t, label)) * time.Minute
		}
		zone := rapid.SampledFrom([]string{"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC", "Europe/Paris"}).Draw(t, "zone")
		period := rapid.SampledFrom([]string{"day", "week", "month", "year"}).Draw(t, "period")
		allowance, perCall, minGap := minutes(24*60, "allowance"), minutes(4*60, "per_call"), minutes(24*60, "min_gap")
		hours := drawSchedule(t, "hours")
		rotation := map[string]policy.Schedule{}
		for _, b := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"A", "B"}), 0, 2, rapid.ID).Draw(t, "blocks") {
			rotation[b] = drawSchedule(t, "rotation."+b)
		}

		var file strings.Builder
		fmt.Fprintf(&file, "[policy]\ntime_zone = %q\nperiod = %q\nallowance = %q\nper_call = %q\nmin_gap = %q\n",
			zone, period, allowance, perCall, minGap)
		tomlSchedule(&file, "policy.hours", hours)
		for b, s := range rotation {
			tomlSchedule(&file, "policy.rotation."+b, s)
		}
		p := protocol.Policy{Zone: zone, Period: period, AllowanceMs: allowance.Milliseconds(),
			PerCallMs: ptr(perCall.Milliseconds()), MinGapMs: ptr(minGap.Milliseconds()), Hours: (*protocol.Schedule)(&hours)}
		if len(rotation) > 0 {
			p.Rotation = map[string]protocol.Schedule{}
			for b, s := range rotation {
				p.Rotation[b] = protocol.Schedule(s)
			}
		}
		doc, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}

		fromFile, fromCentre, ferr, cerr := bothEncodings(file.String(), string(doc))
		if (ferr == nil) != (cerr == nil) {
			t.Fatalf("the encodings disagree:\n%s→ %v\n%s\n→ %v", file.String(), ferr, doc, cerr)
		}
		if ferr == nil && !sameRules(fromFile, fromCentre) {
			t.Fatalf("one document, two rules:\nfile   %+v\ncentre %+v", fromFile, fromCentre)
		}
	})
}

func ptr[T any](v T) *T { return &v }
