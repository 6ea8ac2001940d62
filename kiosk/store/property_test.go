package store_test

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/store"
)

type usageKey struct{ inmate, period string }

type ledgerEntry struct {
	seq           uint64
	key           usageKey
	used, granted int64
}

// model is what the store must hold, kept by the test independently.
type model struct {
	records []record.Record // every record returned, in order
	acked   uint64
	open    map[int64]int64    // call id → last checkpoint ms
	callOf  map[int64]usageKey // every call id given, open or closed
	ledger  []ledgerEntry
	synced  map[usageKey][3]int64 // used, granted, through seq
}

func (m *model) usage(k usageKey) (used, granted int64) {
	s, ok := m.synced[k]
	through := uint64(0)
	if ok {
		used, granted, through = s[0], s[1], uint64(s[2])
	}
	for _, e := range m.ledger {
		if e.key == k && e.seq > through {
			used += e.used
			granted += e.granted
		}
	}
	return used, granted
}

// TestProperties drives the store with random sequences of calls,
// checkpoints, closes, denials, officer credits, events, acknowledgements,
// centre syncs and reopens, and after every step checks: the pending chain
// verifies from the acknowledged head with consecutive seqs; pending is
// exactly the records returned and not acknowledged, byte for byte; the
// journal holds exactly the open calls with their checkpoints; every
// inmate's usage is the sum of its call charges and credits (with the
// centre's figures replacing what they cover).
func TestProperties(t *testing.T) {
	inmates := []string{"W-1", "W-2"}
	periods := []string{"2026-11", "2026-12"}
	// The property is about bookkeeping, not the disk: a RAM file system
	// keeps thousands of fsyncs fast. TestCrashKill covers the real disk.
	dir := ramDir(t)
	if raceEnabled && !flagSet("rapid.checks") {
		// 100 cases take 30 s under -race; the full 100 run without it in 2 s.
		flag.Set("rapid.checks", "25")
		defer flag.Set("rapid.checks", "100")
	}
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("p%d.db", n))
		s := open(t, path)
		defer func() { s.Close() }()
		m := &model{open: map[int64]int64{}, callOf: map[int64]usageKey{}, synced: map[usageKey][3]int64{}}
		key := func(rt *rapid.T) usageKey {
			return usageKey{rapid.SampledFrom(inmates).Draw(rt, "inmate"), rapid.SampledFrom(periods).Draw(rt, "period")}
		}
		appended := func(r record.Record, err error) record.Record {
			if err != nil {
				rt.Fatal(err)
			}
			m.records = append(m.records, r)
			return r
		}
		rt.Repeat(map[string]func(*rapid.T){
			"open": func(rt *rapid.T) {
				k := key(rt)
				id, err := s.OpenCall(call(k.inmate, k.period))
				if err != nil {
					rt.Fatal(err)
				}
				// Never an id given before, open or closed, across
				// restarts: a late word of an earlier call (a checkpoint,
				// a modem's progress) must not reach this one.
				if _, dup := m.callOf[id]; dup {
					rt.Fatalf("call id %d reused", id)
				}
				m.open[id], m.callOf[id] = 0, k
			},
			"checkpoint": func(rt *rapid.T) {
				if len(m.open) == 0 {
					rt.Skip("no open call")
				}
				id := rapid.SampledFrom(slices.Sorted(maps.Keys(m.open))).Draw(rt, "call")
				ms := m.open[id] + rapid.Int64Range(0, 10000).Draw(rt, "more")
				if err := s.Checkpoint(id, time.Duration(ms)*time.Millisecond); err != nil {
					rt.Fatal(err)
				}
				m.open[id] = ms
			},
			"close": func(rt *rapid.T) {
				if len(m.open) == 0 {
					rt.Skip("no open call")
				}
				id := rapid.SampledFrom(slices.Sorted(maps.Keys(m.open))).Draw(rt, "call")
				k := m.callOf[id]
				c := call(k.inmate, k.period)
				c.CallID = id
				c.TalkedMs = m.open[id] + rapid.Int64Range(0, 5000).Draw(rt, "tail")
				c.ChargedMs = rapid.Int64Range(0, c.TalkedMs).Draw(rt, "charged")
				c.EndReason = "hangup"
				r := appended(s.CloseCall(c))
				delete(m.open, id)
				m.ledger = append(m.ledger, ledgerEntry{seq: r.Seq, key: k, used: c.ChargedMs})
			},
			"stale": func(rt *rapid.T) {
				var closed []int64
				for id := range m.callOf {
					if _, open := m.open[id]; !open {
						closed = append(closed, id)
					}
				}
				if len(closed) == 0 {
					rt.Skip("no closed call")
				}
				slices.Sort(closed)
				id := rapid.SampledFrom(closed).Draw(rt, "call")
				if err := s.Checkpoint(id, time.Hour); err == nil {
					rt.Fatalf("checkpoint of call %d, closed, accepted", id)
				}
				if err := s.Answered(id, time.Unix(1, 0)); err == nil {
					rt.Fatalf("answer of call %d, closed, accepted", id)
				}
				k := m.callOf[id]
				c := call(k.inmate, k.period)
				c.CallID, c.EndReason = id, "hangup"
				if _, err := s.CloseCall(c); err == nil {
					rt.Fatalf("call %d closed twice", id)
				}
			},
			"deny": func(rt *rapid.T) {
				appended(s.Deny(record.Denial{Card: "em:x", Reason: rapid.SampledFrom([]record.DenialReason{"quota", "hours"}).Draw(rt, "reason")}))
			},
			"officer": func(rt *rapid.T) {
				k := key(rt)
				credit := rapid.Int64Range(0, 600000).Draw(rt, "credit")
				r := appended(s.Officer(record.Officer{Officer: "P-1", Action: "grant", Inmate: k.inmate, Period: k.period, CreditMs: credit}))
				if credit > 0 {
					m.ledger = append(m.ledger, ledgerEntry{seq: r.Seq, key: k, granted: credit})
				}
			},
			"event": func(rt *rapid.T) {
				appended(s.Event(record.Event{Event: "tamper"}))
			},
			"ack": func(rt *rapid.T) {
				head := uint64(len(m.records))
				upTo := rapid.Uint64Range(0, head).Draw(rt, "upTo")
				if err := s.Ack(upTo); err != nil {
					rt.Fatal(err)
				}
				m.acked = max(m.acked, upTo)
			},
			"sync": func(rt *rapid.T) {
				k := key(rt)
				through := rapid.Uint64Range(0, uint64(len(m.records))).Draw(rt, "through")
				used := rapid.Int64Range(0, 3600000).Draw(rt, "used")
				granted := rapid.Int64Range(0, 3600000).Draw(rt, "granted")
				if err := s.SetSyncedUsage(k.inmate, k.period, time.Duration(used)*time.Millisecond, time.Duration(granted)*time.Millisecond, through); err != nil {
					rt.Fatal(err)
				}
				if old, ok := m.synced[k]; !ok || uint64(old[2]) <= through {
					m.synced[k] = [3]int64{used, granted, int64(through)}
				}
			},
			"reopen": func(rt *rapid.T) {
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				var err error
				if s, err = store.Open(path, store.Options{Device: device}); err != nil {
					rt.Fatal(err)
				}
			},
			"": func(rt *rapid.T) { checkModel(rt, s, m, inmates, periods) },
		})
	})
}

