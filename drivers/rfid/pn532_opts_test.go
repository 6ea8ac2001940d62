package rfid

import "testing"

// TestPN532Defaults: zero durations take DefaultPN532Options, and PassiveRetries is kept as
// given, 0 included (before, 0 silently became 2, so `passive_retries = 0` could not be chosen).
func TestPN532Defaults(t *testing.T) {
	d := DefaultPN532Options
	for _, tc := range []struct {
		name    string
		in      PN532Options
		retries byte
	}{
		{"defaults", DefaultPN532Options, d.PassiveRetries},
		{"no passive retries", PN532Options{PassiveRetries: 0}, 0},
		{"five", PN532Options{PassiveRetries: 5}, 5},
	} {
		o := NewPN532(tc.in).o
		if o.PassiveRetries != tc.retries {
			t.Errorf("%s: PassiveRetries %d, want %d", tc.name, o.PassiveRetries, tc.retries)
		}
		if o.PollInterval != d.PollInterval || o.AckTimeout != d.AckTimeout || o.ResponseTimeout != d.ResponseTimeout ||
			o.MaxReinits != d.MaxReinits || o.ResetPulse != d.ResetPulse || o.ResetStartup != d.ResetStartup {
			t.Errorf("%s: zero fields not from DefaultPN532Options: %+v", tc.name, o)
		}
	}
}
