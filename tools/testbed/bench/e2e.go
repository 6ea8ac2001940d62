package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/tools/testbed/boothrig"
)

var (
	e2eTaps  = flag.Int("e2e-taps", 200, "taps per run of the tap → relay suite")
	e2eCalls = flag.Int("e2e-calls", 60, "capped calls per booth of the cut-off suite (2 booths at once)")
	e2eLog   = flag.Bool("e2e-log", false, "copy the daemons' logs of the end-to-end suites to stderr")
)

func init() {
	register("e2e-tap", benchE2ETap)
	registerSlow("e2e-cutoff", 1, benchE2ECutoff)
	register("e2e-memory", benchE2EMemory)
}

// e2eCap is the per-call cap of the end-to-end booths: short, so the
// cut-off suite sees many cut-offs (a timer's precision does not depend
// on its length).
const e2eCap = time.Second

// e2eBooths run at once in the cut-off suite; the other suites use the
// first (taps) and the last (memory). Two, not more: on a 2-core machine
// more daemons at once would measure the scheduler, where a real booth
// has its Pi to itself.
const e2eBooths = 2

// e2eCardsPerBooth: taps rotate through these so every tap is a new card
// (the reader reports a card again only after it was away for its
// silence, 500 ms).
const e2eCardsPerBooth = 8

// e2eCard is the i-th card of booth b (0-based).
func e2eCard(b, i int) cardid.ID {
	return cardid.ID(fmt.Sprintf("em:05%04X%04X", b, i))
}

// e2e is the rig the end-to-end suites share: started at their first use,
// stopped after the last of them (atGroupEnd), its folder removed when the
// bench ends.
var e2e struct {
	once sync.Once
	rig  *boothrig.Rig
	err  error
}

// e2eRig builds the real wartel-kiosk and wartel-gateway and starts the
// gateway and e2eBooths daemons with a roster of their own: one
// facility, many inmates with a large allowance, calls capped at e2eCap.
func e2eRig() (*boothrig.Rig, error) {
	e2e.once.Do(func() {
		dir, err := os.MkdirTemp(*storeDirOrTemp(), "bench-e2e-")
		if err != nil {
			e2e.err = err
			return
		}
		atExit(func() { os.RemoveAll(dir) })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		kiosk, gateway, err := boothrig.Build(ctx, dir)
		if err != nil {
			e2e.err = err
			return
		}
		var roster []record.CardInfo
		for b := range e2eBooths {
			for i := range e2eCardsPerBooth {
				roster = append(roster, record.CardInfo{Card: string(e2eCard(b, i)), Role: record.RoleInmate,
					Person: fmt.Sprintf("WBP-%d-%d", b, i), Name: "bench", Block: "A"})
			}
		}
		o := boothrig.Options{
			Dir: dir, Booths: e2eBooths, KioskBin: kiosk, GatewayBin: gateway, Roster: roster,
			Rules: boothrig.Rules{Allowance: 20 * time.Hour, PerCall: e2eCap, Checkpoint: 5 * time.Second},
		}
		if *e2eLog {
			o.Log = os.Stderr
		}
		rig, err := boothrig.Start(ctx, o)
		if err != nil {
			e2e.err = err
			return
		}
		e2e.rig = rig
		atGroupEnd("e2e", func() {
			if err := rig.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "bench: stopping the e2e booths: %v\n", err)
			}
		})
	})
	return e2e.rig, e2e.err
}

// relayEdge is a change of the relay pin's file, stamped when inotify
// reported it.
type relayEdge struct {
	at time.Time
	on bool
}

// relayWatch reports the relay file's changes in a booth's simulated GPIO
// folder. The sim backend replaces a pin's file by rename, so IN_MOVED_TO
// on the folder is the instant the pin changed.
type relayWatch struct {
	f     *os.File
	edges chan relayEdge
	done  chan struct{}
}