func checkModel(rt *rapid.T, s *store.Store, m *model, inmates, periods []string) {
	rs, err := s.Pending(0)
	if err != nil {
		rt.Fatal(err)
	}
	var prev *record.Record
	if m.acked > 0 {
		prev = &m.records[m.acked-1]
	}
	if err := record.VerifyChain(prev, rs); err != nil {
		rt.Fatal(err)
	}
	want := m.records[m.acked:]
	if len(rs) != len(want) {
		rt.Fatalf("%d pending, want %d", len(rs), len(want))
	}
	for i := range rs {
		if rs[i].Hash != want[i].Hash || !bytes.Equal(rs[i].Payload, want[i].Payload) || rs[i].Seq != want[i].Seq {
			rt.Fatalf("pending #%d differs from the record returned", rs[i].Seq)
		}
	}
	if seq, _ := s.Head(); seq != uint64(len(m.records)) {
		rt.Fatalf("head #%d, %d records written", seq, len(m.records))
	}
	if d, _ := s.Depth(); d != len(want) {
		rt.Fatalf("depth %d, want %d", d, len(want))
	}
	oc, err := s.OpenCalls()
	if err != nil {
		rt.Fatal(err)
	}
	if len(oc) != len(m.open) {
		rt.Fatalf("%d open calls, want %d", len(oc), len(m.open))
	}
	for _, c := range oc {
		if ms, ok := m.open[c.CallID]; !ok || ms != c.Call.TalkedMs {
			rt.Fatalf("open call %d at %d ms, model %d (%v)", c.CallID, c.Call.TalkedMs, ms, ok)
		}
	}
	for _, in := range inmates {
		for _, p := range periods {
			u, err := s.Usage(in, p)
			if err != nil {
				rt.Fatal(err)
			}
			used, granted := m.usage(usageKey{in, p})
			if u.Used.Milliseconds() != used || u.Granted.Milliseconds() != granted {
				rt.Fatalf("usage of %s in %s: %v used, %v granted; want %d, %d ms", in, p, u.Used, u.Granted, used, granted)
			}
		}
	}
}

// ramDir returns a temporary directory on /dev/shm if there is one, else
// on the test's temporary directory.
func ramDir(t testing.TB) string {
	dir, err := os.MkdirTemp("/dev/shm", "store-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// flagSet reports whether the flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
