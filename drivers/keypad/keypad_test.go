package keypad

import (
	"testing"
	"time"

	"wartelsuspas/clock"
)

const ms = time.Millisecond

func TestScanner(t *testing.T) {
	type step struct {
		key rune
		at  time.Duration
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  string
	}{
		{"one press", []step{{'5', 0}, {'5', 10 * ms}, {'5', 30 * ms}, {'5', 40 * ms}, {noKey, 50 * ms}, {noKey, 90 * ms}}, "5"},
		{"held is one key", []step{{'5', 0}, {'5', 30 * ms}, {'5', 1000 * ms}, {'5', 5000 * ms}}, "5"},
		{"bounce shorter than the window", []step{{'5', 0}, {noKey, 10 * ms}, {'5', 20 * ms}, {noKey, 30 * ms}, {noKey, 70 * ms}}, ""},
		{"bounce then settle", []step{{'5', 0}, {noKey, 5 * ms}, {'5', 10 * ms}, {'5', 40 * ms}}, "5"},
		{"two presses", []step{{'1', 0}, {'1', 30 * ms}, {noKey, 40 * ms}, {noKey, 70 * ms}, {'#', 80 * ms}, {'#', 110 * ms}}, "1#"},
		{"release too short to count", []step{{'1', 0}, {'1', 30 * ms}, {noKey, 40 * ms}, {'2', 50 * ms}, {'2', 80 * ms}}, "1"},
		{"two keys at once refused", []step{{ghost, 0}, {ghost, 30 * ms}, {'2', 40 * ms}, {'2', 80 * ms}}, ""},
		{"after a ghost, a clean press", []step{{ghost, 0}, {ghost, 30 * ms}, {noKey, 40 * ms}, {noKey, 70 * ms}, {'3', 80 * ms}, {'3', 110 * ms}}, "3"},
		{"second key joins: refused, first already sent", []step{{'1', 0}, {'1', 30 * ms}, {ghost, 40 * ms}, {ghost, 70 * ms}, {'2', 80 * ms}, {'2', 120 * ms}}, "1"},
	} {
		s := newScanner(30 * ms)
		var got []rune
		for _, st := range tc.steps {
			if k, ok := s.observe(st.key, st.at); ok {
				got = append(got, k)
			}
		}
		if string(got) != tc.want {
			t.Errorf("%s: keys %q, want %q", tc.name, string(got), tc.want)
		}
	}
}

// TestKeypadOnPins scans fake pins under the fake clock.
func TestKeypadOnPins(t *testing.T) {
	m := NewSim(nil, SimHold(DefaultOptions))
	clk := clock.NewFake(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
	k, err := New(m.Rows(), m.Cols(), Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Halt()
	scan := func(n int) {
		for range n {
			clk.WaitTimers(1)
			clk.Advance(DefaultOptions.ScanInterval)
		}
		clk.WaitTimers(1) // the last scan is done
	}
	var got []rune
	drain := func() {
		for {
			select {
			case r := <-k.Keys():
				got = append(got, r)
			default:
				return
			}
		}
	}
	hold := func(keys ...rune) {
		for _, r := range keys {
			if err := m.Down(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	hold('5')
	scan(10)
	m.Up('5')
	scan(10)
	hold('#', '1') // two keys
	scan(10)
	m.Up('1') // # alone, but never released in between
	scan(10)
	m.Up('#')
	scan(10)
	hold('0')
	scan(10)
	m.Up('0')
	scan(10)
	drain()
	if string(got) != "50" {
		t.Fatalf("keys %q, want \"50\"", string(got))
	}
	if s := k.String(); s != "keypad 3×4" {
		t.Errorf("String %q", s)
	}

	// Typed keys: each pressed once, in order, the same key twice too.
	got = nil
	if err := m.Type("1192#"); err != nil {
		t.Fatal(err)
	}
	for m.Typing() {
		scan(1)
	}
	scan(10)
	drain()
	if string(got) != "1192#" {
		t.Fatalf("typed keys %q, want \"1192#\"", string(got))
	}
	if err := m.Type("5A"); err == nil || m.Typing() {
		t.Errorf("typing a key the keypad has not: %v, typing %v; want refused, nothing typed", err, m.Typing())
	}
}

// TestSimTypesUnderLoad: a typed key counts once whatever the time between
// scans, as long as it is at least the scan interval (a loaded machine only
// makes scans slower).
func TestSimTypesUnderLoad(t *testing.T) {
	for _, gap := range []time.Duration{DefaultOptions.ScanInterval, 3 * DefaultOptions.ScanInterval, 250 * time.Millisecond} {
		m := NewSim(nil, SimHold(DefaultOptions))
		s := newScanner(DefaultOptions.Debounce)
		m.Type("77*0#")
		rows, cols := m.Rows(), m.Cols()
		k := &Keypad{o: DefaultOptions, rows: rows, cols: cols}
		var got []rune
		now := time.Duration(0)
		for i := 0; i < 200 && (m.Typing() || i < 10); i++ {
			if r, ok := s.observe(k.scan(), now); ok {
				got = append(got, r)
			}
			now += gap
		}
		if string(got) != "77*0#" {
			t.Errorf("scans %v apart: keys %q, want \"77*0#\"", gap, string(got))
		}
	}
}

func TestNewChecksPins(t *testing.T) {
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Fatal("no pins accepted")
	}
}
