// Command modemsim runs a cellular voice module emulator
// (drivers/modem/modemtest) on a pseudo-terminal, for people and for the
// simulator: it prints the pty's path, plays scripted outcomes per number,
// and takes commands on stdin.
//
//	modemsim -family simcom -script '+6281111=answer:20s,+6282222=busy'
//
// Script entries are NUMBER=OUTCOME[:AFTER][:drop=D][:lose=D], OUTCOME one
// of ring, answer, busy, noanswer, fail. Commands on stdin, one a line:
// answer, busy, noanswer, hangup (the far end), lose (the network), ring
// NUMBER (an incoming call), sim READY|"SIM PIN"|"NOT INSERTED", reg STAT,
// signal RSSI, hang, unhang, key K.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"wartelsuspas/drivers/modem/modemtest"
)

func main() {
	family := flag.String("family", "simcom", "dialect: simcom, quectel or generic")
	script := flag.String("script", "", "NUMBER=OUTCOME[:AFTER][:drop=D][:lose=D],… (outcome ring, answer, busy, noanswer, fail)")
	flag.Parse()
	e, err := modemtest.New(modemtest.Options{Family: *family})
	if err == nil {
		err = applyScript(e, *script)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modemsim:", err)
		os.Exit(2)
	}
	defer e.Close()
	fmt.Println(e.Path())
	if err := commands(e, os.Stdin, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "modemsim:", err)
		os.Exit(1)
	}
}

var outcomes = map[string]modemtest.Outcome{
	"ring": modemtest.Ring, "answer": modemtest.Answer, "busy": modemtest.Busy,
	"noanswer": modemtest.NoAnswer, "fail": modemtest.Fail,
}

// applyScript reads the -script flag into the emulator.
func applyScript(e *modemtest.Emulator, spec string) error {
	for _, entry := range strings.Split(spec, ",") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		number, rest, ok := strings.Cut(entry, "=")
		if !ok {
			return fmt.Errorf("script entry %q: want NUMBER=OUTCOME[:AFTER]", entry)
		}
		parts := strings.Split(rest, ":")
		o, ok := outcomes[parts[0]]
		if !ok {
			return fmt.Errorf("script entry %q: outcome %q: want ring, answer, busy, noanswer or fail", entry, parts[0])
		}
		s := modemtest.Script{Outcome: o}
		for _, p := range parts[1:] {
			key, val, named := strings.Cut(p, "=")
			if !named {
				val = key
			}
			d, err := time.ParseDuration(val)
			if err != nil {
				return fmt.Errorf("script entry %q: %q is not a duration (e.g. 20s)", entry, val)
			}
			switch {
			case !named:
				s.After = d
			case key == "drop":
				s.DropAfter = d
			case key == "lose":
				s.LoseNetworkAfter = d
			default:
				return fmt.Errorf("script entry %q: %q: want drop= or lose=", entry, key)
			}
		}
		e.Script(number, s)
	}
	return nil
}

// commands runs stdin's commands until it ends.
func commands(e *modemtest.Emulator, in io.Reader, errs io.Writer) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		arg = strings.Trim(arg, `"`)
		var err error
		switch cmd {
		case "":
		case "answer":
			err = e.Answer()
		case "busy":
			err = e.Busy()
		case "noanswer":
			err = e.NoAnswer()
		case "hangup":
			err = e.RemoteHangUp()
		case "lose":
			e.LoseNetwork()
		case "ring":
			e.Incoming(arg)
		case "sim":
			e.SetSIM(arg)
		case "reg", "signal":
			n, perr := strconv.Atoi(arg)
			if perr != nil {
				err = fmt.Errorf("%s %q: want a number", cmd, arg)
			} else if cmd == "reg" {
				e.SetRegistration(n)
			} else {
				e.SetSignal(n)
			}
		case "hang", "unhang":
			e.Hang(cmd == "hang")
		case "key":
			if len(arg) != 1 {
				err = fmt.Errorf("key %q: want one of 0-9 * #", arg)
			} else {
				e.Key(rune(arg[0]))
			}
		default:
			err = fmt.Errorf("unknown command %q", cmd)
		}
		if err != nil {
			fmt.Fprintln(errs, "modemsim:", err)
		}
	}
	return sc.Err()
}
