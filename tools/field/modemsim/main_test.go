package main

import (
	"strings"
	"testing"

	"wartelsuspas/drivers/modem/modemtest"
)

func TestScriptAndCommands(t *testing.T) {
	e, err := modemtest.New(modemtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := applyScript(e, "+6281111=answer:20s:drop=1m, +6282222=busy"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"+62=maybe", "+62", "+62=answer:soon", "+62=answer:x=1s"} {
		if err := applyScript(e, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var errs strings.Builder
	if err := commands(e, strings.NewReader("sim \"SIM PIN\"\nsignal 3\nreg x\nanswer\nfly\n"), &errs); err != nil {
		t.Fatal(err)
	}
	if got := errs.String(); !strings.Contains(got, `reg "x"`) || !strings.Contains(got, "no dialled call") || !strings.Contains(got, `unknown command "fly"`) {
		t.Errorf("errors %q", got)
	}
}
