package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"wartelsuspas/firmware/i18n"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/tools/testbed/boothrig"
)

func TestDescribe(t *testing.T) {
	name := personNamer(boothrig.DemoRoster)
	tests := []struct {
		lang string
		a    boothrig.Activity
		kind string
		text string
	}{
		{"en", boothrig.Activity{Kind: session.ActivityGranted, CallID: 1, Card: "bf", Inmate: "WBP-0001", MaxMs: 90000}, "granted", "Call 1 granted to Budi Santoso, up to 1:30"},
		{"id", boothrig.Activity{Kind: session.ActivityGranted, CallID: 7, Inmate: "WBP-0002", MaxMs: 12000}, "granted", "Panggilan 7 diizinkan untuk Siti Rahayu, paling lama 0:12"},
		{"en", boothrig.Activity{Kind: session.ActivityDenied, Card: "ab", Denial: string(policy.ReasonUnknownCard)}, "denied", "Denied Unknown card: Card not registered"},
		{"id", boothrig.Activity{Kind: session.ActivityDenied, Card: "ab", Inmate: "WBP-0004", Denial: string(policy.ReasonBlockedCard)}, "denied", "Ditolak Joko Susilo: Kartu diblokir"},
		{"en", boothrig.Activity{Kind: session.ActivityEnded, CallID: 3, End: string(record.EndQuota), TalkedMs: 12040, ChargedMs: 12000}, "ended", "Call 3 ended: Minutes used up; talked 0:12, billed 0:12"},
		{"en", boothrig.Activity{Kind: session.ActivityEnded, CallID: 4, End: string(record.EndNoOffHook)}, "ended", "Call 4 cancelled: handset not lifted, not billed"},
		{"en", boothrig.Activity{Kind: session.ActivityOfficer, Officer: "PTG-0001", Action: string(record.ActionReset), Inmate: "WBP-0001", BeforeMs: 28000, AfterMs: 40000}, "officer", "Officer Pak Agus (petugas): quota reset for Budi Santoso (remaining 0:28 → 0:40)"},
		{"en", boothrig.Activity{Kind: session.ActivityOfficerMode, Officer: "PTG-0001"}, "officer_mode", "Officer Pak Agus (petugas) at the booth"},
		{"en", boothrig.Activity{Kind: session.ActivityFault, Detail: "relay fault: stuck"}, "fault", "Fault: relay fault: stuck"},
		{"en", boothrig.Activity{Kind: "made_up"}, "unknown", `Event "made_up": not known to this page`},
	}
	for _, tt := range tests {
		ev := describe(tt.a, i18n.New(tt.lang), name)
		if ev.Kind != tt.kind || ev.Text != tt.text {
			t.Errorf("describe(%s, %+v) = %+v; want kind %q text %q", tt.lang, tt.a, ev, tt.kind, tt.text)
		}
	}
}

// TestDescribeEveryKind: every activity the daemon publishes has its words
// on the page in both languages: none falls to "unknown", none leaves a
// catalogue key unresolved. A kind added to session.AllActivities fails
// here until the page knows it.
func TestDescribeEveryKind(t *testing.T) {
	name := personNamer(boothrig.DemoRoster)
	for _, l := range i18n.Languages {
		cat := i18n.New(l)
		for _, k := range session.AllActivities {
			a := boothrig.Activity{Kind: k, CallID: 1, Inmate: "WBP-0001", Officer: "PTG-0001", Denial: string(policy.ReasonNoMinutes),
				End: string(record.EndHangup), Action: string(record.ActionGrant), Detail: "x"}
			ev := describe(a, cat, name)
			if ev.Kind == pageUnknown || strings.Contains(ev.Text, "!") {
				t.Errorf("%s: activity %q shows as %+v", l, k, ev)
			}
		}
	}
}

