package report

import (
	"bytes"
	"fmt"
	"html/template"
	"time"
)

// Fragment renders a month as the HTML a console page embeds: the note
// of a purge, each chart with a table of the same figures beside it, and
// the per-officer table with the statistic it compares by. sections picks
// which parts ("monthly", "officers"; none: both). The page around it
// (its language switch, the CSV links, the layout) is the console's.
func Fragment(m Monthly, l Lang, sections ...string) (template.HTML, error) {
	want := map[string]bool{}
	for _, s := range sections {
		want[s] = true
	}
	if len(sections) == 0 {
		want["monthly"], want["officers"] = true, true
	}
	var b bytes.Buffer
	err := fragment.Execute(&b, struct {
		M                  Monthly
		L                  Lang
		Monthly, Officers  bool
		MinOfficers        int
		OutlierZ           float64
		DaysSVG, WeekSVG   template.HTML
		OfficersSVG        template.HTML
		PurgedOn, ZoneName string
	}{
		M: m, L: l, Monthly: want["monthly"], Officers: want["officers"], MinOfficers: MinOfficers, OutlierZ: OutlierZ,
		DaysSVG: DaysChart(m, l), WeekSVG: WeekChart(m, l), OfficersSVG: OfficersChart(m, l),
		PurgedOn: purgedOn(m), ZoneName: m.Zone.String(),
	})
	if err != nil {
		return "", fmt.Errorf("report: render %s %s: %w", m.Facility, m.Month, err)
	}
	return template.HTML(b.String()), nil
}

func purgedOn(m Monthly) string {
	if m.Purged.IsZero() {
		return ""
	}
	return m.Purged.UTC().Format("2006-01-02 15:04 UTC")
}

// PurgedNote is the sentence a report of a purged month carries ("" for
// a month not purged).
func PurgedNote(m Monthly, l Lang) string {
	if m.Purged.IsZero() {
		return ""
	}
	return l.text("purged", purgedOn(m))
}

var fragment = template.Must(template.New("report").Funcs(template.FuncMap{
	"t":    func(l Lang, key string, args ...any) string { return l.text(key, args...) },
	"min":  minutes,
	"date": func(t time.Time) string { return t.Format("2006-01-02") },
	"z":    func(z float64) string { return fmt.Sprintf("%.2f", z) },
	"wd":   func(l Lang, i int) string { return l.weekday(i) },
	"f1":   func(x float64) string { return fmt.Sprintf("%.1f", x) },
}).Parse(`<section class="report" lang="{{.L}}">
{{- if .PurgedOn}}<p class="purged" role="note">{{t .L "purged" .PurgedOn}}</p>{{end}}
{{- if .M.ZoneProblem}}<p class="problem">{{.M.ZoneProblem}}</p>{{end}}
<p class="zone">{{t .L "zone" .ZoneName}}</p>
{{- if .Monthly}}
<figure class="chart" id="fig-days">{{.DaysSVG}}
<table class="figures" aria-describedby="days-title"><caption>{{t .L "days.title" .M.Month}}</caption>
<thead><tr><th scope="col">{{t .L "col.date"}}</th><th scope="col">{{t .L "col.calls"}}</th><th scope="col">{{t .L "col.talked"}}</th><th scope="col">{{t .L "col.charged"}}</th></tr></thead>
<tbody>{{range .M.Days}}<tr><th scope="row">{{date .Date}}</th><td>{{.Calls}}</td><td>{{min .Talked}}</td><td>{{min .Charged}}</td></tr>{{end}}
{{- if .M.Undated.Calls}}<tr><th scope="row">{{t .L "undated"}}</th><td>{{.M.Undated.Calls}}</td><td>{{min .M.Undated.Talked}}</td><td>{{min .M.Undated.Charged}}</td></tr>{{end}}</tbody>
<tfoot><tr><th scope="row">Σ</th><td>{{.M.Total.Calls}}</td><td>{{min .M.Total.Talked}}</td><td>{{min .M.Total.Charged}}</td></tr></tfoot></table></figure>
<figure class="chart" id="fig-week">{{.WeekSVG}}
<table class="figures"><caption>{{t .L "week.title" .M.Month}} ({{t .L "col.calls"}})</caption>
<thead><tr><th scope="col">{{t .L "col.day"}}</th>{{range $h, $_ := index .M.Week 0}}<th scope="col">{{printf "%02d" $h}}</th>{{end}}</tr></thead>
<tbody>{{$l := .L}}{{range $d, $row := .M.Week}}<tr><th scope="row">{{wd $l $d}}</th>{{range $row}}<td>{{.Calls}}</td>{{end}}</tr>{{end}}</tbody></table></figure>
{{- end}}
{{- if .Officers}}
<figure class="chart" id="fig-officers">{{.OfficersSVG}}
{{- if .M.Comparison.Made}}<p class="statistic">{{t .L "stat" .OutlierZ (f1 .M.Comparison.CreditMedian) (f1 .M.Comparison.ActionsMedian)}}</p>
{{- else}}<p class="statistic">{{t .L "nocompare" .MinOfficers}}</p>{{end}}
<table class="figures" id="officers"><caption>{{t .L "officers.title" .M.Month}}</caption>
<thead><tr><th scope="col">{{t .L "col.officer"}}</th><th scope="col">{{t .L "col.resets"}}</th><th scope="col">{{t .L "col.grants"}}</th><th scope="col">{{t .L "col.other"}}</th><th scope="col">{{t .L "col.credit"}}</th><th scope="col">{{t .L "col.inmates"}}</th><th scope="col">{{t .L "col.withheld"}}</th><th scope="col">{{t .L "col.creditz"}}</th><th scope="col">{{t .L "col.actionsz"}}</th><th scope="col">{{t .L "col.outlier"}}</th></tr></thead>
<tbody>{{$m := .M}}{{$l := .L}}{{range .M.Officers}}<tr{{if .Outlier}} class="outlier"{{end}} data-officer="{{.Officer}}"><th scope="row">{{.Officer}}</th><td>{{.Resets}}</td><td>{{.Grants}}</td><td>{{.Other}}</td><td>{{min .Credit}}</td><td>{{.Inmates}}</td><td>{{.Withheld}}</td>
{{- if $m.Comparison.Made}}<td>{{z .CreditZ}}</td><td>{{z .ActionsZ}}</td>{{else}}<td></td><td></td>{{end}}<td>{{if .Outlier}}▲ {{t $l "yes"}}{{else}}{{t $l "no"}}{{end}}</td></tr>{{end}}</tbody></table></figure>
{{- end}}
</section>`))
