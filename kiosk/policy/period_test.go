package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// mustZone loads a zone or fails; tb is a *testing.T or a *rapid.T.
func mustZone(tb interface {
	Helper()
	Fatal(...any)
}, name string) *time.Location {
	tb.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

func TestLoadZone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset int // seconds east of UTC; -1 = must fail
	}{
		{"Asia/Jakarta", 7 * 3600},
		{"Asia/Makassar", 8 * 3600},
		{"Asia/Jayapura", 9 * 3600},
		{"UTC", 0},
		{"Europe/Berlin", -1},
		{"Asia/Bangkok", -1}, // also +7, but not an Indonesian facility zone
		{"", -1},
		{"Local", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := LoadZone(tc.name)
			if tc.offset < 0 {
				if err == nil || !strings.Contains(err.Error(), "Asia/Jayapura") {
					t.Fatalf("LoadZone(%q) error = %v, want one naming the valid zones", tc.name, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// No DST: the offset is the same in January and July.
			for _, m := range []time.Month{time.January, time.July} {
				if _, off := time.Date(2026, m, 1, 0, 0, 0, 0, loc).Zone(); off != tc.offset {
					t.Errorf("%s offset in %v = %d, want %d", tc.name, m, off, tc.offset)
				}
			}
		})
	}
}

func TestPeriodOf(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name      string
		zone      string
		at        string // UTC instant
		kind      PeriodKind
		key       string
		startDate string // local date of Start
		endDate   string // local date of End
	}{
		// 16:59:59.999Z is 23:59:59.999 WIB: still the 29th.
		{"day last instant WIB", "Asia/Jakarta", "2026-11-29T16:59:59.999Z", Day, "2026-11-29", "2026-11-29", "2026-11-30"},
		{"day midnight WIB", "Asia/Jakarta", "2026-11-29T17:00:00Z", Day, "2026-11-30", "2026-11-30", "2026-12-01"},
		{"day last instant WITA", "Asia/Makassar", "2026-11-29T15:59:59.999Z", Day, "2026-11-29", "2026-11-29", "2026-11-30"},
		{"day midnight WITA", "Asia/Makassar", "2026-11-29T16:00:00Z", Day, "2026-11-30", "2026-11-30", "2026-12-01"},
		{"day last instant WIT", "Asia/Jayapura", "2026-11-29T14:59:59.999Z", Day, "2026-11-29", "2026-11-29", "2026-11-30"},
		{"day midnight WIT", "Asia/Jayapura", "2026-11-29T15:00:00Z", Day, "2026-11-30", "2026-11-30", "2026-12-01"},
		{"day same instant differs by zone", "Asia/Jayapura", "2026-11-29T16:30:00Z", Day, "2026-11-30", "2026-11-30", "2026-12-01"},
		{"day month end", "Asia/Jakarta", "2026-11-30T17:00:00Z", Day, "2026-12-01", "2026-12-01", "2026-12-02"},
		{"week sunday night", "Asia/Jakarta", "2026-11-29T16:59:59.999Z", Week, "2026-W48", "2026-11-23", "2026-11-30"},
		{"week monday midnight", "Asia/Jakarta", "2026-11-29T17:00:00Z", Week, "2026-W49", "2026-11-30", "2026-12-07"},
		{"week 1 starts in previous calendar year", "Asia/Makassar", "2025-12-28T16:00:00Z", Week, "2026-W01", "2025-12-29", "2026-01-05"},
		{"week before it is the old ISO year", "Asia/Makassar", "2025-12-28T15:59:59.999Z", Week, "2025-W52", "2025-12-22", "2025-12-29"},
		{"week 53 runs into next calendar year", "Asia/Jayapura", "2027-01-03T14:59:59.999Z", Week, "2026-W53", "2026-12-28", "2027-01-04"},
		{"week 1 of 2027", "Asia/Jayapura", "2027-01-03T15:00:00Z", Week, "2027-W01", "2027-01-04", "2027-01-11"},
		{"week 53 of 2020 in 2021", "UTC", "2021-01-03T12:00:00Z", Week, "2020-W53", "2020-12-28", "2021-01-04"},
		{"month last instant", "Asia/Jakarta", "2026-12-31T16:59:59.999Z", Month, "2026-12", "2026-12-01", "2027-01-01"},
		{"month new year", "Asia/Jakarta", "2026-12-31T17:00:00Z", Month, "2027-01", "2027-01-01", "2027-02-01"},
		{"month february leap", "Asia/Makassar", "2028-02-29T12:00:00Z", Month, "2028-02", "2028-02-01", "2028-03-01"},
		{"month first instant WIT", "Asia/Jayapura", "2026-11-30T15:00:00Z", Month, "2026-12", "2026-12-01", "2027-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustZone(t, tc.zone)
			at := utc(tc.at)
			p := PeriodOf(at, tc.kind, loc)
			if p.Key != tc.key {
				t.Errorf("Key = %q, want %q", p.Key, tc.key)
			}
			if got := p.Start.Format(time.DateTime); got != tc.startDate+" 00:00:00" {
				t.Errorf("Start = %s, want %s 00:00:00 local", got, tc.startDate)
			}
			if got := p.End.Format(time.DateTime); got != tc.endDate+" 00:00:00" {
				t.Errorf("End = %s, want %s 00:00:00 local", got, tc.endDate)
			}
			if p.Start.Location() != loc {
				t.Errorf("Start is in %v, want %v", p.Start.Location(), loc)
			}
			if at.Before(p.Start) || !at.Before(p.End) {
				t.Errorf("%v not in [%v, %v)", at, p.Start, p.End)
			}
		})
	}
}

