package keypad

import (
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

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

// matrix fakes the keypad's wiring: a column reads low while a pressed
// key's row is driven low.
type matrix struct {
	mu      sync.Mutex
	rowLow  map[int]bool
	pressed map[[2]int]bool
}

type rowPin struct {
	gpiotest.Pin
	m *matrix
	i int
}

func (p *rowPin) Out(l gpio.Level) error {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	p.m.rowLow[p.i] = l == gpio.Low
	return nil
}

type colPin struct {
	gpiotest.Pin
	m *matrix
	j int
}

func (p *colPin) In(gpio.Pull, gpio.Edge) error { return nil }

func (p *colPin) Read() gpio.Level {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	for k := range p.m.pressed {
		if k[1] == p.j && p.m.rowLow[k[0]] {
			return gpio.Low
		}
	}
	return gpio.High
}

func (m *matrix) press(r, c int, down bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if down {
		m.pressed[[2]int{r, c}] = true
	} else {
		delete(m.pressed, [2]int{r, c})
	}
}

// TestKeypadOnPins scans fake pins under the fake clock.
func TestKeypadOnPins(t *testing.T) {
	m := &matrix{rowLow: map[int]bool{}, pressed: map[[2]int]bool{}}
	var rows []gpio.PinOut
	var cols []gpio.PinIn
	for i := range 4 {
		rows = append(rows, &rowPin{m: m, i: i})
	}
	for j := range 3 {
		cols = append(cols, &colPin{m: m, j: j})
	}
	clk := clock.NewFake(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
	k, err := New(rows, cols, Options{Clock: clk})
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
	m.press(1, 1, true) // 5
	scan(10)
	m.press(1, 1, false)
	scan(10)
	m.press(3, 2, true) // #
	m.press(0, 0, true) // and 1: two keys
	scan(10)
	m.press(0, 0, false) // # alone, but never released in between
	scan(10)
	m.press(3, 2, false)
	scan(10)
	m.press(3, 1, true) // 0
	scan(10)
	drain()
	if string(got) != "50" {
		t.Fatalf("keys %q, want \"50\"", string(got))
	}
	if s := k.String(); s != "keypad 3×4" {
		t.Errorf("String %q", s)
	}
}

func TestNewChecksPins(t *testing.T) {
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Fatal("no pins accepted")
	}
}
