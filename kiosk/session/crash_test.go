package session_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/session/sessiontest"
	"wartelsuspas/kiosk/store"
)

const (
	crashEnv      = "SESSION_TEST_CRASH_DB"
	crashModemEnv = "SESSION_TEST_CRASH_MODEM" // "1": the child is a booth with a modem
)

const (
	crashDevice = "crash/b01"
	crashCard   = "em:00000C0A51"
)

func crashRules() policy.Rules {
	open := map[time.Weekday][]policy.Window{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		open[d] = []policy.Window{{From: 0, To: 24 * 60}}
	}
	return policy.Rules{
		Location:  time.UTC,
		Period:    policy.Day,
		Allowance: 100000 * time.Hour,
		PerCall:   2 * time.Second,
		Billing:   policy.Billing{Unit: policy.PerSecond},
		Hours:     policy.Hours{Weekly: open},
		Untrusted: policy.UntrustedRefuse,
	}
}

var crashConfig = session.Config{Rules: crashRules(), ClockTrustedAtStart: true, Checkpoint: 300 * time.Millisecond}

// TestCrashKill re-executes the test binary as a child that runs the engine
// with the real clock on a real SQLite store, making calls of 0.5–3 s (some
// hung up, some cut off at the 2 s cap), and SIGKILLs it at random instants,
// several times. The child prints each call id the store journaled. At the
// end a last engine start recovers what the last kill left open; then every
// journaled call has exactly one record, none is open, no call is billed
// more than it talked or beyond its Max, usage equals the records, and the
// chain verifies from genesis.
//
// SIGKILL lets the kernel write out what the process wrote, so this proves
// crash safety of the engine and store, not power-loss safety.
func TestCrashKill(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" && os.Getenv(crashModemEnv) == "" {
		crashChild(path, false)
		return
	}
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	crashKill(t, "TestCrashKill", rounds, false)
}

// TestCrashKillDialling is TestCrashKill on a booth with a modem: the
// child chooses slot 1, dials, is answered or not (busy), talks and hangs
// up; round 0 kills it while a call rings, round 1 while one talks, the
// others at random. Beyond
// TestCrashKill's checks, every call is journaled with its number, a
// call the child never answered charges nothing, whether it ended or was
// recovered after the kill (its checkpoints count from the answer), and a
// call killed while it talked is recovered answered, at the instant the
// journal kept (AnsweredAt), and only a call the child answered says so.
func TestCrashKillDialling(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" && os.Getenv(crashModemEnv) != "" {
		crashChild(path, true)
		return
	}
	rounds := 3
	if testing.Short() {
		rounds = 2
	}
	crashKill(t, "TestCrashKillDialling", rounds, true)
}

// crashNumber is the one number registered for the crash inmate, slot 1.
var crashNumber = record.Number{ID: 7, Person: "crash-inmate", E164: "+6281200000007", Slot: 1, RegisteredBy: "op", ApprovedBy: "sup"}

