package boothrig

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"wartelsuspas/firmware/packaging"
	"wartelsuspas/kiosk/record"
)

// Person is a card of the demo roster with the short name pages and
// consoles show.
type Person struct {
	Short string
	Info  record.CardInfo
}

// DemoRoster is the roster a rig loads into its gateway unless told
// otherwise: three inmates in two blocks, one officer, one blocked card.
var DemoRoster = []Person{
	{"budi", record.CardInfo{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "WBP-0001", Name: "Budi Santoso", Block: "A"}},
	{"siti", record.CardInfo{Card: "em:0C000621A5", Role: record.RoleInmate, Person: "WBP-0002", Name: "Siti Rahayu", Block: "A"}},
	{"andi", record.CardInfo{Card: "em:0F00275624", Role: record.RoleInmate, Person: "WBP-0003", Name: "Andi Wijaya", Block: "B"}},
	{"agus", record.CardInfo{Card: "em:1A2B3C4D5E", Role: record.RoleOfficer, Person: "PTG-0001", Name: "Pak Agus (petugas)"}},
	{"joko", record.CardInfo{Card: "em:0BADC0FFEE", Role: record.RoleInmate, Person: "WBP-0004", Name: "Joko Susilo", Block: "B", Blocked: true}},
}

// UnknownCard is a card in no roster.
const UnknownCard = "em:00DEADBEEF"

// Rules are the facility rules a rig gives its gateway and its booths.
type Rules struct {
	Allowance  time.Duration // per inmate per day
	PerCall    time.Duration // longest call
	Checkpoint time.Duration
}

// DemoRules make a warning and a cut-off visible within two minutes:
// 3 minutes a day, 90 s a call, billed per second.
var DemoRules = Rules{Allowance: 3 * time.Minute, PerCall: 90 * time.Second, Checkpoint: 5 * time.Second}

// rosterCSV renders cards in the gateway's roster import format.
func rosterCSV(cards []record.CardInfo) string {
	var b strings.Builder
	b.WriteString("role,person,name,block,card,allowance_min,blocked\n")
	for _, c := range cards {
		allow := ""
		if c.Allowance > 0 {
			allow = fmt.Sprint(int(c.Allowance / time.Minute))
		}
		fmt.Fprintf(&b, "%s,%s,%q,%s,%s,%s,%t\n", c.Role, c.Person, c.Name, c.Block, c.Card, allow, c.Blocked)
	}
	return b.String()
}

// policyJSON is the facility's policy document at the gateway.
func policyJSON(r Rules) string {
	return fmt.Sprintf(`{"allowance_ms": %d, "period": "day", "zone": "Asia/Jakarta"}`, r.Allowance.Milliseconds())
}

// boothConfig renders a booth's kiosk.toml from the packaged example, open
// around the clock so the rig works at any hour.
func boothConfig(device, readerPath, protocol, db, gatewayURL, bundle string, r Rules) (string, error) {
	doc := string(packaging.KioskTOML)
	edits := []struct{ section, key, value string }{
		{"", "device", fmt.Sprintf("%q", device)},
		{"", "language", `""`},
		{"reader", "protocol", fmt.Sprintf("%q", protocol)},
		{"reader", "path", fmt.Sprintf("%q", readerPath)},
		{"store", "path", fmt.Sprintf("%q", db)},
		{"gateway", "url", fmt.Sprintf("%q", gatewayURL)},
		{"gateway", "bundle", fmt.Sprintf("%q", bundle)},
		{"policy", "allowance", fmt.Sprintf("%q", r.Allowance)},
		{"policy", "per_call", fmt.Sprintf("%q", r.PerCall)},
		{"session", "checkpoint", fmt.Sprintf("%q", r.Checkpoint)},
	}
	for _, e := range edits {
		var ok bool
		if doc, ok = SetKey(doc, e.section, e.key, e.value); !ok {
			return "", fmt.Errorf("boothrig: the packaged kiosk.toml has no key %s in [%s]: update boothrig's edits", e.key, e.section)
		}
	}
	days := regexp.MustCompile(`(?m)^(monday|tuesday|wednesday|thursday|friday|saturday|sunday) = .*$`)
	doc = days.ReplaceAllString(doc, `$1 = ["00:00-24:00"]`)
	return doc, nil
}

// SetKey replaces the value (TOML, e.g. `"/dev/ttyUSB0"` or `true`) of the
// first line "key = ..." of a table of a kiosk.toml, keeping the line's
// comment; section "" is the top level. It reports whether it found the key.
func SetKey(doc, section, key, value string) (string, bool) {
	lines := strings.SplitAfter(doc, "\n")
	in := section == ""
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			if in && section == "" {
				return doc, false
			}
			in = t == "["+section+"]"
			continue
		}
		if !in || !strings.HasPrefix(t, key+" ") && !strings.HasPrefix(t, key+"=") {
			continue
		}
		comment := ""
		if j := strings.Index(l, " #"); j >= 0 {
			comment = "  " + strings.TrimSpace(l[j:])
		}
		lines[i] = key + " = " + value + comment + "\n"
		return strings.Join(lines, ""), true
	}
	return doc, false
}
