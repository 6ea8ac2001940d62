// Package config reads the booth's configuration file (/etc/wartel/kiosk.toml),
// checks every value, and converts it into the options of each part of the
// firmware: the pin map and timings of drivers/booth, the reader of
// drivers/rfid, the policy and session engine of kiosk/, the store and the
// gateway.
//
// The file is strict: an unknown key, a value of the wrong type or a value out
// of range is an error that names the file, the line of the key and the key,
// and says what to write instead. All problems are reported at once, one per
// line, sorted by line, so a technician fixes the file in one pass:
//
//	/etc/wartel/kiosk.toml:12: gpio.relay: unknown pin "GPIO99": the 40-pin header has GPIO2 to GPIO27
//
// A key left out takes the default that firmware/packaging/kiosk.toml and
// docs/config.md show. Durations are Go duration strings ("20s", "1m30s"),
// opening windows are "08:00-11:30" strings, weekdays are English names.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"wartelsuspas/drivers/booth"
	"wartelsuspas/drivers/modem"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/session"
)

// DefaultPath is where the firmware looks for its file.
const DefaultPath = "/etc/wartel/kiosk.toml"

// Duration is a duration as the file writes it: a Go duration string such
// as "20s", "1m30s" or "250ms". Parse has checked it; Value reads it.
type Duration string

// Value returns the duration, 0 for an empty or invalid string (Parse
// refuses those where they matter).
func (d Duration) Value() time.Duration {
	v, _ := time.ParseDuration(string(d))
	return v
}

// Config is the whole file. Its TOML shape is the reference: every field
// here has a key in firmware/packaging/kiosk.toml (a test keeps them equal).
type Config struct {
	// Device is the booth id, "FACILITY/BOOTH", e.g. "lapas-cipinang/b03":
	// it must match the device certificate and is written into every record.
	Device string `toml:"device"`
	// Language of the self-test, status and simulator pages: "id", "en", or
	// "" to follow the LANG environment variable (default English).
	Language string `toml:"language"`

	Pins    booth.Config `toml:"gpio"`
	Timings Timings      `toml:"booth"`
	Card    CardReader   `toml:"reader"`
	Policy  Policy       `toml:"policy"`
	Calls   Calls        `toml:"session"`
	Store   Store        `toml:"store"`
	Gateway Gateway      `toml:"gateway"`
	Modem   Modem        `toml:"modem"`
	Keypad  Keypad       `toml:"keypad"`

	file  string
	lines keyLines
	rules policy.Rules
}

// Timings are the timings of drivers/booth ([booth]).
type Timings struct {
	Debounce         Duration `toml:"debounce"`
	FeedbackDebounce Duration `toml:"feedback_debounce"`
	Settle           Duration `toml:"settle"`
	PollInterval     Duration `toml:"poll_interval"`
	EdgeWait         Duration `toml:"edge_wait"`
}

// CardReader is the card reader ([reader]).
type CardReader struct {
	// Protocol is rdm6300, id12, ascii or pn532.
	Protocol      string      `toml:"protocol"`
	Path          string      `toml:"path"`
	VID           string      `toml:"vid"`
	PID           string      `toml:"pid"`
	SerialNumber  string      `toml:"serial_number"`
	ConfirmFrames int         `toml:"confirm_frames"`
	ConfirmWindow Duration    `toml:"confirm_window"`
	Silence       Duration    `toml:"silence"`
	AbsentPolls   int         `toml:"absent_polls"`
	RetryMin      Duration    `toml:"retry_min"`
	RetryMax      Duration    `toml:"retry_max"`
	ASCII         ASCIIReader `toml:"ascii"`
	PN532         PN532Reader `toml:"pn532"`
}

// ASCIIReader configures the "ascii" protocol ([reader.ascii]).
type ASCIIReader struct {
	Format    string `toml:"format"`
	Tech      string `toml:"tech"`
	EMVersion string `toml:"em_version"`
	Baud      int    `toml:"baud"`
}

// PN532Reader configures the "pn532" protocol ([reader.pn532]).
type PN532Reader struct {
	PollInterval    Duration `toml:"poll_interval"`
	AckTimeout      Duration `toml:"ack_timeout"`
	ResponseTimeout Duration `toml:"response_timeout"`
	PassiveRetries  int      `toml:"passive_retries"`
	MaxReinits      int      `toml:"max_reinits"`
	// Reset is the BCM name of the GPIO wired to RSTPD_N, "" if none.
	Reset        string   `toml:"reset"`
	ResetPulse   Duration `toml:"reset_pulse"`
	ResetStartup Duration `toml:"reset_startup"`
}

