// Package roster reads a facility's roster CSV (docs/gateway.md "roster
// import"): every row checked, every problem named by its line and column,
// nothing taken from a file with any error. `wartel-gateway roster import`
// and the console's Inmates and cards page both read with it.
package roster

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/dialplan"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// Header is the first line of a roster CSV, in this order; a file
// may add the numbers column (NumbersColumn) after them.
var Header = []string{"role", "person", "name", "block", "card", "allowance_min", "blocked"}

// NumbersColumn holds an inmate's registered numbers, "SLOT:NUMBER:LABEL"
// separated by ";", e.g. "1:081234567890:ibu;2:+6281298765432:kakak;:0215551234:pengacara"
// (an empty slot: chosen by keying the full number). docs/dial.md.
const NumbersColumn = "numbers"

// MaxErrors bounds the errors one import reports, so a file in the
// wrong format does not bury the first useful message.
const MaxErrors = 20

// MaxAllowanceMin is the largest allowance_min a roster may give: the
// gateway's ledger refuses longer allowances (policy.MaxCall).
const MaxAllowanceMin = int64(policy.MaxCall / time.Minute)

// RowError is one bad cell of a roster CSV.
type RowError struct {
	Line   int
	Column string
	Msg    string // in English, for the command line
	// Code names the problem (ProblemCodes) and Args are its values, for a
	// page that words it in its reader's language (the console's
	// "roster.problem.CODE", the same values in the same order); "" for a
	// problem only Msg says.
	Code string
	Args []any
}

// rowError is the problem code at line and col, its Msg in English.
func rowError(line int, col, code string, args ...any) RowError {
	return RowError{Line: line, Column: col, Msg: fmt.Sprintf(problemText[code], args...), Code: code, Args: args}
}

// problemText is each problem's English, a format of its Args.
var problemText = map[string]string{
	"csv":               "not valid CSV: %v",
	"columns":           "has %d columns, want %d (%s)",
	"numbers_twice":     "the numbers of %s are already given on line %d; write them on one of the person's rows",
	"card_twice":        "card %s is already on line %d; a card belongs to one person",
	"roles_in_file":     "person %s is already an %s on line %d; one person may not hold both an officer card and an inmate card",
	"roles_in_roster":   "person %s already holds %s card %s in the roster; one person may not hold both an officer card and an inmate card (delete that card first)",
	"role":              "%q is not inmate or officer",
	"person":            "is empty; give the inmate's or officer's id",
	"card":              "%v",
	"allowance":         "%q is not a whole number of minutes",
	"allowance_below":   "%d is negative",
	"allowance_above":   "%d minutes is more than the longest call a policy allows (%d minutes, %v); write at most %d",
	"officer_allowance": "officers have no allowance; leave it empty",
	"blocked":           "%q is not yes or no",
	"officer_numbers":   "officers have no registered numbers; leave it empty",
	"numbers":           "%v",
}

// ProblemCodes lists every RowError code, for the tests that give each
// its words in every language.
var ProblemCodes = []string{"csv", "columns", "numbers_twice", "card_twice", "roles_in_file", "roles_in_roster", "role", "person",
	"card", "allowance", "allowance_below", "allowance_above", "officer_allowance", "blocked", "officer_numbers", "numbers"}

// ProblemFormat is the English format of a RowError code.
func ProblemFormat(code string) string { return problemText[code] }

func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Msg)
}

// Parse reads a roster CSV (docs/gateway.md) and returns its cards.
// It checks every row and returns all the problems found (up to
// MaxErrors), joined, so a clerk fixes the file in one pass; nothing is
// imported from a file with any error.
func Parse(r io.Reader) ([]record.CardInfo, error) {
	cards, _, err := ParseLines(r)
	return cards, err
}

// ParseLines is Parse, also returning each card's line.
func ParseLines(r io.Reader) ([]record.CardInfo, []int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, with a better message
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, nil, errors.New("the file is empty; the first line must be " + strings.Join(Header, ","))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("line 1: %w", err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff") // spreadsheets write a byte-order mark
	}
	for i := range head {
		head[i] = strings.ToLower(strings.TrimSpace(head[i]))
	}
	withNumbers := slices.Equal(head, append(slices.Clone(Header), NumbersColumn))
	if !slices.Equal(head, Header) && !withNumbers {
		return nil, nil, fmt.Errorf("line 1: header is %q, want %s (and optionally ,%s)", strings.Join(head, ","), strings.Join(Header, ","), NumbersColumn)
	}
	ncols := len(Header)
	if withNumbers {
		ncols++
	}
	var (
		cards   []record.CardInfo
		lines   []int
		errs    []error
		seen    = make(map[string]int) // card → line
		roles   = make(map[string]int) // person → line of their first card
		byLn    = make(map[int]record.CardInfo)
		numbers = make(map[string]int) // person → line of their numbers
	)
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			errs = append(errs, rowError(line, "", "csv", err))
			break // the reader cannot resynchronise after a quoting error
		}
		line, _ := cr.FieldPos(0)
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // blank line
		}
		ci, rerrs := parseRow(line, fields, ncols)
		errs = append(errs, rerrs...)
		if len(rerrs) == 0 {
			if first, dup := numbers[ci.Person]; dup && len(ci.Numbers) > 0 {
				errs = append(errs, rowError(line, NumbersColumn, "numbers_twice", ci.Person, first))
			} else if first, dup := seen[ci.Card]; dup {
				errs = append(errs, rowError(line, "card", "card_twice", ci.Card, first))
			} else if first, ok := roles[ci.Person]; ok && byLn[first].Role != ci.Role {
				// An officer holding an inmate card could credit their own minutes.
				errs = append(errs, rowError(line, "role", "roles_in_file", ci.Person, byLn[first].Role, first))
			} else {
				seen[ci.Card] = line
				if len(ci.Numbers) > 0 {
					numbers[ci.Person] = line
				}
				if !ok {
					roles[ci.Person], byLn[line] = line, ci
				}
				cards, lines = append(cards, ci), append(lines, line)
			}
		}
		if len(errs) >= MaxErrors {
			errs = append(errs[:MaxErrors], errors.New("too many errors; stopped reading"))
			break
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	if len(cards) == 0 {
		return nil, nil, errors.New("the file has a header but no cards")
	}
	return cards, lines, nil
}

