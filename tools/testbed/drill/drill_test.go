package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/testbed/boothrig"
	"wartelsuspas/tools/testbed/faultproxy"
)

var (
	seedFlag = flag.Uint64("drill.seed", 0, "seed of the drills (0: from the time, logged)")
	keepFlag = flag.String("drill.keep", "", "run the drills in this folder and keep it")
)

var kioskBin, gatewayBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Only the unit tests below run; TestDrills skips itself.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "drill-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kioskBin, gatewayBin, err = boothrig.Build(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestDrills runs the short form of every drill, in parallel: real
// daemons, real stores, the real gateway on loopback. Each drill reports
// what it lost; anything lost fails the test.
func TestDrills(t *testing.T) {
	if testing.Short() {
		t.Skip("the drills run real daemons; -short skips them")
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (repeat with -drill.seed %d)", seed, seed)
	for _, d := range Drills {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if *keepFlag != "" {
				dir = *keepFlag + "/" + d.Name
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			c := &Config{KioskBin: kioskBin, GatewayBin: gatewayBin, Dir: dir, Seed: seed, Calls: 15, Records: 200, Short: true}
			sum, lost, err := d.Run(ctx, c)
			if errors.Is(err, errSkip) {
				t.Skip(sum)
			}
			t.Log(Line(d.Name, sum, lost, err))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range lost {
				t.Error(l)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		lost []string
		err  error
		want string
	}{
		{nil, nil, "x: did 3 — PASS"},
		{[]string{"a", "b"}, nil, "x: did 3 — FAIL: a; b"},
		{nil, errors.New("hung"), "x: did 3 — ERROR: hung"},
		{[]string{"a"}, errors.New("hung"), "x: did 3 — ERROR: hung"},
	}
	for _, tt := range tests {
		if got := Line("x", "did 3", tt.lost, tt.err); got != tt.want {
			t.Errorf("Line(%v, %v) = %q, want %q", tt.lost, tt.err, got, tt.want)
		}
	}
}

// TestHungUpFirst: a restarted booth's first word to its module about a
// call is a hang-up, never a dial.
func TestHungUpFirst(t *testing.T) {
	tests := []struct {
		cmds []string
		ok   bool
	}{
		{[]string{"ATH", "AT", "ATE0", "ATD+6281;"}, true},
		{[]string{"AT", "AT+CHUP", "ATD+6281;"}, true},
		{[]string{"AT", "ATE0", "ATD+6281;", "ATH"}, false},
		{[]string{"AT", "ATE0"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := hungUpFirst(tt.cmds); (got == "") != tt.ok {
			t.Errorf("hungUpFirst(%q) = %q, want ok %v", tt.cmds, got, tt.ok)
		}
	}
}

func TestSelectDrills(t *testing.T) {
	tests := []struct {
		only string
		want []string
		err  bool
	}{
		{"", []string{"power-cut", "network", "disk-full", "reader-unplug", "gateway-restart", "clock-jump", "dial-crash"}, false},
		{"network", []string{"network"}, false},
		{"clock-jump, power-cut", []string{"clock-jump", "power-cut"}, false},
		{"power", nil, true},
	}
	for _, tt := range tests {
		ds, err := selectDrills(tt.only)
		if (err != nil) != tt.err {
			t.Errorf("selectDrills(%q) error %v, want error %v", tt.only, err, tt.err)
			continue
		}
		var got []string
		for _, d := range ds {
			got = append(got, d.Name)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("selectDrills(%q) = %v, want %v", tt.only, got, tt.want)
		}
	}
}

func TestRunBadFlags(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"-only", "nosuch"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no drill") {
		t.Errorf("run -only nosuch = %d, stderr %q; want 2 and the list of drills", code, errb.String())
	}
}

func TestBillingCheck(t *testing.T) {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	tests := []struct {
		name              string
		talked            time.Duration
		charged           time.Duration
		measured, lostInt time.Duration
		fails             string
	}{
		{"exact", 2300 * time.Millisecond, 2 * time.Second, 2300 * time.Millisecond, 0, ""},
		{"checkpoint lost", 2 * time.Second, 2 * time.Second, 3200 * time.Millisecond, time.Second, ""},
		{"over", 4 * time.Second, 4 * time.Second, 3 * time.Second, time.Second, "over-billed"},
		{"under", 1 * time.Second, 1 * time.Second, 3 * time.Second, 0, "under-billed"},
		{"under beyond checkpoint", 1 * time.Second, 1 * time.Second, 4 * time.Second, time.Second, "under-billed"},
		{"rounded up", 2300 * time.Millisecond, 3 * time.Second, 3 * time.Second, 0, "truncates"},
		{"never talked", 0, 0, 0, time.Second, ""},
	}
	for _, tt := range tests {
		c := record.Call{TalkedMs: ms(tt.talked), ChargedMs: ms(tt.charged)}
		got := strings.Join(billingCheck(tt.name, c, tt.measured, tt.lostInt), "; ")
		if tt.fails == "" && got != "" || tt.fails != "" && !strings.Contains(got, tt.fails) {
			t.Errorf("%s: billingCheck = %q, want %q", tt.name, got, tt.fails)
		}
	}
}

// TestBillingCheckProperty: a booth that bills per second what it talked,
// within the drill's measurement bounds, is never flagged; one that bills
// beyond them always is.
func TestBillingCheckProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		measured := time.Duration(rapid.Int64Range(0, 600_000).Draw(t, "measured_ms")) * time.Millisecond
		lostInt := time.Duration(rapid.SampledFrom([]int64{0, 1000, 5000}).Draw(t, "lost_ms")) * time.Millisecond
		lo := max(0, measured-lostInt-hookSlack)
		talked := lo + time.Duration(rapid.Int64Range(0, int64(measured+hookSlack-lo)).Draw(t, "talked"))
		talked = talked.Truncate(time.Millisecond)
		c := record.Call{TalkedMs: talked.Milliseconds(), ChargedMs: talked.Truncate(time.Second).Milliseconds()}
		if l := billingCheck("p", c, measured, lostInt); len(l) > 0 {
			t.Fatalf("talked %v within bounds of measured %v (lost %v): flagged %v", talked, measured, lostInt, l)
		}
		extra := time.Duration(rapid.Int64Range(1, 600_000).Draw(t, "extra_ms")) * time.Millisecond
		over := (measured + hookSlack + extra).Truncate(time.Second) + time.Second
		c = record.Call{TalkedMs: over.Milliseconds(), ChargedMs: over.Milliseconds()}
		if l := billingCheck("p", c, measured, lostInt); len(l) == 0 {
			t.Fatalf("charged %v for measured %v not flagged", over, measured)
		}
	})
}

// TestFlakyLink: the plan refuses everything while the link is down and
// never passes a connection clean while it is flaky.
func TestFlakyLink(t *testing.T) {
	var mode atomic.Int32
	var from atomic.Int64
	from.Store(100)
	plan := flakyLink(&mode, &from)
	counts := map[int32]map[faultproxy.Fault]int{}
	for _, m := range []int32{linkPass, linkDown, linkFlaky} {
		mode.Store(m)
		counts[m] = map[faultproxy.Fault]int{}
		for n := range 500 {
			a := plan(n, rand.New(rand.NewPCG(1, uint64(n))))
			counts[m][a.Fault]++
		}
	}
	if counts[linkPass][faultproxy.Pass] != 500 || counts[linkDown][faultproxy.Refuse] != 500 {
		t.Errorf("pass/down modes: %v / %v", counts[linkPass], counts[linkDown])
	}
	for n := 100; n < 100+cutFirst; n++ {
		if a := plan(n, rand.New(rand.NewPCG(1, uint64(n)))); a.Fault == faultproxy.Delay {
			t.Errorf("connection %d, among the first %d of the flaky link, delayed, not cut", n-100, cutFirst)
		}
	}
	f := counts[linkFlaky]
	if f[faultproxy.Pass] != 0 || f[faultproxy.Refuse] != 0 {
		t.Errorf("flaky link passed or refused connections: %v", f)
	}
	for _, want := range []faultproxy.Fault{faultproxy.Delay, faultproxy.LoseAnswer, faultproxy.Truncate, faultproxy.Reset} {
		if f[want] == 0 {
			t.Errorf("flaky link never chose %v in 500 connections: %v", want, f)
		}
	}
}

func TestSetKeys(t *testing.T) {
	doc := "[store]\npath = \"/a\"\n[session]\nstore_retry = \"10s\"\n"
	got, err := setKeys(doc, "store", "path", `"/b"`, "session", "store_retry", `"1s"`)
	if err != nil || !strings.Contains(got, `path = "/b"`) || !strings.Contains(got, `store_retry = "1s"`) {
		t.Errorf("setKeys = %q, %v", got, err)
	}
	if _, err := setKeys(doc, "gateway", "url", `"x"`); err == nil {
		t.Error("setKeys of a missing key: no error")
	}
}

func TestTapsOf(t *testing.T) {
	recs := []gwRecord{
		{Device: "f/b", Seq: 1, Kind: record.KindEvent, Payload: []byte(`{"event":"x"}`)},
		{Device: "f/b", Seq: 2, Kind: record.KindDenial, Payload: []byte(`{"card":"em:1"}`)},
		{Device: "f/b", Seq: 3, Kind: record.KindCall, Payload: []byte(`{"card":"em:2"}`)},
	}
	got, err := tapsOf(recs)
	want := []tapped{{record.KindDenial, "em:1"}, {record.KindCall, "em:2"}}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tapsOf = %v, %v; want %v", got, err, want)
	}
	if _, err := tapsOf([]gwRecord{{Kind: record.KindCall, Payload: []byte(`{`)}}); err == nil {
		t.Error("tapsOf of a broken payload: no error")
	}
}

