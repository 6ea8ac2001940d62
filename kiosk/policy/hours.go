package policy

import (
	"fmt"
	"strings"
	"time"
)

const minutesPerDay = 24 * 60

// maxChainDays bounds how far OpenAt follows windows that run on past
// midnight, so a booth open around the clock still gets a closing time.
const maxChainDays = 31

// maxSearchDays bounds NextOpen: a booth with no window in a year (a
// misconfiguration or a very long lockdown) reports no next opening.
const maxSearchDays = 366

// String formats w as "08:00-11:30", the form ParseWindow reads.
func (w Window) String() string {
	return hhmm(w.From) + "-" + hhmm(w.To)
}

func hhmm(m int) string {
	if m < 0 || m > minutesPerDay {
		return fmt.Sprintf("%dmin", m)
	}
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// ParseWindow reads a window written "HH:MM-HH:MM" (local time, end
// exclusive, "24:00" for midnight at the end of the day). A window may not
// cross midnight: "22:00-02:00" must be written as two windows,
// "22:00-24:00" and "00:00-02:00" on the next day.
func ParseWindow(s string) (Window, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Window{}, fmt.Errorf("policy: %w", problem(ProblemWindowFormat, s))
	}
	f, code := parseHHMM(strings.TrimSpace(from), ProblemWindowStartHHMM, ProblemWindowStartClock)
	if code != "" {
		return Window{}, fmt.Errorf("policy: %w", problem(code, s, strings.TrimSpace(from)))
	}
	t, code := parseHHMM(strings.TrimSpace(to), ProblemWindowEndHHMM, ProblemWindowEndClock)
	if code != "" {
		return Window{}, fmt.Errorf("policy: %w", problem(code, s, strings.TrimSpace(to)))
	}
	w := Window{From: f, To: t}
	if err := w.check(); err != nil {
		return Window{}, fmt.Errorf("policy: %w", err)
	}
	return w, nil
}

// parseHHMM reads "HH:MM" as minutes of the day, or says which of its two
// problems s has.
func parseHHMM(s string, notHHMM, notClock ProblemCode) (int, ProblemCode) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, notHHMM
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, notClock
	}
	return h*60 + m, ""
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// check reports why w is not a valid window, naming it.
func (w Window) check() error {
	switch {
	case w.From < 0 || w.From >= minutesPerDay || w.To <= 0 || w.To > minutesPerDay:
		return problem(ProblemWindowOutside, w)
	case w.To == w.From:
		return problem(ProblemWindowEmpty, w)
	case w.To < w.From:
		return problem(ProblemWindowBackwards, w)
	}
	return nil
}

// MarshalText writes w as ParseWindow reads it, so config files carry
// "08:00-11:30" rather than minute counts.
func (w Window) MarshalText() ([]byte, error) {
	if err := w.check(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return []byte(w.String()), nil
}

// UnmarshalText reads a window with ParseWindow.
func (w *Window) UnmarshalText(b []byte) error {
	v, err := ParseWindow(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// on returns the windows of the local date y-m-d (normalised, so d may run
// past the month): the dated exception if there is one, else the weekday's.
func (h Hours) on(y int, m time.Month, d int) []Window {
	date := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	if len(h.Exceptions) > 0 {
		var buf [len(time.DateOnly)]byte
		// Indexing with string(bytes) does not allocate.
		if ws, ok := h.Exceptions[string(date.AppendFormat(buf[:0], time.DateOnly))]; ok {
			return ws
		}
	}
	return h.Weekly[date.Weekday()]
}

// extend returns the end of the opening that runs at minute end: it follows
// every window that starts at or before end and goes past it.
func extend(windows []Window, end int) int {
	for grown := true; grown; {
		grown = false
		for _, w := range windows {
			if w.From <= end && w.To > end {
				end, grown = w.To, true
			}
		}
	}
	return end
}

// minuteOfDay is the wall-clock time since local midnight of lt.
func minuteOfDay(lt time.Time) time.Duration {
	return time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute +
		time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
}

// NextOpen returns when the booth is next open at or after t, for the
// status page: t itself when it is open now. ok is false when no window
// opens within a year.
func (h Hours) NextOpen(t time.Time, loc *time.Location) (next time.Time, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	if open, _ := h.OpenAt(t, loc); open {
		return t, true
	}
	lt := t.In(loc)
	now := minuteOfDay(lt)
	y, m, d := lt.Date()
	for day := 0; day <= maxSearchDays; day++ {
		best := -1
		for _, w := range h.on(y, m, d+day) {
			if w.From >= w.To || (day == 0 && time.Duration(w.From)*time.Minute <= now) {
				continue
			}
			if best < 0 || w.From < best {
				best = w.From
			}
		}
		if best >= 0 {
			return time.Date(y, m, d+day, 0, best, 0, 0, loc), true
		}
	}
	return time.Time{}, false
}
