package systest

import (
	"bufio"
	"bytes"
	"database/sql"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/uplink"
	"wartelsuspas/tools/testbed/faultproxy"
)

// TestRealGateway runs the wartel-gateway binary (built here) over
// loopback mutual TLS, behind the fault proxy, and drains a booth through
// it: every record ends at the gateway exactly once.
func TestRealGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wartel-gateway binary")
	}
	rg := startRealGateway(t)
	dir, state, addr := rg.dir, rg.state, rg.addr
	b, err := bundle.Read(filepath.Join(dir, "b01"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	st, recs := newBooth(t, device, 1500)
	p, err := faultproxy.New(faultproxy.Options{Target: addr, Seed: 11, MaxBytes: 6000, MaxDelay: 5 * time.Millisecond,
		Weights: map[faultproxy.Fault]int{
			faultproxy.Pass: 4, faultproxy.Refuse: 1, faultproxy.Delay: 1,
			faultproxy.Truncate: 1, faultproxy.LoseAnswer: 1, faultproxy.Reset: 1,
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// A new connection per request, so the proxy's faults hit every stage.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: conf, DisableKeepAlives: true}}
	u, err := uplink.New(uplink.Options{BaseURL: "https://" + p.Addr(), HTTPClient: client, Store: st, BatchSize: 100,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, DrainInterval: 5 * time.Millisecond,
		Rand: rand.New(rand.NewPCG(1, 1)), Log: quietLog(), Firmware: "test"})
	if err != nil {
		t.Fatal(err)
	}
	stop := runUplink(t, u)
	waitDrained(t, st, u)
	stop()
	checkLedgerFile(t, filepath.Join(state, "gateway.db"), device, recs)
	t.Logf("proxy faults %v", p.Counts())
}

// checkLedgerFile asserts that the gateway database at path holds want,
// each record once and unchanged, with no chain error flagged.
func checkLedgerFile(t *testing.T, path, device string, want []record.Record) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT seq, hash FROM records WHERE device = ? ORDER BY seq`, device)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var seq uint64
		var hash string
		if err := rows.Scan(&seq, &hash); err != nil {
			t.Fatal(err)
		}
		if i >= len(want) || seq != want[i].Seq || hash != want[i].Hash {
			t.Fatalf("gateway record %d is #%d %s: not the booth's", i, seq, hash)
		}
	}
	if i != len(want) {
		t.Fatalf("gateway holds %d records of %s, want %d", i, device, len(want))
	}
	var flags int
	if err := db.QueryRow(`SELECT count(*) FROM chain_errors WHERE device = ?`, device).Scan(&flags); err != nil {
		t.Fatal(err)
	}
	if flags != 0 {
		t.Fatalf("gateway flagged %d chain errors on %s", flags, device)
	}
}

// realGateway is a wartel-gateway binary built here, its state (a CA and
// the SQLite database) and its serve process on loopback, with booth b01
// of facility enrolled into dir/b01.
type realGateway struct {
	bin, dir, state, addr string
}

// gw runs a command of the binary on the gateway's state.
func (g *realGateway) gw(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(g.bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("wartel-gateway %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// run runs a command of the binary that may fail.
func (g *realGateway) run(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(g.bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// startRealGateway builds the binary, makes its state, enrols b01 and
// serves until the test ends.
func startRealGateway(t *testing.T) *realGateway {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "wartel-gateway")
	if out, err := exec.Command("go", "build", "-o", bin, "wartelsuspas/tools/centre/wartel-gateway").CombinedOutput(); err != nil {
		t.Fatalf("build wartel-gateway: %v\n%s", err, out)
	}
	state := filepath.Join(dir, "state")
	rg := &realGateway{bin: bin, dir: dir, state: state}
	rg.gw(t, "init", "-state", state)
	rg.gw(t, "enroll", "-state", state, "-facility", facility, "-booth", "b01", "-out", filepath.Join(dir, "b01"))

	cmd := exec.Command(bin, "serve", "-state", state, "-listen", "127.0.0.1:0", "-metrics", "", "-rate", "200", "-burst", "100")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer // the gateway's log, shown if the test fails
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when serve has exited; then waitErr is set
	var waitErr error
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Error("wartel-gateway did not stop within 20 s of SIGINT")
		}
		if t.Failed() {
			t.Logf("wartel-gateway log:\n%s", logs.String())
		}
	})
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "serving booths on https://"); ok {
				addrc <- strings.Fields(a)[0]
			}
		}
		waitErr = cmd.Wait()
		close(exited)
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-exited:
		t.Fatalf("wartel-gateway serve exited: %v", waitErr)
	case <-time.After(30 * time.Second):
		t.Fatal("wartel-gateway serve did not announce its address within 30 s")
	}

	rg.addr = addr
	return rg
}
