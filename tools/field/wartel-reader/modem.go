package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"wartelsuspas/drivers/modem"
)

// modemReport opens the module on port (ATH first, then the driver's
// initialisation) and prints what it says: SIM, registration, signal and
// operator, and what to do when it is not usable.
func modemReport(port string, family modem.Family, baud int, wait time.Duration, w io.Writer) error {
	o := modem.DefaultOptions
	o.Family, o.Baud = family, baud
	m, err := modem.OpenPort(port, o)
	if err != nil {
		return err
	}
	defer m.Halt()
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case ev := <-m.Events():
			if ev.Kind != modem.Health {
				continue
			}
			st := m.Status()
			fmt.Fprintf(w, "modem on %s (%s)\n", port, family)
			fmt.Fprintf(w, "  SIM:          %s\n", orUnknown(st.SIM))
			fmt.Fprintf(w, "  registration: +CREG %s, +CEREG %s\n", regWord(st.CREG), regWord(st.CEREG))
			fmt.Fprintf(w, "  signal:       +CSQ %d/31%s\n", st.RSSI, map[bool]string{true: " (unknown)"}[st.RSSI == 99])
			fmt.Fprintf(w, "  operator:     %s\n", orUnknown(st.Operator))
			if !ev.Up {
				fmt.Fprintf(w, "  OUT OF SERVICE: %s\n", ev.Cause)
				return ev.Err
			}
			fmt.Fprintln(w, "  ready for calls")
			return nil
		case <-t.C:
			return errors.New("modem: no answer on " + port + " within " + wait.String() + ": check its power, its cable, the port (a SIM7600 or EC25 on USB: /dev/ttyUSB2) and -family")
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(no answer)"
	}
	return s
}

// regWord names a TS 27.007 registration <stat>.
func regWord(stat int) string {
	switch stat {
	case -1:
		return "(not supported)"
	case 0:
		return "not registered"
	case 1:
		return "home"
	case 2:
		return "searching"
	case 3:
		return "denied"
	case 5:
		return "roaming"
	}
	return fmt.Sprintf("stat %d", stat)
}
