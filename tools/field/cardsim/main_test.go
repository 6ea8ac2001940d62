package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"wartelsuspas/drivers/rfid"
	"wartelsuspas/drivers/rfid/rfidtest"
)

// TestServeDrivesTheRealReader: commands typed into cardsim reach a Reader
// through the pty as the events a technician expects.
func TestServeDrivesTheRealReader(t *testing.T) {
	emu, err := rfidtest.NewEmulator(rfidtest.EmulatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	r, err := rfid.New(rfid.Options{Path: emu.Path(), Protocol: rfid.NewRDM6300()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	next := func() rfid.Event {
		select {
		case e := <-r.Events():
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
		}
		return rfid.Event{}
	}
	if e := next(); e.Kind != rfid.Up {
		t.Fatalf("first event %v, want up", e.Kind)
	}

	var out strings.Builder
	in := "bogus\ntap nonsense\ntap em:0400D8B2A5 frames 1\nbad em:0C000621A5\nnoise 02 zz\nnoise\ntap em:0C000621A5\nquit\ntap em:0400D8B2A5\n"
	if err := serve(strings.NewReader(in), &out, emu); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Kind != rfid.Present || e.Card != "em:0C000621A5" {
		t.Fatalf("event %v %s, want present em:0C000621A5", e.Kind, e.Card)
	}
	got := out.String()
	for _, want := range []string{
		`error: unknown command "bogus"`, `error: "nonsense" is not a card id`,
		"sent 1 frames of em:0400D8B2A5", "sent a bad-checksum frame", "error: noise:", "tapped em:0C000621A5",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "tapped") != 1 {
		t.Errorf("a command after quit ran:\n%s", got)
	}
}