func parseRow(line int, f []string, ncols int) (record.CardInfo, []error) {
	if len(f) != ncols {
		head := strings.Join(Header, ",")
		if ncols > len(Header) {
			head += "," + NumbersColumn
		}
		return record.CardInfo{}, []error{rowError(line, "", "columns", len(f), ncols, head)}
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	var errs []error
	bad := func(col, code string, args ...any) {
		errs = append(errs, rowError(line, col, code, args...))
	}
	ci := record.CardInfo{Role: record.Role(strings.ToLower(f[0])), Person: f[1], Name: f[2], Block: f[3]}
	if ci.Role != record.RoleInmate && ci.Role != record.RoleOfficer {
		bad("role", "role", f[0])
	}
	if ci.Person == "" {
		bad("person", "person")
	}
	card, err := cardid.Parse(f[4])
	if err != nil {
		bad("card", "card", err)
	}
	ci.Card = string(card)
	if f[5] != "" {
		n, err := strconv.ParseInt(f[5], 10, 64)
		switch {
		case err != nil:
			bad("allowance_min", "allowance", f[5])
		case n < 0:
			bad("allowance_min", "allowance_below", n)
		case n > MaxAllowanceMin:
			// Minutes beyond this would also overflow on conversion and be stored negative.
			bad("allowance_min", "allowance_above", n, MaxAllowanceMin, policy.MaxCall, MaxAllowanceMin)
		case ci.Role == record.RoleOfficer && n != 0:
			bad("allowance_min", "officer_allowance")
		default:
			ci.Allowance = time.Duration(n) * time.Minute
		}
	}
	switch strings.ToLower(f[6]) {
	case "", "no", "false", "0":
	case "yes", "true", "1":
		ci.Blocked = true
	default:
		bad("blocked", "blocked", f[6])
	}
	if len(f) > len(Header) && f[7] != "" {
		if ci.Role == record.RoleOfficer {
			bad(NumbersColumn, "officer_numbers")
		} else {
			ns, err := parseNumbersCell(ci.Person, f[7])
			if err != nil {
				bad(NumbersColumn, "numbers", err)
			}
			ci.Numbers = ns
		}
	}
	return ci, errs
}

// parseNumbersCell reads the numbers column of one row.
func parseNumbersCell(person, cell string) ([]record.Number, error) {
	var out []record.Number
	slots, seen := map[int]string{}, map[string]bool{}
	for i, entry := range strings.Split(cell, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.SplitN(entry, ":", 3)
		if len(parts) < 2 {
			return nil, fmt.Errorf("entry %d %q: write SLOT:NUMBER:LABEL, e.g. 1:081234567890:ibu (the slot may be empty)", i+1, entry)
		}
		n := record.Number{Person: person}
		if s := strings.TrimSpace(parts[0]); s != "" {
			d, err := strconv.Atoi(s)
			if err != nil || d < 0 || d > 9 {
				return nil, fmt.Errorf("entry %d %q: slot %q is not a digit 1 to 9 (leave it empty for a number keyed in full)", i+1, entry, s)
			}
			n.Slot = d
		}
		e, err := dialplan.Parse(parts[1])
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		n.E164 = e
		if len(parts) == 3 {
			n.Label = strings.TrimSpace(parts[2])
		}
		if seen[n.E164] {
			return nil, fmt.Errorf("entry %d: %s is listed twice", i+1, n.E164)
		}
		if other, ok := slots[n.Slot]; ok && n.Slot != 0 {
			return nil, fmt.Errorf("entry %d: slot %d is already %s", i+1, n.Slot, other)
		}
		seen[n.E164], slots[n.Slot] = true, n.E164
		out = append(out, n)
	}
	return out, nil
}

// CheckRoles refuses cards (read on lines) whose person already holds a
// card of the other role in the facility's roster (existing), unless the
// file itself replaces that card: one person may not hold both an officer
// card and an inmate card. The ledger checks it again (UpsertCards); this
// names the line.
func CheckRoles(cards []record.CardInfo, lines []int, existing []record.CardInfo) error {
	inFile := make(map[string]bool, len(cards))
	for _, c := range cards {
		inFile[c.Card] = true
	}
	held := map[string]record.CardInfo{} // person → a card of theirs not replaced by the file
	for _, c := range existing {
		if !inFile[c.Card] {
			held[c.Person+"\x00"+string(c.Role)] = c
		}
	}
	var errs []error
	for i, c := range cards {
		other := record.RoleInmate
		if c.Role == record.RoleInmate {
			other = record.RoleOfficer
		}
		if h, ok := held[c.Person+"\x00"+string(other)]; ok {
			errs = append(errs, rowError(lines[i], "role", "roles_in_roster", c.Person, other, h.Card))
			if len(errs) >= MaxErrors {
				break
			}
		}
	}
	return errors.Join(errs...)
}
