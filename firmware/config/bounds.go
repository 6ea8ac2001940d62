package config

import (
	"regexp"
	"strings"
	"time"

	"wartelsuspas/kiosk/policy"
)

// Bounds a real booth needs. A value outside them is a mistake, not a
// setting (a unit typed wrong: "87600h" for "8h", 100000 for 10), and is
// refused with what to write; docs/config.md "Bounds" lists them (a test
// keeps the two equal). A zero that means "none" ("0s" for no per-call cap)
// is not bounded below.

// span is the range of a duration key: at least lo (0: any value the key's
// own check allows), at most hi, and why, said to the technician.
type span struct {
	lo, hi time.Duration
	why    string
}

// longestCall is the most any one call or offline allowance may be: longer
// than any booth opens in a day's visiting windows.
const longestCall = 4 * time.Hour

var durationBounds = map[string]span{
	"booth.debounce":          {hi: time.Second, why: "a switch settles in milliseconds"},
	"booth.feedback_debounce": {hi: time.Second, why: "a relay contact settles in milliseconds"},
	"booth.settle":            {hi: time.Second, why: "a relay follows its command in tens of milliseconds"},
	"booth.poll_interval":     {hi: time.Second, why: "a slower poll misses a lifted handset"},
	"booth.edge_wait":         {hi: 10 * time.Second, why: "a stop waits this long"},

	"reader.confirm_window":         {hi: 10 * time.Second, why: "a tap is confirmed within a second"},
	"reader.silence":                {hi: 30 * time.Second, why: "a removed card must be noticed"},
	"reader.retry_min":              {hi: time.Minute, why: "an unplugged reader is retried at least this often"},
	"reader.retry_max":              {hi: 10 * time.Minute, why: "a replugged reader must come back within minutes"},
	"reader.pn532.poll_interval":    {hi: 10 * time.Second, why: "a tap must be seen within a second"},
	"reader.pn532.ack_timeout":      {hi: time.Second, why: "the PN532 answers within milliseconds"},
	"reader.pn532.response_timeout": {hi: 5 * time.Second, why: "the PN532 answers within milliseconds"},
	"reader.pn532.reset_pulse":      {hi: time.Second, why: "the PN532 resets within milliseconds"},
	"reader.pn532.reset_startup":    {hi: 5 * time.Second, why: "the PN532 starts within milliseconds"},

	"modem.dial_timeout": {lo: 10 * time.Second, hi: 3 * time.Minute, why: "a network gives up ringing after about a minute; the inmate waits this long"},

	// policy.allowance is bounded by its period's length (see policy()).
	"policy.per_call":          {hi: longestCall, why: "the longest call a booth allows"},
	"policy.min_gap":           {hi: 24 * time.Hour, why: "a gap of more than a day locks inmates out"},
	"policy.offline_cap":       {hi: longestCall, why: "the most a booth grants an inmate offline in a period; the facility's worst-case overspend is booths × this"},
	"policy.untrusted_cap":     {hi: longestCall, why: "the longest call while the clock is not set"},
	"policy.officer_grant":     {hi: longestCall, why: "the most one officer tap may grant"},
	"policy.billing.minimum":   {hi: 10 * time.Minute, why: "a minimum charge is a minute or two"},
	"session.off_hook_timeout": {hi: 5 * time.Minute, why: "a granted call holds the inmate's minutes (and the centre's lease) this long before the handset is lifted"},
	"session.checkpoint": {lo: time.Second, hi: time.Minute,
		why: "a power cut bills at most one interval less than was talked, and each checkpoint is a write to the SD card"},
	"session.officer_timeout":     {hi: 10 * time.Minute, why: "an unattended booth stays in officer mode this long"},
	"session.officer_rate_window": {hi: time.Hour, why: "the rate limit counts taps within this window"},
	"session.store_retry":         {hi: 10 * time.Minute, why: "a booth back from a full disk waits this long"},
	"session.authorise_deadline":  {hi: 5 * time.Second, why: "an inmate waits this long at a tap"},
	"session.warnings[N].before":  {hi: 30 * time.Minute, why: "a warning comes shortly before the cut-off"},
	"session.choose_timeout":      {lo: 5 * time.Second, hi: 5 * time.Minute, why: "an inmate keys a slot digit and # within seconds; the booth waits this long for a number"},
	"session.ring_timeout":        {lo: 10 * time.Second, hi: 3 * time.Minute, why: "a network gives up ringing after about a minute; the inmate hears it ring this long"},
}

// count is the range of a whole-number key.
type count struct {
	lo, hi int
	why    string
}

var countBounds = map[string]count{
	"reader.confirm_frames":         {1, 20, "a repeating reader sends several frames a second"},
	"reader.absent_polls":           {1, 50, "a removed card must be noticed"},
	"reader.ascii.baud":             {300, 4000000, "a serial line speed"},
	"reader.pn532.passive_retries":  {0, 254, "255 would wait for a card forever"},
	"reader.pn532.max_reinits":      {1, 100, "a dead reader must be reported"},
	"modem.baud":                    {300, 4000000, "a serial line speed"},
	"modem.min_signal":              {0, 31, "a +CSQ rssi: 0 is -113 dBm, 31 is -51 dBm or better"},
	"session.officer_rate_limit":    {1, 60, "officer taps per window; more is no limit"},
	"session.warnings":              {0, 8, "warnings per call"},
	"policy.max_numbers_per_inmate": {policy.MinNumbersPerInmate, policy.MaxNumbersPerInmate, "numbers registered for one inmate (the default is 10)"},
}

// indexRE turns list indexes into the [N] the bounds and docs name.
var indexRE = regexp.MustCompile(`\[\d+\]`)

// checkSpan reports v outside key's bounds, if it has any.
func (k *checker) checkSpan(key string, v time.Duration) {
	b, ok := durationBounds[indexRE.ReplaceAllString(key, "[N]")]
	switch {
	case !ok:
	case v > b.hi:
		k.bad(key, "%s is more than %s (%s): write at most %q", short(v), short(b.hi), b.why, short(b.hi))
	case v < b.lo && v > 0:
		k.bad(key, "%s is less than %s (%s): write at least %q", short(v), short(b.lo), b.why, short(b.lo))
	}
}

// count checks a whole-number key against its bounds.
func (k *checker) count(key string, v int) int {
	b := countBounds[key]
	switch {
	case v < b.lo:
		k.bad(key, "%d is less than %d (%s): write at least %d", v, b.lo, b.why, b.lo)
	case v > b.hi:
		k.bad(key, "%d is more than %d (%s): write at most %d", v, b.hi, b.why, b.hi)
	}
	return v
}

// periodLength is the longest a period can be: an allowance longer than its
// period could never be talked.
func periodLength(p policy.PeriodKind) time.Duration {
	switch p {
	case policy.Week:
		return 7 * 24 * time.Hour
	case policy.Month:
		return 31 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// short writes a duration as a file would: "4h", "1m30s", "500ms".
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
