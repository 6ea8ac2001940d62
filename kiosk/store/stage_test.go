package store_test

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"modernc.org/sqlite"

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

const (
	stageEnv     = "STORE_TEST_STAGE_DB"
	stageKillEnv = "STORE_TEST_STAGE_KILL" // PAGE,CARD: where the child pauses to be killed
)

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
// resuming from the stage it finds, and is SIGKILLed inside the
// transaction of a page, several times: a temporary trigger in the child
// pauses that page's insert of a chosen card and the child says so, then
// the kill comes (a point the child signals, not a race with time, so a
// loaded machine cannot let the child finish the sync first). After each
// kill the store holds exactly the pages committed before it, whole (as
// many rows as pages counted) and the roster taps see is still the one
// held. Then the sync completes and applies: every card, the version.
// SIGKILL proves crash safety, not power-loss safety.
func TestRosterStageKill(t *testing.T) {
	if path := os.Getenv(stageEnv); path != "" {
		stageChild(path, os.Getenv(stageKillEnv))
		return
	}
	path := filepath.Join(t.TempDir(), "booth.db")
	s := open(t, path)
	old := stageCard("em:OLD", "W-OLD")
	if err := s.ApplyRoster(7, []record.CardInfo{old}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	held := 0 // pages the stage holds
	for round := range 4 {
		// Killed inside page `page`, after `row` of its cards were
		// inserted; the pages before it commit.
		page, row := held+1+rng.IntN(4), 1+rng.IntN(stagePageSize)
		cmd := exec.Command(os.Args[0], "-test.run=^TestRosterStageKill$")
		cmd.Env = append(os.Environ(), stageEnv+"="+path, fmt.Sprintf("%s=%d,%d", stageKillEnv, page, row))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Only bounds a hang: a child that never reaches its kill point.
		hang := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
		sc := bufio.NewScanner(out)
		committed, paused := held, false
		for sc.Scan() {
			line := sc.Text()
			if p, ok := strings.CutPrefix(line, "page "); ok {
				if committed, err = strconv.Atoi(p); err != nil {
					t.Fatalf("round %d: child said %q", round, line)
				}
				continue
			}
			if line != fmt.Sprintf("paused in page %d at card %d", page, row) {
				t.Fatalf("round %d: child said %q", round, line)
			}
			paused = true
			cmd.Process.Signal(syscall.SIGKILL)
		}
		cmd.Wait()
		if !hang.Stop() || !paused {
			t.Fatalf("round %d: the child never paused in page %d at card %d (it committed %d pages)", round, page, row, committed)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child ended by %v, not by the kill", round, cmd.ProcessState)
		}
		if committed != page-1 {
			t.Fatalf("round %d: the child committed %d pages before pausing in page %d", round, committed, page)
		}
		s := open(t, path)
		st, ok, err := s.RosterStage()
		if err != nil {
			t.Fatalf("round %d: reading the stage after the kill: %v", round, err)
		}
		if ok != (page > 1) || st.Pages != page-1 { // killed inside the first page: no stage at all
			t.Fatalf("round %d: stage %v holds %d pages after a kill inside page %d; want the %d committed", round, ok, st.Pages, page, page-1)
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
		t.Logf("round %d: killed inside page %d at card %d, %d pages staged", round, page, row, st.Pages)
		held = st.Pages
		s.Close()
	}
	// Finish the sync where it stopped, then apply. Every round killed
	// inside the first page (1 seed in 256) leaves no stage: the sync
	// begins again, as the child begins it.
	s = open(t, path)
	st, ok, err := s.RosterStage()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		st = record.RosterStage{From: 7, Full: true, Since: 7, Version: 12}
	}
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
// committed. kill is "PAGE,CARD": a temporary trigger on its connection
// pauses the insert of the CARDth card of page PAGE inside that page's
// transaction, and the child prints "paused in page PAGE at card CARD"
// and waits there to be killed.
func stageChild(path, kill string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "stage child:", err)
		os.Exit(2)
	}
	var pausePage, pauseCard int
	if _, err := fmt.Sscanf(kill, "%d,%d", &pausePage, &pauseCard); err != nil {
		fail(fmt.Errorf("%s=%q: %w", stageKillEnv, kill, err))
	}
	var page, inserted atomic.Int64 // the page being staged, its cards inserted
	sqlite.MustRegisterScalarFunction("stage_kill_point", 0, func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
		if n := inserted.Add(1); page.Load() == int64(pausePage) && n == int64(pauseCard) {
			fmt.Fprintf(os.Stdout, "paused in page %d at card %d\n", pausePage, pauseCard)
			select {}
		}
		return nil, nil
	})
	sqlite.RegisterConnectionHook(func(c sqlite.ExecQuerierContext, _ string) error {
		_, err := c.ExecContext(context.Background(), `CREATE TEMP TRIGGER stage_kill_point AFTER INSERT ON main.roster_staged BEGIN SELECT stage_kill_point(); END`, nil)
		return err
	})
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
		page.Store(int64(st.Pages))
		inserted.Store(0)
		if err := s.StageRoster(st, stagePage(i), nil); err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stdout, "page %d\n", st.Pages)
	}
	fail(fmt.Errorf("staged every page without pausing in page %d at card %d", pausePage, pauseCard))
}
