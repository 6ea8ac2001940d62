package main

import (
	"strings"
	"testing"
)

const goBenchOutput = `goos: linux
goarch: amd64
pkg: wartelsuspas/drivers/rfid
cpu: AMD EPYC
BenchmarkRDM6300Parse-2       	23133547	        72.38 ns/op	  13816424 frames/s	       0 B/op	       0 allocs/op
BenchmarkPN532FrameParser/poll-answer-7B-uid-2         	32014735	        39.66 ns/op	 554.73 MB/s	  25215133 frames/s	       0 B/op	       0 allocs/op
PASS
ok  	wartelsuspas/drivers/rfid	9.599s
pkg: wartelsuspas/kiosk/store
BenchmarkOpenCall-2        	     585	   1901590 ns/op	    1144 B/op	      29 allocs/op
BenchmarkBroken-2 	 12	 notanumber ns/op
BenchmarkNoTime-2 	 12	 5 B/op
Benchmark output mentioned in a log line
PASS
`

func TestParseGoBench(t *testing.T) {
	bs := ParseGoBench(goBenchOutput)
	if len(bs) != 3 {
		t.Fatalf("got %d results, want 3: %+v", len(bs), bs)
	}
	for i, want := range []struct {
		pkg, name string
		n         int
		ns        float64
		units     string
	}{
		{"wartelsuspas/drivers/rfid", "BenchmarkRDM6300Parse", 23133547, 72.38, "ns/op frames/s B/op allocs/op"},
		{"wartelsuspas/drivers/rfid", "BenchmarkPN532FrameParser/poll-answer-7B-uid", 32014735, 39.66, "ns/op MB/s frames/s B/op allocs/op"},
		{"wartelsuspas/kiosk/store", "BenchmarkOpenCall", 585, 1901590, "ns/op B/op allocs/op"},
	} {
		b := bs[i]
		if b.Pkg != want.pkg || b.Name != want.name || b.N != want.n || b.Metrics["ns/op"] != want.ns || strings.Join(b.Units, " ") != want.units {
			t.Errorf("result %d = %+v, want %+v", i, b, want)
		}
	}
	f := bs[2].figure()
	if f.Name != "kiosk/store OpenCall" || f.Value != 1901590 || f.Unit != "ns/op" || !strings.Contains(f.Note, "1144 B/op, 29 allocs/op") {
		t.Errorf("figure = %+v", f)
	}
}

// FuzzParseGoBench: any output parses without a panic, and every result
// has a name, a positive count and a time per op.
func FuzzParseGoBench(f *testing.F) {
	f.Add(goBenchOutput)
	f.Add("BenchmarkX-2 1 1 ns/op\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, b := range ParseGoBench(text) {
			if !strings.HasPrefix(b.Name, "Benchmark") || b.N <= 0 {
				t.Fatalf("bad result %+v", b)
			}
			if _, ok := b.Metrics["ns/op"]; !ok {
				t.Fatalf("result without ns/op: %+v", b)
			}
		}
	})
}

func TestGoBenchFailures(t *testing.T) {
	out := "--- FAIL: BenchmarkCall\n    engine_test.go:641: state closed after the calls\nFAIL\nexit status 1\nFAIL\twartelsuspas/kiosk/session\t1.101s\n" +
		"ok  \twartelsuspas/kiosk/store\t8.1s\n--- FAIL: BenchmarkA\n--- FAIL: BenchmarkB/sub\n    b.go:1: boom\nFAIL\twartelsuspas/x\t0.1s\n"
	got := GoBenchFailures(out)
	want := []string{
		"BenchmarkCall (engine_test.go:641: state closed after the calls) in wartelsuspas/kiosk/session",
		"BenchmarkA in wartelsuspas/x",
		"BenchmarkB/sub (b.go:1: boom) in wartelsuspas/x",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("GoBenchFailures = %q, want %q", got, want)
	}
	if got := GoBenchFailures(goBenchOutput); len(got) != 0 {
		t.Errorf("failures in a passing run: %q", got)
	}
}