func watchRelay(dir string) (*relayWatch, error) {
	// Non-blocking, so the runtime's poller waits on it and Close ends
	// the reading goroutine.
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	w := &relayWatch{f: os.NewFile(uintptr(fd), "inotify:"+dir), edges: make(chan relayEdge, 64), done: make(chan struct{})}
	relay := filepath.Join(dir, "relay")
	last, _ := os.ReadFile(relay)
	go func() {
		defer close(w.done)
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := w.f.Read(buf)
			if err != nil {
				return
			}
			if !inotifyNames(buf[:n], "relay") {
				continue
			}
			v, err := os.ReadFile(relay)
			// Stamped once the file is read, not when the event came: an
			// event of an earlier rewrite can be read late, after the next
			// change is already in the file, and its time would come
			// before that change. The read costs microseconds.
			at := time.Now()
			if err != nil || bytes.Equal(v, last) {
				continue
			}
			last = v
			select {
			case w.edges <- relayEdge{at: at, on: strings.TrimSpace(string(v)) == "1"}:
			default: // nobody waits: the measurement loop drains before it acts
			}
		}
	}()
	return w, nil
}

// inotifyNames reports whether the inotify events in buf name the file.
func inotifyNames(buf []byte, name string) bool {
	for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		end := off + unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			return false
		}
		got := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:end], "\x00"))
		if got == name {
			return true
		}
		off = end
	}
	return false
}

// drain forgets edges seen so far.
func (w *relayWatch) drain() {
	for {
		select {
		case <-w.edges:
		default:
			return
		}
	}
}

// wait returns the next edge to on; timeout only bounds a hang.
func (w *relayWatch) wait(on bool, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		select {
		case e := <-w.edges:
			if e.on == on {
				return e.at, nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("relay did not turn %s within %v", onOff(on), timeout)
		}
	}
}

