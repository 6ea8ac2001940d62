package console

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"testing"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
)

var keyRE = regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)

var verbRE = regexp.MustCompile(`%(\[\d+\])?[a-z]`)

func TestEveryKeyInEveryLanguage(t *testing.T) {
	for _, lang := range Languages {
		cat := catalogues[lang]
		for k, en := range english {
			m, ok := cat[k]
			if !ok {
				t.Errorf("%s: key %q missing", lang, k)
				continue
			}
			if a, b := len(verbRE.FindAllString(en, -1)), len(verbRE.FindAllString(m, -1)); a != b {
				t.Errorf("%s: %q takes %d arguments, English %d", lang, k, b, a)
			}
		}
		for k := range cat {
			if _, ok := english[k]; !ok {
				t.Errorf("%s: key %q is not in English", lang, k)
			}
		}
	}
	for _, r := range ledger.AllRoles {
		if _, ok := english["role."+string(r)]; !ok {
			t.Errorf("role %s has no label", r)
		}
	}
	for _, k := range ledger.AllAlertKinds {
		if _, ok := english["alert."+string(k)]; !ok {
			t.Errorf("alert %s has no label", k)
		}
		if _, ok := english["alertdetail."+string(k)]; !ok {
			t.Errorf("alert %s has no detail", k)
		}
	}
	for _, k := range record.AllEvents {
		if _, ok := english["event."+string(k)]; !ok {
			t.Errorf("booth event %s has no label", k)
		}
	}
	for _, k := range ledger.AllCentreEventKinds {
		if _, ok := english["event."+string(k)]; !ok {
			t.Errorf("centre event %s has no label", k)
		}
	}
	for _, st := range ledger.AllNumberStatuses {
		if _, ok := english["numbers.status."+string(st)]; !ok {
			t.Errorf("number status %s has no label", st)
		}
	}
	for _, st := range ledger.AllOfficerStatuses {
		if _, ok := english["officers.status."+string(st)]; !ok {
			t.Errorf("officer card status %s has no label", st)
		}
	}
	for _, src := range ledger.AllEventSources {
		if _, ok := english["source."+string(src)]; !ok {
			t.Errorf("event source %s has no label", src)
		}
	}
	// Every key a template names exists.
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		b, _ := fs.ReadFile(templateFS, n)
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			if _, ok := english[m[1]]; !ok {
				t.Errorf("%s: key %q is in no catalogue", n, m[1])
			}
		}
	}
	for _, l := range []string{"online", "offline", "revoked", "never"} {
		if _, ok := english["link."+l]; !ok {
			t.Errorf("link %s has no label", l)
		}
	}
	if langOf("fr") != "id" || langOf("en") != "en" {
		t.Error("langOf")
	}
	if !slices.Equal(Languages, []string{"id", "en"}) {
		t.Error("Indonesian first")
	}
	_ = fmt.Sprint
}
