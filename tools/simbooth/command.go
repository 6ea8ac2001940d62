package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// command is one console line, parsed.
type command struct {
	verb string        // tap, hold, lift, hang, tamper, unplug, replug, status, records, help, quit
	card string        // tap, hold: canonical card id
	hold time.Duration // hold
	open bool          // tamper
	n    int           // records
}

// maxHold bounds a hold so a typo cannot tie the reader up for hours.
const maxHold = 5 * time.Minute

// parseCommand reads one console line. An empty line is verb "".
func parseCommand(line string) (command, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return command{}, nil
	}
	c := command{verb: strings.ToLower(f[0])}
	args := f[1:]
	want := func(n int, usage string) error {
		if len(args) != n {
			return fmt.Errorf("usage: %s", usage)
		}
		return nil
	}
	switch c.verb {
	case "tap", "hold":
		usage := "tap NAME|CARD"
		n := 1
		if c.verb == "hold" {
			usage, n = "hold NAME|CARD DURATION (e.g. hold budi 2s)", 2
		}
		if err := want(n, usage); err != nil {
			return command{}, err
		}
		card, ok := cardOf(args[0])
		if !ok {
			return command{}, fmt.Errorf("%q is neither a demo name (budi, siti, andi, agus, joko) nor a card id such as em:0400D8B2A5", args[0])
		}
		c.card = card
		if c.verb == "hold" {
			d, err := time.ParseDuration(args[1])
			if err != nil || d <= 0 || d > maxHold {
				return command{}, fmt.Errorf("hold %q: want a duration between 1ms and %s, e.g. 2s", args[1], maxHold)
			}
			c.hold = d
		}
	case "tamper":
		if err := want(1, "tamper open|close"); err != nil {
			return command{}, err
		}
		switch strings.ToLower(args[0]) {
		case "open":
			c.open = true
		case "close", "closed":
		default:
			return command{}, errors.New("usage: tamper open|close")
		}
	case "records":
		c.n = 10
		if len(args) > 1 {
			return command{}, errors.New("usage: records [N]")
		}
		if len(args) == 1 {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return command{}, fmt.Errorf("records %q: want a count of at least 1", args[0])
			}
			c.n = n
		}
	case "exit":
		c.verb = "quit"
		fallthrough
	case "lift", "hang", "unplug", "replug", "status", "help", "quit":
		if len(args) != 0 {
			return command{}, fmt.Errorf("usage: %s (no arguments)", c.verb)
		}
	default:
		return command{}, fmt.Errorf("unknown command %q: type help", f[0])
	}
	return c, nil
}