// Modem is the cellular voice module ([modem]); port "" is a relay-only
// booth (docs/modem.md).
type Modem struct {
	// Port is the module's AT port, e.g. "/dev/ttyUSB2" or "/dev/serial0".
	Port string `toml:"port"`
	// Family is simcom, quectel or generic (modem.AllFamilies).
	Family string `toml:"family"`
	Baud   int    `toml:"baud"`
	// PowerKeyGPIO is the BCM name of the GPIO that presses PWRKEY, "" if none.
	PowerKeyGPIO string `toml:"power_key_gpio"`
	// DialTimeout is how long a call rings before it ends as no_answer.
	DialTimeout Duration `toml:"dial_timeout"`
	// MinSignal is the least +CSQ rssi (0..31) the booth calls with.
	MinSignal int `toml:"min_signal"`
}

// Keypad is the 3×4 matrix keypad ([keypad]): four row pins top to bottom
// and three column pins left to right; none is no keypad.
type Keypad struct {
	Rows []string `toml:"rows"`
	Cols []string `toml:"cols"`
}

// Policy is the facility's policy until the gateway sends its own ([policy]).
type Policy struct {
	TimeZone     string              `toml:"time_zone"`
	Period       string              `toml:"period"`
	Allowance    Duration            `toml:"allowance"`
	PerCall      Duration            `toml:"per_call"`
	MinGap       Duration            `toml:"min_gap"`
	Untrusted    string              `toml:"untrusted"`
	OfflineCap   Duration            `toml:"offline_cap"`
	UntrustedCap Duration            `toml:"untrusted_cap"` // "": the offline cap
	Officer      string              `toml:"officer"`
	OfficerGrant Duration            `toml:"officer_grant"`
	Billing      Billing             `toml:"billing"`
	Hours        Hours               `toml:"hours"`
	Rotation     map[string]Rotation `toml:"rotation"`
	// DialFullNumber: on a booth with a modem, a registered number may be
	// typed in full, not only chosen by its slot digit.
	DialFullNumber bool `toml:"dial_full_number"`
	// MaxNumbersPerInmate is the document's limit on registered numbers;
	// the centre enforces it, a booth only carries it.
	MaxNumbersPerInmate int `toml:"max_numbers_per_inmate"`
}

// Billing is [policy.billing].
type Billing struct {
	Unit    string   `toml:"unit"`
	Minimum Duration `toml:"minimum"`
}

// Hours are the opening windows: weekday name → windows, and dated
// exceptions "2026-12-25" → windows (an empty list: closed that day).
type Hours struct {
	Weekly     map[string][]string `toml:"weekly"`
	Exceptions map[string][]string `toml:"exceptions"`
}

// Rotation is one cell block's windows ([policy.rotation.BLOCK.weekly]).
type Rotation struct {
	Weekly     map[string][]string `toml:"weekly"`
	Exceptions map[string][]string `toml:"exceptions"`
}

// Calls are the call engine's settings ([session]).
type Calls struct {
	OffHookTimeout      Duration  `toml:"off_hook_timeout"`
	Checkpoint          Duration  `toml:"checkpoint"`
	SecondTapEnds       bool      `toml:"second_tap_ends"`
	OfficerTimeout      Duration  `toml:"officer_timeout"`
	OfficerRateLimit    int       `toml:"officer_rate_limit"`
	OfficerRateWindow   Duration  `toml:"officer_rate_window"`
	StoreRetry          Duration  `toml:"store_retry"`
	AuthoriseDeadline   Duration  `toml:"authorise_deadline"`
	ClockTrustedAtStart bool      `toml:"clock_trusted_at_start"`
	Warnings            []Warning `toml:"warnings"`
	// ChooseTimeout and RingTimeout are dial control's (a booth with a
	// modem): how long an authorised tap waits for a number to be keyed
	// (from the tap or the last key), and how long a dialled call may
	// ring unanswered before the booth hangs up (no_answer).
	ChooseTimeout Duration `toml:"choose_timeout"`
	RingTimeout   Duration `toml:"ring_timeout"`
}

// Warning is one [[session.warnings]] entry: a lamp signal shown Before the
// cut-off.
type Warning struct {
	Before Duration `toml:"before"`
	Signal string   `toml:"signal"`
}

// Store is the local database ([store]).
type Store struct {
	Path string `toml:"path"`
}

// Gateway is the central gateway ([gateway]).
type Gateway struct {
	// URL is the gateway's base address, https://host:8443.
	URL string `toml:"url"`
	// Bundle is the directory of the device bundle: booth.key, booth.crt,
	// ca.crt, bundle.json.
	Bundle string `toml:"bundle"`
}

