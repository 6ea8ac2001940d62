package policy

import (
	"strings"
	"testing"
	"time"
)

// validRules is a complete, valid policy the tests vary one field of.
func validRules(t testing.TB) Rules {
	t.Helper()
	loc, err := LoadZone("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	weekly := map[time.Weekday][]Window{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		weekly[d] = ws(t, "08:00-11:30", "13:00-16:00")
	}
	return Rules{
		Location:  loc,
		Period:    Day,
		Allowance: 30 * time.Minute,
		PerCall:   15 * time.Minute,
		MinGap:    10 * time.Minute,
		Billing:   Billing{Unit: PerStartedMinute, Minimum: time.Minute},
		Hours:     Hours{Weekly: weekly, Exceptions: map[string][]Window{"2026-12-25": {}}},
		Untrusted: UntrustedRefuse,
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Rules)
		wantErr string // "" = valid
	}{
		{"valid", func(*Rules) {}, ""},
		{"valid with rotation and grant", func(r *Rules) {
			r.Rotation = Rotation{"A": {Weekly: map[time.Weekday][]Window{time.Monday: {{480, 600}}}}}
			r.Officer, r.OfficerGrant = OfficerGrant, 10*time.Minute
		}, ""},
		{"touching windows are valid", func(r *Rules) { r.Hours.Weekly[time.Monday] = []Window{{480, 720}, {720, 900}} }, ""},
		{"location missing", func(r *Rules) { r.Location = nil }, "policy: location: not set"},
		{"period unknown", func(r *Rules) { r.Period = "fortnight" }, `policy: period: "fortnight"`},
		{"period empty", func(r *Rules) { r.Period = "" }, "policy: period:"},
		{"allowance zero", func(r *Rules) { r.Allowance = 0 }, "policy: allowance:"},
		{"per call negative", func(r *Rules) { r.PerCall = -time.Second }, "policy: per_call:"},
		{"minute gap negative", func(r *Rules) { r.MinGap = -time.Second }, "policy: min_gap:"},
		{"billing unit unknown", func(r *Rules) { r.Billing.Unit = "hour" }, `policy: billing.unit: "hour"`},
		{"billing minimum negative", func(r *Rules) { r.Billing.Minimum = -time.Second }, "policy: billing.minimum:"},
		{"window backwards", func(r *Rules) { r.Hours.Weekly[time.Monday] = []Window{{480, 600}, {780, 720}} },
			"policy: hours.weekly.monday[1]: window 13:00-12:00 ends before it starts"},
		{"window past midnight", func(r *Rules) { r.Hours.Weekly[time.Friday] = []Window{{1320, 1500}} },
			"policy: hours.weekly.friday[0]: window 22:00-1500min is outside 00:00-24:00"},
		{"window negative", func(r *Rules) { r.Hours.Weekly[time.Sunday] = []Window{{-10, 60}} }, "policy: hours.weekly.sunday[0]:"},
		{"window empty", func(r *Rules) { r.Hours.Weekly[time.Sunday] = []Window{{60, 60}} }, "policy: hours.weekly.sunday[0]: window 01:00-01:00 is empty"},
		{"windows overlap", func(r *Rules) { r.Hours.Weekly[time.Tuesday] = []Window{{480, 720}, {700, 900}} },
			"policy: hours.weekly.tuesday[1]: window 11:40-15:00 overlaps window [0] 08:00-12:00"},
		{"weekday out of range", func(r *Rules) { r.Hours.Weekly[7] = nil }, "policy: hours.weekly: 7 is not a weekday"},
		{"exception date malformed", func(r *Rules) { r.Hours.Exceptions["25-12-2026"] = nil }, `policy: hours.exceptions["25-12-2026"]: not a date`},
		{"exception window bad", func(r *Rules) { r.Hours.Exceptions["2026-12-24"] = []Window{{600, 500}} }, `policy: hours.exceptions["2026-12-24"][0]:`},
		{"rotation window bad", func(r *Rules) {
			r.Rotation = Rotation{"B": {Weekly: map[time.Weekday][]Window{time.Monday: {{480, 600}, {500, 700}}}}}
		}, `policy: rotation["B"].weekly.monday[1]:`},
		{"untrusted rule unknown", func(r *Rules) { r.Untrusted = "allow" }, `policy: untrusted: "allow"`},
		{"untrusted rule empty", func(r *Rules) { r.Untrusted = "" }, "policy: untrusted:"},
		{"offline cap negative", func(r *Rules) { r.OfflineCap = -time.Minute }, "policy: offline_cap:"},
		{"untrusted cap negative", func(r *Rules) { r.UntrustedCap = -time.Minute }, "policy: untrusted_cap:"},
		{"officer action unknown", func(r *Rules) { r.Officer = "wipe" }, `policy: officer: "wipe"`},
		{"officer grant without minutes", func(r *Rules) { r.Officer = OfficerGrant }, "policy: officer_grant:"},
		{"officer grant of ten years", func(r *Rules) { r.Officer, r.OfficerGrant = OfficerGrant, 87600*time.Hour }, "policy: officer_grant: 87600h0m0s is longer"},
		{"per call longer than any call", func(r *Rules) { r.PerCall = MaxCall + time.Second }, "policy: per_call:"},
		{"offline cap longer than any call", func(r *Rules) { r.OfflineCap = MaxCall + time.Second }, "policy: offline_cap:"},
		{"officer credit cap negative", func(r *Rules) { r.OfficerCreditPerDay = -time.Second }, "policy: officer_credit_per_day:"},
		{"inmate credit cap too long", func(r *Rules) { r.InmateCreditPerPeriod = MaxCall + time.Second }, "policy: inmate_credit_per_period:"},
		{"caps at the bound", func(r *Rules) { r.OfficerCreditPerDay, r.InmateCreditPerPeriod = MaxCall, MaxCall }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validRules(t)
			tc.edit(&r)
			err := r.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}
