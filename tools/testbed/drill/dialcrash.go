package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/modem/modemtest"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/tools/testbed/boothrig"
)

// Phases of a dialled call at which the dial-crash drill kills the daemon.
const (
	phaseDialling = "dialling" // journaled, relay on, ATD sent, the far end ringing
	phaseAnswered = "talking"  // the far end answered: talk time running
)

// requireAnsweredAt: a call recovered after a crash keeps its answer's
// instant (record.Call.AnsweredAt). The engine on main closes a recovered
// call without it (kiosk/session recover: the checkpoint keeps the talk
// time, not the answer); when the engine keeps it, set this true and the
// drill holds it to that.
const requireAnsweredAt = true

// dialCrashCalls is how many calls the short form makes: two kills in
// each phase.
const dialCrashCalls = 4

// dialCrash kills `wartel-kiosk run` on a booth with a modem (the modemtest
// emulator on a pty, through the real modem driver) while a call rings and
// while it talks, runs safe-off and restarts it each time, and checks: the
// relay is off after the kill and after the restart; the restarted daemon
// hung the module's call up (ATH or AT+CHUP) before it dialled anything;
// at the gateway each call has one record, a ringing one charged 0 and an
// answered one billed to its last checkpoint from the answer.
func dialCrash(ctx context.Context, c *Config) (string, []string, error) {
	cards, inmates := drillRoster(12)
	var numbers []boothrig.Number
	for i, in := range inmates {
		numbers = append(numbers, boothrig.Number{Short: fmt.Sprintf("n%d", i+1), Person: in.Person,
			E164: fmt.Sprintf("+628122200%04d", i+1), Slot: 1, Label: "keluarga"})
	}
	dir := filepath.Join(c.Dir, "dial-crash")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	r, err := boothrig.Start(ctx, boothrig.Options{
		Dir: dir, Booths: 1, Modems: 1, Numbers: numbers, Blocked: []string{}, KioskBin: c.KioskBin, GatewayBin: c.GatewayBin,
		Roster: cards, Rules: drillRules, Log: c.Log,
	})
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	b := r.Booths[0]
	rnd := rng(c, 7)
	n := dialCrashCalls
	if !c.Short {
		n = max(c.Calls/5, dialCrashCalls)
	}
	type made struct {
		inmate, phase string
		measured      time.Duration // answer → kill
		answered      time.Time     // the booth's talking activity: the answer
	}
	var calls []made
	var lost []string
	relayOn, hungFirst := 0, 0
	perPhase := map[string]int{}
	for i := range n {
		in := inmates[i%len(inmates)]
		phase := phaseDialling
		if i%2 == 1 {
			phase = phaseAnswered
		}
		if !c.Short && rnd.IntN(2) == 0 {
			phase = map[string]string{phaseDialling: phaseAnswered, phaseAnswered: phaseDialling}[phase]
		}
		perPhase[phase]++
		num := numbers[i%len(numbers)].E164
		script := modemtest.Script{Outcome: modemtest.Ring}
		if phase == phaseAnswered {
			script = modemtest.Script{Outcome: modemtest.Answer}
		}
		if err := b.Script(num, script); err != nil {
			return "", lost, err
		}
		seq, err := dialSlot(ctx, b, cardid.ID(in.Card), '1')
		if err != nil {
			return "", lost, fmt.Errorf("call %d: %w", i+1, err)
		}
		m := made{inmate: in.Person, phase: phase}
		wctx, cancel := context.WithTimeout(ctx, hang)
		want := session.ActivityRinging
		if phase == phaseAnswered {
			want = session.ActivityTalking
		}
		a, err := b.WaitActivity(wctx, seq, func(a boothrig.Activity) bool { return a.Kind == want || a.Kind == session.ActivityEnded })
		cancel()
		if err != nil {
			return "", lost, fmt.Errorf("call %d: never %s: %w", i+1, want, err)
		}
		if a.Kind != want {
			return "", lost, fmt.Errorf("call %d: ended (%s, %s) before it was %s; see %s/kiosk.log", i+1, a.End, a.Outcome, want, b.Dir)
		}
		// The drill's input: how long into the phase the power goes.
		// Up to 2.6 s: some kills before the first checkpoint (1 s) after
		// the answer, some after it.
		wait := 100*time.Millisecond + time.Duration(rnd.Int64N(int64(2500*time.Millisecond)))
		time.Sleep(wait)
		if phase == phaseAnswered {
			// The daemon dies after this instant: it talked at most this long.
			m.measured, m.answered = time.Since(a.At), a.At
		}
		before := len(b.Commands())
		polls := countPrefix(b.Commands(), "AT+COPS?")
		if err := b.Kill(ctx); err != nil {
			return "", lost, fmt.Errorf("call %d: %w", i+1, err)
		}
		if on, err := b.Relay(); err != nil || on {
			relayOn++
			lost = append(lost, fmt.Sprintf("call %d (%s): relay on after the kill and safe-off (%v)", i+1, phase, err))
		}
		if err := b.Hang(); err != nil {
			return "", lost, err
		}
		if err := restart(ctx, b); err != nil {
			return "", lost, fmt.Errorf("call %d: %w", i+1, err)
		}
		if on, err := b.Relay(); err != nil || on {
			relayOn++
			lost = append(lost, fmt.Sprintf("call %d (%s): relay on after the restart (%v)", i+1, phase, err))
		}
		// The restarted daemon's initialisation has reached the module
		// (its health poll ends it): what it sent before is all there.
		if err := b.Modem().WaitCommand("AT+COPS?", polls+1, hang); err != nil {
			return "", lost, fmt.Errorf("call %d: the restarted daemon never initialised its modem: %w", i+1, err)
		}
		calls = append(calls, m)
		if l := hungUpFirst(b.Commands()[before:]); l != "" {
			// The module still holds the call: the next dial would be
			// refused. What was made so far is checked below.
			lost = append(lost, fmt.Sprintf("call %d (%s): after the restart %s", i+1, phase, l))
			break
		}
		hungFirst++
	}

	g, err := openGatewayDB(r)
	if err != nil {
		return "", lost, err
	}
	defer g.Close()
	recs, more, err := callsAtGateway(ctx, g, r, b.Device, len(calls))
	if err != nil {
		return "", lost, err
	}
	lost = append(lost, more...)
	ids := map[int64]int{}
	for _, cr := range recs {
		ids[cr.CallID]++
	}
	dups := 0
	for id, k := range ids {
		if k > 1 {
			dups++
			lost = append(lost, fmt.Sprintf("call id %d recorded %d times at the gateway", id, k))
		}
	}
	if len(recs) != len(calls) {
		lost = append(lost, fmt.Sprintf("%d calls made, %d call records at the gateway", len(calls), len(recs)))
	}
	unbilled, billed, answerKept := 0, 0, 0
	for k := 0; k < min(len(recs), len(calls)); k++ {
		m, cr := calls[k], recs[k]
		what := fmt.Sprintf("call %d (%s, %s, call id %d)", k+1, m.phase, cr.Inmate, cr.CallID)
		switch {
		case cr.Inmate != m.inmate:
			lost = append(lost, fmt.Sprintf("%s: the gateway's record %d is %s's", what, k+1, cr.Inmate))
		case cr.EndReason != record.EndPowerLoss:
			lost = append(lost, fmt.Sprintf("%s: ended %s, want power_loss (closed at the restart)", what, cr.EndReason))
		case cr.NumberID == 0 || cr.Slot != 1:
			lost = append(lost, fmt.Sprintf("%s: number %d slot %d, want the registered number of slot 1", what, cr.NumberID, cr.Slot))
		case m.phase == phaseDialling && (cr.ChargedMs != 0 || cr.TalkedMs != 0 || !cr.AnsweredAt.IsZero()):
			lost = append(lost, fmt.Sprintf("%s: a call killed while it rang: talked %d ms, charged %d ms, answered %v; want nothing", what, cr.TalkedMs, cr.ChargedMs, cr.AnsweredAt))
		case m.phase == phaseDialling:
			unbilled++
		case cr.TalkedMs > 0 && cr.Outcome != record.OutcomeAnswered,
			cr.TalkedMs == 0 && cr.Outcome != record.OutcomeAnswered && cr.Outcome != record.OutcomeCancelled:
			lost = append(lost, fmt.Sprintf("%s: outcome %q for %d ms talked: want answered (cancelled only when nothing was checkpointed)", what, cr.Outcome, cr.TalkedMs))
		case !cr.AnsweredAt.IsZero() && absDur(cr.AnsweredAt.Sub(m.answered)) > time.Second:
			lost = append(lost, fmt.Sprintf("%s: answered at %v at the gateway, at %v by the booth's activity", what, cr.AnsweredAt, m.answered))
		case cr.AnsweredAt.IsZero() && requireAnsweredAt:
			lost = append(lost, fmt.Sprintf("%s: the answer's instant is lost (talked %d ms, outcome %s)", what, cr.TalkedMs, cr.Outcome))
		default:
			if !cr.AnsweredAt.IsZero() {
				answerKept++
			}
			bl := billingCheck(what, cr, m.measured, checkpoint)
			lost = append(lost, bl...)
			if len(bl) == 0 {
				billed++
			}
		}
	}
	sum := fmt.Sprintf("%d dialled calls killed (seed %d; while ringing %d, while talking %d), %d restarts; relay on after a kill or restart %d; hung up before any dial at the restart %d/%d; records at gateway %d/%d, duplicates %d; ringing charged 0: %d/%d, talking billed from the answer to within one checkpoint (%v): %d/%d, the answer's instant kept %d/%d",
		len(calls), c.Seed, perPhase[phaseDialling], perPhase[phaseAnswered], len(calls), relayOn, hungFirst, len(calls),
		len(recs), len(calls), dups, unbilled, perPhase[phaseDialling], checkpoint, billed, perPhase[phaseAnswered], answerKept, perPhase[phaseAnswered])
	return sum, lost, nil
}