// Default returns the configuration of a file that sets nothing but what
// has no default (device, gateway.url). Weekly hours default to
// DefaultWeekly when the file has no [policy.hours.weekly] table.
func Default() Config {
	return Config{
		Pins: booth.DefaultConfig(),
		Timings: Timings{
			Debounce: "30ms", FeedbackDebounce: "5ms", Settle: "50ms",
			PollInterval: "10ms", EdgeWait: "250ms",
		},
		Card: defaultReader(),
		Policy: Policy{
			TimeZone: "Asia/Jakarta", Period: "day", Allowance: "30m", PerCall: "10m",
			MinGap: "0s", Untrusted: "refuse", OfflineCap: "10m", Officer: "reset",
			OfficerGrant: "0s", MaxNumbersPerInmate: policy.DefaultNumbersPerInmate,
			Billing: Billing{Unit: "second", Minimum: "0s"},
		},
		Calls: Calls{
			OffHookTimeout: "20s", Checkpoint: "5s", OfficerTimeout: "30s",
			OfficerRateLimit: 6, OfficerRateWindow: "1m", StoreRetry: "10s",
			AuthoriseDeadline: "400ms", ChooseTimeout: "30s", RingTimeout: "1m",
		},
		Store:   Store{Path: "/var/lib/wartel/booth.db"},
		Gateway: Gateway{Bundle: "/etc/wartel/bundle"},
		Modem: Modem{Family: string(modem.FamilyGeneric), Baud: modem.DefaultOptions.Baud,
			DialTimeout: Duration(short(modem.DefaultOptions.DialTimeout)), MinSignal: modem.DefaultOptions.MinSignal},
	}
}

// defaultReader is [reader] of a file that sets none of it: drivers/rfid's
// own defaults (rfid.DefaultOptions, DefaultPN532Options,
// DefaultASCIIBaud), written there only, on the rdm6300 at /dev/ttyUSB0.
func defaultReader() CardReader {
	o, pn := rfid.DefaultOptions, rfid.DefaultPN532Options
	return CardReader{
		Protocol: "rdm6300", Path: "/dev/ttyUSB0",
		ConfirmFrames: o.ConfirmFrames, ConfirmWindow: Duration(short(o.ConfirmWindow)), Silence: Duration(short(o.Silence)),
		AbsentPolls: o.AbsentPolls, RetryMin: Duration(short(o.RetryMin)), RetryMax: Duration(short(o.RetryMax)),
		ASCII: ASCIIReader{Format: "hex", Tech: "raw", Baud: rfid.DefaultASCIIBaud},
		PN532: PN532Reader{
			PollInterval: Duration(short(pn.PollInterval)), AckTimeout: Duration(short(pn.AckTimeout)),
			ResponseTimeout: Duration(short(pn.ResponseTimeout)), PassiveRetries: int(pn.PassiveRetries),
			MaxReinits: pn.MaxReinits, ResetPulse: Duration(short(pn.ResetPulse)), ResetStartup: Duration(short(pn.ResetStartup)),
		},
	}
}

// DefaultWeekly are the opening windows of a file without
// [policy.hours.weekly]: the usual Lapas visiting times, shorter on Friday
// for the prayer, closed on Sunday.
func DefaultWeekly() map[string][]string {
	day := []string{"08:00-11:30", "13:00-15:00"}
	return map[string][]string{
		"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
		"friday":   {"08:00-11:00"},
		"saturday": {"08:00-11:30"},
	}
}

// DefaultWarnings are the [[session.warnings]] of a file without any.
func DefaultWarnings() []Warning {
	var ws []Warning
	for _, w := range session.DefaultWarnings {
		ws = append(ws, Warning{Before: Duration(w.Before.String()), Signal: string(w.Signal)})
	}
	return ws
}

// Problem is one thing wrong in the file: where, which key, and what.
type Problem struct {
	File string
	Line int    // 0: the key is not in the file (a required key is missing)
	Key  string // dotted path, e.g. "gpio.relay", "session.warnings[1].before"
	Err  error
}

// Error formats the problem as "FILE:LINE: KEY: what to do".
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Err.Error())
	return b.String()
}

func (p *Problem) Unwrap() error { return p.Err }

