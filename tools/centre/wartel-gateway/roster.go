package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/roster"
)

// pendingNumber is a number of a roster file to register, and its line.
type pendingNumber struct {
	entry ledger.NumberEntry
	line  int
}

// numbersToRegister checks the file's numbers against what the facility
// already holds, naming the line of each problem, and returns the numbers
// to register: a number already live for its inmate is kept as it is (a
// file imported again registers nothing twice).
func numbersToRegister(ctx context.Context, s ledger.Store, facility, by string, cards []record.CardInfo, lines []int) ([]pendingNumber, error) {
	var todo []pendingNumber
	var errs []error
	held := map[string][]ledger.NumberEntry{} // person → live numbers
	blocked := map[string]bool{}
	loaded := false
	for i, c := range cards {
		if len(c.Numbers) == 0 {
			continue
		}
		if by == "" {
			return nil, roster.RowError{Line: lines[i], Column: roster.NumbersColumn, Msg: "the file registers numbers: name the importing account with -by (they are registered as pending by it)"}
		}
		if !loaded {
			all, err := s.Numbers(ctx, facility, "")
			if err != nil {
				return nil, fmt.Errorf("read the numbers of %s to check the file against them: %w", facility, err)
			}
			for _, n := range all {
				if n.Status == ledger.NumberPending || n.Status == ledger.NumberApproved {
					held[n.Person] = append(held[n.Person], n)
				}
			}
			bs, err := s.BlockedNumbers(ctx, facility)
			if err != nil {
				return nil, fmt.Errorf("read the blocked list of %s: %w", facility, err)
			}
			for _, b := range bs {
				blocked[b.E164] = true
			}
			loaded = true
		}
	next:
		for _, n := range c.Numbers {
			if blocked[n.E164] {
				errs = append(errs, roster.RowError{Line: lines[i], Column: roster.NumbersColumn, Msg: fmt.Sprintf("%s is on the facility's blocked list", n.E164)})
				continue
			}
			for _, h := range held[c.Person] {
				if h.E164 == n.E164 {
					continue next // registered already
				}
				if n.Slot != 0 && h.Slot == n.Slot {
					errs = append(errs, roster.RowError{Line: lines[i], Column: roster.NumbersColumn, Msg: fmt.Sprintf("slot %d of %s is already number %d (%s, %s): choose another digit, or revoke that number first",
						n.Slot, c.Person, h.ID, h.E164, h.Status)})
					continue next
				}
			}
			todo = append(todo, pendingNumber{ledger.NumberEntry{Person: c.Person, E164: n.E164, Slot: n.Slot, Label: n.Label, RegisteredBy: by}, lines[i]})
		}
		if len(errs) >= roster.MaxErrors {
			break
		}
	}
	return todo, errors.Join(errs...)
}

// openInFile is the cards of held whose line in the file does not block
// them.
func openInFile(held []string, cards []record.CardInfo) []string {
	isHeld := make(map[string]bool, len(held))
	for _, c := range held {
		isHeld[c] = true
	}
	var out []string
	for _, c := range cards {
		if isHeld[c.Card] && !c.Blocked {
			out = append(out, c.Card)
			isHeld[c.Card] = false // a card listed twice is named once
		}
	}
	return out
}

// listed joins up to n items, saying how many more there are.
func listed(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
