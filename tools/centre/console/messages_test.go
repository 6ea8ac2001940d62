package console

import (
	"fmt"
	"regexp"
	"slices"
	"testing"

	"wartelsuspas/tools/centre/ledger"
)

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
	if langOf("fr") != "id" || langOf("en") != "en" {
		t.Error("langOf")
	}
	if !slices.Equal(Languages, []string{"id", "en"}) {
		t.Error("Indonesian first")
	}
	_ = fmt.Sprint
}
