package modem_test

import (
	"fmt"
	"log"

	"wartelsuspas/drivers/modem"
)

func Example() {
	o := modem.DefaultOptions
	o.Family = modem.FamilySIMCom
	m, err := modem.OpenPort("/dev/ttyUSB2", o)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Halt()
	for e := range m.Events() {
		switch e.Kind {
		case modem.Health:
			if e.Up {
				m.Dial(1, "+6281234567890") // 1: the caller's id of the call, in its Progress events
			} else {
				fmt.Println("out of service:", e.Cause, e.Err)
			}
		case modem.Progress:
			fmt.Println("call", e.Call, e.Stage, e.Outcome)
		case modem.Incoming:
			fmt.Println("refused a call from", e.From)
		}
	}
}
