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
				m.Dial("+6281234567890")
			} else {
				fmt.Println("out of service:", e.Cause, e.Err)
			}
		case modem.Progress:
			fmt.Println("call", e.Stage, e.Outcome)
		case modem.Incoming:
			fmt.Println("refused a call from", e.From)
		}
	}
}
