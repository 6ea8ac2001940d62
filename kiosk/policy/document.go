package policy

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Document is the part of a facility's rules that is written down: the
// centre's document (JSON, kiosk/protocol's Policy) and a booth's [policy]
// table (TOML, firmware/config) are two encodings of it. Both read their
// bytes into a Document, and Document.Rules alone turns it into Rules, so
// the weekday names, the windows, the overlap check and the bounds are the
// same whichever side wrote them. Each encoding names a Field with its own
// key (docs/decisions.md "Policy document").
//
// The document holds what the centre decides (allowances, periods, hours,
// rotation, credit caps); billing, officer actions and the untrusted clock
// stay in the booth's own file and are not part of it.
type Document struct {
	Zone      string        // an IANA name LoadZone accepts
	Period    string        // day, week or month
	Allowance time.Duration // > 0
	// Optional fields: nil leaves the base rules' value.
	PerCall               *time.Duration
	MinGap                *time.Duration
	OfficerCreditPerDay   *time.Duration
	InmateCreditPerPeriod *time.Duration
	Hours                 *Schedule
	Rotation              map[string]Schedule // nil: the base's rotation
	DialFullNumber        *bool               // a booth with a modem: a registered number typed in full is accepted
	// MaxNumbersPerInmate is how many live (pending or approved) numbers
	// the centre registers for one inmate (docs/dial.md).
	MaxNumbersPerInmate *int
}

// Schedule is opening windows as a document writes them: English weekday
// names and dated exceptions "2026-12-25", each with "HH:MM-HH:MM"
// windows. A day left out is closed.
type Schedule struct {
	Weekly     map[string][]string
	Exceptions map[string][]string
}

// Field is one key of a Document; an encoding gives each its own name.
type Field string

// The fields of a Document.
const (
	FieldZone                  Field = "zone"
	FieldPeriod                Field = "period"
	FieldAllowance             Field = "allowance"
	FieldPerCall               Field = "per_call"
	FieldMinGap                Field = "min_gap"
	FieldOfficerCreditPerDay   Field = "officer_credit_per_day"
	FieldInmateCreditPerPeriod Field = "inmate_credit_per_period"
	FieldHours                 Field = "hours"
	FieldRotation              Field = "rotation"
	FieldDialFullNumber        Field = "dial_full_number"
	FieldMaxNumbersPerInmate   Field = "max_numbers_per_inmate"
)

// AllFields lists every Field, in the order Rules checks them.
var AllFields = []Field{FieldAllowance, FieldPeriod, FieldZone, FieldPerCall, FieldMinGap,
	FieldOfficerCreditPerDay, FieldInmateCreditPerPeriod, FieldHours, FieldRotation, FieldDialFullNumber, FieldMaxNumbersPerInmate}

// Report receives one problem with a document: the field, the path below
// it ("" for a plain value; ".weekly.monday[1]" in hours; ".A.weekly.friday"
// in rotation) and what to write. Rules goes on after a problem, so an
// encoding that lists every problem (the booth's file) gets them all.
type Report func(f Field, sub string, err error)

// Rules returns base with the document's rules in place of its own,
// calling bad for each problem in AllFields order. With any problem the
// result is not to be used. It does not call Rules.Validate: the caller
// does, once the base is known good.
func (d Document) Rules(base Rules, bad Report) Rules {
	r := base
	switch {
	case d.Allowance < 0:
		bad(FieldAllowance, "", problem(ProblemNegative, d.Allowance))
	case d.Allowance == 0:
		bad(FieldAllowance, "", problem(ProblemNotPositive))
	case d.Allowance > MaxCall:
		bad(FieldAllowance, "", errTooLong(d.Allowance))
	}
	r.Allowance = d.Allowance
	r.Period = PeriodKind(d.Period)
	switch r.Period {
	case Day, Week, Month:
	default:
		bad(FieldPeriod, "", problem(ProblemPeriod, d.Period))
	}
	loc, err := LoadZone(d.Zone)
	if err != nil {
		bad(FieldZone, "", problem(ProblemZone, d.Zone, strings.Join(Zones, ", ")))
	}
	r.Location = loc
	for _, o := range []struct {
		f   Field
		v   *time.Duration
		out *time.Duration
	}{{FieldPerCall, d.PerCall, &r.PerCall}, {FieldMinGap, d.MinGap, &r.MinGap},
		{FieldOfficerCreditPerDay, d.OfficerCreditPerDay, &r.OfficerCreditPerDay},
		{FieldInmateCreditPerPeriod, d.InmateCreditPerPeriod, &r.InmateCreditPerPeriod}} {
		switch {
		case o.v == nil:
			continue
		case *o.v < 0:
			bad(o.f, "", problem(ProblemNegativeNone, *o.v))
		case *o.v > MaxCall && o.f == FieldMinGap:
			// A gap longer than the longest period locks an inmate out for good.
			bad(o.f, "", problem(ProblemGapTooLong, *o.v, MaxCall))
		case *o.v > MaxCall:
			bad(o.f, "", errTooLong(*o.v))
		}
		*o.out = *o.v
	}
	if d.DialFullNumber != nil {
		r.DialFullNumber = *d.DialFullNumber
	}
	if d.Hours != nil {
		r.Hours = d.Hours.Hours(func(sub string, err error) { bad(FieldHours, sub, err) })
	}
	if d.Rotation != nil {
		r.Rotation = Rotation{}
		for _, b := range slices.Sorted(maps.Keys(d.Rotation)) {
			if strings.TrimSpace(b) == "" {
				bad(FieldRotation, "", problem(ProblemBlockEmpty))
			}
			r.Rotation[b] = d.Rotation[b].Hours(func(sub string, err error) { bad(FieldRotation, "."+b+sub, err) })
		}
	}
	if n := d.MaxNumbersPerInmate; n != nil {
		if *n < MinNumbersPerInmate || *n > MaxNumbersPerInmate {
			bad(FieldMaxNumbersPerInmate, "", problem(ProblemNumbersRange, *n, MinNumbersPerInmate, MaxNumbersPerInmate))
		}
		r.MaxNumbersPerInmate = *n
	}
	return r
}

