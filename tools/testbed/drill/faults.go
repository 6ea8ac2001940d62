package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/testbed/boothrig"
)

// readerUnplug pulls the reader's cable in the middle of calls: each call
// goes on to its hang-up and is billed its talk time. The booth follows a
// reader by its /dev path and a replugged emulator gets a new pty, so after
// each call the drill replugs, points the configuration at the new pty and
// restarts the daemon (SIGTERM), as a technician would.
func readerUnplug(ctx context.Context, c *Config) (string, []string, error) {
	times := 8
	if c.Short {
		times = 2
	}
	cards, inmates := drillRoster(4)
	r, err := startRig(ctx, c, "reader-unplug", 1, cards, nil)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	b := r.Booths[0]
	g, err := openGatewayDB(r)
	if err != nil {
		return "", nil, err
	}
	defer g.Close()
	rnd := rng(c, 4)
	var lost []string
	var measured []time.Duration
	relayHeld := 0
	for i := range times {
		if err := tapGranted(ctx, b, cardid.ID(inmates[i%len(inmates)].Card)); err != nil {
			return "", nil, err
		}
		if err := b.Lift(); err != nil {
			return "", nil, err
		}
		t0 := time.Now()
		time.Sleep(200*time.Millisecond + time.Duration(rnd.Int64N(int64(time.Second))))
		if err := b.Emulator().Unplug(); err != nil {
			return "", nil, err
		}
		time.Sleep(500*time.Millisecond + time.Duration(rnd.Int64N(int64(time.Second))))
		// The call must still be on: the relay closed, the session talking.
		s, err := b.Status(ctx)
		if err != nil {
			return "", nil, err
		}
		if on, err := b.Relay(); err == nil && on && s.Session.State == "talking" {
			relayHeld++
		} else {
			lost = append(lost, fmt.Sprintf("call %d: ended by the unplug (relay %v, status %s)", i+1, on, s.Raw))
		}
		if err := b.Hang(); err != nil {
			return "", nil, err
		}
		measured = append(measured, time.Since(t0))
		wctx, cancel := context.WithTimeout(ctx, hang)
		err = b.WaitRelay(wctx, false)
		cancel()
		if err != nil {
			return "", nil, err
		}
		if err := replug(ctx, b); err != nil {
			return "", nil, err
		}
	}
	calls, callsLost, err := callsAtGateway(ctx, g, r, b.Device, times)
	if err != nil {
		return "", nil, err
	}
	lost = append(lost, callsLost...)
	misbilled := 0
	for i := 0; i < min(len(calls), times); i++ {
		if bl := billingCheck(fmt.Sprintf("call %d (%s)", i+1, calls[i].EndReason), calls[i], measured[i], 0); len(bl) > 0 {
			misbilled++
			lost = append(lost, bl...)
		}
	}
	sum := fmt.Sprintf("%d calls with the reader unplugged mid-call, relay held to the hang-up %d/%d; records at gateway %d/%d, billed other than the talk time %d",
		times, relayHeld, times, len(calls), times, misbilled)
	return sum, lost, nil
}

// replug plugs the emulated reader back, points the booth at its new pty
// and restarts the daemon.
func replug(ctx context.Context, b *boothrig.Booth) error {
	if err := b.Stop(); err != nil {
		return err
	}
	if err := b.Emulator().Replug(); err != nil {
		return err
	}
	doc, err := os.ReadFile(b.Config)
	if err != nil {
		return err
	}
	d, err := setKeys(string(doc), "reader", "path", fmt.Sprintf("%q", b.Emulator().PtyPath()))
	if err != nil {
		return err
	}
	if err := os.WriteFile(b.Config, []byte(d), 0o644); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	if err := b.Start(wctx); err != nil {
		return err
	}
	_, err = b.WaitStatus(wctx, func(s boothrig.Status) bool { return s.Session.State == "ready" && s.Session.ClockTrusted })
	return err
}

