package policy

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestProblems: every problem Document.Rules reports is a Problem with its
// code (so the console can word it in the reader's language), and every
// code of AllProblems is reported by some document and has its English.
func TestProblems(t *testing.T) {
	dur := func(d time.Duration) *time.Duration { return &d }
	n := func(v int) *int { return &v }
	ok := Document{Zone: "Asia/Jakarta", Period: "day", Allowance: 10 * time.Minute}
	with := func(f func(*Document)) Document { d := ok; f(&d); return d }
	day := func(ws ...string) *Schedule { return &Schedule{Weekly: map[string][]string{"monday": ws}} }
	cases := []struct {
		doc  Document
		want ProblemCode
	}{
		{with(func(d *Document) { d.Allowance = -time.Minute }), ProblemNegative},
		{with(func(d *Document) { d.Allowance = 0 }), ProblemNotPositive},
		{with(func(d *Document) { d.Allowance = MaxCall + time.Minute }), ProblemTooLong},
		{with(func(d *Document) { d.Allowance = math.MaxInt64 }), ProblemTooLongAny},
		{with(func(d *Document) { d.Period = "fortnight" }), ProblemPeriod},
		{with(func(d *Document) { d.Zone = "Europe/Paris" }), ProblemZone},
		{with(func(d *Document) { d.PerCall = dur(-time.Second) }), ProblemNegativeNone},
		{with(func(d *Document) { d.MinGap = dur(MaxCall + time.Hour) }), ProblemGapTooLong},
		{with(func(d *Document) { d.Rotation = map[string]Schedule{" ": {}} }), ProblemBlockEmpty},
		{with(func(d *Document) { d.MaxNumbersPerInmate = n(MaxNumbersPerInmate + 1) }), ProblemNumbersRange},
		{with(func(d *Document) { d.Hours = &Schedule{Weekly: map[string][]string{"senin": {"08:00-10:00"}}} }), ProblemWeekdayEnglish},
		{with(func(d *Document) { d.Hours = &Schedule{Weekly: map[string][]string{"mon": {"08:00-10:00"}}} }), ProblemWeekday},
		{with(func(d *Document) { d.Hours = &Schedule{Exceptions: map[string][]string{"25-12-2026": nil}} }), ProblemDate},
		{with(func(d *Document) { d.Hours = day("08:00") }), ProblemWindowFormat},
		{with(func(d *Document) { d.Hours = day("8:00-10:00") }), ProblemWindowStartHHMM},
		{with(func(d *Document) { d.Hours = day("25:00-26:00") }), ProblemWindowStartClock},
		{with(func(d *Document) { d.Hours = day("08:00-10") }), ProblemWindowEndHHMM},
		{with(func(d *Document) { d.Hours = day("08:00-24:30") }), ProblemWindowEndClock},
		{with(func(d *Document) { d.Hours = day("08:00-08:00") }), ProblemWindowEmpty},
		{with(func(d *Document) { d.Hours = day("10:00-08:00") }), ProblemWindowBackwards},
		{with(func(d *Document) { d.Hours = day("08:00-10:00", "09:00-11:00") }), ProblemWindowOverlap},
	}
	seen := map[ProblemCode]bool{}
	for _, c := range cases {
		var got []ProblemCode
		c.doc.Rules(Rules{}, func(f Field, sub string, err error) {
			p, ok := AsProblem(err)
			if !ok {
				t.Errorf("%s%s: %v is not a Problem: the console cannot word it in Indonesian", f, sub, err)
				return
			}
			if s := p.Error(); s == "" || strings.Contains(s, "%!") {
				t.Errorf("%s%s: %s: English %q", f, sub, p.Code, s)
			}
			got = append(got, p.Code)
			seen[p.Code] = true
		})
		if !slices.Contains(got, c.want) {
			t.Errorf("want %s, reported %v", c.want, got)
		}
	}
	// The window outside the day: only a Window built by hand has it.
	if p, ok := AsProblem(Window{From: -1, To: 10}.check()); ok {
		seen[p.Code] = true
	}
	for _, c := range AllProblems {
		if ProblemFormat(c) == "" {
			t.Errorf("%s has no English", c)
		}
		if !seen[c] {
			t.Errorf("%s is never reported by the cases here: add one", c)
		}
	}
}
