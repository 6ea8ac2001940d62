package main

import (
	"fmt"
	"strings"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// person is one card of the demo roster, with the short name the console
// accepts in place of the card id.
type person struct {
	short string
	info  record.CardInfo
}

// demoRoster is loaded into an empty store so a person can try the booth at
// once: three inmates in two blocks, one officer and one blocked card.
var demoRoster = []person{
	{"budi", record.CardInfo{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "WBP-0001", Name: "Budi Santoso", Block: "A"}},
	{"siti", record.CardInfo{Card: "em:0C000621A5", Role: record.RoleInmate, Person: "WBP-0002", Name: "Siti Rahayu", Block: "A"}},
	{"andi", record.CardInfo{Card: "em:0F00275624", Role: record.RoleInmate, Person: "WBP-0003", Name: "Andi Wijaya", Block: "B"}},
	{"agus", record.CardInfo{Card: "em:1A2B3C4D5E", Role: record.RoleOfficer, Person: "PTG-0001", Name: "Pak Agus (petugas)"}},
	{"joko", record.CardInfo{Card: "em:0BADC0FFEE", Role: record.RoleInmate, Person: "WBP-0004", Name: "Joko Susilo", Block: "B", Blocked: true}},
}

// demoRosterVersion is the roster version the demo roster is stored as.
const demoRosterVersion = 1

// cardOf resolves a console argument: a demo person's short name or a
// canonical card id.
func cardOf(arg string) (string, bool) {
	for _, p := range demoRoster {
		if strings.EqualFold(arg, p.short) {
			return p.info.Card, true
		}
	}
	if strings.HasPrefix(arg, "em:") || strings.HasPrefix(arg, "14a:") || strings.HasPrefix(arg, "raw:") {
		return arg, true
	}
	return "", false
}

// nameOf returns the demo name of a card, or the card id itself.
func nameOf(card string) string {
	for _, p := range demoRoster {
		if p.info.Card == card {
			return p.short
		}
	}
	return card
}

// demoRules is a facility open around the clock, so the demo works at any
// hour. Fast rules make a warning and a cut-off visible within two minutes.
func demoRules(fast bool) (policy.Rules, error) {
	loc, err := policy.LoadZone("Asia/Jakarta")
	if err != nil {
		return policy.Rules{}, err
	}
	allDay := []policy.Window{{From: 0, To: 24 * 60}}
	weekly := map[time.Weekday][]policy.Window{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		weekly[d] = allDay
	}
	r := policy.Rules{
		Location:  loc,
		Period:    policy.Day,
		Allowance: 30 * time.Minute,
		PerCall:   10 * time.Minute,
		Billing:   policy.Billing{Unit: policy.PerStartedMinute},
		Hours:     policy.Hours{Weekly: weekly},
		Untrusted: policy.UntrustedCapOnly,
		Officer:   policy.OfficerReset,
	}
	if fast {
		r.Allowance, r.PerCall = 3*time.Minute, 90*time.Second
		r.Billing = policy.Billing{Unit: policy.PerSecond}
	}
	if err := r.Validate(); err != nil {
		return policy.Rules{}, fmt.Errorf("demo rules: %w", err)
	}
	return r, nil
}

// who names a card for the console: "budi (em:0400D8B2A5)", or the id alone
// for a card outside the demo roster.
func who(card string) string {
	if n := nameOf(card); n != card {
		return n + " (" + card + ")"
	}
	return card
}
