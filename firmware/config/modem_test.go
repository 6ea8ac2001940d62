package config

import (
	"strings"
	"testing"
	"time"

	"wartelsuspas/drivers/modem"
)

func TestModemAndKeypad(t *testing.T) {
	for _, tc := range []struct {
		name, table, want string
	}{
		{"relay-only", "", ""},
		{"modem", "[modem]\nport = \"/dev/ttyUSB2\"\nfamily = \"simcom\"\npower_key_gpio = \"GPIO27\"\n", ""},
		{"not a device", "[modem]\nport = \"ttyUSB2\"\n", "modem.port: \"ttyUSB2\" is not a device"},
		{"family", "[modem]\nport = \"/dev/ttyUSB2\"\nfamily = \"nokia\"\n", "modem.family: \"nokia\""},
		{"power key on the relay", "[modem]\nport = \"/dev/ttyUSB2\"\npower_key_gpio = \"GPIO17\"\n", "GPIO17 is already used by gpio.relay"},
		{"keypad", "[keypad]\nrows = [\"GPIO12\", \"GPIO16\", \"GPIO20\", \"GPIO21\"]\ncols = [\"GPIO18\", \"GPIO19\", \"GPIO26\"]\n", ""},
		{"three rows", "[keypad]\nrows = [\"GPIO12\", \"GPIO16\", \"GPIO20\"]\ncols = [\"GPIO18\", \"GPIO19\", \"GPIO26\"]\n", "keypad.rows: 3 pins"},
		{"column on the hook", "[keypad]\nrows = [\"GPIO12\", \"GPIO16\", \"GPIO20\", \"GPIO21\"]\ncols = [\"GPIO5\", \"GPIO19\", \"GPIO26\"]\n", "keypad.cols[0]: GPIO5 is already used by gpio.hook"},
		{"same pin twice", "[keypad]\nrows = [\"GPIO12\", \"GPIO12\", \"GPIO20\", \"GPIO21\"]\ncols = [\"GPIO18\", \"GPIO19\", \"GPIO26\"]\n", "keypad.rows[1]: GPIO12 is already used by keypad.rows[0]"},
	} {
		c, err := Parse([]byte(base+tc.table), "k.toml")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
		if tc.name == "modem" && err == nil {
			port, o, ok := c.ModemOptions()
			if !ok || port != "/dev/ttyUSB2" || o.Family != modem.FamilySIMCom || o.DialTimeout != 45*time.Second || o.MinSignal != 5 || c.PowerKeyPin() != "GPIO27" {
				t.Errorf("ModemOptions %q %+v %v", port, o, ok)
			}
		}
		if tc.name == "relay-only" && err == nil {
			if _, _, ok := c.ModemOptions(); ok {
				t.Error("a modem without modem.port")
			}
		}
	}
}
