package boothrig

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"wartelsuspas/drivers/modem/modemtest"
	"wartelsuspas/tools/centre/ledger"
)

// A booth with a modem (Options.Modems): its cellular module is
// drivers/modem/modemtest on a pty in the rig's process, named in the
// booth's [modem]; the keypad is the module's DTMF reports (the simulated
// GPIO backend has no keypad matrix, and the firmware takes keys from
// either), so Key presses a key. The far end of each number plays the
// emulator's script, which Script changes while the booth runs.

// Number is a registered number of the demo roster: registered at the
// gateway by DemoOperator, approved by DemoSupervisor (another account, as
// the ledger requires), and what its far end does in a booth's emulator.
type Number struct {
	Short  string // the page's name: "budi-1"
	Person string // the inmate's person id
	E164   string
	Slot   int
	Label  string
	Script modemtest.Script
}

// The accounts the demo's numbers and roster are registered (imported)
// and approved by (the console's demo accounts of simbooth carry the same
// names).
const (
	DemoOperator   = "demo-operator"
	DemoSupervisor = "demo-supervisor"
)

// DemoNumbers are registered for the demo inmates when the rig has a booth
// with a modem and Options.Numbers is nil. Each far end does something
// else by default, so the page shows every outcome.
var DemoNumbers = []Number{
	{"budi-1", "WBP-0001", "+6281211110001", 1, "ibu", modemtest.Script{Outcome: modemtest.Answer, After: 2 * time.Second}},
	{"budi-2", "WBP-0001", "+6281211110002", 2, "kakak", modemtest.Script{Outcome: modemtest.Busy, After: time.Second}},
	{"siti-1", "WBP-0002", "+6281211110003", 1, "suami", modemtest.Script{Outcome: modemtest.Answer, After: 3 * time.Second, DropAfter: 20 * time.Second}},
	{"siti-2", "WBP-0002", "+6281211110004", 2, "anak", modemtest.Script{Outcome: modemtest.NoAnswer, After: 8 * time.Second}},
	{"andi-1", "WBP-0003", "+6281211110005", 1, "pengacara", modemtest.Script{Outcome: modemtest.Answer, After: time.Second}},
}

// DemoBlocked is the demo facility's blocked list (a witness's number):
// on it, a number is never approved nor dialled.
var DemoBlocked = []string{"+6281299990000"}

// DemoBlockReason is why DemoBlocked's numbers are blocked.
const DemoBlockReason = "saksi perkara (demo)"

// registerNumbers registers and approves o.Numbers and blocks o.Blocked
// through the gateway's command line, leaving what an earlier run did.
func registerNumbers(ctx context.Context, g *Gateway, o Options) error {
	if len(o.Numbers) == 0 && len(o.Blocked) == 0 {
		return nil
	}
	led, err := ledger.OpenSQLite(filepath.Join(g.Dir, "gateway.db"))
	if err != nil {
		return fmt.Errorf("boothrig: the gateway's ledger: %w", err)
	}
	have, err := led.Numbers(ctx, o.Facility, "")
	var blocked []ledger.BlockedNumber
	if err == nil {
		blocked, err = led.BlockedNumbers(ctx, o.Facility)
	}
	led.Close()
	if err != nil {
		return fmt.Errorf("boothrig: the gateway's numbers: %w", err)
	}
	for _, e := range o.Blocked {
		listed := false
		for _, b := range blocked {
			listed = listed || b.E164 == e
		}
		if !listed {
			if err := g.Run(ctx, "numbers", "block", "-facility", o.Facility, "-by", DemoSupervisor, "-reason", DemoBlockReason, e); err != nil {
				return err
			}
		}
	}
	for _, n := range o.Numbers {
		id, status := int64(0), ledger.NumberStatus("")
		for _, h := range have {
			if h.Person == n.Person && h.E164 == n.E164 && (h.Status == ledger.NumberPending || h.Status == ledger.NumberApproved) {
				id, status = h.ID, h.Status
			}
		}
		if status == ledger.NumberApproved {
			continue
		}
		if id == 0 {
			out, err := g.Output(ctx, "numbers", "add", "-facility", o.Facility, "-by", DemoOperator, "-person", n.Person,
				"-number", n.E164, "-slot", strconv.Itoa(n.Slot), "-label", n.Label)
			if err != nil {
				return err
			}
			m := registeredRE.FindStringSubmatch(out)
			if m == nil {
				return fmt.Errorf("boothrig: wartel-gateway numbers add said %q: no number id in it", out)
			}
			id, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if err := g.Run(ctx, "numbers", "approve", "-facility", o.Facility, "-by", DemoSupervisor, strconv.FormatInt(id, 10)); err != nil {
			return err
		}
	}
	return nil
}

var registeredRE = regexp.MustCompile(`registered number (\d+):`)

// modemConfig names the booth's emulated module in its kiosk.toml.
func modemConfig(doc, port, family string) (string, error) {
	for _, e := range []struct{ key, value string }{{"port", strconv.Quote(port)}, {"family", strconv.Quote(family)}} {
		var ok bool
		if doc, ok = SetKey(doc, "modem", e.key, e.value); !ok {
			return "", fmt.Errorf("boothrig: the packaged kiosk.toml has no key %s in [modem]: update boothrig's edits", e.key)
		}
	}
	return doc, nil
}

// Modem is the booth's emulated module; nil on a relay-only booth.
func (b *Booth) Modem() *modemtest.Emulator { return b.modem }

// Key presses a key of the booth's keypad (a DTMF report of its module):
// 0-9, * or #.
func (b *Booth) Key(k rune) error {
	if b.modem == nil {
		return fmt.Errorf("boothrig: %s is a relay-only booth: it has no keypad", b.Name)
	}
	if !(k >= '0' && k <= '9' || k == '*' || k == '#') {
		return fmt.Errorf("boothrig: %s: key %q: want 0-9, * or #", b.Name, k)
	}
	b.modem.Key(k)
	return nil
}

// Script sets what the far end of number does when the booth dials it.
func (b *Booth) Script(number string, s modemtest.Script) error {
	if b.modem == nil {
		return fmt.Errorf("boothrig: %s is a relay-only booth: it dials nothing", b.Name)
	}
	b.mu.Lock()
	b.scripts[number] = s
	b.mu.Unlock()
	b.modem.Script(number, s)
	return nil
}

// Scripts returns what the far end of each scripted number does.
func (b *Booth) Scripts() map[string]modemtest.Script {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]modemtest.Script, len(b.scripts))
	for k, v := range b.scripts {
		out[k] = v
	}
	return out
}

// Commands returns the AT commands the booth's module received, oldest
// first (nil on a relay-only booth).
func (b *Booth) Commands() []string {
	if b.modem == nil {
		return nil
	}
	return b.modem.Commands()
}