func TestParseIngest(t *testing.T) {
	page := "# HELP wartel_records_ingested_total Uploaded records by outcome.\n" +
		"# TYPE wartel_records_ingested_total counter\n" +
		"wartel_records_ingested_total{status=\"duplicate\"} 37\n" +
		"wartel_records_ingested_total{status=\"stored\"} 1.2e+03\n" +
		"wartel_chain_errors_total{kind=\"gap\"} 2\n" +
		"wartel_records_ingested_total{status=\"broken\"} x\n"
	got := parseIngest(page)
	want := map[string]float64{"duplicate": 37, "stored": 1200}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseIngest = %v, want %v", got, want)
	}
}

// FuzzParseIngest: a counter line written as Prometheus writes it reads
// back; any page parses without panic.
func FuzzParseIngest(f *testing.F) {
	f.Add("duplicate", 37.0, "junk\n{}")
	f.Add("stored", 1e9, `wartel_records_ingested_total{status="`)
	f.Fuzz(func(t *testing.T, status string, v float64, junk string) {
		parseIngest(junk)
		// The gateway's statuses are plain words: no label escaping.
		if status == "" || strings.Trim(status, "abcdefghijklmnopqrstuvwxyz_") != "" || v != v || v < 0 {
			return
		}
		page := fmt.Sprintf("%s\nwartel_records_ingested_total{status=\"%s\"} %v\n", junk, status, v)
		if got := parseIngest(page)[status]; got != v {
			t.Fatalf("parseIngest(%q)[%q] = %v, want %v", page, status, got, v)
		}
	})
}
