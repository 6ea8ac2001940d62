package cardid

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want, errPart string
	}{
		{"em:0400d8b2a5", "em:0400D8B2A5", ""},
		{" EM:04-00-D8-B2-A5 ", "em:0400D8B2A5", ""},
		{"14a:04 a1 b2 c3", "14a:04A1B2C3", ""},
		{"14a:04:A1:B2:C3:D4:E5:F6", "14a:04A1B2C3D4E5F6", ""},
		{"0400D8B2A5", "", "no technology prefix"},
		{"mf:0400D8B2A5", "", "not em or 14a"},
		{"em:0400D8B2", "", "5 bytes"},
		{"14a:04A1B2", "", "4, 7 or 10 bytes"},
		{"em:0000000000", "", "not a card"},
		{"em:04ZZD8B2A5", "", "not a card"},
		{"raw:1234", "", "not em or 14a"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if string(got) != tt.want || (err == nil) != (tt.errPart == "") || err != nil && !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("Parse(%q) = %q, %v; want %q, error with %q", tt.in, got, err, tt.want, tt.errPart)
		}
	}
}