func TestClockText(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00"}, {-time.Second, "0:00"}, {12 * time.Second, "0:12"}, {90 * time.Second, "1:30"},
		{1499 * time.Millisecond, "0:01"}, {30 * time.Minute, "30:00"},
	}
	for _, tt := range tests {
		if got := clockText(tt.d); got != tt.want {
			t.Errorf("clockText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestFeed follows a daemon's activity across polls: each poll adds only
// what is newer than the last seq seen, only the last maxEvents are kept,
// newest first, a restarted daemon (a new boot id, seqs from 1 again)
// starts over, and a daemon that stops answering shows as stopped once.
func TestFeed(t *testing.T) {
	f := newFeed(i18n.New("en"), personNamer(boothrig.DemoRoster))
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var acts []boothrig.Activity
	poll := func(boot string, kinds ...session.ActivityKind) {
		for _, k := range kinds {
			acts = append(acts, boothrig.Activity{Seq: uint64(len(acts) + 1), Kind: k, CallID: 1, At: now})
		}
		f.update(boothrig.Status{BootID: boot, Activity: acts}, nil, now)
	}
	poll("boot-1", session.ActivityReady, session.ActivityTalking)
	if ev := f.recent(); len(ev) != 2 || ev[0].Kind != "talking" || ev[1].Kind != "ready" {
		t.Fatalf("recent() = %v; want talking then ready", ev)
	}
	poll("boot-1") // nothing new
	poll("boot-1", session.ActivityEnded)
	if ev := f.recent(); len(ev) != 3 || ev[0].Kind != "ended" {
		t.Fatalf("recent() = %v; want ended on top of three", ev)
	}
	for range maxEvents + 5 {
		poll("boot-1", session.ActivityTalking)
	}
	if ev := f.recent(); len(ev) != maxEvents {
		t.Fatalf("kept %d events, want %d", len(ev), maxEvents)
	}
	f.update(boothrig.Status{}, errors.New("no daemon"), now)
	f.update(boothrig.Status{}, errors.New("no daemon"), now)
	if ev := f.recent(); ev[0].Kind != "stopped" || ev[1].Kind == "stopped" {
		t.Fatalf("after the daemon went away: %v; want one stopped on top", ev[:2])
	}
	acts = nil
	poll("boot-2", session.ActivityReady)
	if ev := f.recent(); ev[0].Kind != "ready" || ev[1].Kind != "stopped" {
		t.Fatalf("after a restart (seq 1 again): %v; want ready on top of stopped", ev[:2])
	}
}

// BenchmarkDescribe is the cost of one activity on the page: the page
// reads each booth's status four times a second.
func BenchmarkDescribe(b *testing.B) {
	a := boothrig.Activity{Kind: session.ActivityEnded, CallID: 1, Card: "bf498602", End: string(record.EndShutdown), TalkedMs: 4859, ChargedMs: 4000}
	cat := i18n.New("id")
	name := personNamer(boothrig.DemoRoster)
	for b.Loop() {
		describe(a, cat, name)
	}
}

// TestFeedProgress: the progress word of a modem booth after each way a
// call goes, in order; a refused number shows its reason until the next
// choice begins.
func TestFeedProgress(t *testing.T) {
	f := newFeed(i18n.New("en"), personNamer(boothrig.DemoRoster))
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var acts []boothrig.Activity
	steps := []struct {
		name       string
		act        boothrig.Activity
		state      string
		word, deny string
	}{
		{"nothing yet", boothrig.Activity{Kind: session.ActivityReady}, "ready", "idle", ""},
		{"choosing", boothrig.Activity{Kind: session.ActivityChoosing}, "choosing", "choosing", ""},
		{"number refused", boothrig.Activity{Kind: session.ActivityDenied, Inmate: "WBP-0001", Denial: "number_not_registered"}, "ready", "denied", "number_not_registered"},
		{"choosing again", boothrig.Activity{Kind: session.ActivityChoosing}, "choosing", "choosing", ""},
		{"busy", boothrig.Activity{Kind: session.ActivityEnded, End: "not_answered", Outcome: "busy"}, "ready", "busy", ""},
		{"tap refused", boothrig.Activity{Kind: session.ActivityDenied, Denial: "unknown_card"}, "ready", "denied", "unknown_card"},
		{"answered, far end hung up", boothrig.Activity{Kind: session.ActivityEnded, End: "far_end", Outcome: "answered"}, "ready", "far_end", ""},
	}
	for _, st := range steps {
		st.act.Seq, st.act.At = uint64(len(acts)+1), now
		acts = append(acts, st.act)
		f.update(boothrig.Status{BootID: "boot-1", Activity: acts}, nil, now)
		word, deny := f.progress(st.state)
		if word != st.word || deny != st.deny {
			t.Errorf("%s: progress(%q) = %q, %q; want %q, %q", st.name, st.state, word, deny, st.word, st.deny)
		}
	}
}
