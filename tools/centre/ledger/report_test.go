package ledger

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// TestReportCellInert: an id a spreadsheet would read as a formula is
// written with a quote in front, whatever its dangerous first character;
// other ids are written as they are.
func TestReportCellInert(t *testing.T) {
	tests := []struct{ id, want string }{
		{"=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"+1+1", "'+1+1"},
		{"-1+1", "'-1+1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"WB-0193", "WB-0193"},
		{"", ""},
		{" =1", " =1"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := WriteReportCSV(&buf, []ReportRow{{Inmate: tt.id}}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("id %q: %v", tt.id, err)
		}
		if len(recs) != 2 || recs[1][0] != tt.want {
			t.Errorf("id %q written as %q, want %q", tt.id, recs, tt.want)
		}
	}
}
