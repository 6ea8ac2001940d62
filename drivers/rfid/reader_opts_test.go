package rfid

import (
	"strings"
	"testing"
)

// TestReaderDefaults: zero fields take DefaultOptions, which a caller can
// read; a negative count or wait is refused rather than quietly replaced
// (before, AbsentPolls -1 silently became 2).
func TestReaderDefaults(t *testing.T) {
	r, err := New(Options{Path: "/dev/null", Protocol: NewRDM6300()})
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultOptions
	if o := r.o; o.ConfirmFrames != d.ConfirmFrames || o.ConfirmWindow != d.ConfirmWindow || o.Silence != d.Silence ||
		o.AbsentPolls != d.AbsentPolls || o.RetryMin != d.RetryMin || o.RetryMax != d.RetryMax {
		t.Errorf("zero fields not from DefaultOptions: %+v", o)
	}
	for _, o := range []Options{{AbsentPolls: -1}, {ConfirmFrames: -2}, {Silence: -1}} {
		o.Path, o.Protocol = "/dev/null", NewRDM6300()
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("%+v: err %v, want it refused", o, err)
		}
	}
}
