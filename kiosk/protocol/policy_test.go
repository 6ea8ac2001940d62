package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/policy"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		doc, errKey string
	}{
		{`{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta","hours":[]}`, ""},
		{`{"allowance_ms":60000,"period":"month","zone":"Asia/Jayapura"}`, ""},
		{`{"allowance_ms":0,"period":"month","zone":"Asia/Jayapura"}`, "allowance"},
		{`{"allowance_ms":1,"period":"week","zone":"UTC","per_call_ms":60000,"min_gap_ms":0,
		   "hours":{"weekly":{"monday":["08:00-11:30","13:00-15:00"]},"exceptions":{"2026-12-25":[]}},
		   "rotation":{"A":["08:00-09:00"],"B":{"weekly":{"tuesday":["09:00-10:00"]}}}}`, ""},
		{`{"period":"day","zone":"Asia/Jakarta"}`, "allowance_ms"},
		{`{"allowance_ms":-1,"period":"day","zone":"Asia/Jakarta"}`, "allowance_ms"},
		{`{"allowance_ms":"10","period":"day","zone":"Asia/Jakarta"}`, "allowance_ms"},
		{`{"allowance_ms":1,"period":"year","zone":"Asia/Jakarta"}`, "period"},
		{`{"allowance_ms":1,"period":"day","zone":"Europe/Paris"}`, "zone"},
		{`{"allowance_ms":1,"period":null,"zone":"Asia/Jakarta"}`, "period"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","billing":"minute"}`, "billing"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","per_call_ms":-5}`, "per_call_ms"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","hours":["08:00-25:00"]}`, "hours.weekly"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","hours":{"weekly":{"senin":["08:00-09:00"]}}}`, "hours.weekly"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","hours":{"weekly":{},"exceptions":{"25-12-2026":[]}}}`, "hours.exceptions"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","hours":{"weekly":{},"holidays":{}}}`, "hours"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","rotation":{"A":["11:00-10:00"]}}`, "rotation.A"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","officer_credit_per_day_ms":3600000,"inmate_credit_per_period_ms":0}`, ""},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","officer_credit_per_day_ms":-1}`, "officer_credit_per_day_ms"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","inmate_credit_per_period_ms":9300000000000}`, "inmate_credit_per_period_ms"},
		{`{"allowance_ms":2764800001,"period":"day","zone":"UTC"}`, "allowance_ms"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","per_call_ms":9223372036854775807}`, "per_call_ms"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","min_gap_ms":9223372036854775807}`, "min_gap_ms"},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","dial_full_number":true}`, ""},
		{`{"allowance_ms":1,"period":"day","zone":"UTC","dial_full_number":"yes"}`, "dial_full_number"},
		{`[1]`, "object"},
		{`null`, "null"},
	}
	for _, tt := range tests {
		_, err := ParsePolicy([]byte(tt.doc))
		if (err == nil) != (tt.errKey == "") || err != nil && !strings.Contains(err.Error(), tt.errKey) {
			t.Errorf("ParsePolicy(%s) = %v, want error naming %q", tt.doc, err, tt.errKey)
		}
	}
}

func TestPolicyApply(t *testing.T) {
	jkt, _ := policy.LoadZone("Asia/Jakarta")
	base := policy.Rules{
		Location: jkt, Period: policy.Day, Allowance: 30 * time.Minute, PerCall: 10 * time.Minute,
		Billing: policy.Billing{Unit: policy.PerStartedMinute, Minimum: time.Minute}, Officer: policy.OfficerReset,
		Untrusted: policy.UntrustedCapOnly, OfflineCap: 7 * time.Minute,
	}
	p, err := ParsePolicy([]byte(`{"allowance_ms":300000,"period":"week","zone":"Asia/Makassar","per_call_ms":120000,
		"hours":["08:00-09:00"],"rotation":{"A":["08:00-08:30"]},
		"officer_credit_per_day_ms":3600000,"inmate_credit_per_period_ms":1800000}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Apply(base)
	if err != nil {
		t.Fatal(err)
	}
	if r.Allowance != 5*time.Minute || r.Period != policy.Week || r.Location.String() != "Asia/Makassar" || r.PerCall != 2*time.Minute ||
		r.OfficerCreditPerDay != time.Hour || r.InmateCreditPerPeriod != 30*time.Minute {
		t.Errorf("central fields not applied: %+v", r)
	}
	if r.Billing != base.Billing || r.Officer != base.Officer || r.Untrusted != base.Untrusted || r.OfflineCap != base.OfflineCap || r.MinGap != base.MinGap {
		t.Errorf("booth's own fields changed: %+v", r)
	}
	if len(r.Hours.Weekly) != 7 || len(r.Hours.Weekly[time.Sunday]) != 1 || len(r.Rotation["A"].Weekly[time.Monday]) != 1 {
		t.Errorf("a list of windows must hold every day: %+v, rotation %+v", r.Hours, r.Rotation)
	}
	// Open at 08:30 Makassar time on a Sunday, closed at 10:00.
	at := time.Date(2026, 11, 29, 8, 30, 0, 0, r.Location)
	if open, _ := r.Hours.OpenAt(at, r.Location); !open {
		t.Errorf("closed at %v, want open", at)
	}
	if open, _ := r.Hours.OpenAt(at.Add(90*time.Minute), r.Location); open {
		t.Errorf("open at %v, want closed", at.Add(90*time.Minute))
	}
	// Without hours or rotation in the document, the booth's stay.
	p2, err := ParsePolicy([]byte(`{"allowance_ms":1000,"period":"day","zone":"Asia/Jakarta"}`))
	if err != nil {
		t.Fatal(err)
	}
	base.Hours = r.Hours
	r2, err := p2.Apply(base)
	if err != nil || len(r2.Hours.Weekly) != 7 || r2.PerCall != base.PerCall {
		t.Errorf("Apply without hours: %+v, %v", r2, err)
	}
}

// TestParsePolicyRoundTrip checks that any document ParsePolicy accepts
// reads the same after encoding (what the booth stores is what it got).
func TestParsePolicyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		win := rapid.Custom(func(t *rapid.T) string {
			h := rapid.IntRange(0, 22).Draw(t, "h")
			return time.Date(0, 1, 1, h, 0, 0, 0, time.UTC).Format("15:04") + "-" + time.Date(0, 1, 1, h+1, 0, 0, 0, time.UTC).Format("15:04")
		})
		p := Policy{
			AllowanceMs: rapid.Int64Range(1, 1e9).Draw(t, "allowance"),
			Period:      rapid.SampledFrom([]string{"day", "week", "month"}).Draw(t, "period"),
			Zone:        rapid.SampledFrom([]string{"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC"}).Draw(t, "zone"),
		}
		if rapid.Bool().Draw(t, "hours?") {
			p.Hours = &Schedule{Weekly: map[string][]string{
				rapid.SampledFrom([]string{"monday", "friday", "sunday"}).Draw(t, "day"): rapid.SliceOfN(win, 0, 1).Draw(t, "w"),
			}}
		}
		doc, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParsePolicy(doc)
		if err != nil {
			t.Fatalf("ParsePolicy(%s): %v", doc, err)
		}
		again, _ := json.Marshal(got)
		if string(again) != string(doc) {
			t.Fatalf("round trip: %s became %s", doc, again)
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta","hours":["08:00-11:30"]}`))
	f.Add([]byte(`{"allowance_ms":1,"period":"week","zone":"UTC","rotation":{"A":{"weekly":{"monday":["08:00-09:00"]},"exceptions":{"2026-12-25":[]}}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := ParsePolicy(doc)
		if err != nil {
			return
		}
		if _, err := p.Apply(checkBase); err != nil {
			t.Fatalf("ParsePolicy accepted %s but Apply refuses it: %v", doc, err)
		}
	})
}
