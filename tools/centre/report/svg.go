package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"
)

// The charts are inline SVG drawn on the server: no JavaScript, no
// external resource (prison networks are offline), no style attribute (a
// console may forbid inline styles), and accessible: role="img" with a
// <title> and a <desc> that say what the chart shows and its totals, a
// <title> on every bar and cell (a tooltip on hover, read by screen
// readers), and marks that do not rely on colour alone (an outlier's bar
// is red and labelled). Every table beside a chart (fragment.go) holds the
// same figures. Every word from a booth or an operator is escaped.

// Lang is a language the charts are labelled in.
type Lang string

const (
	Indonesian Lang = "id"
	English    Lang = "en"
)

// AllLangs lists the languages every label exists in.
var AllLangs = []Lang{Indonesian, English}

// labels are the charts' and the fragment's own words.
var labels = map[Lang]map[string]string{
	Indonesian: {
		"days.title":     "Panggilan dan menit per hari, %s",
		"days.desc":      "Diagram batang: menit bicara per hari. Total %d panggilan, %s menit bicara, %s menit ditagih.",
		"week.title":     "Pemakaian bilik per jam dalam seminggu, %s",
		"week.desc":      "Peta panas 7 × 24: jumlah panggilan yang dimulai pada tiap jam tiap hari (zona %s); makin gelap makin banyak. Tersibuk: %s pukul %02d.00, %d panggilan.",
		"week.empty":     "Peta panas 7 × 24: tidak ada panggilan bulan ini.",
		"officers.title": "Menit yang dikreditkan per petugas, %s",
		"officers.desc":  "Diagram batang: menit yang dikreditkan tiap petugas (reset dan tambahan menit). %d petugas, %d pencilan.",
		"min":            "menit",
		"calls":          "panggilan",
		"outlier":        "pencilan",
		"undated":        "tanpa tanggal",
		"purged":         "Data pribadi bulan ini dihapus pada %s (UU 27/2022); jumlah dan menit tetap, warga binaan diganti nama samaran.",
		"nocompare":      "Kurang dari %d petugas: tidak dibandingkan.",
		"zone":           "Zona waktu: %s",
		"col.date":       "Tanggal",
		"col.calls":      "Panggilan",
		"col.talked":     "Menit bicara",
		"col.charged":    "Menit ditagih",
		"col.day":        "Hari",
		"col.officer":    "Petugas",
		"col.resets":     "reset",
		"col.grants":     "tambahan menit",
		"col.other":      "tindakan lain",
		"col.credit":     "Menit dikreditkan",
		"col.inmates":    "Warga binaan berbeda",
		"col.withheld":   "Kredit ditahan",
		"col.creditz":    "z menit",
		"col.actionsz":   "z tindakan",
		"col.outlier":    "Pencilan",
		"yes":            "ya",
		"no":             "tidak",
		"stat":           "Pembanding: skor-z robust (median dan MAD petugas fasilitas ini); pencilan bila z > %.1f. Median menit %s, median tindakan %s.",
	},
	English: {
		"days.title":     "Calls and minutes per day, %s",
		"days.desc":      "Bar chart: minutes talked per day. In all %d calls, %s minutes talked, %s minutes charged.",
		"week.title":     "Booth use by hour of the week, %s",
		"week.desc":      "7 × 24 heat map: calls started in each hour of each day (zone %s); darker is more. Busiest: %s at %02d:00, %d calls.",
		"week.empty":     "7 × 24 heat map: no calls this month.",
		"officers.title": "Minutes credited per officer, %s",
		"officers.desc":  "Bar chart: minutes each officer credited (resets and grants). %d officers, %d outliers.",
		"min":            "min",
		"calls":          "calls",
		"outlier":        "outlier",
		"undated":        "undated",
		"purged":         "This month's personal data was purged on %s (UU 27/2022); counts and minutes stand, inmates are pseudonyms.",
		"nocompare":      "Fewer than %d officers: no comparison.",
		"zone":           "Time zone: %s",
		"col.date":       "Date",
		"col.calls":      "Calls",
		"col.talked":     "Minutes talked",
		"col.charged":    "Minutes charged",
		"col.day":        "Day",
		"col.officer":    "Officer",
		"col.resets":     "resets",
		"col.grants":     "grants",
		"col.other":      "other actions",
		"col.credit":     "Minutes credited",
		"col.inmates":    "Distinct inmates",
		"col.withheld":   "Credits withheld",
		"col.creditz":    "z minutes",
		"col.actionsz":   "z actions",
		"col.outlier":    "Outlier",
		"yes":            "yes",
		"no":             "no",
		"stat":           "Compared by a robust z-score (median and MAD of this facility's officers); an outlier when z > %.1f. Median minutes %s, median actions %s.",
	},
}

