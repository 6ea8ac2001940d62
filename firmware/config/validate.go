package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/booth"
	"wartelsuspas/drivers/modem"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/kiosk/policy"
)

// checker collects problems with the lines of their keys.
type checker struct {
	c  *Config
	ps []*Problem
}

func (k *checker) bad(key, format string, args ...any) {
	k.ps = append(k.ps, k.c.Problem(key, fmt.Errorf(format, args...)))
}

// duration checks a duration key; zeroOK allows "0s". A value outside the
// key's bounds (bounds.go) is refused too.
func (k *checker) duration(key string, d Duration, zeroOK bool) time.Duration {
	v, err := time.ParseDuration(string(d))
	switch {
	case err != nil:
		k.bad(key, "%q is not a duration: write it like \"20s\", \"1m30s\" or \"250ms\"", string(d))
	case v < 0:
		k.bad(key, "%s is negative", v)
	case v == 0 && !zeroOK:
		k.bad(key, "must be more than zero")
	default:
		k.checkSpan(key, v)
	}
	return v
}

func (c *Config) validate() []*Problem {
	k := &checker{c: c}
	k.top()
	k.gpio()
	k.timings()
	k.reader()
	k.policy()
	k.session()
	k.storeAndGateway()
	k.modemAndKeypad()
	if len(k.ps) == 0 {
		// The policy package's own check is the last word on the rules;
		// every case it knows is caught above with its line.
		if err := c.rules.Validate(); err != nil {
			k.bad("policy", "%v", err)
		}
	}
	return k.ps
}

