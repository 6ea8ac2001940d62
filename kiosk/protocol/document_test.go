package protocol

import (
	"slices"
	"testing"

	"wartelsuspas/kiosk/policy"
)

// TestJSONFieldKeys checks that the centre's document names every field
// of policy.Document with a key ParsePolicy reads, each key once.
func TestJSONFieldKeys(t *testing.T) {
	seen := map[string]policy.Field{}
	for _, f := range policy.AllFields {
		k, ok := jsonKeys[f]
		switch {
		case !ok:
			t.Errorf("field %s has no JSON key", f)
		case !slices.Contains(policyKeys, k):
			t.Errorf("field %s: key %q is not one ParsePolicy reads (%v)", f, k, policyKeys)
		case seen[k] != "":
			t.Errorf("fields %s and %s share the key %q", seen[k], f, k)
		}
		seen[k] = f
	}
}
