package session

import (
	"errors"
	"testing"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// The policy's officer caps hold at the booth: a credit beyond the
// inmate's cap for the period or the officer's cap for the day is refused,
// recorded as a denial, and shown on the lamps; what fits is credited
// (issue 12 item 5).
func TestOfficerCaps(t *testing.T) {
	const mn = time.Minute
	type step struct {
		at     time.Duration // wall time after start, before the taps
		inmate string        // card tapped in officer mode
	}
	cases := []struct {
		name     string
		mod      func(*policy.Rules)
		usage    map[string]record.Usage // in today's period, before anything
		steps    []step
		credited []int64 // CreditMs of the reset/grant records, in order
		refused  int     // officer_cap denials
	}{
		{"no caps", func(r *policy.Rules) { r.Officer, r.OfficerGrant = policy.OfficerGrant, 5*mn }, nil,
			[]step{{0, inmate1}, {0, inmate1}, {0, inmate2}}, []int64{300000, 300000, 300000}, 0},
		{"inmate per period", func(r *policy.Rules) {
			r.Officer, r.OfficerGrant, r.InmateCreditPerPeriod = policy.OfficerGrant, 5*mn, 8*mn
		}, nil, []step{{0, inmate1}, {0, inmate1}, {0, inmate2}}, []int64{300000, 300000}, 1},
		{"inmate cap counts the centre's credits", func(r *policy.Rules) {
			r.Officer, r.OfficerGrant, r.InmateCreditPerPeriod = policy.OfficerGrant, 5*mn, 8*mn
		}, map[string]record.Usage{"i1": {Granted: 4 * mn}}, []step{{0, inmate1}}, nil, 1},
		{"officer per day", func(r *policy.Rules) {
			r.Officer, r.OfficerGrant, r.OfficerCreditPerDay = policy.OfficerGrant, 5*mn, 8*mn
		}, nil, []step{{0, inmate1}, {0, inmate2}, {24 * time.Hour, inmate2}}, []int64{300000, 300000}, 1},
		{"a reset over the inmate's cap", func(r *policy.Rules) { r.InmateCreditPerPeriod = 5 * mn },
			map[string]record.Usage{"i1": {Used: 8 * mn}, "i2": {Used: 4 * mn}}, []step{{0, inmate1}, {0, inmate2}}, []int64{240000}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) { tc.mod(&c.Rules) }).boot()
			for person, u := range tc.usage {
				r.play(setUsage(person, u))
			}
			var wall time.Duration
			for _, s := range tc.steps {
				if s.at > wall {
					r.play(s.at - wall) // officer mode times out meanwhile
					wall = s.at
				}
				if r.e.Status().State != StateOfficer {
					r.play(tap(officer1))
				}
				denied := len(r.st.Denials())
				r.play(tap(s.inmate))
				if len(r.st.Denials()) > denied {
					if got := r.b.LastSignal(); got != "denied_quota" {
						t.Errorf("lamps show %q on a refused credit, want denied_quota", got)
					}
					if r.e.Status().State != StateOfficer {
						t.Errorf("officer mode left after a refused credit")
					}
				}
			}
			var credited []int64
			for _, o := range r.st.Officers() {
				if o.Action == "reset" || o.Action == "grant" {
					credited = append(credited, o.CreditMs)
				}
			}
			if !equal(credited, tc.credited) {
				t.Errorf("credits %v, want %v", credited, tc.credited)
			}
			refused := 0
			for _, d := range r.st.Denials() {
				if d.Reason == ReasonOfficerCap {
					refused++
					if d.Card != officer1 || d.Inmate == "" {
						t.Errorf("denial %+v should name the officer's card and the inmate", d)
					}
				}
			}
			if refused != tc.refused {
				t.Errorf("%d officer_cap denials (%+v), want %d", refused, r.st.Denials(), tc.refused)
			}
		})
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Every officer record carries the roster version the booth holds, for
// the centre's check of the officer card; a store that cannot say it
// leaves the action undone (it could not be checked).
func TestOfficerRecordsRosterVersion(t *testing.T) {
	r := newRig(t, nil).boot()
	r.st.SetRosterVersion(7)
	r.play(setUsage("i1", record.Usage{Used: time.Minute}), tap(officer1), tap(inmate1))
	os := r.st.Officers()
	if len(os) != 2 {
		t.Fatalf("officer records %+v, want enter and reset", os)
	}
	for _, o := range os {
		if o.RosterVersion != 7 {
			t.Errorf("%s record has roster version %d, want 7", o.Action, o.RosterVersion)
		}
	}
	r2 := newRig(t, nil).boot()
	r2.play(failOp("RosterVersion", errDisk), tap(officer1))
	if n := len(r2.st.Officers()); n != 0 || r2.e.Status().State == StateOfficer {
		t.Errorf("%d officer records and state %s with the roster version unreadable, want none and no officer mode", n, r2.e.Status().State)
	}
}

// An online call is billed to the period the centre computed, not to the
// booth's own (its clock may be wrong); offline, or from a gateway that
// sends none, to the booth's (issue 12 item 6).
func TestCallBilledToCentrePeriod(t *testing.T) {
	cases := []struct {
		name string
		auth *fakeAuth
		want string
	}{
		{"the centre's period", &fakeAuth{remote: Remote{Remaining: 5 * time.Minute, Lease: "L", Period: "2026-12-01"}}, "2026-12-01"},
		{"a gateway without a period", &fakeAuth{remote: Remote{Remaining: 5 * time.Minute, Lease: "L"}}, day},
		{"offline", &fakeAuth{err: errors.New("gateway down")}, day},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.au = tc.auth
			r.boot()
			r.play(tap(inmate1), offHook, 30*time.Second, onHook)
			c := r.onlyCall()
			if c.Period != tc.want {
				t.Errorf("call billed to %q, want %q", c.Period, tc.want)
			}
			if u := r.st.UsageOf("i1", tc.want); u.Used != 30*time.Second {
				t.Errorf("usage in %s: %v, want 30s", tc.want, u.Used)
			}
		})
	}
}
