package policy

import (
	"strings"
	"testing"
	"time"
)

func w(t testing.TB, s string) Window {
	t.Helper()
	v, err := ParseWindow(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ws(t testing.TB, s ...string) []Window {
	t.Helper()
	out := []Window{}
	for _, x := range s {
		out = append(out, w(t, x))
	}
	return out
}

// testHours is a facility timetable with every shape OpenAt must handle.
func testHours(t testing.TB) Hours {
	return Hours{
		Weekly: map[time.Weekday][]Window{
			time.Monday:    ws(t, "08:00-11:30", "13:00-16:00"),
			time.Tuesday:   ws(t, "12:00-15:00", "08:00-12:00"), // touching, listed out of order
			time.Wednesday: ws(t, "08:00-11:30", "13:00-16:00"),
			time.Thursday:  ws(t, "08:00-11:30", "13:00-16:00"),
			time.Friday:    ws(t, "08:00-11:30", "13:00-16:00"),
			time.Saturday:  ws(t, "20:00-24:00"),
			time.Sunday:    ws(t, "00:00-02:00", "09:00-12:00"), // continues Saturday night
		},
		Exceptions: map[string][]Window{
			"2026-12-25": {},                   // holiday: closed all day
			"2026-12-02": nil,                  // lockdown (nil counts as closed too)
			"2026-12-24": ws(t, "08:00-10:00"), // special short day
			"2026-12-27": ws(t, "09:00-12:00"), // Sunday without the night continuation
			"2026-12-31": ws(t, "20:00-24:00"), // New Year's Eve runs into...
			"2027-01-01": ws(t, "00:00-01:00"), // ...New Year's Day
		},
	}
}

func TestOpenAt(t *testing.T) {
	for _, zone := range []string{"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"} {
		loc := mustZone(t, zone)
		at := func(s string) time.Time {
			v, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, loc)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		h := testHours(t)
		for _, tc := range []struct {
			name   string
			at     string
			open   bool
			closes string
		}{
			{"opens at window start", "2026-11-30 08:00:00.000", true, "2026-11-30 11:30:00.000"},
			{"closed just before start", "2026-11-30 07:59:59.999", false, ""},
			{"open at last instant", "2026-11-30 11:29:59.999", true, "2026-11-30 11:30:00.000"},
			{"window end is exclusive", "2026-11-30 11:30:00.000", false, ""},
			{"closed in the lunch gap", "2026-11-30 12:00:00.000", false, ""},
			{"second window", "2026-11-30 15:00:00.000", true, "2026-11-30 16:00:00.000"},
			{"touching windows are one opening", "2026-12-01 09:00:00.000", true, "2026-12-01 15:00:00.000"},
			{"second of touching windows", "2026-12-01 12:00:00.000", true, "2026-12-01 15:00:00.000"},
			{"saturday night runs past midnight", "2026-12-05 23:00:00.000", true, "2026-12-06 02:00:00.000"},
			{"sunday small hours", "2026-12-06 01:59:59.999", true, "2026-12-06 02:00:00.000"},
			{"sunday after the night", "2026-12-06 02:00:00.000", false, ""},
			{"holiday closed", "2026-12-25 09:00:00.000", false, ""},
			{"lockdown closed", "2026-12-02 09:00:00.000", false, ""},
			{"special short day open", "2026-12-24 09:00:00.000", true, "2026-12-24 10:00:00.000"},
			{"special short day closes early", "2026-12-24 10:30:00.000", false, ""},
			{"exception next day stops the night", "2026-12-26 23:00:00.000", true, "2026-12-27 00:00:00.000"},
			{"exceptions chain over new year", "2026-12-31 22:00:00.000", true, "2027-01-01 01:00:00.000"},
			{"day without windows", "2026-12-06 22:00:00.000", false, ""},
		} {
			t.Run(zone+"/"+tc.name, func(t *testing.T) {
				open, closes := h.OpenAt(at(tc.at), loc)
				if open != tc.open {
					t.Fatalf("OpenAt(%s) open = %v, want %v", tc.at, open, tc.open)
				}
				if !open {
					if !closes.IsZero() {
						t.Errorf("closed, but closes = %v", closes)
					}
					return
				}
				if want := at(tc.closes); !closes.Equal(want) {
					t.Errorf("closes = %v, want %v", closes.In(loc), want)
				}
			})
		}
	}
}

func TestOpenAtZoneMatters(t *testing.T) {
	// 02:00 UTC is 09:00 WIB (open), 10:00 WITA (open) and 11:00 WIT (open),
	// but 04:45 UTC is 11:45 WIB (closed), 12:45 WITA (closed), 13:45 WIT (open).
	h := Hours{Weekly: map[time.Weekday][]Window{time.Monday: ws(t, "08:00-11:30", "13:00-16:00")}}
	at := time.Date(2026, 11, 30, 4, 45, 0, 0, time.UTC)
	for zone, want := range map[string]bool{"Asia/Jakarta": false, "Asia/Makassar": false, "Asia/Jayapura": true} {
		if open, _ := h.OpenAt(at, mustZone(t, zone)); open != want {
			t.Errorf("%s: open = %v, want %v", zone, open, want)
		}
	}
}

func TestOpenAtAroundTheClock(t *testing.T) {
	all := ws(t, "00:00-24:00")
	h := Hours{Weekly: map[time.Weekday][]Window{}}
	for d := time.Sunday; d <= time.Saturday; d++ {
		h.Weekly[d] = all
	}
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	open, closes := h.OpenAt(now, time.UTC)
	if !open || closes.Sub(now) < 30*24*time.Hour {
		t.Fatalf("open around the clock: open=%v closes=%v, want open and closes a month ahead", open, closes)
	}
}

func TestNextOpen(t *testing.T) {
	loc := mustZone(t, "Asia/Makassar")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation(time.DateTime, s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	h := testHours(t)
	for _, tc := range []struct {
		name, at, want string
	}{
		{"open now", "2026-11-30 09:00:00", "2026-11-30 09:00:00"},
		{"lunch gap", "2026-11-30 12:00:00", "2026-11-30 13:00:00"},
		{"at window end", "2026-11-30 11:30:00", "2026-11-30 13:00:00"},
		{"evening to next morning", "2026-11-30 17:00:00", "2026-12-01 08:00:00"},
		{"skips lockdown day", "2026-12-01 16:00:00", "2026-12-03 08:00:00"},
		{"skips holiday", "2026-12-24 11:00:00", "2026-12-26 20:00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := h.NextOpen(at(tc.at), loc)
			if !ok || !got.Equal(at(tc.want)) {
				t.Errorf("NextOpen(%s) = %v, %v; want %s", tc.at, got.In(loc), ok, tc.want)
			}
		})
	}
	if _, ok := (Hours{}).NextOpen(at("2026-11-30 09:00:00"), loc); ok {
		t.Error("NextOpen with no windows at all reported an opening")
	}
}

func TestTurnOf(t *testing.T) {
	loc := mustZone(t, "Asia/Jayapura")
	mon := func(hh, mm int) time.Time { return time.Date(2026, 11, 30, hh, mm, 0, 0, loc) }
	rot := Rotation{
		"A": {Weekly: map[time.Weekday][]Window{time.Monday: ws(t, "08:00-10:00")}},
		"B": {Weekly: map[time.Weekday][]Window{time.Monday: ws(t, "10:00-12:00")}},
	}
	for _, tc := range []struct {
		name  string
		rot   Rotation
		block string
		at    time.Time
		ok    bool
		until time.Time
	}{
		{"no rotation lets every block call", nil, "Z", mon(9, 0), true, time.Time{}},
		{"block in its window", rot, "A", mon(9, 0), true, mon(10, 0)},
		{"block outside its window", rot, "B", mon(9, 0), false, time.Time{}},
		{"turn passes at the boundary", rot, "B", mon(10, 0), true, mon(12, 0)},
		{"previous block's turn has ended", rot, "A", mon(10, 0), false, time.Time{}},
		{"block without entries may not call", rot, "C", mon(9, 0), false, time.Time{}},
		{"empty block name is not a block", rot, "", mon(9, 0), false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, until := tc.rot.TurnOf(tc.block, tc.at, loc)
			if ok != tc.ok || !until.Equal(tc.until) {
				t.Errorf("TurnOf(%q) = %v, %v; want %v, %v", tc.block, ok, until, tc.ok, tc.until)
			}
		})
	}
}

func TestParseWindow(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Window
		wantErr string
	}{
		{"08:00-11:30", Window{480, 690}, ""},
		{" 00:00 - 24:00 ", Window{0, 1440}, ""},
		{"23:59-24:00", Window{1439, 1440}, ""},
		{"13:00-12:00", Window{}, "ends before it starts"},
		{"22:00-02:00", Window{}, "cross midnight"},
		{"08:00-08:00", Window{}, "empty"},
		{"24:00-24:00", Window{}, "outside"},
		{"8:00-11:30", Window{}, "HH:MM"},
		{"08:60-11:30", Window{}, "not a time of day"},
		{"24:01-24:30", Window{}, "not a time of day"},
		{"08:00", Window{}, "want HH:MM-HH:MM"},
		{"08:00-11:30-12:00", Window{}, "HH:MM"},
		{"+8:00-11:30", Window{}, "HH:MM"},
		{"", Window{}, "want HH:MM-HH:MM"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseWindow(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseWindow(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseWindow(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			var u Window
			if err := u.UnmarshalText([]byte(tc.in)); err != nil || u != tc.want {
				t.Fatalf("UnmarshalText(%q) = %v, %v", tc.in, u, err)
			}
			b, err := got.MarshalText()
			if err != nil || string(b) != got.String() {
				t.Fatalf("MarshalText = %q, %v; want %q", b, err, got.String())
			}
		})
	}
	if _, err := (Window{600, 500}).MarshalText(); err == nil {
		t.Error("MarshalText of an invalid window succeeded")
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"08:00-11:30", "00:00-24:00", "13:00-12:00", "24:00-24:00", " 9:00-10:00", "23:59-24:00", "08:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWindow(s)
		if err != nil {
			return
		}
		if w.check() != nil {
			t.Fatalf("ParseWindow(%q) = %v, an invalid window", s, w)
		}
		back, err := ParseWindow(w.String())
		if err != nil || back != w {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, w, w.String(), back, err)
		}
	})
}
