// Inputs: the hook, tamper and relay feedback lines, their edges read on
// goroutines of their own and their debounced changes turned into events
// (debounce.go holds the debouncer).

package booth

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

type sample struct {
	in *input
	l  gpio.Level
}

type input struct {
	key       string
	in        Input
	edges     bool
	activeLow bool
	deb       *Debouncer
}

func (i *input) active(l gpio.Level) bool { return bool(l) != i.activeLow }

// readEdges forwards the level of an input after each edge. A timed-out
// wait also reads the line, so a lost edge is caught within EdgeWait.
func (b *Booth) readEdges(in *input) {
	defer b.wg.Done()
	last := in.in.Read()
	for {
		select {
		case <-b.done:
			return
		default:
		}
		changed := in.in.WaitForEdge(b.opts.EdgeWait)
		l := in.in.Read()
		if !changed && l == last {
			continue
		}
		last = l
		select {
		case b.samples <- sample{in: in, l: l}:
		case <-b.done:
			return
		}
	}
}

func (b *Booth) inputChanged(in *input, active bool, now time.Duration, relayOn bool) {
	switch in {
	case b.hook:
		k := HookOn
		if active {
			k = HookOff
		}
		b.emit(Event{Kind: k, At: now})
	case b.tamper:
		if active {
			b.tamperOpened(now)
		} else {
			b.emit(Event{Kind: TamperClosed, At: now})
		}
	case b.feedback:
		if !b.settlePending && active != relayOn {
			b.relayFault(now, fmt.Errorf("relay changed without a command: commanded %s, feedback %s=%s reads %s: %s",
				onOff(relayOn), keyPrefix+"relay_feedback", b.opts.Config.Feedback, onOff(active), faultHint(relayOn)))
		}
	}
}
