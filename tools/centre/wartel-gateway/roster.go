package main

import (
	"io"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/roster"
)

// The roster CSV is read by tools/centre/roster, which the console's
// import reads with too.

type rowError = roster.RowError

const maxRowErrors = roster.MaxErrors

func parseRoster(r io.Reader) ([]record.CardInfo, error) { return roster.Parse(r) }

func parseRosterLines(r io.Reader) ([]record.CardInfo, []int, error) { return roster.ParseLines(r) }

func checkRoles(cards []record.CardInfo, lines []int, existing []record.CardInfo) error {
	return roster.CheckRoles(cards, lines, existing)
}