// gatewayRestart queues a backlog larger than one upload batch while the
// gateway is down, brings the gateway back and restarts it (SIGTERM, then
// serve again on the same address) each time part of the backlog has
// arrived, until all of it has: every record once, chain unbroken.
func gatewayRestart(ctx context.Context, c *Config) (string, []string, error) {
	backlog := 1000
	if c.Short {
		backlog = 450 // more than two batches of 200
	}
	cards, inmates := drillRoster(4)
	r, err := startRig(ctx, c, "gateway-restart", 1, cards, nil)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	b := r.Booths[0]
	if err := r.Gateway.Stop(); err != nil {
		return "", nil, err
	}
	made, err := queue(ctx, b, 0, backlog, inmates)
	if err != nil {
		return "", nil, err
	}
	if err := r.Gateway.Start(ctx, r.Gateway.Addr, c.Log); err != nil {
		return "", nil, err
	}
	g, err := openGatewayDB(r)
	if err != nil {
		return "", nil, err
	}
	defer g.Close()
	// Restart whenever part of the backlog has arrived but not all of it.
	restarts, last := 0, 0
	var at []int
	wctx, cancel := context.WithTimeout(ctx, drainHang)
	defer cancel()
	for {
		got, err := g.count(wctx, b.Device, record.KindDenial)
		if err != nil {
			return "", nil, err
		}
		calls, err := g.count(wctx, b.Device, record.KindCall)
		if err != nil {
			return "", nil, err
		}
		if got+calls >= len(made) {
			break
		}
		if got+calls > last && restarts < 5 {
			if err := r.Gateway.Stop(); err != nil {
				return "", nil, err
			}
			if err := r.Gateway.Start(wctx, r.Gateway.Addr, c.Log); err != nil {
				return "", nil, err
			}
			restarts++
			at = append(at, got+calls)
			last = got + calls
			continue
		}
		select {
		case <-wctx.Done():
			return "", nil, fmt.Errorf("%d of %d records at the gateway: %w", got+calls, len(made), wctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	var lost []string
	if restarts == 0 {
		lost = append(lost, "the backlog arrived before any restart: the drill did not restart the gateway mid-upload")
	}
	recs, chainLost, err := chainCheck(ctx, g, r, b.Device)
	if err != nil {
		return "", nil, err
	}
	lost = append(lost, chainLost...)
	got, err := tapsOf(recs)
	if err != nil {
		return "", nil, err
	}
	wrong := 0
	for k := 0; k < min(len(got), len(made)); k++ {
		if got[k] != made[k] {
			wrong++
		}
	}
	if wrong > 0 || len(got) != len(made) {
		lost = append(lost, fmt.Sprintf("%d taps made, %d records at the gateway, %d out of order", len(made), len(got), wrong))
	}
	conflicts, err := g.conflicts(ctx)
	if err != nil {
		return "", nil, err
	}
	if conflicts > 0 {
		lost = append(lost, fmt.Sprintf("%d conflicts", conflicts))
	}
	sum := fmt.Sprintf("backlog of %d records, gateway restarted %d times mid-upload (with %v of them in); at gateway %d/%d, out of order %d, conflicts %d, chain errors %d",
		len(made), restarts, at, len(got), len(made), wrong, conflicts, countPrefix(chainLost, "chain error"))
	return sum, lost, nil
}

// clockJump jumps the booth's wall clock, as the gateway's heartbeat
// corrects it, by +1 h (and, in the full form, back by 1 h) in the middle
// of a call, by restarting the gateway with -clock-skew. The call's
// billing must not change: it is timed on the monotonic clock.
func clockJump(ctx context.Context, c *Config) (string, []string, error) {
	skews := []time.Duration{time.Hour, 0}
	if c.Short {
		skews = skews[:1]
	}
	cards, inmates := drillRoster(4)
	// The second call starts with the clock untrusted (1 h off): cap-only
	// lets it, under the per-call cap, instead of refusing it.
	configure := func(b *boothrig.Booth, doc string) (string, error) {
		return setKeys(doc, "policy", "untrusted", `"cap-only"`)
	}
	r, err := startRig(ctx, c, "clock-jump", 1, cards, configure)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	b := r.Booths[0]
	var lost []string
	var measured []time.Duration
	var offsets []string
	prev := time.Duration(0)
	for i, skew := range skews {
		if err := tapGranted(ctx, b, cardid.ID(inmates[i].Card)); err != nil {
			return "", nil, err
		}
		if err := b.Lift(); err != nil {
			return "", nil, err
		}
		t0 := time.Now()
		if err := r.Gateway.Stop(); err != nil {
			return "", nil, err
		}
		if err := r.Gateway.Start(ctx, r.Gateway.Addr, c.Log, "-clock-skew", skew.String()); err != nil {
			return "", nil, err
		}
		// The booth hears the new time at its next heartbeat (one a
		// minute): its offset is gateway minus booth (docs/uplink.md).
		want := skew
		wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		s, err := b.WaitStatus(wctx, func(s boothrig.Status) bool {
			raw, err := parseRaw(s)
			return err == nil && raw.Gateway.ClockKnown && math.Abs(float64(time.Duration(raw.Gateway.ClockOffsetMs)*time.Millisecond-want)) < float64(5*time.Second)
		})
		cancel()
		if err != nil {
			return "", nil, fmt.Errorf("the booth never reported the %+v offset: %w", want, err)
		}
		raw, _ := parseRaw(s)
		offsets = append(offsets, fmt.Sprintf("%v→%v", prev, (time.Duration(raw.Gateway.ClockOffsetMs)*time.Millisecond).Round(time.Second)))
		if s.Session.State != "talking" {
			lost = append(lost, fmt.Sprintf("jump %d: the call did not survive the jump: %s", i+1, s.Raw))
		}
		// The uplink shows the offset a moment before the engine hears of
		// the trust it implies.
		wctx, cancel = context.WithTimeout(ctx, hang)
		s2, err := b.WaitStatus(wctx, func(s boothrig.Status) bool { return s.Session.ClockTrusted == (skew == 0) })
		cancel()
		if err != nil {
			lost = append(lost, fmt.Sprintf("jump %d: clock_trusted %v with the gateway %v away: %v", i+1, s2.Session.ClockTrusted, skew, err))
		}
		time.Sleep(300 * time.Millisecond)
		if err := b.Hang(); err != nil {
			return "", nil, err
		}
		measured = append(measured, time.Since(t0))
		wctx, cancel = context.WithTimeout(ctx, hang)
		err = b.WaitRelay(wctx, false)
		cancel()
		if err != nil {
			return "", nil, err
		}
		prev = skew
	}
	g, err := openGatewayDB(r)
	if err != nil {
		return "", nil, err
	}
	defer g.Close()
	calls, callsLost, err := callsAtGateway(ctx, g, r, b.Device, len(skews))
	if err != nil {
		return "", nil, err
	}
	lost = append(lost, callsLost...)
	misbilled := 0
	var billed []string
	for i := 0; i < min(len(calls), len(skews)); i++ {
		billed = append(billed, fmt.Sprintf("%v talked, %v charged", measured[i].Round(100*time.Millisecond), time.Duration(calls[i].ChargedMs)*time.Millisecond))
		if bl := billingCheck(fmt.Sprintf("call %d", i+1), calls[i], measured[i], 0); len(bl) > 0 {
			misbilled++
			lost = append(lost, bl...)
		}
	}
	sum := fmt.Sprintf("%d calls with the wall clock jumped mid-call (booth offset from the gateway %v), %v; records at gateway %d/%d, billed other than the talk time %d",
		len(skews), offsets, billed, len(calls), len(skews), misbilled)
	return sum, lost, nil
}
