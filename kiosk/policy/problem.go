package policy

import (
	"errors"
	"fmt"
)

// Problem is one thing wrong with a policy document (Document.Rules,
// ParseWindow), as a code and its values. Error words it in English for
// the booth's log and `config check`; the centre's console words it in the
// reader's language from its Code (the console's catalogue has
// "policy.problem.CODE" for every code of AllProblems, taking the same
// values in the same order).
type Problem struct {
	Code ProblemCode
	Args []any
}

// ProblemCode names a kind of Problem.
type ProblemCode string

// The problems a policy document can have.
const (
	ProblemNegative         ProblemCode = "negative"          // a duration below zero (the allowance)
	ProblemNegativeNone     ProblemCode = "negative_none"     // a duration below zero where 0 means none
	ProblemNotPositive      ProblemCode = "not_positive"      // zero where more is needed
	ProblemTooLong          ProblemCode = "too_long"          // longer than any call or credit
	ProblemTooLongAny       ProblemCode = "too_long_any"      // a number past what a duration holds
	ProblemGapTooLong       ProblemCode = "gap_too_long"      // a min_gap longer than a period
	ProblemPeriod           ProblemCode = "period"            // not day, week or month
	ProblemZone             ProblemCode = "zone"              // not a facility zone
	ProblemBlockEmpty       ProblemCode = "block_empty"       // a rotation's cell block with no name
	ProblemNumbersRange     ProblemCode = "numbers_range"     // max_numbers_per_inmate out of its bounds
	ProblemWeekdayEnglish   ProblemCode = "weekday_english"   // an Indonesian day name
	ProblemWeekday          ProblemCode = "weekday"           // not a day name
	ProblemDate             ProblemCode = "date"              // an exception's date that is none
	ProblemWindowFormat     ProblemCode = "window_format"     // not HH:MM-HH:MM
	ProblemWindowStartHHMM  ProblemCode = "window_start_hhmm" // the start is not HH:MM
	ProblemWindowStartClock ProblemCode = "window_start_time" // the start is not a time of day
	ProblemWindowEndHHMM    ProblemCode = "window_end_hhmm"   // the end is not HH:MM
	ProblemWindowEndClock   ProblemCode = "window_end_time"   // the end is not a time of day
	ProblemWindowOutside    ProblemCode = "window_outside"    // outside the day
	ProblemWindowEmpty      ProblemCode = "window_empty"      // starts where it ends
	ProblemWindowBackwards  ProblemCode = "window_backwards"  // ends before it starts
	ProblemWindowOverlap    ProblemCode = "window_overlap"    // overlaps another window of the day
)

// problemText is each code's English, a format of its Args.
var problemText = map[ProblemCode]string{
	ProblemNegative:         "%s is negative",
	ProblemNegativeNone:     "%s is negative; write 0 for none",
	ProblemNotPositive:      "must be more than zero",
	ProblemTooLong:          "%s is more than the longest call or credit (%s, %d ms)",
	ProblemTooLongAny:       "more than the longest call or credit (%s, %d ms)",
	ProblemGapTooLong:       "%s is more than a period (%s)",
	ProblemPeriod:           "%q: use day, week or month",
	ProblemZone:             "%q: use %s (WIB, WITA, WIT)",
	ProblemBlockEmpty:       "a cell block name is empty",
	ProblemNumbersRange:     "%d is outside %d…%d (numbers one inmate may have registered)",
	ProblemWeekdayEnglish:   "write weekdays in English: %s → %s",
	ProblemWeekday:          "%q is not a weekday: use monday, tuesday, wednesday, thursday, friday, saturday or sunday",
	ProblemDate:             "%q is not a date: write it \"YYYY-MM-DD\", e.g. \"2026-12-25\"",
	ProblemWindowFormat:     "window %q: want HH:MM-HH:MM, e.g. 08:00-11:30",
	ProblemWindowStartHHMM:  "window %q: start: %q is not HH:MM",
	ProblemWindowStartClock: "window %q: start: %q is not a time of day (00:00 to 24:00)",
	ProblemWindowEndHHMM:    "window %q: end: %q is not HH:MM",
	ProblemWindowEndClock:   "window %q: end: %q is not a time of day (00:00 to 24:00)",
	ProblemWindowOutside:    "window %s is outside 00:00-24:00",
	ProblemWindowEmpty:      "window %s is empty",
	ProblemWindowBackwards:  "window %s ends before it starts; a window may not cross midnight, split it at 24:00",
	ProblemWindowOverlap:    "window %s overlaps %s: merge them or fix the times",
}

// AllProblems lists every ProblemCode, for the tests that give each its
// words in every language.
var AllProblems = []ProblemCode{ProblemNegative, ProblemNegativeNone, ProblemNotPositive, ProblemTooLong, ProblemTooLongAny,
	ProblemGapTooLong, ProblemPeriod, ProblemZone, ProblemBlockEmpty, ProblemNumbersRange, ProblemWeekdayEnglish,
	ProblemWeekday, ProblemDate, ProblemWindowFormat, ProblemWindowStartHHMM, ProblemWindowStartClock,
	ProblemWindowEndHHMM, ProblemWindowEndClock, ProblemWindowOutside, ProblemWindowEmpty, ProblemWindowBackwards,
	ProblemWindowOverlap}

// ProblemFormat is the English format of code (the catalogues' reference).
func ProblemFormat(code ProblemCode) string { return problemText[code] }

func (p *Problem) Error() string { return fmt.Sprintf(problemText[p.Code], p.Args...) }

func problem(code ProblemCode, args ...any) error { return &Problem{Code: code, Args: args} }

// AsProblem returns the Problem in err's chain, if there is one.
func AsProblem(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}
