package main

import (
	"context"
	"fmt"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/tools/testbed/boothrig"
)

// Phases of a call at which the power-cut drill kills the daemon.
const (
	phaseIdle    = "idle"    // before the tap; the call follows the restart
	phaseGranted = "granted" // relay on, handset not lifted
	phaseTalking = "talking" // handset lifted
	phaseHungUp  = "hung-up" // just after the hang-up
)

var phases = []string{phaseIdle, phaseGranted, phaseTalking, phaseHungUp}

// madeCall is a call the drill made and what it measured.
type madeCall struct {
	inmate   string
	phase    string
	measured time.Duration // lift → hang-up or kill; 0 if never lifted
	killed   bool          // the daemon died during the call
}

// powerCut kills `wartel-kiosk run` at random instants across the phases
// of c.Calls calls, runs safe-off and restarts it each time, then checks
// the relay after every restart and each call's one record at the
// gateway and its billing.
func powerCut(ctx context.Context, c *Config) (string, []string, error) {
	cards, inmates := drillRoster(24)
	r, err := startRig(ctx, c, "power-cut", 1, cards, nil)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	b := r.Booths[0]
	rnd := rng(c, 1)
	var made []madeCall
	var lost []string
	kills, relayOn := 0, 0
	perPhase := map[string]int{}

	// kill cuts the power and brings the booth back as systemd would:
	// SIGKILL, ExecStopPost safe-off, handset back on the hook, start.
	kill := func() error {
		if err := b.Kill(ctx); err != nil {
			return err
		}
		kills++
		if on, err := b.Relay(); err != nil || on {
			relayOn++
			lost = append(lost, fmt.Sprintf("kill %d: relay on after safe-off (%v)", kills, err))
		}
		if err := b.Hang(); err != nil {
			return err
		}
		sctx, cancel := context.WithTimeout(ctx, hang)
		defer cancel()
		if err := b.Start(sctx); err != nil {
			return err
		}
		// Ready, and the clock trusted again from the gateway's heartbeat:
		// until then the booth refuses calls (policy untrusted = refuse).
		if _, err := b.WaitStatus(sctx, func(s boothrig.Status) bool { return s.Session.State == "ready" && s.Session.ClockTrusted }); err != nil {
			return err
		}
		if on, err := b.Relay(); err != nil || on {
			relayOn++
			lost = append(lost, fmt.Sprintf("kill %d: relay on after the restart (%v)", kills, err))
		}
		return nil
	}
	for i := range c.Calls {
		in := inmates[i%len(inmates)]
		card := cardid.ID(in.Card)
		phase := phases[rnd.IntN(len(phases))]
		perPhase[phase]++
		talk := 200*time.Millisecond + time.Duration(rnd.Int64N(int64(2*time.Second)))
		delay := time.Duration(rnd.Int64N(int64(400 * time.Millisecond)))
		m := madeCall{inmate: in.Person, phase: phase}
		switch phase {
		case phaseIdle:
			time.Sleep(delay)
			if err := kill(); err != nil {
				return "", lost, fmt.Errorf("call %d: %w", i+1, err)
			}
			if m.measured, err = call(ctx, b, card, talk); err != nil {
				return "", lost, fmt.Errorf("call %d after the restart: %w", i+1, err)
			}
		case phaseGranted:
			if err := tapGranted(ctx, b, card); err != nil {
				return "", lost, fmt.Errorf("call %d: %w", i+1, err)
			}
			time.Sleep(delay)
			m.killed = true
			if err := kill(); err != nil {
				return "", lost, fmt.Errorf("call %d: %w", i+1, err)
			}
		case phaseTalking:
			if err := tapGranted(ctx, b, card); err != nil {
				return "", lost, fmt.Errorf("call %d: %w", i+1, err)
			}
			if err := b.Lift(); err != nil {
				return "", lost, err
			}
			t0 := time.Now()
			time.Sleep(talk)
			// The kill instant: the daemon dies after this, so the talk it
			// saw is at most this long.
			m.measured, m.killed = time.Since(t0), true
			if err := kill(); err != nil {
				return "", lost, fmt.Errorf("call %d: %w", i+1, err)
			}
		case phaseHungUp:
			if m.measured, err = callNoWait(ctx, b, card, talk); err != nil {
				return "", lost, fmt.Errorf("call %d: %w", i+1, err)
			}
			time.Sleep(delay / 4)
			m.killed = true
			if err := kill(); err != nil {
				return "", lost, fmt.Errorf("call %d: %w", i+1, err)
			}
		}
		made = append(made, m)
	}

	// Every call's record at the gateway, once, in the order made.
	g, err := openGatewayDB(r)
	if err != nil {
		return "", lost, err
	}
	defer g.Close()
	if err := g.waitCount(ctx, b.Device, "call", len(made), drainHang); err != nil {
		lost = append(lost, err.Error())
	}
	recs, chainLost, err := chainCheck(ctx, g, r, b.Device)
	if err != nil {
		return "", lost, err
	}
	lost = append(lost, chainLost...)
	calls, err := callsOf(recs)
	if err != nil {
		return "", lost, err
	}
	byInmate := map[string][]int{} // inmate → indexes into calls, by seq
	ids := map[int64]int{}
	dups := 0
	for i, cr := range calls {
		byInmate[cr.Inmate] = append(byInmate[cr.Inmate], i)
		if ids[cr.CallID]++; ids[cr.CallID] > 1 {
			dups++
		}
	}
	madeBy := map[string][]madeCall{}
	for _, m := range made {
		madeBy[m.inmate] = append(madeBy[m.inmate], m)
	}
	over, under, matched := 0, 0, 0
	for _, inm := range sortedKeys(madeBy) {
		ms, got := madeBy[inm], byInmate[inm]
		if len(got) != len(ms) {
			lost = append(lost, fmt.Sprintf("%s: %d calls made, %d call records at the gateway", inm, len(ms), len(got)))
		}
		for k := 0; k < min(len(ms), len(got)); k++ {
			m, cr := ms[k], calls[got[k]]
			matched++
			lostInterval := time.Duration(0)
			if m.killed {
				lostInterval = checkpoint
			}
			bl := billingCheck(fmt.Sprintf("%s call %d (%s, call id %d, %s)", inm, k+1, m.phase, cr.CallID, cr.EndReason), cr, m.measured, lostInterval)
			for _, l := range bl {
				if cr.ChargedMs > m.measured.Milliseconds() {
					over++
				} else {
					under++
				}
				lost = append(lost, l)
			}
		}
	}
	for inm, got := range byInmate {
		if _, ok := madeBy[inm]; !ok {
			lost = append(lost, fmt.Sprintf("%d call records of %s, who never called", len(got), inm))
		}
	}
	if dups > 0 {
		lost = append(lost, fmt.Sprintf("%d call ids recorded twice", dups))
	}
	sum := fmt.Sprintf("%d calls, %d kills at random instants (seed %d; idle %d, granted %d, talking %d, just hung up %d), %d restarts; relay on after a kill or restart %d; records at gateway %d/%d, duplicates %d; over-billed %d, under-billed beyond one checkpoint (%v) and one billing unit (%v) %d",
		len(made), kills, c.Seed, perPhase[phaseIdle], perPhase[phaseGranted], perPhase[phaseTalking], perPhase[phaseHungUp], kills,
		relayOn, matched, len(made), dups, over, checkpoint, billingUnit, under)
	return sum, lost, nil
}

// callNoWait is call without waiting for the booth to notice the hang-up:
// the power-cut drill kills it right after.
func callNoWait(ctx context.Context, b *boothrig.Booth, card cardid.ID, talk time.Duration) (time.Duration, error) {
	if err := tapGranted(ctx, b, card); err != nil {
		return 0, err
	}
	if err := b.Lift(); err != nil {
		return 0, err
	}
	t0 := time.Now()
	time.Sleep(talk) // the drill's input: how long the inmate talks
	if err := b.Hang(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}
