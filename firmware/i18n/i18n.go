// Package i18n is the firmware's message catalogue: every sentence the
// self-test, the status page and the booth simulator show a technician or an
// officer, in Bahasa Indonesia and in English.
//
// Indonesian comes first at the facilities: the language is chosen by the
// config file (language = "id") or, when that is empty, by the LANG
// environment variable (id_ID.UTF-8 → id); anything else is English.
//
// Keys are dotted names grouped by use: selftest.*, status.*, state.*,
// deny.* (a tap's denial reason, session.AllDenials), end.* (a call's end
// reason, record.AllEndReasons) and action.* (an officer's action,
// record.AllOfficerActions); tests iterate those lists.
// Messages are fmt formats; both languages take the same arguments (a test
// checks it), an Indonesian message reorders them with %[n]s if it must.
package i18n

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Languages are the catalogue's languages, the default first.
var Languages = []string{"en", "id"}

var catalogues = map[string]map[string]string{"en": english, "id": indonesian}

// Catalogue is the messages of one language. It is read-only and safe for
// concurrent use.
type Catalogue struct {
	lang string
	msgs map[string]string
}

// New returns the catalogue of lang: "id" or "en", or a locale such as
// "id_ID.UTF-8" or "id-ID". Anything else, "" included, is English.
func New(lang string) *Catalogue {
	l := Normalize(lang)
	return &Catalogue{lang: l, msgs: catalogues[l]}
}

// Normalize reduces a language setting or locale to a catalogue language:
// "id_ID.UTF-8", "id-ID", "ID" and the old Java code "in" give "id";
// everything else gives "en".
func Normalize(lang string) string {
	l := strings.ToLower(lang)
	if i := strings.IndexAny(l, "_-.@"); i >= 0 {
		l = l[:i]
	}
	switch l {
	case "id", "in":
		return "id"
	}
	return "en"
}

// Choose returns the language to use: the config file's setting when it has
// one, else the locale of the environment (LC_ALL, LC_MESSAGES, then LANG,
// as POSIX orders them).
func Choose(configured string) string {
	if configured != "" {
		return Normalize(configured)
	}
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := os.Getenv(v); s != "" {
			return Normalize(s)
		}
	}
	return "en"
}

// Lang returns the catalogue's language, "id" or "en".
func (c *Catalogue) Lang() string { return c.lang }

// T returns the message of key formatted with args. A key missing from the
// catalogue (a programming error the tests catch) comes back as "!key" with
// its arguments, so the screen still shows something a developer can find.
func (c *Catalogue) T(key string, args ...any) string {
	m, ok := c.msgs[key]
	if !ok {
		if len(args) == 0 {
			return "!" + key
		}
		return "!" + key + fmt.Sprint(args...)
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// Has reports whether key is in the catalogue.
func (c *Catalogue) Has(key string) bool {
	_, ok := c.msgs[key]
	return ok
}

// Keys lists the catalogue's keys, sorted.
func (c *Catalogue) Keys() []string {
	ks := make([]string, 0, len(c.msgs))
	for k := range c.msgs {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// State returns the name of a session state ("ready", "talking", …).
func (c *Catalogue) State(state string) string { return c.T("state." + state) }

// Denial returns why a tap was refused, for a policy or session reason
// ("no_minutes", "busy", …).
func (c *Catalogue) Denial(reason string) string { return c.T("deny." + reason) }

// End returns why a call ended, for a record.Call end reason ("hangup",
// "quota", …).
func (c *Catalogue) End(reason string) string { return c.T("end." + reason) }

// Action returns what an officer did, for a record.Officer action
// ("reset", "end_call", …).
func (c *Catalogue) Action(action string) string { return c.T("action." + action) }
