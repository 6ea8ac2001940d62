package booth

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	rgb := DefaultConfig()
	rgb.LampGreen, rgb.LampAmber, rgb.LampRed = "", "", ""
	rgb.RGBRed, rgb.RGBGreen = "GPIO24", "GPIO22"
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // substrings of the error; none: valid
	}{
		{"default", func(*Config) {}, nil},
		{"rgb", func(c *Config) { *c = rgb }, nil},
		{"feedback", func(c *Config) { c.Feedback = "GPIO13" }, nil},
		{"no tamper, no buzzer", func(c *Config) { c.Tamper, c.Buzzer = "", "" }, nil},
		{"unknown pin", func(c *Config) { c.LampRed = "GPIO42" }, []string{"gpio.lamp_red:", `"GPIO42"`, "GPIO2 to GPIO27"}},
		{"header number", func(c *Config) { c.Relay = "11" }, []string{"gpio.relay:", "BCM name"}},
		{"lower case", func(c *Config) { c.Buzzer = "gpio25" }, []string{"gpio.buzzer:", "unknown pin"}},
		{"leading zero", func(c *Config) { c.Hook = "GPIO05" }, []string{"gpio.hook:", "unknown pin"}},
		{"eeprom pin", func(c *Config) { c.Tamper = "GPIO0" }, []string{"gpio.tamper:", "EEPROM"}},
		{"duplicate output", func(c *Config) { c.Buzzer = "GPIO17" }, []string{"gpio.buzzer:", "already used by gpio.relay"}},
		{"input used as output", func(c *Config) { c.LampGreen = "GPIO5" }, []string{"gpio.hook:", "already the output gpio.lamp_green"}},
		{"feedback on the relay pin", func(c *Config) { c.Feedback = "GPIO17" }, []string{"gpio.relay_feedback:", "already the output gpio.relay"}},
		{"duplicate input", func(c *Config) { c.Tamper = "GPIO5" }, []string{"gpio.tamper:", "already used by gpio.hook"}},
		{"missing relay", func(c *Config) { c.Relay = "" }, []string{"gpio.relay: missing"}},
		{"missing hook", func(c *Config) { c.Hook = "" }, []string{"gpio.hook: missing"}},
		{"missing lamp", func(c *Config) { c.LampAmber = "" }, []string{"gpio.lamp_amber: missing"}},
		{"both lamp kinds", func(c *Config) { c.RGBRed, c.RGBGreen = "GPIO19", "GPIO26" }, []string{"gpio.rgb_red:", "not both"}},
		{"half rgb", func(c *Config) { *c = rgb; c.RGBGreen = "" }, []string{"gpio.rgb_green: missing"}},
		{"all problems at once", func(c *Config) { c.Relay = ""; c.LampRed = "GPIO99" }, []string{"gpio.relay: missing", "gpio.lamp_red:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	sim, _ := NewSim(SimOptions{})
	c := DefaultConfig()
	c.Buzzer = "GPIO17"
	_, err := New(Options{Config: c, Backend: sim})
	if err == nil || !strings.Contains(err.Error(), "gpio.buzzer") {
		t.Fatalf("New() error = %v, want one naming gpio.buzzer", err)
	}
	if len(sim.Pins()) != 0 {
		t.Errorf("New touched pins %v before validating the config", sim.Pins())
	}
}

// FuzzValidate: any pin map either validates or fails with an error naming
// a gpio. key; it never panics.
func FuzzValidate(f *testing.F) {
	f.Add("GPIO17", "GPIO22", "GPIO5", "GPIO6", "")
	f.Add("GPIO17", "GPIO17", "GPIO5", "x", "GPIO5")
	f.Add("", "GPIO-1", "GPIO28", "GPIO0", "GPIO+3")
	f.Fuzz(func(t *testing.T, relay, green, hook, tamper, feedback string) {
		c := DefaultConfig()
		c.Relay, c.LampGreen, c.Hook, c.Tamper, c.Feedback = relay, green, hook, tamper, feedback
		err := c.Validate()
		if err != nil && !strings.HasPrefix(err.Error(), "gpio.") {
			t.Fatalf("error %q does not start with a key", err)
		}
		if err == nil {
			seen := map[string]bool{}
			for _, u := range c.uses() {
				if u.pin == "" {
					continue
				}
				if seen[u.pin] {
					t.Fatalf("valid config uses %s twice", u.pin)
				}
				seen[u.pin] = true
				if checkPinName(u.pin) != nil {
					t.Fatalf("valid config has bad pin %q", u.pin)
				}
			}
		}
	})
}
