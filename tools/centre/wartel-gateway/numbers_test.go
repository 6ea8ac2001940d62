package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"wartelsuspas/kiosk/protocol"
)

// TestNumbersCLI drives the numbers commands and the roster's numbers
// column through the real binary: a CSV registers numbers as pending by
// the importing account, the registrar cannot approve its own, a
// supervisor can; a blocked number cannot be approved and leaves the
// booths' sync; a revoked one leaves it too; every refusal says what to do.
func TestNumbersCLI(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", state)
	mustGW(t, "enroll", "-state", state, "-facility", "lapas-uji", "-booth", "b01", "-out", filepath.Join(dir, "b01"))
	csv := filepath.Join(dir, "roster.csv")
	if err := os.WriteFile(csv, []byte("role,person,name,block,card,allowance_min,blocked,numbers\n"+
		"inmate,w1,Budi,A,em:0400D8B2A5,,,1:0812-3456-7890:ibu;:021 555 1234:pengacara\n"+
		"inmate,w2,Andi,B,em:0400D8B2A6,,,\n"+
		"officer,p1,Sari,,em:0A00000001,,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := []string{"-state", state, "-facility", "lapas-uji"}
	args := func(a ...string) []string { return append(append([]string{}, a[:2]...), append(f, a[2:]...)...) }

	fail := func(want string, a ...string) {
		t.Helper()
		out, errOut, err := gw(t, a...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !strings.Contains(errOut, want) {
			t.Fatalf("wartel-gateway %s: %v, stdout %q, stderr %q; want a failure saying %q", strings.Join(a, " "), err, out, errOut, want)
		}
	}
	fail("name the importing account with -by", args("roster", "import", csv)...)
	if out := mustGW(t, args("roster", "import", "-by", "operator", csv)...); !strings.Contains(out, "registered 2 numbers as pending by operator") {
		t.Fatalf("import said %q", out)
	}
	// Imported again: nothing registered twice.
	if out := mustGW(t, args("roster", "import", "-by", "operator", csv)...); strings.Contains(out, "registered") {
		t.Fatalf("a second import said %q", out)
	}
	list := mustGW(t, args("numbers", "list", "-status", "pending")...)
	id := regexp.MustCompile(`(?m)^(\d+)\s+w1\s+\+6281234567890\s+1\s+ibu\s+pending\s+operator`).FindStringSubmatch(list)
	if id == nil || strings.Count(list, "pending") != 2 {
		t.Fatalf("pending numbers:\n%s", list)
	}
	// Each number the import registered is an entry of the audit trail,
	// as numbers add writes one (before, only the roster.import was).
	if trail := mustGW(t, "audit", "list", "-state", state); strings.Count(trail, " numbers.add ") != 2 || !regexp.MustCompile(`numbers\.add\s+lapas-uji\s+`+id[1]+`\s`).MatchString(trail) {
		t.Errorf("audit trail after an import registering 2 numbers:\n%s\nwant 2 numbers.add entries, one for number %s", trail, id[1])
	}

	fail("another supervisor must approve", args("numbers", "approve", "-by", "operator", id[1])...)
	fail("not a number's id", args("numbers", "approve", "-by", "supervisor", "seven")...)
	fail("no such registered number", args("numbers", "approve", "-by", "supervisor", "999")...)
	if out := mustGW(t, args("numbers", "approve", "-by", "supervisor", id[1])...); !strings.Contains(out, "approved by supervisor") {
		t.Fatalf("approve said %q", out)
	}
	fail("slot 1", args("numbers", "add", "-by", "operator", "-person", "w1", "-number", "081111111111", "-slot", "1")...)
	fail("short", args("numbers", "add", "-by", "operator", "-person", "w2", "-number", "112")...)
	fail("-until", args("numbers", "add", "-by", "operator", "-person", "w2", "-number", "081111111111", "-until", "tomorrow")...)
	fail("flag -by is required", args("numbers", "add", "-person", "w2", "-number", "081111111111")...)
	out := mustGW(t, args("numbers", "add", "-by", "operator", "-person", "w2", "-number", "+62 811 1111 1111", "-slot", "3", "-label", "istri", "-until", "2030-01-01")...)
	other := regexp.MustCompile(`registered number (\d+): \+6281111111111 for w2, slot 3`).FindStringSubmatch(out)
	if other == nil {
		t.Fatalf("add said %q", out)
	}

	g := serve(t, "-state", state)
	b := newBooth(t, filepath.Join(dir, "b01"))
	sync := func() map[string][]string {
		var resp protocol.SyncResponse
		b.must(g, protocol.PathSync, protocol.SyncRequest{Numbers: true}, &resp)
		got := map[string][]string{}
		for _, c := range resp.Upserts {
			for _, n := range c.Numbers {
				got[c.Person] = append(got[c.Person], n.E164)
			}
		}
		if resp.Blocked != nil {
			got["blocked"] = append([]string{""}, resp.Blocked.Numbers...)
		}
		return got
	}
	if got := sync(); len(got["w1"]) != 1 || got["w1"][0] != "+6281234567890" || len(got["w2"]) != 0 {
		t.Fatalf("sync after approval: %v", got)
	}

	fail("-reason", args("numbers", "block", "-by", "supervisor", "081111111111")...)
	mustGW(t, args("numbers", "block", "-by", "supervisor", "-reason", "victim", "081111111111")...)
	mustGW(t, args("numbers", "block", "-by", "supervisor", "-reason", "witness", "081234567890")...)
	fail("already blocked", args("numbers", "block", "-by", "supervisor", "-reason", "again", "+6281234567890")...)
	fail("blocked list", args("numbers", "approve", "-by", "supervisor", other[1])...)
	if got := sync(); len(got["w1"]) != 0 || len(got["blocked"]) != 3 {
		t.Fatalf("sync after blocking: %v", got)
	}
	if bl := mustGW(t, args("numbers", "blocked")...); !strings.Contains(bl, "+6281111111111") || !strings.Contains(bl, "victim") {
		t.Fatalf("blocked list:\n%s", bl)
	}
	mustGW(t, args("numbers", "unblock", "-by", "supervisor", "081234567890")...)
	fail("not on the blocked list", args("numbers", "unblock", "-by", "supervisor", "081234567890")...)
	if got := sync(); len(got["w1"]) != 1 {
		t.Fatalf("sync after unblocking: %v", got)
	}
	fail("-reason", args("numbers", "revoke", "-by", "supervisor", id[1])...)
	mustGW(t, args("numbers", "revoke", "-by", "supervisor", "-reason", "moved away", id[1])...)
	mustGW(t, args("numbers", "reject", "-by", "supervisor", "-reason", "not family", other[1])...)
	if got := sync(); len(got["w1"])+len(got["w2"]) != 0 {
		t.Fatalf("sync after revoking: %v", got)
	}
	all := mustGW(t, args("numbers", "list", "-person", "w1")...)
	if !strings.Contains(all, "revoked") || !strings.Contains(all, "moved away") || !strings.Contains(all, "pengacara") {
		t.Fatalf("numbers of w1:\n%s", all)
	}
	fail("-status", args("numbers", "list", "-status", "gone")...)
	fail("unknown subcommand", "numbers", "call")
}

// TestNumbersDatesInFacilityZone: -from and -until dates are whole days in
// the facility's zone, as at the console (console.ValidityDay): in Jakarta
// (UTC+7) -from 2030-01-01 starts at 2029-12-31T17:00Z and -until
// 2030-01-31 includes the 31st, ending at 2030-01-31T17:00Z. An RFC 3339
// instant is taken as written.
func TestNumbersDatesInFacilityZone(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", state)
	csv := writeFile(t, dir, "roster.csv", "role,person,name,block,card,allowance_min,blocked\ninmate,w1,Budi,A,em:0400D8B2A5,,\n")
	f := []string{"-state", state, "-facility", "lapas-uji"}
	mustGW(t, append([]string{"roster", "import"}, append(f, csv)...)...)
	mustGW(t, append([]string{"policy", "set"}, append(f, writeFile(t, dir, "policy.json", testPolicy))...)...)
	for _, c := range []struct{ number, from, until, want string }{
		{"081111111111", "2030-01-01", "2030-01-31", `2029-12-31T17:00:00Z\s+2030-01-31T17:00:00Z`},
		{"081111111112", "2030-01-01T08:00:00+07:00", "2030-02-01T00:00:00Z", `2030-01-01T01:00:00Z\s+2030-02-01T00:00:00Z`},
	} {
		mustGW(t, append([]string{"numbers", "add"}, append(f, "-by", "operator", "-person", "w1", "-number", c.number, "-from", c.from, "-until", c.until)...)...)
		list := mustGW(t, append([]string{"numbers", "list"}, f...)...)
		e164 := "+62" + c.number[1:]
		if !regexp.MustCompile(regexp.QuoteMeta(e164) + `.*\s` + c.want).MatchString(list) {
			t.Errorf("-from %s -until %s: want valid %s in the list:\n%s", c.from, c.until, c.want, list)
		}
	}
}