// deviceRE is the CA's rule for facility and booth names (tools/centre/ca
// checkName): what is safe in a URI, a file name and a log line.
var deviceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}/[a-z0-9][a-z0-9._-]{0,63}$`)

func (k *checker) top() {
	c := k.c
	switch {
	case c.Device == "":
		k.bad("device", "missing: set the booth id FACILITY/BOOTH that its certificate names, e.g. \"lapas-cipinang/b03\"")
	case !deviceRE.MatchString(c.Device):
		k.bad("device", "%q is not a booth id: write FACILITY/BOOTH, each up to 64 lower-case letters, digits, '.', '_' or '-', e.g. \"lapas-cipinang/b03\"", c.Device)
	}
	switch c.Language {
	case "", "id", "en":
	default:
		k.bad("language", "%q is not a language: use \"id\" (Bahasa Indonesia), \"en\" (English) or \"\" to follow LANG", c.Language)
	}
}

func (k *checker) gpio() {
	err := k.c.Pins.Validate()
	if err == nil {
		return
	}
	errs := unjoin(err)
	// booth names each key as "gpio.KEY: what"; keep the key for its line.
	for _, e := range errs {
		key, msg, ok := strings.Cut(e.Error(), ": ")
		if !ok || !strings.HasPrefix(key, "gpio.") {
			key, msg = "gpio", e.Error()
		}
		k.ps = append(k.ps, k.c.Problem(key, errors.New(msg)))
	}
}

func (k *checker) timings() {
	t := k.c.Timings
	k.duration("booth.debounce", t.Debounce, false)
	k.duration("booth.feedback_debounce", t.FeedbackDebounce, false)
	k.duration("booth.settle", t.Settle, false)
	k.duration("booth.poll_interval", t.PollInterval, false)
	k.duration("booth.edge_wait", t.EdgeWait, false)
}

var usbIDRE = regexp.MustCompile(`^[0-9A-Fa-f]{4}$`)

func (k *checker) reader() {
	r := k.c.Card
	if _, err := rfid.ProtocolByName(r.Protocol, rfid.ProtocolOptions{ASCII: rfid.ASCIIOptions{Format: "hex", Tech: "raw"}}); err != nil {
		k.bad("reader.protocol", "%q is not a reader protocol: use one of %s (see docs/readers.md)", r.Protocol, strings.Join(rfid.ProtocolNames, ", "))
	}
	switch {
	case r.Path != "" && !strings.HasPrefix(r.Path, "/dev/"):
		k.bad("reader.path", "%q is not a device: give a path under /dev, e.g. /dev/ttyUSB0 or /dev/serial/by-id/…", r.Path)
	case r.Path == "" && (r.VID == "" || r.PID == ""):
		k.bad("reader.path", "missing: give the reader's device path, or its USB vid and pid (`wartel-reader ports` lists them)")
	}
	for _, id := range []struct{ key, v string }{{"reader.vid", r.VID}, {"reader.pid", r.PID}} {
		if id.v != "" && !usbIDRE.MatchString(id.v) {
			k.bad(id.key, "%q is not a USB id: write 4 hex digits, e.g. \"1a86\"", id.v)
		}
	}
	k.count("reader.confirm_frames", r.ConfirmFrames)
	k.count("reader.absent_polls", r.AbsentPolls)
	k.duration("reader.confirm_window", r.ConfirmWindow, false)
	k.duration("reader.silence", r.Silence, false)
	lo := k.duration("reader.retry_min", r.RetryMin, false)
	if hi := k.duration("reader.retry_max", r.RetryMax, false); hi > 0 && hi < lo {
		k.bad("reader.retry_max", "%s is less than retry_min %s", hi, lo)
	}

	a := r.ASCII
	if a.Format != "hex" && a.Format != "decimal" {
		k.bad("reader.ascii.format", "%q: use hex or decimal, as the reader prints the card", a.Format)
	}
	if a.Tech != cardid.TechEM && a.Tech != cardid.TechISO14443A && a.Tech != cardid.TechRaw {
		k.bad("reader.ascii.tech", "%q: use em (125 kHz), 14a (13.56 MHz) or raw", a.Tech)
	}
	if a.EMVersion != "" {
		if _, err := strconv.ParseUint(a.EMVersion, 16, 8); err != nil || len(a.EMVersion) != 2 {
			k.bad("reader.ascii.em_version", "%q: write the version byte of the facility's EM cards as two hex digits, e.g. \"0F\"", a.EMVersion)
		}
	}
	k.count("reader.ascii.baud", a.Baud)

	p := r.PN532
	k.duration("reader.pn532.poll_interval", p.PollInterval, false)
	k.duration("reader.pn532.ack_timeout", p.AckTimeout, false)
	k.duration("reader.pn532.response_timeout", p.ResponseTimeout, false)
	k.duration("reader.pn532.reset_pulse", p.ResetPulse, false)
	k.duration("reader.pn532.reset_startup", p.ResetStartup, false)
	k.count("reader.pn532.passive_retries", p.PassiveRetries)
	k.count("reader.pn532.max_reinits", p.MaxReinits)
	if p.Reset != "" {
		if err := checkPin(p.Reset); err != nil {
			k.bad("reader.pn532.reset", "%v", err)
		} else if label, ok := k.c.Pins.Labels()[p.Reset]; ok {
			k.bad("reader.pn532.reset", "%s is already used by gpio.%s; wire RSTPD_N to its own pin (GPIO4 in docs/wiring.md)", p.Reset, label)
		}
	}
}

// checkPin checks a BCM pin name with the pin map's own rule: a map with
// only that pin, whose other complaints (missing hook, lamps) are dropped.
func checkPin(pin string) error {
	c := booth.Config{Relay: pin}
	for _, e := range unjoin(c.Validate()) {
		if key, msg, _ := strings.Cut(e.Error(), ": "); key == "gpio.relay" {
			return errors.New(msg)
		}
	}
	return nil
}

// unjoin splits an errors.Join result.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// tomlKeys name each field of a policy.Document in the booth's file; the
// credit caps are the centre's alone.
var tomlKeys = map[policy.Field]string{
	policy.FieldZone: "policy.time_zone", policy.FieldPeriod: "policy.period", policy.FieldAllowance: "policy.allowance",
	policy.FieldPerCall: "policy.per_call", policy.FieldMinGap: "policy.min_gap",
	policy.FieldHours: "policy.hours", policy.FieldRotation: "policy.rotation",
	policy.FieldDialFullNumber:      "policy.dial_full_number",
	policy.FieldMaxNumbersPerInmate: "policy.max_numbers_per_inmate",
}

// policy checks [policy]: the booth's own keys here, the document's
// (zone, period, allowance, caps, hours, rotation) by policy.Document.
func (k *checker) policy() {
	p := k.c.Policy
	r := policy.Rules{
		Untrusted: policy.UntrustedRule(p.Untrusted),
		Officer:   policy.OfficerAction(p.Officer),
		Billing:   policy.Billing{Unit: policy.BillingUnit(p.Billing.Unit)},
	}
	doc := policy.Document{Zone: p.TimeZone, Period: p.Period, Hours: (*policy.Schedule)(&p.Hours)}
	doc.Allowance = k.duration("policy.allowance", p.Allowance, false)
	if most := periodLength(policy.PeriodKind(p.Period)); doc.Allowance > most {
		k.bad("policy.allowance", "%s is more than the %s period (%s) could ever use: write at most %q", short(doc.Allowance), p.Period, short(most), short(most))
	}
	perCall, minGap := k.duration("policy.per_call", p.PerCall, true), k.duration("policy.min_gap", p.MinGap, true)
	doc.PerCall, doc.MinGap = &perCall, &minGap
	doc.DialFullNumber = &p.DialFullNumber
	if len(p.Rotation) > 0 {
		doc.Rotation = make(map[string]policy.Schedule, len(p.Rotation))
		for b, rot := range p.Rotation {
			doc.Rotation[b] = policy.Schedule(rot)
		}
	}
	maxNumbers := k.count("policy.max_numbers_per_inmate", p.MaxNumbersPerInmate)
	doc.MaxNumbersPerInmate = &maxNumbers
	r.OfflineCap = k.duration("policy.offline_cap", p.OfflineCap, true)
	// A file from before untrusted_cap existed bounded cap-only calls by
	// offline_cap: left out (or ""), it still does.
	r.UntrustedCap = r.OfflineCap
	if p.UntrustedCap != "" {
		r.UntrustedCap = k.duration("policy.untrusted_cap", p.UntrustedCap, true)
	}
	r.OfficerGrant = k.duration("policy.officer_grant", p.OfficerGrant, true)
	switch r.Untrusted {
	case policy.UntrustedRefuse, policy.UntrustedCapOnly:
	default:
		k.bad("policy.untrusted", "%q: use refuse or cap-only", p.Untrusted)
	}
	switch r.Officer {
	case policy.OfficerReset:
	case policy.OfficerGrant:
		if r.OfficerGrant <= 0 {
			k.bad("policy.officer_grant", "officer = \"grant\" needs the minutes to grant, e.g. \"15m\"")
		}
	default:
		k.bad("policy.officer", "%q: use reset or grant", p.Officer)
	}
	switch r.Billing.Unit {
	case policy.PerSecond, policy.PerStartedMinute:
	default:
		k.bad("policy.billing.unit", "%q: use second or minute", p.Billing.Unit)
	}
	r.Billing.Minimum = k.duration("policy.billing.minimum", p.Billing.Minimum, true)
	k.c.rules = doc.Rules(r, func(f policy.Field, sub string, err error) {
		key := tomlKeys[f] + sub
		if !k.has(key) { // a duration's own check said it first, with the file's bound
			k.ps = append(k.ps, k.c.Problem(key, err))
		}
	})
}

// has reports whether key already has a problem.
func (k *checker) has(key string) bool {
	for _, p := range k.ps {
		if p.Key == key {
			return true
		}
	}
	return false
}

func (k *checker) session() {
	s := k.c.Calls
	k.duration("session.off_hook_timeout", s.OffHookTimeout, false)
	k.duration("session.checkpoint", s.Checkpoint, false)
	k.duration("session.officer_timeout", s.OfficerTimeout, false)
	k.duration("session.officer_rate_window", s.OfficerRateWindow, false)
	k.duration("session.store_retry", s.StoreRetry, false)
	k.duration("session.authorise_deadline", s.AuthoriseDeadline, false)
	k.duration("session.choose_timeout", s.ChooseTimeout, false)
	k.duration("session.ring_timeout", s.RingTimeout, false)
	k.count("session.officer_rate_limit", s.OfficerRateLimit)
	k.count("session.warnings", len(s.Warnings))
	signals := booth.Signals()
	for i, w := range s.Warnings {
		key := fmt.Sprintf("session.warnings[%d]", i)
		k.duration(key+".before", w.Before, false)
		if !slices.Contains(signals, w.Signal) {
			k.bad(key+".signal", "%q is not a lamp signal: use one of %s (docs/lamps.md)", w.Signal, strings.Join(signals, ", "))
		}
	}
}

func (k *checker) storeAndGateway() {
	c := k.c
	if !filepath.IsAbs(c.Store.Path) || strings.HasSuffix(c.Store.Path, "/") {
		k.bad("store.path", "%q: give the absolute path of the database file, e.g. /var/lib/wartel/booth.db", c.Store.Path)
	}
	if c.Gateway.URL == "" {
		k.bad("gateway.url", "missing: set the central gateway's address, e.g. \"https://gateway.kanwil.example:8443\"")
	} else if u, err := url.Parse(c.Gateway.URL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		k.bad("gateway.url", "%q: write https://HOST:PORT (the gateway speaks mutual TLS only), e.g. \"https://gateway.kanwil.example:8443\"", c.Gateway.URL)
	}
	if !filepath.IsAbs(c.Gateway.Bundle) {
		k.bad("gateway.bundle", "%q: give the absolute path of the device bundle directory, e.g. /etc/wartel/bundle", c.Gateway.Bundle)
	}
}

// modemAndKeypad checks [modem] and [keypad]. A booth without modem.port is
// relay-only; the rest of [modem] is checked all the same, so that a
// mistake shows before the modem is fitted.
func (k *checker) modemAndKeypad() {
	m := k.c.Modem
	used := map[string]string{}
	for pin, label := range k.c.Pins.Labels() {
		used[pin] = "gpio." + label
	}
	if p := k.c.ResetPin(); p != "" {
		used[p] = "reader.pn532.reset"
	}
	pin := func(key, p string) {
		if err := checkPin(p); err != nil {
			k.bad(key, "%v", err)
		} else if other, ok := used[p]; ok {
			k.bad(key, "%s is already used by %s; give it its own pin (docs/wiring.md)", p, other)
		}
		used[p] = key
	}
	if m.Port != "" && !strings.HasPrefix(m.Port, "/dev/") {
		k.bad("modem.port", "%q is not a device: give the module's AT port under /dev, e.g. /dev/ttyUSB2 (USB) or /dev/serial0 (the Pi's UART)", m.Port)
	}
	if _, err := modem.FamilyByName(m.Family); err != nil {
		k.bad("modem.family", "%q: use simcom (SIM7600, SIM800), quectel (EC25, EG25) or generic (see docs/modem.md)", m.Family)
	}
	k.count("modem.baud", m.Baud)
	k.duration("modem.dial_timeout", m.DialTimeout, false)
	k.count("modem.min_signal", m.MinSignal)
	if m.PowerKeyGPIO != "" {
		pin("modem.power_key_gpio", m.PowerKeyGPIO)
	}
	kp := k.c.Keypad
	if len(kp.Rows) == 0 && len(kp.Cols) == 0 {
		return
	}
	if len(kp.Rows) != 4 {
		k.bad("keypad.rows", "%d pins: a 3×4 keypad has 4 rows; list them top to bottom, e.g. [\"GPIO5\", \"GPIO6\", \"GPIO13\", \"GPIO19\"]", len(kp.Rows))
	}
	if len(kp.Cols) != 3 {
		k.bad("keypad.cols", "%d pins: a 3×4 keypad has 3 columns; list them left to right, e.g. [\"GPIO12\", \"GPIO16\", \"GPIO20\"]", len(kp.Cols))
	}
	for i, p := range kp.Rows {
		pin(fmt.Sprintf("keypad.rows[%d]", i), p)
	}
	for i, p := range kp.Cols {
		pin(fmt.Sprintf("keypad.cols[%d]", i), p)
	}
}
