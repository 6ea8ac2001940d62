package boothrig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"wartelsuspas/drivers/modem/modemtest"
	"wartelsuspas/tools/centre/ledger"
)

// A booth with a modem (Options.Modems): its cellular module is
// drivers/modem/modemtest on a pty in the rig's process, named in the
// booth's [modem]; its keypad is the 3×4 matrix of [keypad] on the GPIO
// pins of docs/wiring.md, which the simulated backend wires to
// keypad.Sim: Key types a key into the file "keypad" of the booth's
// SimDir, and the daemon's real keypad scanner reads it off the matrix.
// DTMF sends a key as the module's DTMF report instead (a handset whose
// keys reach the module). The far end of each number plays the emulator's
// script, which Script changes while the booth runs.

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

// modemConfig names the booth's emulated module in its kiosk.toml and
// fits its keypad on the pins the packaged file suggests (commented out).
func modemConfig(doc, port, family string) (string, error) {
	for _, key := range []string{"rows", "cols"} {
		doc = strings.Replace(doc, "\n#"+key+" = [", "\n"+key+" = [", 1)
	}
	for _, e := range []struct{ section, key, value string }{
		{"modem", "port", strconv.Quote(port)}, {"modem", "family", strconv.Quote(family)},
		{"keypad", "rows", `["GPIO12", "GPIO16", "GPIO20", "GPIO21"]`}, {"keypad", "cols", `["GPIO18", "GPIO19", "GPIO26"]`},
	} {
		var ok bool
		if doc, ok = SetKey(doc, e.section, e.key, e.value); !ok {
			return "", fmt.Errorf("boothrig: the packaged kiosk.toml has no key %s in [%s]: update boothrig's edits", e.key, e.section)
		}
	}
	return doc, nil
}

// Modem is the booth's emulated module; nil on a relay-only booth.
func (b *Booth) Modem() *modemtest.Emulator { return b.modem }

// Key presses a key of the booth's keypad (0-9, * or #): typed into the
// simulated matrix, where the daemon's scanner reads it (about 100 ms a
// key: held and released past the debounce). Keys are read in the order
// typed.
func (b *Booth) Key(k rune) error {
	if err := b.checkKey(k); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := filepath.Join(b.SimDir, "keypad")
	typed, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("boothrig: %s: keypad: %w", b.Name, err)
	}
	typed = append(bytes.TrimSpace(typed), byte(k))
	if err := os.WriteFile(p+".tmp", append(typed, '\n'), 0o644); err != nil {
		return fmt.Errorf("boothrig: %s: keypad: %w", b.Name, err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("boothrig: %s: keypad: %w", b.Name, err)
	}
	return nil
}

// DTMF sends a key as the module's DTMF report (+RXDTMF, +DTMF or
// +QTONEDET by the family), as a handset whose keys reach the module.
func (b *Booth) DTMF(k rune) error {
	if err := b.checkKey(k); err != nil {
		return err
	}
	b.modem.Key(k)
	return nil
}

func (b *Booth) checkKey(k rune) error {
	if b.modem == nil {
		return fmt.Errorf("boothrig: %s is a relay-only booth: it has no keypad", b.Name)
	}
	if !(k >= '0' && k <= '9' || k == '*' || k == '#') {
		return fmt.Errorf("boothrig: %s: key %q: want 0-9, * or #", b.Name, k)
	}
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