func TestPeriodOfProperties(t *testing.T) {
	zones := []string{"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC"}
	rapid.Check(t, func(t *rapid.T) {
		loc := mustZone(t, rapid.SampledFrom(zones).Draw(t, "zone"))
		kind := rapid.SampledFrom([]PeriodKind{Day, Week, Month}).Draw(t, "kind")
		// 2000..2100 in nanoseconds.
		at := time.Unix(0, rapid.Int64Range(946684800e9, 4102444800e9).Draw(t, "unixnano"))
		p := PeriodOf(at, kind, loc)
		if at.Before(p.Start) || !at.Before(p.End) {
			t.Fatalf("%v not in [%v, %v)", at, p.Start, p.End)
		}
		if p2 := PeriodOf(p.Start, kind, loc); p2 != p {
			t.Fatalf("PeriodOf(Start) = %+v, want %+v", p2, p)
		}
		if p3 := PeriodOf(p.End.Add(-time.Nanosecond), kind, loc); p3.Key != p.Key {
			t.Fatalf("last instant in %q, want %q", p3.Key, p.Key)
		}
		next := PeriodOf(p.End, kind, loc)
		if next.Key == p.Key || !next.Start.Equal(p.End) {
			t.Fatalf("next period %+v does not follow %+v", next, p)
		}
		ls := p.Start.In(loc)
		if ls.Hour() != 0 || ls.Minute() != 0 || ls.Second() != 0 || ls.Nanosecond() != 0 {
			t.Fatalf("Start %v is not local midnight", ls)
		}
		switch kind {
		case Week:
			if ls.Weekday() != time.Monday || p.End.Sub(p.Start) != 7*24*time.Hour {
				t.Fatalf("week %+v does not start on Monday or is not 7 days", p)
			}
			// The key is the ISO week of every day in it, not of the
			// calendar year of t.
			y, w := at.In(loc).ISOWeek()
			if want := fmt.Sprintf("%04d-W%02d", y, w); p.Key != want {
				t.Fatalf("week key %q, want %q", p.Key, want)
			}
		case Month:
			if ls.Day() != 1 {
				t.Fatalf("month %+v does not start on the 1st", p)
			}
		case Day:
			if p.End.Sub(p.Start) != 24*time.Hour {
				t.Fatalf("day %+v is not 24 h (these zones have no DST)", p)
			}
		}
	})
}