// Load reads and parses the file at path, then checks the files it names
// (CheckFiles).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w (install the example: cp /usr/share/wartel/kiosk.toml %s)", err, path)
	}
	c, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if err := c.CheckFiles(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes and checks a configuration file's bytes; name is the file
// name errors carry. It touches no file: CheckFiles does. On any problem it
// returns nil and every problem, joined, sorted by line.
func Parse(data []byte, name string) (*Config, error) {
	c := Default()
	c.file = name
	lines, lerr := scanLines(data)
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var unknown []*Problem
	if err := dec.Decode(&c); err != nil {
		var strict *toml.StrictMissingError
		if !errors.As(err, &strict) {
			return nil, decodeProblems(name, err)
		}
		// Unknown keys: the rest was decoded, so check it too and report
		// everything in one pass.
		for _, e := range strict.Errors {
			row, _ := e.Position()
			unknown = append(unknown, &Problem{File: name, Line: row, Key: strings.Join(e.Key(), "."),
				Err: errors.New("unknown key: check its spelling and its [table] against the example kiosk.toml")})
		}
	}
	if lerr != nil { // the decoder accepted what the parser did not: never expected
		return nil, &Problem{File: name, Err: fmt.Errorf("cannot read the file: %w", lerr)}
	}
	c.lines = lines
	if _, ok := lines["policy.hours.weekly"]; !ok {
		c.Policy.Hours.Weekly = DefaultWeekly()
	}
	if _, ok := lines["session.warnings"]; !ok {
		c.Calls.Warnings = DefaultWarnings()
	}
	if ps := append(unknown, c.validate()...); len(ps) > 0 {
		return nil, joinSorted(ps)
	}
	return &c, nil
}

// typeErrRE matches the decoder's wording of a value of the wrong type.
var typeErrRE = regexp.MustCompile(`cannot decode TOML (\w+) into struct field \S+ of type (\S+)`)

// decodeProblems turns a syntax or type error of the decoder into a problem
// with its line.
func decodeProblems(name string, err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if m := typeErrRE.FindStringSubmatch(msg); m != nil {
			want := map[string]string{"int": "a whole number, without quotes", "bool": "true or false, without quotes",
				"config.Duration": "a duration in quotes, e.g. \"20s\""}[m[2]]
			if want == "" {
				want = "a " + strings.TrimPrefix(m[2], "config.") + " as in the example kiosk.toml"
			}
			msg = "the value is a TOML " + m[1] + "; write " + want
		}
		if key == "" {
			return &Problem{File: name, Line: row, Err: fmt.Errorf("column %d: %s", col, msg)}
		}
		return &Problem{File: name, Line: row, Key: key, Err: errors.New(msg)}
	}
	return &Problem{File: name, Err: fmt.Errorf("cannot decode: %w", err)}
}

// joinSorted joins problems sorted by line (missing keys, line 0, first),
// then by key, so the output is stable.
func joinSorted(ps []*Problem) error {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b *Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return strings.Compare(a.Key, b.Key)
	})
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// File is the name the configuration was parsed under.
func (c *Config) File() string { return c.file }

// Line returns the line of key in the file (or of the nearest table that
// encloses it), 0 if neither is written.
func (c *Config) Line(key string) int { return c.lines.lookup(key) }

// Problem returns err as a problem of key, with its file and line: callers
// that check more (the device bundle, the reader port) report in the same
// form.
func (c *Config) Problem(key string, err error) *Problem {
	return &Problem{File: c.file, Line: c.Line(key), Key: key, Err: err}
}

// CheckFiles checks what the file names on disk: the device bundle
// directory and the directory of the store. Only the presence is checked:
// `wartel-kiosk config check` also verifies the bundle's certificates.
func (c *Config) CheckFiles() error {
	var ps []*Problem
	if fi, err := os.Stat(c.Gateway.Bundle); err != nil {
		ps = append(ps, c.Problem("gateway.bundle", fmt.Errorf("%w: copy the booth's bundle (booth.key, booth.crt, ca.crt, bundle.json) there, see docs/pki.md", err)))
	} else if !fi.IsDir() {
		ps = append(ps, c.Problem("gateway.bundle", fmt.Errorf("%s is not a directory: it must hold booth.key, booth.crt, ca.crt and bundle.json", c.Gateway.Bundle)))
	}
	dir := c.Store.Path[:strings.LastIndexByte(c.Store.Path, '/')+1]
	if fi, err := os.Stat(dir); err != nil {
		ps = append(ps, c.Problem("store.path", fmt.Errorf("directory: %w: create it (the service's StateDirectory= makes /var/lib/wartel)", err)))
	} else if !fi.IsDir() {
		ps = append(ps, c.Problem("store.path", fmt.Errorf("%s is not a directory", dir)))
	}
	return joinSorted(ps)
}

// Summary is one line for logs and `config check`.
func (c *Config) Summary() string {
	where := c.Card.Path
	if where == "" {
		where = "USB " + c.Card.VID + ":" + c.Card.PID
	}
	lang := c.Language
	if lang == "" {
		lang = "from LANG"
	}
	return fmt.Sprintf("device %s, relay %s, reader %s on %s, %s %s allowance %s, gateway %s, language %s",
		c.Device, c.Pins.Relay, c.Card.Protocol, where, c.Policy.TimeZone, c.Policy.Period,
		c.Policy.Allowance.Value(), c.Gateway.URL, lang)
}

// GPIO returns the pin map for drivers/booth.
func (c *Config) GPIO() booth.Config { return c.Pins }