// weekdays, Monday first, as Week is indexed.
var weekdays = map[Lang][7]string{
	Indonesian: {"Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"},
	English:    {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"},
}

func (l Lang) text(key string, args ...any) string {
	m, ok := labels[l]
	if !ok {
		m = labels[English]
	}
	s, ok := m[key]
	if !ok {
		panic("report: no label " + key + " in " + string(l)) // TestLabels keeps every key in every language
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

func (l Lang) weekday(i int) string {
	w, ok := weekdays[l]
	if !ok {
		w = weekdays[English]
	}
	return w[i]
}

// minutes formats a duration as minutes with one decimal.
func minutes(d time.Duration) string {
	return fmt.Sprintf("%.1f", d.Minutes())
}

const (
	ink     = "#1b2a3a"
	bar     = "#1f5fa8"
	alarm   = "#b3261e"
	grid    = "#c9d1da"
	empty   = "#eef1f4"
	fontSVG = `font-family="sans-serif"`
)

// svgOpen starts a chart with its accessible name and description.
func svgOpen(b *strings.Builder, id string, w, h int, title, desc string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="%[1]s-title %[1]s-desc" viewBox="0 0 %[2]d %[3]d" width="%[2]d" height="%[3]d" %[4]s font-size="11" fill="%[5]s">`,
		id, w, h, fontSVG, ink)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(desc))
}

// DaysChart is the bar chart of minutes talked per day.
func DaysChart(m Monthly, l Lang) template.HTML {
	const (
		left, top, bottom = 44, 12, 28
		barW, gap         = 18, 4
		plotH             = 180
	)
	w := left + len(m.Days)*(barW+gap) + 12
	h := top + plotH + bottom
	var b strings.Builder
	svgOpen(&b, "days", w, h, l.text("days.title", m.Month),
		l.text("days.desc", m.Total.Calls, minutes(m.Total.Talked), minutes(m.Total.Charged)))
	maxMin := 0.0
	for _, d := range m.Days {
		maxMin = math.Max(maxMin, d.Talked.Minutes())
	}
	scale := niceCeil(maxMin)
	for _, f := range []float64{0, 0.5, 1} {
		y := float64(top) + plotH*(1-f)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, left, y, w-8, y, grid)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, left-4, y+4, trim(scale*f))
	}
	fmt.Fprintf(&b, `<text x="4" y="%d">%s</text>`, top-2, l.text("min"))
	for i, d := range m.Days {
		x := left + i*(barW+gap) + gap/2
		bh := 0.0
		if scale > 0 {
			bh = plotH * d.Talked.Minutes() / scale
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s: %d %s, %s %s</title></rect>`,
			x, float64(top)+plotH-bh, barW, bh, bar, d.Date.Format("2006-01-02"), d.Calls, l.text("calls"), minutes(d.Talked), l.text("min"))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%d</text>`, x+barW/2, top+plotH+16, d.Date.Day())
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// WeekChart is the 7 × 24 heat map of calls by hour of the week.
func WeekChart(m Monthly, l Lang) template.HTML {
	const (
		left, top = 40, 20
		cw, ch    = 22, 20
	)
	w, h := left+24*cw+8, top+7*ch+8
	var (
		most             int64
		mostDay, mostHrs int
	)
	for d := range m.Week {
		for hr, u := range m.Week[d] {
			if u.Calls > most {
				most, mostDay, mostHrs = u.Calls, d, hr
			}
		}
	}
	desc := l.text("week.empty")
	if most > 0 {
		desc = l.text("week.desc", m.Zone.String(), l.weekday(mostDay), mostHrs, most)
	}
	var b strings.Builder
	svgOpen(&b, "week", w, h, l.text("week.title", m.Month), desc)
	for hr := 0; hr < 24; hr += 3 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">%02d</text>`, left+hr*cw+2, top-6, hr)
	}
	for d := range m.Week {
		y := top + d*ch
		fmt.Fprintf(&b, `<text x="4" y="%d">%s</text>`, y+ch-6, html.EscapeString(l.weekday(d)))
		for hr, u := range m.Week[d] {
			fill, op := empty, 1.0
			if u.Calls > 0 {
				fill, op = bar, 0.15+0.85*float64(u.Calls)/float64(most)
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" fill-opacity="%.2f" stroke="#ffffff"><title>%s %02d:00–%02d:59: %d %s, %s %s</title></rect>`,
				left+hr*cw, y, cw, ch, fill, op, html.EscapeString(l.weekday(d)), hr, hr, u.Calls, l.text("calls"), minutes(u.Talked), l.text("min"))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// OfficersChart is the bar chart of minutes credited per officer, each
// outlier's bar red and labelled.
func OfficersChart(m Monthly, l Lang) template.HTML {
	const (
		left, top, rowH, plotW = 120, 8, 22, 420
	)
	outliers := 0
	maxMin := 0.0
	for _, o := range m.Officers {
		maxMin = math.Max(maxMin, o.Credit.Minutes())
		if o.Outlier {
			outliers++
		}
	}
	w, h := left+plotW+110, top+max(1, len(m.Officers))*rowH+8
	var b strings.Builder
	svgOpen(&b, "officers", w, h, l.text("officers.title", m.Month), l.text("officers.desc", len(m.Officers), outliers))
	scale := niceCeil(maxMin)
	for i, o := range m.Officers {
		y := top + i*rowH
		fill := bar
		if o.Outlier {
			fill = alarm
		}
		bw := 0.0
		if scale > 0 {
			bw = plotW * o.Credit.Minutes() / scale
		}
		id := html.EscapeString(o.Officer)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+15, id)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s %s, %d %s, %d %s</title></rect>`,
			left, y+3, bw, rowH-6, fill, id, minutes(o.Credit), l.text("min"), o.Resets, l.text("col.resets"), o.Grants, l.text("col.grants"))
		label := minutes(o.Credit) + " " + l.text("min")
		if o.Outlier {
			label += " ▲ " + l.text("outlier")
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, float64(left)+bw+4, y+15, html.EscapeString(label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds a chart's largest value up to 1, 2 or 5 times a power of
// ten, so the axis reads in round numbers; 0 stays 0.
func niceCeil(x float64) float64 {
	if x <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, f := range []float64{1, 2, 5, 10} {
		if x <= f*p {
			return f * p
		}
	}
	return 10 * p
}

func trim(x float64) string {
	if x == math.Trunc(x) {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}
