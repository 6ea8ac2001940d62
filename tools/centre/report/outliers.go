package report

import (
	"math"
	"slices"

	"wartelsuspas/tools/centre/ledger"
)

// How an officer is compared with the facility's others (docs/console.md
// "Reports" says why this statistic):
//
// For each officer two figures, the minutes credited and the credit
// actions (resets + grants), each as a robust z-score against the
// facility's officers that month: z = 0.6745 (x − median) / MAD, MAD the
// median absolute deviation from the median (Iglewicz and Hoaglin's
// modified z-score). When more than half the officers have the same
// figure the MAD is 0, and the score uses the mean absolute deviation
// from the median instead, z = (x − median) / (1.2533 · MeanAD) (the
// constant makes both estimate one standard deviation of a normal
// sample). An officer is an outlier when either z exceeds OutlierZ: only
// above, since crediting too little is no pungli.
//
// Why not mean and standard deviation: the outlier itself inflates them.
// Among n officers one officer's ordinary z-score can never exceed
// (n−1)/√n, 2.47 for 8 officers, so the officer selling resets would hide
// the signal; the median and MAD do not move with one extreme value. An
// IQR fence (Q3 + 1.5 IQR) is robust too, but its quartiles of 4 to 10
// officers jump between neighbouring values, and it gives no score to sort by.
const (
	OutlierZ = 3.5
	// MinOfficers is the fewest officers a comparison is made among:
	// with two, the median is halfway and each is as far from it as the
	// other.
	MinOfficers = 3
	madScale    = 0.6745
	meanADScale = 1.253314
)

// Officer is one officer's month with their comparison.
type Officer struct {
	ledger.OfficerRow
	// CreditZ and ActionsZ are the robust z-scores of the minutes
	// credited and of the resets + grants (0 without a comparison).
	CreditZ, ActionsZ float64
	Outlier           bool
}

// Actions is the officer's credit actions: resets and grants.
func (o Officer) Actions() int64 { return o.Resets + o.Grants }

// Comparison says what the officers were compared by.
type Comparison struct {
	// Made is false with fewer than MinOfficers officers: nobody is
	// marked.
	Made bool
	// The medians and spreads (MAD, or 1.2533 · MeanAD where the MAD
	// is 0) of the minutes credited and the credit actions.
	CreditMedian, CreditSpread   float64 // minutes
	ActionsMedian, ActionsSpread float64
}

// compare scores every officer against the others.
func compare(rows []ledger.OfficerRow) ([]Officer, Comparison) {
	out := make([]Officer, len(rows))
	for i, r := range rows {
		out[i].OfficerRow = r
	}
	if len(rows) < MinOfficers {
		return out, Comparison{}
	}
	credit := make([]float64, len(rows))
	actions := make([]float64, len(rows))
	for i, r := range rows {
		credit[i] = r.Credit.Minutes()
		actions[i] = float64(r.Resets + r.Grants)
	}
	c := Comparison{Made: true}
	var cz, az func(float64) float64
	c.CreditMedian, c.CreditSpread, cz = robustZ(credit)
	c.ActionsMedian, c.ActionsSpread, az = robustZ(actions)
	for i := range out {
		out[i].CreditZ, out[i].ActionsZ = cz(credit[i]), az(actions[i])
		out[i].Outlier = out[i].CreditZ > OutlierZ || out[i].ActionsZ > OutlierZ
	}
	return out, c
}

// robustZ returns the median of xs, the spread the scores divide by
// (already scaled to one standard deviation), and the scoring function.
// Every value equal: spread 0 and every score 0.
func robustZ(xs []float64) (median, spread float64, z func(float64) float64) {
	median = medianOf(xs)
	dev := make([]float64, len(xs))
	sum := 0.0
	for i, x := range xs {
		dev[i] = math.Abs(x - median)
		sum += dev[i]
	}
	if mad := medianOf(dev); mad > 0 {
		spread = mad / madScale
	} else {
		spread = meanADScale * sum / float64(len(xs))
	}
	if spread == 0 {
		return median, 0, func(float64) float64 { return 0 }
	}
	return median, spread, func(x float64) float64 { return (x - median) / spread }
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
