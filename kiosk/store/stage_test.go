package store_test

import (
	"bufio"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/store"
)

func stageCard(id, person string) record.CardInfo {
	return record.CardInfo{Card: id, Role: record.RoleInmate, Person: person, Name: "N " + person, Block: "A", Allowance: 20 * time.Minute}
}

// roster returns the cards the store answers taps from, by id.
func roster(t *testing.T, s *store.Store) map[string]record.CardInfo {
	t.Helper()
	ids, err := s.CardIDs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]record.CardInfo{}
	for _, id := range ids {
		c, ok, err := s.Card(id)
		if err != nil || !ok {
			t.Fatalf("card %s listed but not found: %v", id, err)
		}
		out[id] = c
	}
	return out
}

// TestRosterStage: pages staged one by one, across a close and reopen,
// change nothing taps see until the version is applied whole; a full stage
// replaces the roster, a delta stage overlays it, staged deletes remove;
// a stage that began from another version, or an older version, is
// refused without change; ApplyRoster voids a stage.
func TestRosterStage(t *testing.T) {
	a, b, x := stageCard("em:A", "W-A"), stageCard("em:B", "W-B"), stageCard("em:X", "W-X")
	a2 := a
	a2.Blocked, a2.Name = true, "renamed"
	c := stageCard("em:C", "W-C")
	type page struct {
		upserts []record.CardInfo
		deletes []string
	}
	cases := []struct {
		name  string
		full  bool
		pages []page
		want  []record.CardInfo
	}{
		{"full replaces", true, []page{{upserts: []record.CardInfo{a2, b}}, {upserts: []record.CardInfo{c}}, {deletes: []string{"em:B"}}},
			[]record.CardInfo{a2, c}},
		{"delta overlays", false, []page{{upserts: []record.CardInfo{a2}, deletes: []string{"em:X"}}, {upserts: []record.CardInfo{c}}},
			[]record.CardInfo{a2, b, c}},
		{"deleted then staged again", false, []page{{deletes: []string{"em:B"}}, {upserts: []record.CardInfo{b}}},
			[]record.CardInfo{a, b, x}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "booth.db")
			s := open(t, path)
			if err := s.ApplyRoster(4, []record.CardInfo{a, b, x}, nil); err != nil {
				t.Fatal(err)
			}
			held := roster(t, s)
			if _, ok, err := s.RosterStage(); ok || err != nil {
				t.Fatalf("a new store has a stage (%v)", err)
			}
			st := record.RosterStage{From: 4, Full: tc.full, Since: 4, Version: 9, Policy: []byte(`{"period":"day"}`)}
			for i, p := range tc.pages {
				st.Pages = i + 1
				st.Cursor = fmt.Sprintf("page-%d", i)
				if err := s.StageRoster(st, p.upserts, p.deletes); err != nil {
					t.Fatal(err)
				}
				// A restart between pages: the pages and the progress stay.
				s.Close()
				s = open(t, path)
				got, ok, err := s.RosterStage()
				if err != nil || !ok || got.Pages != i+1 || got.Cursor != st.Cursor || string(got.Policy) != string(st.Policy) || got.Full != tc.full {
					t.Fatalf("after page %d and a reopen: stage %+v %v %v, want %+v", i+1, got, ok, err, st)
				}
				if r := roster(t, s); !mapsEqual(r, held) {
					t.Fatalf("after page %d taps see %v, want the roster held %v", i+1, r, held)
				}
				if v, _ := s.RosterVersion(); v != 4 {
					t.Fatalf("version %d mid-sync, want 4", v)
				}
			}
			if err := s.ApplyStaged(3); err == nil {
				t.Fatal("a staged version older than the one held was applied")
			}
			if err := s.ApplyStaged(9); err != nil {
				t.Fatal(err)
			}
			want := map[string]record.CardInfo{}
			for _, c := range tc.want {
				want[c.Card] = c
			}
			if r := roster(t, s); !mapsEqual(r, want) {
				t.Fatalf("roster after apply %v, want %v", r, want)
			}
			if v, _ := s.RosterVersion(); v != 9 {
				t.Fatalf("version %d after apply, want 9", v)
			}
			if _, ok, _ := s.RosterStage(); ok {
				t.Fatal("stage left after apply")
			}
			if err := s.ApplyStaged(9); err == nil {
				t.Fatal("applied a stage twice")
			}
		})
	}

	t.Run("refusals", func(t *testing.T) {
		s := open(t, filepath.Join(t.TempDir(), "booth.db"))
		if err := s.ApplyRoster(4, []record.CardInfo{a}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.StageRoster(record.RosterStage{From: 3, Since: 3, Pages: 1}, []record.CardInfo{c}, nil); err == nil || !strings.Contains(err.Error(), "began from 3") {
			t.Fatalf("a stage from version 3 on a store at 4: %v", err)
		}
		if err := s.StageRoster(record.RosterStage{From: 4, Since: 4, Pages: 1}, []record.CardInfo{{Card: "em:Q", Role: "visitor", Person: "p"}}, nil); err == nil {
			t.Fatal("a card with role visitor staged")
		}
		if _, ok, _ := s.RosterStage(); ok {
			t.Fatal("a refused page left a stage")
		}
		if err := s.StageRoster(record.RosterStage{From: 4, Since: 4, Pages: 1, Full: true}, []record.CardInfo{c}, nil); err != nil {
			t.Fatal(err)
		}
		// A version applied whole (a one-page sync) voids the stage.
		if err := s.ApplyRoster(5, []record.CardInfo{b}, nil); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.RosterStage(); ok {
			t.Fatal("ApplyRoster kept a stage begun from the version before")
		}
		if err := s.ApplyStaged(6); err == nil {
			t.Fatal("applied without a stage")
		}
		if err := s.StageRoster(record.RosterStage{From: 5, Since: 5, Pages: 1}, []record.CardInfo{c}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DiscardRosterStage(); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.RosterStage(); ok {
			t.Fatal("stage left after discard")
		}
		if r := roster(t, s); !mapsEqual(r, map[string]record.CardInfo{a.Card: a, b.Card: b}) {
			t.Fatalf("discard changed the roster: %v", r)
		}
	})
}

func mapsEqual(a, b map[string]record.CardInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !reflect.DeepEqual(w, v) {
			return false
		}
	}
	return true
}

