package booth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Config is the booth's pin map, the [gpio] table of the config file. Pins
// are BCM names of the 40-pin header ("GPIO17"); an empty name means not
// wired. An ActiveLow output is on when its line is low (most opto-isolated
// relay boards); an ActiveLow input is active (off-hook, panel open, relay
// closed) when its line reads low.
type Config struct {
	Relay          string `toml:"relay"`
	RelayActiveLow bool   `toml:"relay_active_low"`

	// Feedback is an optional contact of the relay read back to check that
	// the relay follows its command.
	Feedback          string `toml:"relay_feedback"`
	FeedbackActiveLow bool   `toml:"relay_feedback_active_low"`

	// Three discrete lamps, or else one RGB lamp (RGBRed, RGBGreen; blue is
	// not used: amber is red and green together).
	LampGreen      string `toml:"lamp_green"`
	LampAmber      string `toml:"lamp_amber"`
	LampRed        string `toml:"lamp_red"`
	RGBRed         string `toml:"rgb_red"`
	RGBGreen       string `toml:"rgb_green"`
	LampsActiveLow bool   `toml:"lamps_active_low"`

	Buzzer          string `toml:"buzzer"`
	BuzzerActiveLow bool   `toml:"buzzer_active_low"`

	// Hook reads the hook switch, with the pull-up on. HookActiveLow: the
	// line reads low when the handset is lifted.
	Hook          string `toml:"hook"`
	HookActiveLow bool   `toml:"hook_active_low"`

	// Tamper reads the panel switch, with the pull-up on. The usual wiring
	// is a switch to ground that the closed panel holds closed, so an open
	// panel or a cut wire reads high: TamperActiveLow false.
	Tamper          string `toml:"tamper"`
	TamperActiveLow bool   `toml:"tamper_active_low"`
}

// DefaultConfig is the pin map of docs/wiring.md: discrete lamps, active-high
// relay board, hook switch closing to ground when lifted, no feedback.
func DefaultConfig() Config {
	return Config{
		Relay:         "GPIO17",
		LampGreen:     "GPIO22",
		LampAmber:     "GPIO23",
		LampRed:       "GPIO24",
		Buzzer:        "GPIO25",
		Hook:          "GPIO5",
		HookActiveLow: true,
		Tamper:        "GPIO6",
	}
}

// Key prefix of every error: the table of the config file.
const keyPrefix = "gpio."

type pinUse struct {
	key    string // config key without prefix
	pin    string
	output bool
}

func (c *Config) uses() []pinUse {
	return []pinUse{
		{"relay", c.Relay, true},
		{"lamp_green", c.LampGreen, true},
		{"lamp_amber", c.LampAmber, true},
		{"lamp_red", c.LampRed, true},
		{"rgb_red", c.RGBRed, true},
		{"rgb_green", c.RGBGreen, true},
		{"buzzer", c.Buzzer, true},
		{"relay_feedback", c.Feedback, false},
		{"hook", c.Hook, false},
		{"tamper", c.Tamper, false},
	}
}

// Labels maps each wired pin to its config key ("GPIO17" → "relay"), the
// names Sim uses for its mirrored files.
func (c *Config) Labels() map[string]string {
	m := map[string]string{}
	for _, u := range c.uses() {
		if u.pin != "" {
			m[u.pin] = u.key
		}
	}
	return m
}

// Validate checks the pin map before any pin is touched. Each error names
// the key, so a technician can fix the file; all problems are reported at
// once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", keyPrefix, key, fmt.Sprintf(format, args...)))
	}
	seen := map[string]pinUse{}
	for _, u := range c.uses() {
		if u.pin == "" {
			continue
		}
		if err := checkPinName(u.pin); err != nil {
			bad(u.key, "%v", err)
			continue
		}
		if prev, ok := seen[u.pin]; ok {
			switch {
			case prev.output && !u.output:
				bad(u.key, "%s is already the output %s%s; an input cannot share a pin with an output", u.pin, keyPrefix, prev.key)
			case !prev.output && u.output:
				bad(u.key, "%s is already the input %s%s; an output cannot share a pin with an input", u.pin, keyPrefix, prev.key)
			default:
				bad(u.key, "%s is already used by %s%s; give each function its own pin", u.pin, keyPrefix, prev.key)
			}
			continue
		}
		seen[u.pin] = u
	}
	if c.Relay == "" {
		bad("relay", "missing: the handset relay pin is required (default GPIO17, header pin 11)")
	}
	if c.Hook == "" {
		bad("hook", "missing: the hook switch pin is required (default GPIO5, header pin 29)")
	}
	discrete := c.LampGreen != "" || c.LampAmber != "" || c.LampRed != ""
	rgb := c.RGBRed != "" || c.RGBGreen != ""
	switch {
	case discrete && rgb:
		bad("rgb_red", "set either lamp_green/lamp_amber/lamp_red or rgb_red/rgb_green, not both")
	case rgb:
		if c.RGBRed == "" {
			bad("rgb_red", "missing: an RGB lamp needs both rgb_red and rgb_green")
		}
		if c.RGBGreen == "" {
			bad("rgb_green", "missing: an RGB lamp needs both rgb_red and rgb_green")
		}
	default:
		for _, u := range []pinUse{{"lamp_green", c.LampGreen, true}, {"lamp_amber", c.LampAmber, true}, {"lamp_red", c.LampRed, true}} {
			if u.pin == "" {
				bad(u.key, "missing: wire three lamps (lamp_green, lamp_amber, lamp_red) or one RGB lamp (rgb_red, rgb_green)")
			}
		}
	}
	return errors.Join(errs...)
}

// checkPinName accepts the BCM names of the 40-pin header that are free for
// general use: GPIO2 to GPIO27 (GPIO0 and GPIO1 belong to the HAT EEPROM).
func checkPinName(pin string) error {
	n, ok := strings.CutPrefix(pin, "GPIO")
	if !ok {
		return fmt.Errorf("unknown pin %q: use a BCM name such as \"GPIO17\", not a header pin number", pin)
	}
	v, err := strconv.Atoi(n)
	if err != nil || n != strconv.Itoa(v) {
		return fmt.Errorf("unknown pin %q: use a BCM name such as \"GPIO17\"", pin)
	}
	if v == 0 || v == 1 {
		return fmt.Errorf("pin %s is reserved for the HAT ID EEPROM; use GPIO2 to GPIO27", pin)
	}
	if v < 0 || v > 27 {
		return fmt.Errorf("unknown pin %q: the 40-pin header has GPIO2 to GPIO27", pin)
	}
	return nil
}
