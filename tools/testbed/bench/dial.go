package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/modem/modemtest"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/tools/testbed/boothrig"
)

var dialCalls = flag.Int("dial-calls", 40, "calls of the dial suite (a booth with a modem: answer → talk, cut-off → ATH)")

func init() {
	registerSlow("dial", 1, benchDial)
}

// dialCap is the dial booth's per-call cap: each measured call runs into
// it, so one call gives both figures.
const dialCap = time.Second

// dialCards: calls rotate through these inmates (a card is reported again
// only after it was away for the reader's silence).
const dialCards = 8

// modemBaud is the AT port's speed in the packaged kiosk.toml (modem.baud):
// a UART at 115200 baud, 8N1, ten bits a byte. A USB AT port has no baud
// rate; the UART's is the slower case.
const modemBaud = 115200

// onTheWire is how long n bytes take on the modem's UART.
func onTheWire(n int) time.Duration { return time.Duration(n) * 10 * time.Second / modemBaud }

func dialCard(i int) cardid.ID { return cardid.ID(fmt.Sprintf("em:06%08X", i)) }

// dialNumber is the registered number of the i-th inmate of the suite.
func dialNumber(i int) string { return fmt.Sprintf("+628123300%04d", i) }

// dialRig starts the gateway and one booth with a modem (the modemtest
// emulator, SIMCom dialect, on a pty, through the real modem driver), with
// dialCards inmates whose slot 1 is a registered number.
func dialRig() (*boothrig.Rig, error) {
	dir, err := os.MkdirTemp(*storeDirOrTemp(), "bench-dial-")
	if err != nil {
		return nil, err
	}
	atExit(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kiosk, gateway, err := boothrig.Build(ctx, dir)
	if err != nil {
		return nil, err
	}
	var roster []record.CardInfo
	var numbers []boothrig.Number
	for i := range dialCards {
		p := fmt.Sprintf("WBP-D-%d", i)
		roster = append(roster, record.CardInfo{Card: string(dialCard(i)), Role: record.RoleInmate, Person: p, Name: "bench", Block: "A"})
		numbers = append(numbers, boothrig.Number{Short: fmt.Sprintf("d%d", i), Person: p, E164: dialNumber(i), Slot: 1, Label: "keluarga",
			Script: modemtest.Script{Outcome: modemtest.Ring}}) // answered by the suite, at its instant
	}
	o := boothrig.Options{
		Dir: dir, Booths: 1, Modems: 1, Numbers: numbers, Blocked: []string{}, KioskBin: kiosk, GatewayBin: gateway, Roster: roster,
		Rules: boothrig.Rules{Allowance: 20 * time.Hour, PerCall: dialCap, Checkpoint: 5 * time.Second},
	}
	if *e2eLog {
		o.Log = os.Stderr
	}
	return boothrig.Start(ctx, o)
}

// benchDial measures dial control through the real daemon and the modem
// driver on the emulator. Per call: tap, slot 1, #, lift; the far end
// rings until the suite answers it (Emulator.Answer writes the +CLCC
// line); answer → talk started is from that write to the instant of the
// daemon's talking activity, with the relay already closed (it closes
// before ATD, journal first); the call then runs into the cap, and
// cut-off → ATH is from the allowed instant (talk start + cap) to the
// emulator receiving ATH, the relay opened before it.
func benchDial(r *Report) error {
	rig, err := dialRig()
	if err != nil {
		return err
	}
	defer rig.Close()
	b := rig.Booths[0]
	emu := b.Modem()
	w, err := watchRelay(b.SimDir)
	if err != nil {
		return err
	}
	defer w.Close()
	var answer, hangUp, relayFirst []time.Duration
	for i := range *dialCalls {
		before, err := b.Status(context.Background())
		if err != nil {
			return err
		}
		seq := before.LastSeq()
		w.drain()
		if err := b.Tap(dialCard(i % dialCards)); err != nil {
			return err
		}
		if _, err := waitActivity(b, seq, session.ActivityChoosing); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		for _, k := range []rune{'1', '#'} {
			if err := b.Key(k); err != nil {
				return err
			}
		}
		if err := b.Lift(); err != nil {
			return err
		}
		if _, err := waitActivity(b, seq, session.ActivityRinging); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		if on, err := b.Relay(); err != nil || !on {
			return fmt.Errorf("call %d: ringing with the relay off (%v): the relay closes before the dial", i, err)
		}
		aths := countCommands(emu.Commands(), "ATH")
		athAt := make(chan time.Time, 1)
		relayAtATH := true
		var wg sync.WaitGroup
		wg.Go(func() {
			if emu.WaitCommand("ATH", aths+1, dialCap+e2eTimeout) == nil {
				athAt <- time.Now()
				// The daemon opens the relay, then asks the modem: by
				// the time ATH is on the line the relay file says off.
				relayAtATH, _ = b.Relay()
			}
			close(athAt)
		})
		t0 := time.Now()
		if err := emu.Answer(); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		talk, err := waitActivity(b, seq, session.ActivityTalking)
		if err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		answer = append(answer, talk.At.Sub(t0))
		off, err := w.wait(false, dialCap+e2eTimeout)
		if err != nil {
			return fmt.Errorf("call %d: no cut-off: %w", i, err)
		}
		wg.Wait()
		ath, ok := <-athAt
		if !ok {
			return fmt.Errorf("call %d: the cut-off sent no ATH; see %s", i, filepath.Join(b.Dir, "kiosk.log"))
		}
		if relayAtATH {
			return fmt.Errorf("call %d: ATH reached the module with the relay still on: the cut-off must open the relay first", i)
		}
		due := talk.At.Add(dialCap)
		hangUp = append(hangUp, ath.Sub(due))
		relayFirst = append(relayFirst, ath.Sub(off))
		if err := b.Hang(); err != nil {
			return err
		}
		if err := waitState(b, "ready"); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		// The hang-up must pass the debounce before the next call, or
		// that call would start lifted.
		time.Sleep(150 * time.Millisecond)
	}
	clccLine := len(`+CLCC: 1,0,0,0,0,"`+dialNumber(0)+`",145`) + 4 // with its CR LF around it
	note := fmt.Sprintf("%d calls through the real wartel-kiosk run and modem driver on the modemtest emulator (SIMCom dialect, pty); "+
		"from the write of the answer's +CLCC to the daemon's talking activity; the relay closed before ATD on every call; "+
		"a pty has no baud rate: on the UART the line's time adds to this", len(answer))
	for _, q := range []float64{0.50, 0.99} {
		r.Add(Figure{Name: fmt.Sprintf("dial: answer → talk started, relay closed p%.0f", q*100), Value: Ms(Percentile(answer, q)), Unit: "ms",
			Limit: Ms(onTheWire(clccLine)), LimitNote: fmt.Sprintf("the +CLCC line (%d B) at %d baud", clccLine, modemBaud), Note: note})
	}
	r.Add(Figure{Name: "dial: cut-off → ATH received p99", Value: Ms(Percentile(hangUp, 0.99)), Unit: "ms",
		Limit: Ms(onTheWire(len("ATH\r"))), LimitNote: fmt.Sprintf("ATH\\r (4 B) at %d baud", modemBaud),
		Note: fmt.Sprintf("%d calls capped at %v; from talk start (the talking activity) + cap to the emulator receiving ATH (p50 %.2f ms); the relay file read off when ATH arrived on every call (inotify's relay off → ATH p50 %.2f ms)",
			len(hangUp), dialCap, Ms(Percentile(hangUp, 0.50)), Ms(Percentile(relayFirst, 0.50)))})
	return nil
}

// waitActivity waits for the booth's activity of kind after seq.
func waitActivity(b *boothrig.Booth, seq uint64, kind session.ActivityKind) (boothrig.Activity, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	a, err := b.WaitActivity(ctx, seq, func(a boothrig.Activity) bool { return a.Kind == kind || a.Kind == session.ActivityEnded })
	if err == nil && a.Kind != kind {
		err = fmt.Errorf("the call ended (%s, %s) before %s; see %s", a.End, a.Outcome, kind, filepath.Join(b.Dir, "kiosk.log"))
	}
	return a, err
}

// countCommands counts the commands that are cmd.
func countCommands(cmds []string, cmd string) int {
	n := 0
	for _, c := range cmds {
		if c == cmd {
			n++
		}
	}
	return n
}