const stageEnv = "STORE_TEST_STAGE_DB"

const (
	stagePages    = 60
	stagePageSize = 250
)

func stagePage(i int) []record.CardInfo {
	out := make([]record.CardInfo, stagePageSize)
	for j := range out {
		n := i*stagePageSize + j
		out[j] = stageCard(fmt.Sprintf("em:%010X", n), fmt.Sprintf("W-%d", n))
	}
	return out
}

// TestRosterStageKill: a child process stages the pages of a full sync,
// resuming from the stage it finds, and is SIGKILLed at a random instant,
// several times. After each kill the store holds whole pages only (as many
// rows as pages counted, every page reported committed kept) and the
// roster taps see is still the one held. Then the sync completes and
// applies: every card, the version. SIGKILL proves crash safety, not
// power-loss safety.
func TestRosterStageKill(t *testing.T) {
	if path := os.Getenv(stageEnv); path != "" {
		stageChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "booth.db")
	s := open(t, path)
	old := stageCard("em:OLD", "W-OLD")
	if err := s.ApplyRoster(7, []record.CardInfo{old}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	reported := 0
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRosterStageKill$")
		cmd.Env = append(os.Environ(), stageEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		hang := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
		target := 1 + rng.IntN(5)
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			p, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "page "))
			if err != nil {
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			reported = max(reported, p)
			if n++; n == target {
				delay := time.Duration(rng.IntN(30000)) * time.Microsecond
				time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
			}
		}
		cmd.Wait()
		if !hang.Stop() {
			t.Fatalf("round %d: child hung", round)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child ended by %v, not by the kill", round, cmd.ProcessState)
		}
		s := open(t, path)
		st, ok, err := s.RosterStage()
		if err != nil || !ok {
			t.Fatalf("round %d: no stage after the kill (%v)", round, err)
		}
		if st.Pages < reported {
			t.Fatalf("round %d: stage holds %d pages, the child reported %d committed", round, st.Pages, reported)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := db.QueryRow(`SELECT count(*) FROM roster_staged`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if rows != st.Pages*stagePageSize {
			t.Fatalf("round %d: %d rows staged for %d pages of %d: a page half kept", round, rows, st.Pages, stagePageSize)
		}
		if r := roster(t, s); len(r) != 1 || !reflect.DeepEqual(r[old.Card], old) {
			t.Fatalf("round %d: taps see %d cards mid-sync, want the one held", round, len(r))
		}
		t.Logf("round %d: killed after %d pages staged", round, st.Pages)
		s.Close()
	}
	// Finish the sync where it stopped, then apply.
	s = open(t, path)
	st, _, _ := s.RosterStage()
	for i := st.Pages; i < stagePages; i++ {
		st.Pages, st.Cursor = i+1, fmt.Sprint(i+1)
		if err := s.StageRoster(st, stagePage(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ApplyStaged(st.Version); err != nil {
		t.Fatal(err)
	}
	ids, err := s.CardIDs()
	if err != nil || len(ids) != stagePages*stagePageSize || slices.Contains(ids, old.Card) {
		t.Fatalf("after apply %d cards (old card kept: %v), %v; want %d", len(ids), slices.Contains(ids, old.Card), err, stagePages*stagePageSize)
	}
	if v, _ := s.RosterVersion(); v != 12 {
		t.Fatalf("version %d, want 12", v)
	}
}

// stageChild stages pages from where the stage stands, printing each page
// committed, until it is killed (or has staged them all, then it waits).
func stageChild(path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "stage child:", err)
		os.Exit(2)
	}
	s, err := store.Open(path, store.Options{Device: device})
	if err != nil {
		fail(err)
	}
	st, ok, err := s.RosterStage()
	if err != nil {
		fail(err)
	}
	if !ok {
		st = record.RosterStage{From: 7, Full: true, Since: 7, Version: 12}
	}
	for i := st.Pages; i < stagePages-1; i++ { // the last page is the parent's
		st.Pages, st.Cursor = i+1, fmt.Sprint(i+1)
		if err := s.StageRoster(st, stagePage(i), nil); err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stdout, "page %d\n", st.Pages)
	}
	select {}
}