func errTooLong(v time.Duration) error {
	if v == math.MaxInt64 { // saturated by Millis: the written number is more than a Duration holds
		return problem(ProblemTooLongAny, MaxCall, MaxCall.Milliseconds())
	}
	return problem(ProblemTooLong, v, MaxCall, MaxCall.Milliseconds())
}

// EveryDay is a schedule with the same windows on every weekday.
func EveryDay(windows []string) Schedule {
	s := Schedule{Weekly: make(map[string][]string, len(weekOrder))}
	for _, d := range weekOrder {
		s.Weekly[WeekdayName(d)] = windows
	}
	return s
}

// WeekdayName is the name a document gives d: "monday".
func WeekdayName(d time.Weekday) string { return strings.ToLower(d.String()) }

// hari are Indonesian day names, to point the writer at the English key.
var hari = map[string]string{
	"senin": "monday", "selasa": "tuesday", "rabu": "wednesday", "kamis": "thursday",
	"jumat": "friday", "jum'at": "friday", "sabtu": "saturday", "minggu": "sunday", "ahad": "sunday",
}

// ParseWeekday reads a document's weekday name ("monday", English, lower
// case).
func ParseWeekday(name string) (time.Weekday, error) {
	for _, d := range weekOrder {
		if name == WeekdayName(d) {
			return d, nil
		}
	}
	if en, ok := hari[strings.ToLower(name)]; ok {
		return 0, problem(ProblemWeekdayEnglish, name, en)
	}
	return 0, problem(ProblemWeekday, name)
}

// Hours converts s, calling bad for each problem with its path below the
// schedule (".weekly.senin", ".weekly.monday[1]", ".exceptions.25-12-2026").
// A bad day or window is left out and the rest is still checked.
func (s Schedule) Hours(bad func(sub string, err error)) Hours {
	h := Hours{Weekly: map[time.Weekday][]Window{}}
	for _, name := range slices.Sorted(maps.Keys(s.Weekly)) {
		sub := ".weekly." + name
		wd, err := ParseWeekday(name)
		if err != nil {
			bad(sub, err)
			continue
		}
		h.Weekly[wd] = windows(sub, s.Weekly[name], bad)
	}
	if len(s.Exceptions) > 0 {
		h.Exceptions = map[string][]Window{}
	}
	for _, d := range slices.Sorted(maps.Keys(s.Exceptions)) {
		sub := ".exceptions." + d
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			bad(sub, problem(ProblemDate, d))
			continue
		}
		h.Exceptions[d] = windows(sub, s.Exceptions[d], bad)
	}
	return h
}

// windows parses one day's windows, leaving out each one that is bad; one
// that overlaps another is reported and kept, so that the next is checked
// against what was written.
func windows(sub string, ss []string, bad func(sub string, err error)) []Window {
	ws := make([]Window, 0, len(ss))
	for i, s := range ss {
		at := fmt.Sprintf("%s[%d]", sub, i)
		w, err := ParseWindow(s)
		if err != nil {
			if p, ok := AsProblem(err); ok {
				err = p // without ParseWindow's "policy: "
			}
			bad(at, err)
			continue
		}
		if j := overlapping(ws, w); j >= 0 {
			bad(at, problem(ProblemWindowOverlap, w, ws[j]))
		}
		ws = append(ws, w)
	}
	return ws
}

// overlapping returns the index of the first window of ws that overlaps w,
// or -1. Touching windows do not overlap: they are one opening.
func overlapping(ws []Window, w Window) int {
	for j, o := range ws {
		if w.From < o.To && o.From < w.To {
			return j
		}
	}
	return -1
}
