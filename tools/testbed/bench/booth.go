package main

import (
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/drivers/booth"
)

func init() {
	register("booth", benchBooth)
}

// benchBooth measures the booth driver on the simulated backend: how long a
// relay decision takes to reach the pin, and what the pattern scheduler
// costs while lamps blink.
func benchBooth(r *Report) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := booth.DefaultConfig()
	changed := make(chan time.Time, 1)
	sim, err := booth.NewSim(booth.SimOptions{OnChange: func(c booth.Change) {
		if c.Pin == cfg.Relay {
			select {
			case changed <- time.Now():
			default:
			}
		}
	}})
	if err != nil {
		return err
	}
	defer sim.Close()
	_ = sim.SetInput(cfg.Tamper, gpio.Low) // panel closed
	b, err := booth.New(booth.Options{Config: cfg, Backend: sim, Logger: quiet})
	if err != nil {
		return err
	}
	defer b.Close()
	<-changed // the initial off

	// Decision → relay pin change. On goes through the driver's loop (it
	// checks the latches); off is driven directly by the caller.
	const n = 5000
	lat := map[bool][]time.Duration{}
	for i := range 2 * n { // off → on → off …: every call is a change
		on := i%2 == 0
		t0 := time.Now()
		if err := b.SetRelay(on); err != nil {
			return err
		}
		select {
		case t1 := <-changed:
			lat[on] = append(lat[on], t1.Sub(t0))
		case <-time.After(10 * time.Second):
			return fmt.Errorf("relay pin did not change after SetRelay(%v)", on)
		}
	}
	for _, on := range []bool{true, false} {
		l := lat[on]
		p50, p99 := Percentile(l, 0.50), Percentile(l, 0.99)
		name := "relay on: decision → pin"
		if !on {
			name = "relay off: decision → pin"
		}
		// The limit is the relay's own operate time (typically 5–10 ms for
		// the small 5 V relays of booth relay boards).
		note := fmt.Sprintf("%d decisions, sim backend in memory; on passes the driver loop, off is direct", n)
		r.Add(Figure{Name: name + " p50", Value: Ms(p50), Unit: "ms", Limit: Ms(relayOperate), LimitNote: "relay operate time", Note: note})
		r.Add(Figure{Name: name + " p99", Value: Ms(p99), Unit: "ms", Limit: Ms(relayOperate), LimitNote: "relay operate time", Note: note})
	}
	if err := b.SetRelay(false); err != nil {
		return err
	}

	// CPU of the whole process while the busiest patterns blink.
	for _, signal := range []string{"final_seconds", "tamper"} {
		if err := b.Show(signal); err != nil {
			return err
		}
		const span = 5 * time.Second
		before, t0 := boothCPUTime(), time.Now()
		time.Sleep(span)
		used, wall := boothCPUTime()-before, time.Since(t0)
		pct := 100 * used.Seconds() / wall.Seconds()
		r.Add(Figure{
			Name:  "scheduler CPU, " + signal + " blinking",
			Value: pct, Unit: "% of a core",
			Limit: 0.5, LimitNote: "goal", Goal: Max,
			Note: fmt.Sprintf("getrusage user+sys over %v, whole bench process, sim backend", span.Round(time.Second)),
		})
	}
	return nil
}

// relayOperate is the switching time of the small 5 V relays of booth
// relay boards (typically 5–10 ms): what any software latency adds to.
const relayOperate = 10 * time.Millisecond

// boothCPUTime is the process's user+system CPU time so far.
func boothCPUTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
