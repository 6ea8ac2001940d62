package modemtest

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDialect: the emulator answers as the manuals show, echo on until
// ATE0 and errors as AT+CMEE sets them, without the driver.
func TestDialect(t *testing.T) {
	e, err := New(Options{Family: "simcom"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	f, err := os.OpenFile(e.Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(f)
		sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
			for i, b := range data {
				if b == '\r' || b == '\n' {
					return i + 1, data[:i], nil
				}
			}
			return 0, nil, nil
		})
		for sc.Scan() {
			if s := sc.Text(); s != "" {
				lines <- s
			}
		}
	}()
	ask := func(cmd string, want ...string) {
		t.Helper()
		f.Write([]byte(cmd + "\r"))
		for _, w := range want {
			select {
			case got := <-lines:
				if got != w {
					t.Fatalf("%s: got %q, want %q", cmd, got, w)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: no %q", cmd, w)
			}
		}
	}
	ask("AT", "AT", "OK") // echo on at power-on
	ask("ATE0", "ATE0", "OK")
	ask("AT+CSQ", "+CSQ: 20,99", "OK")
	e.SetSIM("NOT INSERTED")
	ask("AT+CPIN?", "ERROR")
	ask("AT+CMEE=1", "OK")
	ask("AT+CPIN?", "+CME ERROR: 10")
	ask("AT+CMEE=2", "OK")
	ask("AT+CPIN?", "+CME ERROR: SIM not inserted")
	e.SetSIM("READY")
	e.SetRegistration(1)
	ask("AT+CLCC=1", "OK")
	ask("ATD+628111;", "OK", `+CLCC: 1,0,2,0,0,"+628111",145`, `+CLCC: 1,0,3,0,0,"+628111",145`)
	if err := e.Busy(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`+CLCC: 1,0,6,0,0,"+628111",145`, "BUSY"} {
		if got := <-lines; got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	ask("AT+NOSUCH", "ERROR")
	if c := e.Commands(); !strings.HasPrefix(c[0], "AT") || len(c) != 11 {
		t.Fatalf("commands %q", c)
	}
}
