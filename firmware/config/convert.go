package config

import (
	"wartelsuspas/drivers/booth"
	"wartelsuspas/drivers/modem"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/firmware/i18n"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/store"
)

// The conversions below build each part's options from a Config that Parse
// accepted. Fields a file cannot carry (clocks, loggers, open pins, ports)
// stay zero: the daemon sets them.

// BoothOptions returns drivers/booth's options: the pin map and timings.
// The caller sets Backend, Clock and Logger.
func (c *Config) BoothOptions() booth.Options {
	t := c.Timings
	return booth.Options{
		Config:           c.Pins,
		Debounce:         t.Debounce.Value(),
		FeedbackDebounce: t.FeedbackDebounce.Value(),
		Settle:           t.Settle.Value(),
		PollInterval:     t.PollInterval.Value(),
		EdgeWait:         t.EdgeWait.Value(),
	}
}

// Reader returns the reader's options and the protocol's name and options,
// for rfid.ProtocolByName. The caller opens the PN532 reset pin named by
// ResetPin (if any) and sets po.PN532.Reset, then sets o.Protocol, and
// o.Clock and o.Log as it likes.
func (c *Config) Reader() (o rfid.Options, protocol string, po rfid.ProtocolOptions) {
	r := c.Card
	o = rfid.Options{
		Path: r.Path, VID: r.VID, PID: r.PID, SerialNumber: r.SerialNumber,
		ConfirmFrames: r.ConfirmFrames, ConfirmWindow: r.ConfirmWindow.Value(),
		Silence: r.Silence.Value(), AbsentPolls: r.AbsentPolls,
		RetryMin: r.RetryMin.Value(), RetryMax: r.RetryMax.Value(),
	}
	po = rfid.ProtocolOptions{
		ASCII: rfid.ASCIIOptions{Format: r.ASCII.Format, Tech: r.ASCII.Tech, EMVersion: r.ASCII.EMVersion},
		Baud:  r.ASCII.Baud,
		PN532: rfid.PN532Options{
			PortName:        r.Path,
			PollInterval:    r.PN532.PollInterval.Value(),
			AckTimeout:      r.PN532.AckTimeout.Value(),
			ResponseTimeout: r.PN532.ResponseTimeout.Value(),
			PassiveRetries:  byte(r.PN532.PassiveRetries),
			MaxReinits:      r.PN532.MaxReinits,
			ResetPulse:      r.PN532.ResetPulse.Value(),
			ResetStartup:    r.PN532.ResetStartup.Value(),
		},
	}
	return o, r.Protocol, po
}

// Lang returns the language of the pages: the file's language, else the
// environment's locale (i18n.Choose).
func (c *Config) Lang() string { return i18n.Choose(c.Language) }

// ResetPin is the BCM name of the PN532's RSTPD_N pin, "" when none is wired
// or the reader is not a PN532.
func (c *Config) ResetPin() string {
	if c.Card.Protocol != "pn532" {
		return ""
	}
	return c.Card.PN532.Reset
}

// Rules returns the facility's policy. The error is never set for a Config
// from Parse; it is there for a Config built by hand.
func (c *Config) Rules() (policy.Rules, error) {
	if c.rules.Location == nil {
		k := &checker{c: c}
		k.policy()
		if err := joinSorted(k.ps); err != nil {
			return policy.Rules{}, err
		}
	}
	return c.rules, c.rules.Validate()
}

// Session returns the call engine's configuration, its Rules included.
func (c *Config) Session() session.Config {
	s := c.Calls
	rules, _ := c.Rules()
	ws := make([]session.Warning, len(s.Warnings))
	for i, w := range s.Warnings {
		ws[i] = session.Warning{Before: w.Before.Value(), Signal: session.Signal(w.Signal)}
	}
	return session.Config{
		Rules:               rules,
		OffHookTimeout:      s.OffHookTimeout.Value(),
		Warnings:            ws,
		Checkpoint:          s.Checkpoint.Value(),
		SecondTapEnds:       s.SecondTapEnds,
		OfficerTimeout:      s.OfficerTimeout.Value(),
		OfficerRateLimit:    s.OfficerRateLimit,
		OfficerRateWindow:   s.OfficerRateWindow.Value(),
		StoreRetry:          s.StoreRetry.Value(),
		AuthoriseDeadline:   s.AuthoriseDeadline.Value(),
		ClockTrustedAtStart: s.ClockTrustedAtStart,
		ChooseTimeout:       s.ChooseTimeout.Value(),
		RingTimeout:         s.RingTimeout.Value(),
	}
}

// StoreOptions returns the database path and kiosk/store's options.
func (c *Config) StoreOptions() (path string, o store.Options) {
	return c.Store.Path, store.Options{Device: c.Device}
}

// ModemOptions are the driver's options for [modem] and its port; ok is
// false for a relay-only booth (no modem.port). The caller sets PowerKey
// from PowerKeyPin, Clock and Log.
func (c *Config) ModemOptions() (port string, o modem.Options, ok bool) {
	m := c.Modem
	if m.Port == "" {
		return "", o, false
	}
	o = modem.DefaultOptions
	o.Family, o.Name, o.Baud = modem.Family(m.Family), m.Port, m.Baud
	o.DialTimeout, o.MinSignal = m.DialTimeout.Value(), m.MinSignal
	return m.Port, o, true
}

// PowerKeyPin is the BCM name of the modem's power key GPIO, "" if none.
func (c *Config) PowerKeyPin() string {
	if c.Modem.Port == "" {
		return ""
	}
	return c.Modem.PowerKeyGPIO
}

// KeypadPins are the keypad's row and column pins; none without a keypad.
func (c *Config) KeypadPins() (rows, cols []string) { return c.Keypad.Rows, c.Keypad.Cols }
