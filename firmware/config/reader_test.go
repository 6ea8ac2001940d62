package config

import (
	"strconv"
	"strings"
	"testing"

	"wartelsuspas/drivers/rfid"
)

// TestReaderDefaultsAreRFIDs: a file that leaves [reader]'s counts and
// waits out gets drivers/rfid's own defaults (rfid.DefaultOptions,
// DefaultPN532Options, DefaultASCIIBaud), read from there rather than
// written again here, so a change in rfid reaches the booth's file. A
// zero written for one is refused on its line, not taken for the default:
// "confirm_frames = 0" reads as "confirm on no frame", which no reader does.
func TestReaderDefaultsAreRFIDs(t *testing.T) {
	d, pd := rfid.DefaultOptions, rfid.DefaultPN532Options
	for _, doc := range []string{
		base,
		base + "[reader]\nprotocol = \"ascii\"\n[reader.pn532]\nreset = \"\"\n",
	} {
		c, err := Parse([]byte(doc), "kiosk.toml")
		if err != nil {
			t.Fatal(err)
		}
		o, _, po := c.Reader()
		if o.ConfirmFrames != d.ConfirmFrames || o.ConfirmWindow != d.ConfirmWindow || o.Silence != d.Silence ||
			o.AbsentPolls != d.AbsentPolls || o.RetryMin != d.RetryMin || o.RetryMax != d.RetryMax {
			t.Errorf("%q: reader options %+v, want rfid.DefaultOptions %+v", doc, o, d)
		}
		p := po.PN532
		if p.PollInterval != pd.PollInterval || p.AckTimeout != pd.AckTimeout || p.ResponseTimeout != pd.ResponseTimeout ||
			p.PassiveRetries != pd.PassiveRetries || p.MaxReinits != pd.MaxReinits || p.ResetPulse != pd.ResetPulse || p.ResetStartup != pd.ResetStartup {
			t.Errorf("%q: pn532 options %+v, want rfid.DefaultPN532Options %+v", doc, p, pd)
		}
		if po.Baud != rfid.DefaultASCIIBaud {
			t.Errorf("%q: ascii baud %d, want rfid.DefaultASCIIBaud %d", doc, po.Baud, rfid.DefaultASCIIBaud)
		}
	}

	for _, tc := range []struct{ line, key, want string }{
		{"confirm_frames = 0", "reader.confirm_frames", "write at least 1"},
		{"absent_polls = 0", "reader.absent_polls", "write at least 1"},
		{`confirm_window = "0s"`, "reader.confirm_window", "more than zero"},
		{`silence = "0s"`, "reader.silence", "more than zero"},
		{`retry_min = "0s"`, "reader.retry_min", "more than zero"},
		{`retry_max = "0s"`, "reader.retry_max", "more than zero"},
		{"[reader.pn532]\nmax_reinits = 0", "reader.pn532.max_reinits", "write at least 1"},
		{"[reader.pn532]\npoll_interval = \"0s\"", "reader.pn532.poll_interval", "more than zero"},
	} {
		doc := base + "[reader]\n" + tc.line + "\n"
		_, err := Parse([]byte(doc), "kiosk.toml")
		want := "kiosk.toml:" + strconv.Itoa(lineOf(t, doc, tc.line[strings.LastIndex(tc.line, "\n")+1:])) + ": " + tc.key + ": "
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q…%q", tc.line, err, want, tc.want)
		}
	}
}
