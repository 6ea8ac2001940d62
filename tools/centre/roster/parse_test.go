package roster

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/record"
)

func TestParse(t *testing.T) {
	const head = "role,person,name,block,card,allowance_min,blocked\n"
	const numHead = "role,person,name,block,card,allowance_min,blocked,numbers\n"
	tests := []struct {
		name, csv string
		want      []record.CardInfo
		errs      []string // each must appear in the error
	}{
		{"good", "\ufeff" + head + "inmate,w1,Budi,A,em:0400d8b2a5,45,\nofficer,p1,Sari,,14a:04a1b2c3,,\n\ninmate,w2,\"Andi, Jr\",B,em:0400D8B2A6,,yes\n",
			[]record.CardInfo{
				{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Name: "Budi", Block: "A", Allowance: 45 * time.Minute},
				{Card: "14a:04A1B2C3", Role: record.RoleOfficer, Person: "p1", Name: "Sari"},
				{Card: "em:0400D8B2A6", Role: record.RoleInmate, Person: "w2", Name: "Andi, Jr", Block: "B", Blocked: true},
			}, nil},
		{"empty", "", nil, []string{"empty"}},
		{"header only", head, nil, []string{"no cards"}},
		{"wrong header", "role,person,card\n", nil, []string{"line 1", "header"}},
		{"every bad cell", head + "guard,,X,A,0400D8B2A5,-3,maybe\n", nil,
			[]string{"line 2, column role", "line 2, column person", "line 2, column card", "line 2, column allowance_min", "line 2, column blocked"}},
		{"officer allowance", head + "officer,p1,S,,em:0A00000001,30,\n", nil, []string{"line 2, column allowance_min"}},
		{"short row", head + "inmate,w1\n", nil, []string{"line 2", "2 columns"}},
		{"duplicate card", head + "inmate,w1,A,,em:0400D8B2A5,,\ninmate,w2,B,,EM:0400d8b2a5,,\n", nil, []string{"line 3, column card", "already on line 2"}},
		{"huge allowance", head + "inmate,w1,A,,em:0400D8B2A5,2147483647,\n", nil, []string{"line 2, column allowance_min", "at most 46080"}},
		{"allowance beyond int64", head + "inmate,w1,A,,em:0400D8B2A5,99999999999999999999,\n", nil, []string{"line 2, column allowance_min"}},
		{"one person, both roles", head + "inmate,w1,A,,em:0400D8B2A5,,\ninmate,w1,A,,em:0400D8B2A7,,\nofficer,w1,A,,em:0400D8B2A6,,\n", nil,
			[]string{"line 4, column role", "already an inmate on line 2"}},
		{"bad quoting", head + "inmate,w1,\"A,,em:0400D8B2A5,,\n", nil, []string{"not valid CSV"}},
		{"numbers", numHead + "inmate,w1,Budi,A,em:0400D8B2A5,,,1:0812-3456-7890:ibu; 2:+6281298765432:kakak;:(021) 555-1234:pengacara: Pak Joko\n" +
			"inmate,w1,Budi,A,em:0400D8B2A7,,,\nofficer,p1,Sari,,em:0A00000001,,,\n",
			[]record.CardInfo{
				{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Name: "Budi", Block: "A", Numbers: []record.Number{
					{Person: "w1", E164: "+6281234567890", Slot: 1, Label: "ibu"},
					{Person: "w1", E164: "+6281298765432", Slot: 2, Label: "kakak"},
					{Person: "w1", E164: "+62215551234", Label: "pengacara: Pak Joko"},
				}},
				{Card: "em:0400D8B2A7", Role: record.RoleInmate, Person: "w1", Name: "Budi", Block: "A"},
				{Card: "em:0A00000001", Role: record.RoleOfficer, Person: "p1", Name: "Sari"},
			}, nil},
		{"bad numbers", numHead + "inmate,w1,A,,em:0400D8B2A5,,,1:112:ibu\ninmate,w2,B,,em:0400D8B2A6,,,x:081234567890\n" +
			"inmate,w3,C,,em:0400D8B2A7,,,1:081234567890;1:081234567891\ninmate,w4,D,,em:0400D8B2A8,,,081234567890\n" +
			"officer,p1,S,,em:0A00000001,,,1:081234567890\ninmate,w5,E,,em:0400D8B2A9,,,1:0812abc\n" +
			"inmate,w6,F,,em:0400D8B2B1,,,1:081234567890;2:081234567890\n" +
			"inmate,w7,G,,em:0400D8B2B2,,,1:081234567890\ninmate,w7,G,,em:0400D8B2B3,,,2:081234567891\n", nil,
			[]string{"line 2, column numbers", "short", "line 3, column numbers", "not a digit", "line 4, column numbers", "slot 1 is already",
				"line 5, column numbers", "SLOT:NUMBER:LABEL", "line 6, column numbers", "officers have no registered numbers",
				"line 7, column numbers", "digits only", "line 8, column numbers", "listed twice", "line 10, column numbers", "already given on line 9"}},
		{"numbers column, short row", numHead + "inmate,w1,A,,em:0400D8B2A5,,\n", nil, []string{"line 2", "want 8", "numbers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.csv))
			if len(tt.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				for i := range got {
					if !reflect.DeepEqual(got[i], tt.want[i]) {
						t.Errorf("card %d: %+v, want %+v", i, got[i], tt.want[i])
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			for _, part := range tt.errs {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
		})
	}
}

func TestParseErrorLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("role,person,name,block,card,allowance_min,blocked\n")
	for range 100 {
		b.WriteString("x,,,,,,\n")
	}
	_, err := Parse(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too many errors") || strings.Count(err.Error(), "\n") > MaxErrors {
		t.Errorf("error of a file of 100 bad rows has %d lines, want at most %d ending in too many errors", strings.Count(err.Error(), "\n")+1, MaxErrors+1)
	}
}

// FuzzParseRoster: any file either yields valid, distinct cards in
// canonical form or an error that names a line; never a panic.
func FuzzParse(f *testing.F) {
	f.Add("role,person,name,block,card,allowance_min,blocked\ninmate,w1,Budi Santoso,A,em:0400d8b2a5,,\ninmate,w2,Andi,B,14a:04 A1 B2 C3,30,no\nofficer,p1,Sari,,em:0A00000001,,\n")
	f.Add("role,person,name,block,card,allowance_min,blocked\ninmate,w1,A,,em:0400D8B2A5,10,yes\n")
	f.Add("role,person,name,block,card,allowance_min,blocked\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		cards, err := Parse(strings.NewReader(in))
		if err != nil {
			var re RowError
			if errors.As(err, &re) && re.Line < 1 {
				t.Fatalf("error names line %d: %v", re.Line, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, c := range cards {
			if !cardid.ID(c.Card).Valid() || seen[c.Card] || c.Person == "" || c.Allowance < 0 {
				t.Fatalf("bad card accepted: %+v", c)
			}
			if again, err := cardid.Parse(c.Card); err != nil || string(again) != c.Card {
				t.Fatalf("card %q is not canonical: %q %v", c.Card, again, err)
			}
			seen[c.Card] = true
		}
	})
}

// A person who holds a card of one role in the roster may not be given a
// card of the other in a file, and the error names the line; a file that
// replaces that very card may.
func TestCheckRoles(t *testing.T) {
	existing := []record.CardInfo{
		{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1"},
		{Card: "em:0A00000001", Role: record.RoleOfficer, Person: "p1"},
	}
	for _, tc := range []struct {
		name  string
		cards []record.CardInfo
		want  string // "" = accepted
	}{
		{"new cards of the same roles", []record.CardInfo{{Card: "em:0400D8B2A6", Role: record.RoleInmate, Person: "w1"}, {Card: "em:0A00000002", Role: record.RoleOfficer, Person: "p1"}}, ""},
		{"an inmate made officer", []record.CardInfo{{Card: "em:0400D8B2A6", Role: record.RoleInmate, Person: "x"}, {Card: "em:0A00000002", Role: record.RoleOfficer, Person: "w1"}},
			"line 3, column role: person w1 already holds inmate card em:0400D8B2A5"},
		{"an officer given an inmate card", []record.CardInfo{{Card: "em:0400D8B2A7", Role: record.RoleInmate, Person: "p1"}}, "line 2, column role: person p1 already holds officer card em:0A00000001"},
		{"the card itself changes role", []record.CardInfo{{Card: "em:0400D8B2A5", Role: record.RoleOfficer, Person: "w1"}}, ""},
	} {
		lines := make([]int, len(tc.cards))
		for i := range lines {
			lines[i] = i + 2
		}
		err := CheckRoles(tc.cards, lines, existing)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestProblemCodes: every problem the parser and CheckRoles report carries
// its code and values (so the console can word it in Indonesian), its Msg
// is the code's English, and every code of ProblemCodes is reported by
// some file here.
func TestProblemCodes(t *testing.T) {
	head := "role,person,name,block,card,allowance_min,blocked,numbers\n"
	files := []string{
		head + "inmate,W-1,A,A,em:0400D8B2A5,,,\"1:0812\n",
		head + "inmate,W-1,A,A,em:0400D8B2A5,,\n",
		head + "inmate,W-1,A,A,em:0400D8B2A5,,,1:081234567890:ibu\ninmate,W-1,A,A,em:0400D8B2A6,,,2:081234567891:ibu\n",
		head + "inmate,W-1,A,A,em:0400D8B2A5,,,\ninmate,W-2,B,A,em:0400D8B2A5,,,\n",
		head + "inmate,W-1,A,A,em:0400D8B2A5,,,\nofficer,W-1,A,,em:0400D8B2A6,,,\n",
		head + "warden,,A,A,nonsense,ten,maybe,\n",
		head + "inmate,W-1,A,A,em:0400D8B2A5,-1,,x\n",
		head + "inmate,W-1,A,A,em:0400D8B2A5,99999999,,\n",
		head + "officer,P-1,A,,em:0400D8B2A5,5,,1:081234567890:ibu\n",
	}
	seen := map[string]bool{}
	check := func(err error) {
		t.Helper()
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var re RowError
			if !errors.As(e, &re) || re.Code == "" {
				t.Errorf("%v: no problem code: the console cannot word it in Indonesian", e)
				continue
			}
			if want := fmt.Sprintf(ProblemFormat(re.Code), re.Args...); re.Msg != want || strings.Contains(want, "%!") {
				t.Errorf("%s: Msg %q, want %q", re.Code, re.Msg, want)
			}
			seen[re.Code] = true
		}
	}
	for _, f := range files {
		if _, _, err := ParseLines(strings.NewReader(f)); err != nil {
			check(err)
		}
	}
	cards, lines, err := ParseLines(strings.NewReader(head + "officer,W-1,A,,em:0400D8B2A6,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	check(CheckRoles(cards, lines, []record.CardInfo{{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "W-1"}}))
	for _, c := range ProblemCodes {
		if !seen[c] {
			t.Errorf("code %s is never reported by the files here: add one", c)
		}
	}
}