// dialSlot taps card on a booth with a modem, waits for the choice, keys
// slot and #, and lifts the handset; it returns the activity seq before
// the tap.
func dialSlot(ctx context.Context, b *boothrig.Booth, card cardid.ID, slot rune) (uint64, error) {
	wctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	before, err := b.WaitStatus(wctx, func(s boothrig.Status) bool { return s.Session.State == "ready" })
	if err != nil {
		return 0, err
	}
	if err := b.Tap(card); err != nil {
		return 0, err
	}
	a, err := b.WaitActivity(wctx, before.LastSeq(), func(a boothrig.Activity) bool {
		return a.Kind == session.ActivityChoosing || a.Kind == session.ActivityDenied
	})
	if err != nil {
		return 0, fmt.Errorf("tap of %s: %w", card, err)
	}
	if a.Kind == session.ActivityDenied {
		return 0, fmt.Errorf("tap of %s denied: %s; see %s/kiosk.log", card, a.Denial, b.Dir)
	}
	for _, k := range []rune{slot, '#'} {
		if err := b.Key(k); err != nil {
			return 0, err
		}
	}
	return before.LastSeq(), b.Lift()
}

// restart starts the daemon again and waits until it is ready with its
// clock trusted (until then it refuses calls).
func restart(ctx context.Context, b *boothrig.Booth) error {
	sctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	if err := b.Start(sctx); err != nil {
		return err
	}
	_, err := b.WaitStatus(sctx, func(s boothrig.Status) bool { return s.Session.State == "ready" && s.Session.ClockTrusted })
	return err
}

// hungUpFirst checks the commands a restarted daemon sent its module: a
// hang-up (ATH or AT+CHUP) before any dial. It returns what is wrong, or "".
func hungUpFirst(cmds []string) string {
	for _, c := range cmds {
		switch {
		case c == "ATH" || c == "AT+CHUP":
			return ""
		case strings.HasPrefix(c, "ATD"):
			return fmt.Sprintf("the module was told to dial (%s) before any hang-up: %q", c, cmds)
		}
	}
	return fmt.Sprintf("the module was never told to hang up: %q", cmds)
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }
