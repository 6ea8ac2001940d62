package console

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/tools/centre/ledger"
)

// The Policy page: the facility's rules as a form, read back into the one
// policy document the booths read (kiosk/policy's Document, through
// kiosk/protocol's Policy: the same checks `wartel-gateway policy set` and
// every booth apply), each problem shown beside its field; stored audited.

var policyWriters = []ledger.Role{ledger.RoleAdmin, ledger.RoleOperator}

// weekdays in the order the form shows them.
var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// policyForm is the form's fields as written (minutes, windows "08:00-11:30,
// 13:00-15:00" per day, exceptions and rotation as text).
type policyForm struct {
	Zone, Period, Allowance, PerCall, MinGap, OfficerPerDay, InmatePerPeriod string
	Days                                                                     []dayField
	Exceptions                                                               string // one "YYYY-MM-DD: windows" a line
	Rotation                                                                 string // JSON: block → schedule
	DialFullNumber                                                           string // "", "yes", "no"
}

type dayField struct{ Name, Windows string }

type policyData struct {
	Form     policyForm
	Errors   map[string][]string // by input name; "" for the whole document
	Zones    []string
	Set      bool // no policy yet
	CanWrite bool
	Saved    bool
}

// Err is the problems of the input named name.
func (d policyData) Err(name string) []string { return d.Errors[name] }

// fieldErrors are an input's problems, shown beside it.
type fieldErrors struct {
	Name string
	Msgs []string
}

// ErrFor is the problems of the input named name, with its name.
func (d policyData) ErrFor(name string) fieldErrors { return fieldErrors{name, d.Errors[name]} }

// The choices of the form's lists, and whether the stored value is one
// of them (else it is shown as it is, to be corrected).
func (d policyData) Periods() []string     { return []string{"day", "week", "month"} }
func (d policyData) DialChoices() []string { return []string{"", "yes", "no"} }
func (d policyData) ZoneKnown() bool       { return slices.Contains(d.Zones, d.Form.Zone) }
func (d policyData) PeriodKnown() bool     { return slices.Contains(d.Periods(), d.Form.Period) }

func policyPage(q *Request) error {
	full, err := q.Store().RosterSince(q.Ctx(), q.Facility, 0)
	if err != nil {
		return err
	}
	d := policyData{Zones: policy.Zones, CanWrite: slices.Contains(policyWriters, q.Account.Role), Saved: q.Form("saved") != ""}
	p := protocol.Policy{Zone: policy.Zones[0], Period: string(policy.Month)}
	if full.Policy != nil {
		if p, err = protocol.ParsePolicy(full.Policy); err != nil {
			d.Errors = map[string][]string{"": {err.Error()}}
		}
		d.Set = true
	}
	d.Form = formOf(p)
	return q.Render("policy", q.T("policy.title", q.Facility), d)
}

func policySet(q *Request) error {
	f := policyForm{Zone: q.Form("zone"), Period: q.Form("period"), Allowance: q.Form("allowance"), PerCall: q.Form("per_call"),
		MinGap: q.Form("min_gap"), OfficerPerDay: q.Form("officer_credit_per_day"), InmatePerPeriod: q.Form("inmate_credit_per_period"),
		Exceptions: q.R.PostFormValue("exceptions"), Rotation: q.R.PostFormValue("rotation"), DialFullNumber: q.Form("dial_full_number")}
	for _, wd := range weekdays {
		name := policy.WeekdayName(wd)
		f.Days = append(f.Days, dayField{Name: name, Windows: q.Form("hours." + name)})
	}
	doc, errs := f.document(q.T)
	if len(errs) > 0 {
		return q.c.render(q.W, 400, "policy", q.view(q.T("policy.title", q.Facility),
			policyData{Form: f, Errors: errs, Zones: policy.Zones, Set: true, CanWrite: true}))
	}
	err := q.Audit("policy.set", q.Facility, func() (any, any, error) {
		full, err := q.Store().RosterSince(q.Ctx(), q.Facility, 0)
		if err != nil {
			return nil, nil, err
		}
		before := "null"
		if full.Policy != nil {
			before = string(full.Policy)
		}
		_, err = q.Store().SetPolicy(q.Ctx(), q.Facility, doc)
		return before, string(doc), err
	})
	if err != nil {
		return err
	}
	q.Redirect("/f/" + q.Facility + "/policy?saved=1")
	return nil
}

// document reads the form into the policy document and checks it as the
// booths will: the problems by input name, in the words of t (the
// reader's language).
func (f policyForm) document(t func(key string, args ...any) string) ([]byte, map[string][]string) {
	errs := map[string][]string{}
	bad := func(name string, key string, args ...any) {
		errs[name] = append(errs[name], t(key, args...))
	}
	// A problem of the booths' parser in the reader's words; any other
	// error as it is (English).
	badErr := func(name string, err error) {
		if p, ok := policy.AsProblem(err); ok {
			bad(name, "policy.problem."+string(p.Code), p.Args...)
			return
		}
		errs[name] = append(errs[name], err.Error())
	}
	minutes := func(name, v string, required bool) *int64 {
		if v == "" {
			if required {
				bad(name, "policy.err.required")
			}
			return nil
		}
		m, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", "."), 64)
		if err != nil || math.IsNaN(m) || math.IsInf(m, 0) || math.Abs(m) > 1e9 {
			bad(name, "policy.err.minutes", v)
			return nil
		}
		ms := int64(math.Round(m * 60000))
		return &ms
	}
	p := protocol.Policy{Zone: f.Zone, Period: f.Period}
	if a := minutes("allowance", f.Allowance, true); a != nil {
		p.AllowanceMs = *a
	}
	p.PerCallMs, p.MinGapMs = minutes("per_call", f.PerCall, false), minutes("min_gap", f.MinGap, false)
	p.OfficerCreditPerDayMs = minutes("officer_credit_per_day", f.OfficerPerDay, false)
	p.InmateCreditPerPeriodMs = minutes("inmate_credit_per_period", f.InmatePerPeriod, false)
	hours := protocol.Schedule{Weekly: map[string][]string{}}
	for _, d := range f.Days {
		if w := splitWindows(d.Windows); len(w) > 0 {
			hours.Weekly[d.Name] = w
		}
	}
	for i, line := range strings.Split(strings.ReplaceAll(f.Exceptions, "\r", ""), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		date, ws, ok := strings.Cut(line, ":")
		if !ok {
			bad("exceptions", "policy.err.exception", i+1)
			continue
		}
		if hours.Exceptions == nil {
			hours.Exceptions = map[string][]string{}
		}
		hours.Exceptions[strings.TrimSpace(date)] = splitWindows(ws)
	}
	if len(hours.Weekly) > 0 || len(hours.Exceptions) > 0 {
		p.Hours = &hours
	}
	if strings.TrimSpace(f.Rotation) != "" {
		if err := json.Unmarshal([]byte(f.Rotation), &p.Rotation); err != nil {
			bad("rotation", "policy.err.rotation", err)
		}
	}
	switch f.DialFullNumber {
	case "":
	case "yes", "no":
		v := f.DialFullNumber == "yes"
		p.DialFullNumber = &v
	default:
		bad("dial_full_number", "policy.err.dial", f.DialFullNumber)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	// The booths' own checks, each problem to its input.
	p.Document().Rules(checkBase, func(fl policy.Field, sub string, err error) {
		name := string(fl)
		if fl == policy.FieldHours {
			switch {
			case strings.HasPrefix(sub, ".weekly."):
				day, _, _ := strings.Cut(strings.TrimPrefix(sub, ".weekly."), "[")
				name = "hours." + day
			case strings.HasPrefix(sub, ".exceptions"):
				name = "exceptions"
			}
		}
		badErr(name, err)
	})
	if len(errs) > 0 {
		return nil, errs
	}
	doc, err := json.Marshal(p)
	if err != nil {
		badErr("", err)
		return nil, errs
	}
	// The document as `policy set` and every booth read it: what is stored
	// is what they accept.
	if _, err := protocol.ParsePolicy(doc); err != nil {
		badErr("", err)
		return nil, errs
	}
	return doc, nil
}

// checkBase is a valid booth's own rules for the centre's document to be
// checked upon (as protocol.ParsePolicy does).
var checkBase = policy.Rules{Billing: policy.Billing{Unit: policy.PerSecond}, Untrusted: policy.UntrustedRefuse, Officer: policy.OfficerReset}

func splitWindows(s string) []string {
	var out []string
	for _, w := range strings.Split(s, ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// formOf writes a policy into the form.
func formOf(p protocol.Policy) policyForm {
	min := func(ms *int64) string {
		if ms == nil {
			return ""
		}
		return strconv.FormatFloat(float64(*ms)/60000, 'f', -1, 64)
	}
	allowance := ""
	if p.AllowanceMs > 0 {
		allowance = min(&p.AllowanceMs)
	}
	f := policyForm{Zone: p.Zone, Period: p.Period, Allowance: allowance, PerCall: min(p.PerCallMs), MinGap: min(p.MinGapMs),
		OfficerPerDay: min(p.OfficerCreditPerDayMs), InmatePerPeriod: min(p.InmateCreditPerPeriodMs)}
	for _, wd := range weekdays {
		name := policy.WeekdayName(wd)
		var ws []string
		if p.Hours != nil {
			ws = p.Hours.Weekly[name]
		}
		f.Days = append(f.Days, dayField{Name: name, Windows: strings.Join(ws, ", ")})
	}
	if p.Hours != nil {
		var lines []string
		for _, d := range slices.Sorted(maps.Keys(p.Hours.Exceptions)) {
			lines = append(lines, d+": "+strings.Join(p.Hours.Exceptions[d], ", "))
		}
		f.Exceptions = strings.Join(lines, "\n")
	}
	if len(p.Rotation) > 0 {
		b, _ := json.MarshalIndent(p.Rotation, "", "  ")
		f.Rotation = string(b)
	}
	if p.DialFullNumber != nil {
		f.DialFullNumber = map[bool]string{true: "yes", false: "no"}[*p.DialFullNumber]
	}
	return f
}
