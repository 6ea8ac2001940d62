package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/testbed/boothrig"
)

// diskFull puts a booth's store on a 4 MiB tmpfs, queues records while
// the gateway is away, fills the file system, and checks that new calls
// are refused as out of service with the relay off, that nothing recorded
// is lost, and that the booth recovers once space returns.
func diskFull(ctx context.Context, c *Config) (string, []string, error) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			return "", nil, errors.New("needs root to mount a tmpfs, and CI is set: run the drills as root on CI")
		}
		return "needs root to mount a tmpfs", nil, errSkip
	}
	mnt := filepath.Join(c.Dir, "disk-full", "store")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return "", nil, err
	}
	if out, err := exec.CommandContext(ctx, "mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("mount a 4 MiB tmpfs on %s: %w: %s", mnt, err, out)
	}
	defer func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "drill: disk-full: umount %s: %v: %s (unmount it by hand)\n", mnt, err, out)
		}
	}()
	configure := func(b *boothrig.Booth, doc string) (string, error) {
		// A short probe so recovery shows within the drill.
		return setKeys(doc, "store", "path", fmt.Sprintf("%q", filepath.Join(mnt, "booth.db")), "session", "store_retry", `"500ms"`)
	}
	cards, inmates := drillRoster(4)
	r, err := startRig(ctx, c, "disk-full", 1, cards, configure)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	b := r.Booths[0]
	card := func(i int) cardid.ID { return cardid.ID(inmates[i%len(inmates)].Card) }

	// Records kept only on the booth: the gateway is away.
	if err := r.Gateway.Stop(); err != nil {
		return "", nil, err
	}
	calls, denials := 0, 0
	for i := range 3 {
		if _, err := call(ctx, b, card(i), 300*time.Millisecond); err != nil {
			return "", nil, fmt.Errorf("call before the fill: %w", err)
		}
		calls++
		if err := tapDenied(ctx, b, unknownCard(i)); err != nil {
			return "", nil, fmt.Errorf("denial before the fill: %w", err)
		}
		denials++
	}
	before := calls + denials

	filler := filepath.Join(mnt, "filler")
	size, err := fill(filler)
	if err != nil {
		return "", nil, err
	}
	var lost []string
	// New calls until one is refused: SQLite may still fit a call in pages
	// its files already hold.
	fitted, refused := 0, 0
	for i := 0; refused == 0 && i < 5; i++ {
		ok, err := tryCall(ctx, b, card(i))
		if err != nil {
			return "", nil, fmt.Errorf("tap on a full disk: %w", err)
		}
		if ok {
			fitted++
			continue
		}
		refused++
	}
	if refused == 0 {
		lost = append(lost, fmt.Sprintf("%d calls granted on a full disk, none refused", fitted))
	}
	calls += fitted
	// Out of service now: another tap is refused too, relay off.
	s, err := b.Status(ctx)
	if err != nil {
		return "", nil, err
	}
	oos := fmt.Sprint(s.Session.OutOfService)
	if len(s.Session.OutOfService) == 0 && s.Session.State != "out_of_service" {
		lost = append(lost, fmt.Sprintf("after the refusal the booth is not out of service: %s", s.Raw))
	}
	if ok, err := tryCall(ctx, b, card(1)); err != nil {
		return "", nil, err
	} else if ok {
		lost = append(lost, "a second call granted while out of service")
	} else {
		refused++
	}

	// Space returns: the booth recovers by itself.
	if err := os.Remove(filler); err != nil {
		return "", nil, err
	}
	freed := time.Now()
	wctx, cancel := context.WithTimeout(ctx, hang)
	_, err = b.WaitStatus(wctx, func(s boothrig.Status) bool { return s.Session.State == "ready" && len(s.Session.OutOfService) == 0 })
	cancel()
	if err != nil {
		return "", nil, fmt.Errorf("no recovery after the filler was removed: %w", err)
	}
	recovered := time.Since(freed)
	if _, err := call(ctx, b, card(2), 500*time.Millisecond); err != nil {
		lost = append(lost, fmt.Sprintf("no call after the recovery: %v", err))
	} else {
		calls++
	}

	if err := r.Gateway.Start(ctx, r.Gateway.Addr, c.Log); err != nil {
		return "", nil, err
	}
	g, err := openGatewayDB(r)
	if err != nil {
		return "", nil, err
	}
	defer g.Close()
	if err := g.waitCount(ctx, b.Device, record.KindDenial, denials, drainHang); err != nil {
		lost = append(lost, err.Error())
	}
	gotCalls, callsLost, err := callsAtGateway(ctx, g, r, b.Device, calls)
	if err != nil {
		return "", nil, err
	}
	lost = append(lost, callsLost...)
	if len(gotCalls) != calls {
		lost = append(lost, fmt.Sprintf("%d calls made, %d call records at the gateway", calls, len(gotCalls)))
	}
	sum := fmt.Sprintf("store on a 4 MiB tmpfs, %d records queued offline, then a %d KiB filler: %d calls still fitted, %d refused as out of service %s with the relay off; after the filler was removed the booth was ready in %v and a new call went through; calls at gateway %d/%d, chain errors %d",
		before, size>>10, fitted, refused, oos, recovered.Round(100*time.Millisecond), len(gotCalls), calls, countPrefix(callsLost, "chain error"))
	return sum, lost, nil
}

// fill writes path until the file system is full and returns its size.
func fill(path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("filler %s: %w", path, err)
	}
	defer f.Close()
	buf := make([]byte, 16<<10)
	var n int64
	for {
		k, err := f.Write(buf)
		n += int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("filler %s: %w", path, err)
		}
	}
}

// tryCall taps card on a booth that may refuse: a grant is made into a
// short call (true); a denial or out of service leaves the relay off
// (false). A relay that closes without a grant is an error.
func tryCall(ctx context.Context, b *boothrig.Booth, card cardid.ID) (bool, error) {
	wctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	before, err := b.Status(wctx)
	if err != nil {
		return false, err
	}
	if err := b.Tap(card); err != nil {
		return false, err
	}
	s, err := b.WaitStatus(wctx, func(s boothrig.Status) bool {
		return s.Session.Denials > before.Session.Denials || s.Session.State == "granted" ||
			len(s.Session.OutOfService) > 0 || s.Session.State == "out_of_service"
	})
	if err != nil {
		return false, err
	}
	if s.Session.State == "granted" {
		if err := b.Lift(); err != nil {
			return false, err
		}
		if err := b.WaitRelay(wctx, true); err != nil {
			return false, err
		}
		time.Sleep(300 * time.Millisecond)
		if err := b.Hang(); err != nil {
			return false, err
		}
		if err := b.WaitRelay(wctx, false); err != nil {
			return false, err
		}
		_, err := b.WaitStatus(wctx, func(s boothrig.Status) bool { return s.Session.State != "talking" && s.Session.State != "granted" })
		return true, err
	}
	if on, err := b.Relay(); err != nil || on {
		return false, fmt.Errorf("relay on after a refused tap (%v): status %s", err, s.Raw)
	}
	return false, nil
}