func crashKill(t *testing.T, name string, rounds int, modem bool) {
	path := filepath.Join(t.TempDir(), "booth.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	opened := map[int64]bool{}
	answered := map[int64]bool{} // the child answered (or was about to)
	talking := map[int64]bool{}  // the engine took the answer: it is journaled
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path, fmt.Sprintf("SESSION_TEST_CRASH_SEED=%d", rng.Int64()))
		if modem {
			cmd.Env = append(cmd.Env, crashModemEnv+"=1")
		}
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		hang := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
		sc := bufio.NewScanner(out)
		killed := false
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "answer "); ok {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("round %d: child said %q", round, line)
				}
				answered[id] = true
			}
			switch {
			case line == "ready" && (!modem || round >= 2):
				// Kill anywhere in the next calls: while talking, while
				// journaling, while closing.
				delay := time.Duration(500+rng.IntN(5500)) * time.Millisecond
				time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
				killed = true
			case line == "ready":
				// With a modem, the first rounds kill at a chosen stage:
				// round 0 while the call rings, round 1 while it talks.
			case modem && !killed && round == 0 && strings.HasPrefix(line, "ringing "):
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			case modem && !killed && round == 1 && strings.HasPrefix(line, "talking "):
				time.AfterFunc(150*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
				killed = true
			case strings.HasPrefix(line, "open "):
				id, err := strconv.ParseInt(strings.TrimPrefix(line, "open "), 10, 64)
				if err != nil {
					t.Fatalf("round %d: child said %q", round, line)
				}
				opened[id] = true
			case strings.HasPrefix(line, "answer "), strings.HasPrefix(line, "ringing "):
			case strings.HasPrefix(line, "talking "):
				id, err := strconv.ParseInt(strings.TrimPrefix(line, "talking "), 10, 64)
				if err != nil {
					t.Fatalf("round %d: child said %q", round, line)
				}
				talking[id] = true
			default:
				t.Logf("round %d: child: %s", round, line)
			}
		}
		cmd.Wait()
		if !hang.Stop() {
			t.Fatalf("round %d: child hung", round)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !killed || !ok || !ws.Signaled() {
			t.Fatalf("round %d: child ended by %v, not by the kill", round, cmd.ProcessState)
		}
	}
	if len(opened) == 0 {
		t.Fatal("the children journaled no call")
	}

	// The last start: recovery closes what the last kill left open.
	st, err := store.Open(path, store.Options{Device: crashDevice})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fc := clock.NewFake(time.Now())
	b := sessiontest.NewBooth(fc)
	deps := session.Deps{Clock: fc, Store: st, Booth: b}
	d := sessiontest.NewDialer(fc)
	if modem {
		deps.Dialer, deps.Numbers = d, sessiontest.NewNumbers(crashNumber)
	}
	if _, err := session.New(crashConfig, deps); err != nil {
		t.Fatal(err)
	}
	if modem && len(d.HangUps()) != 1 {
		t.Errorf("hang-ups at the recovery start %v, want one", d.HangUps())
	}
	if b.Relay() {
		t.Error("relay on after the recovery start")
	}
	if open, err := st.OpenCalls(); err != nil || len(open) != 0 {
		t.Fatalf("calls open after recovery: %v (%v)", open, err)
	}
	rs, err := st.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := record.VerifyChain(nil, rs); err != nil {
		t.Fatalf("chain: %v", err)
	}
	billing := crashRules().Billing
	closed := map[int64]int{}
	var charged time.Duration
	powerLoss, lostRinging, lostTalking, recoveredAnswer := 0, 0, 0, 0
	for _, r := range rs {
		if r.Kind != record.KindCall {
			continue
		}
		var c record.Call
		if err := json.Unmarshal(r.Payload, &c); err != nil {
			t.Fatalf("record #%d: %v", r.Seq, err)
		}
		closed[c.CallID]++
		if c.ChargedMs > c.TalkedMs || c.TalkedMs > c.MaxMs || time.Duration(c.ChargedMs)*time.Millisecond != billing.Charge(time.Duration(c.TalkedMs)*time.Millisecond) {
			t.Errorf("call %d: talked %d ms, charged %d ms, max %d ms", c.CallID, c.TalkedMs, c.ChargedMs, c.MaxMs)
		}
		if c.EndReason == session.EndPowerLoss {
			powerLoss++
			if !c.AnsweredAt.IsZero() {
				recoveredAnswer++
			}
			if answered[c.CallID] {
				lostTalking++
			} else {
				lostRinging++
			}
		}
		if modem && (c.NumberID != crashNumber.ID || c.Slot != 1 || c.Outcome == "") {
			t.Errorf("call %d: number %d slot %d outcome %q, want the registered number and an outcome", c.CallID, c.NumberID, c.Slot, c.Outcome)
		}
		if modem && c.EndReason == session.EndPowerLoss && talking[c.CallID] &&
			(c.Outcome != record.OutcomeAnswered || c.AnsweredAt.IsZero() || !c.TalkStartAt.Equal(c.AnsweredAt)) {
			t.Errorf("call %d killed while talking, recovered %s answered at %v (talk start %v): want answered, with the instant the journal kept", c.CallID, c.Outcome, c.AnsweredAt, c.TalkStartAt)
		}
		if modem && !c.AnsweredAt.IsZero() && !answered[c.CallID] {
			t.Errorf("call %d says it was answered at %v, but the child never answered it", c.CallID, c.AnsweredAt)
		}
		if modem && !answered[c.CallID] && (c.TalkedMs != 0 || c.ChargedMs != 0) {
			t.Errorf("call %d never answered, talked %d ms, charged %d ms (%s, %s)", c.CallID, c.TalkedMs, c.ChargedMs, c.EndReason, c.Outcome)
		}
		charged += time.Duration(c.ChargedMs) * time.Millisecond
	}
	for id := range opened {
		if closed[id] != 1 {
			t.Errorf("journaled call %d has %d records, want 1", id, closed[id])
		}
	}
	for id, n := range closed {
		if !opened[id] && n > 0 {
			// A kill between the commit and the child's print: fine, but
			// still only one record.
			if n != 1 {
				t.Errorf("call %d has %d records", id, n)
			}
		}
	}
	t.Logf("%d rounds, %d calls journaled (%d answered), %d records, %d closed by power loss", rounds, len(opened), len(answered), len(rs), powerLoss)
	if modem && recoveredAnswer == 0 {
		t.Error("no call recovered with its answer: round 1 kills one while it talks")
	}
	if modem && (lostRinging == 0 || lostTalking == 0) {
		t.Errorf("power-loss closes: %d of calls killed ringing, %d killed talking: want both (rounds 0 and 1 kill at those stages)", lostRinging, lostTalking)
	}
	// Usage of the one inmate across periods equals the records' charges.
	var used time.Duration
	seen := map[string]bool{}
	for _, r := range rs {
		var c record.Call
		if r.Kind == record.KindCall && json.Unmarshal(r.Payload, &c) == nil && !seen[c.Period] {
			seen[c.Period] = true
			u, err := st.Usage("crash-inmate", c.Period)
			if err != nil {
				t.Fatal(err)
			}
			used += u.Used
		}
	}
	if used != charged {
		t.Errorf("usage %v, call records charge %v", used, charged)
	}
}