func (w *relayWatch) Close() {
	w.f.Close()
	<-w.done
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// e2eTimeout bounds each wait of the end-to-end suites: only a hang hits it.
const e2eTimeout = 10 * time.Second

func waitState(b *boothrig.Booth, state string) error {
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	_, err := b.WaitStatus(ctx, func(s boothrig.Status) bool { return s.Session.State == state })
	return err
}

// waitOffHook waits until the booth has read the handset lifted (the hook
// debounce and the sim backend's poll), so a tap after it finds it lifted.
func waitOffHook(b *boothrig.Booth) error {
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	_, err := b.WaitStatus(ctx, func(s boothrig.Status) bool { return s.Session.OffHook && s.Session.State == "ready" })
	return err
}

// benchE2ETap measures tap → relay on through the real daemon, the
// handset already lifted (the relay closes with the talk time, so on the
// hook a tap closes nothing): from the return of the write that puts a
// tap's confirming frame on the pty to the relay pin's file changing. In
// between: the serial driver, the frame parser and its confirmation, the
// session engine, authorise at the gateway over loopback mutual TLS, the
// journal's fsync, and the GPIO driver. Each call is then ended at once
// (hang up).
func benchE2ETap(r *Report) error {
	rig, err := e2eRig()
	if err != nil {
		return err
	}
	b := rig.Booths[0]
	w, err := watchRelay(b.SimDir)
	if err != nil {
		return err
	}
	defer w.Close()
	emu := b.Emulator()
	lat := make([]time.Duration, 0, *e2eTaps)
	for i := range *e2eTaps {
		card := e2eCard(0, i%e2eCardsPerBooth)
		frame, err := emu.Frame(card)
		if err != nil {
			return err
		}
		if err := b.Lift(); err != nil {
			return err
		}
		if err := waitOffHook(b); err != nil {
			return fmt.Errorf("tap %d: %w", i, err)
		}
		w.drain()
		// Two frames confirm a tap (reader.confirm_frames); the second
		// one's last byte is the instant the tap is known on the line.
		if err := emu.Write(append(frame, frame...)); err != nil {
			return err
		}
		t0 := time.Now()
		on, err := w.wait(true, e2eTimeout)
		if err != nil {
			return fmt.Errorf("tap %d (%s): %w; see %s", i, card, err, filepath.Join(b.Dir, "kiosk.log"))
		}
		lat = append(lat, on.Sub(t0))
		if err := waitState(b, "talking"); err != nil {
			return fmt.Errorf("tap %d: %w", i, err)
		}
		if err := b.Hang(); err != nil {
			return err
		}
		if _, err := w.wait(false, e2eTimeout); err != nil {
			return fmt.Errorf("tap %d, hang up: %w", i, err)
		}
		if err := waitState(b, "ready"); err != nil {
			return fmt.Errorf("tap %d: %w", i, err)
		}
	}
	note := fmt.Sprintf("%d taps through the real wartel-kiosk run (pty, rdm6300, authorise at the real gateway over loopback mTLS, journal fsync, sim GPIO), the handset lifted before each; "+
		"from the return of the write of the confirming frame to inotify on the relay file", len(lat))
	for _, q := range []float64{0.50, 0.99} {
		r.Add(Figure{Name: fmt.Sprintf("tap → relay on p%.0f", q*100), Value: Ms(Percentile(lat, q)), Unit: "ms",
			Limit: Ms(rfidWireTime), LimitNote: "one frame on the wire, 14 B at 9600 baud", Note: note})
	}
	return nil
}

// benchE2ECutoff measures cut-off precision through the real daemon: on
// e2eBooths booths at once, calls capped at e2eCap are granted and lifted
// and left to run into the cap. The expected end is the talk start as the
// daemon logs it (its "talking" line, millisecond resolution) plus the
// cap; the error is the relay file's change minus that. A second figure
// starts from the write of the hook file instead: it adds the sim
// backend's input poll (20 ms) and the hook debounce (30 ms), which the
// daemon rightly does not count as talk time.
func benchE2ECutoff(r *Report) error {
	rig, err := e2eRig()
	if err != nil {
		return err
	}
	var (
		mu        sync.Mutex
		precision []time.Duration
		fromHook  []time.Duration
		wg        sync.WaitGroup
		errs      = make([]error, len(rig.Booths))
	)
	for bi, b := range rig.Booths {
		wg.Go(func() {
			errs[bi] = func() error {
				w, err := watchRelay(b.SimDir)
				if err != nil {
					return err
				}
				defer w.Close()
				for i := range *e2eCalls {
					w.drain()
					if err := b.Tap(e2eCard(bi, i%e2eCardsPerBooth)); err != nil {
						return err
					}
					if err := waitState(b, "granted"); err != nil {
						return fmt.Errorf("%s call %d: %w", b.Name, i, err)
					}
					before, err := b.Status(context.Background())
					if err != nil {
						return err
					}
					lifted := time.Now()
					if err := b.Lift(); err != nil {
						return err
					}
					off, err := w.wait(false, e2eCap+e2eTimeout)
					if err != nil {
						return fmt.Errorf("%s call %d: no cut-off: %w", b.Name, i, err)
					}
					if err := b.Hang(); err != nil {
						return err
					}
					if err := waitState(b, "ready"); err != nil {
						return fmt.Errorf("%s call %d: %w", b.Name, i, err)
					}
					talk, err := talkStart(b, before.LastSeq())
					if err != nil {
						return fmt.Errorf("%s call %d: %w", b.Name, i, err)
					}
					mu.Lock()
					precision = append(precision, absDur(off.Sub(talk.Add(e2eCap))))
					fromHook = append(fromHook, off.Sub(lifted.Add(e2eCap)))
					mu.Unlock()
					// The hang-up must pass the debounce before the
					// next grant, or that call would start lifted.
					time.Sleep(150 * time.Millisecond)
				}
				return nil
			}()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	note := fmt.Sprintf("%d calls capped at %v, %d booths at once, real wartel-kiosk run; one run (it takes %d × (%v + ~0.4 s)); p99 of the sample",
		len(precision), e2eCap, len(rig.Booths), *e2eCalls, e2eCap)
	for _, q := range []float64{0.50, 0.99} {
		r.Add(Figure{Name: fmt.Sprintf("cut-off |relay off − (talk start + cap)| p%.0f", q*100), Value: Ms(Percentile(precision, q)), Unit: "ms",
			Limit: Ms(relayOperate), LimitNote: "relay operate time", Note: note + "; talk start from the daemon's talking activity on its status socket"})
	}
	r.Add(Figure{Name: "cut-off from hook write: relay off − (lift + cap) p99", Value: Ms(Percentile(fromHook, 0.99)), Unit: "ms",
		Limit: Ms(hookInputDelay), LimitNote: "hook debounce 30 ms + sim input poll 20 ms",
		Note: note + "; the time before talk starts is not billed"})
	return nil
}

// talkStart is the instant the daemon says talk started: its talking
// activity (on the status socket) after seq.
func talkStart(b *boothrig.Booth, seq uint64) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	a, err := b.WaitActivity(ctx, seq, func(a boothrig.Activity) bool { return a.Kind == session.ActivityTalking })
	if err != nil {
		return time.Time{}, fmt.Errorf("no talking activity after seq %d: %w", seq, err)
	}
	return a.At, nil
}

// hookInputDelay is the longest a hook change takes to be believed on the
// rig: the sim backend reads input files every 20 ms and the example
// configuration debounces the hook for 30 ms.
const hookInputDelay = 50 * time.Millisecond

func absDur(d time.Duration) time.Duration { return max(d, -d) }

// benchE2EMemory restarts the last booth's daemon and measures exec →
// READY=1 on NOTIFY_SOCKET, then its resident set idle and during a call.
func benchE2EMemory(r *Report) error {
	rig, err := e2eRig()
	if err != nil {
		return err
	}
	b := rig.Booths[len(rig.Booths)-1]
	if err := b.Stop(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	t0 := time.Now()
	if err := b.Start(ctx); err != nil {
		return err
	}
	ready := time.Since(t0)
	r.Add(Figure{Name: "wartel-kiosk run: start to ready", Value: Ms(ready), Unit: "ms", Limit: 1000, LimitNote: "goal", Goal: Max,
		Note: "from exec to READY=1 on NOTIFY_SOCKET (config, store open, GPIO, reader, status socket), existing journal"})
	if _, err := b.WaitStatus(ctx, func(s boothrig.Status) bool { return s.Session.ClockTrusted && s.Gateway.Online }); err != nil {
		return err
	}
	idle, err := procStatusKB(b.PID(), "VmRSS")
	if err != nil {
		return err
	}
	r.Add(Figure{Name: "wartel-kiosk run: resident set idle", Value: idle / 1024, Unit: "MiB", Limit: 25, LimitNote: "goal", Goal: Max,
		Note: "VmRSS of /proc/PID/status once ready and online, amd64 build"})

	w, err := watchRelay(b.SimDir)
	if err != nil {
		return err
	}
	defer w.Close()
	if err := b.Tap(e2eCard(len(rig.Booths)-1, 0)); err != nil {
		return err
	}
	if err := waitState(b, "granted"); err != nil {
		return err
	}
	if err := b.Lift(); err != nil {
		return err
	}
	if _, err := w.wait(true, e2eTimeout); err != nil {
		return err
	}
	if err := waitState(b, "talking"); err != nil {
		return err
	}
	inCall, err := procStatusKB(b.PID(), "VmRSS")
	if err != nil {
		return err
	}
	peak, err := procStatusKB(b.PID(), "VmHWM")
	if err != nil {
		return err
	}
	if err := b.Hang(); err != nil {
		return err
	}
	if _, err := w.wait(false, e2eTimeout); err != nil {
		return err
	}
	if err := waitState(b, "ready"); err != nil {
		return err
	}
	r.Add(Figure{Name: "wartel-kiosk run: resident set in a call", Value: inCall / 1024, Unit: "MiB", Limit: 25, LimitNote: "goal", Goal: Max,
		Note: "VmRSS while talking, amd64 build"})
	r.Add(Figure{Name: "wartel-kiosk run: peak resident set", Value: peak / 1024, Unit: "MiB", Limit: 25, LimitNote: "goal", Goal: Max,
		Note: "VmHWM since start, read during the call"})
	return nil
}

// procStatusKB reads a "kB" field of /proc/PID/status.
func procStatusKB(pid int, field string) (float64, error) {
	if pid == 0 {
		return 0, errors.New("the daemon is not running")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return ParseStatusKB(string(b), field)
}