// printingStore reports each journaled call id on stdout, so the parent
// knows every call that must end up with a record.
type printingStore struct {
	*store.Store
	last *atomic.Int64 // the last id journaled
}

func (s printingStore) OpenCall(c record.Call) (int64, error) {
	id, err := s.Store.OpenCall(c)
	if err == nil {
		fmt.Printf("open %d\n", id)
		s.last.Store(id)
	}
	return id, err
}

type quietBooth struct{}

func (quietBooth) SetRelay(bool) error       { return nil }
func (quietBooth) Show(session.Signal) error { return nil }
func (quietBooth) ClearFaults() error        { return nil }

// crashChild runs the engine until it is killed.
func crashChild(path string, modem bool) {
	st, err := store.Open(path, store.Options{Device: crashDevice})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	if err := st.ApplyRoster(1, []record.CardInfo{{Card: crashCard, Role: record.RoleInmate, Person: "crash-inmate"}}, nil); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	seed, _ := strconv.ParseUint(os.Getenv("SESSION_TEST_CRASH_SEED"), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 3))
	last := &atomic.Int64{}
	deps := session.Deps{Clock: clock.NewReal(), Store: printingStore{st, last}, Booth: quietBooth{}}
	if modem {
		deps.Dialer, deps.Numbers = sessiontest.NewDialer(clock.NewReal()), sessiontest.NewNumbers(crashNumber)
	}
	e, err := session.New(crashConfig, deps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	in := make(chan session.Input)
	go e.Run(context.Background(), in)
	fmt.Println("ready")
	for modem {
		in <- session.Hook{OffHook: true}
		in <- session.Tap{Card: crashCard}
		in <- session.Key{Digit: '1'}
		in <- session.Key{Digit: '#'}
		// The engine takes an input only when it is done with the last:
		// the call it dialled at # is journaled by now.
		in <- session.CallProgress{Call: last.Load(), Stage: session.StageAlerting}
		fmt.Printf("ringing %d\n", last.Load())
		time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond) // it rings
		if rng.IntN(3) == 0 {
			in <- session.CallProgress{Call: last.Load(), Stage: session.StageEnded, Outcome: record.OutcomeBusy}
		} else {
			fmt.Printf("answer %d\n", last.Load()) // before the answer: the parent's set may only be larger
			in <- session.CallProgress{Call: last.Load(), Stage: session.StageActive}
			// Taken only once the engine is done with the answer: by
			// now the answer is in the journal.
			in <- session.CardRemoved{Card: crashCard}
			fmt.Printf("talking %d\n", last.Load())
			time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond) // the inmate talks
		}
		in <- session.Hook{OffHook: false}
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
	}
	for {
		in <- session.Tap{Card: crashCard}
		in <- session.Hook{OffHook: true}
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond) // the inmate talks
		in <- session.Hook{OffHook: false}
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
	}
}
