package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWatchRelay: the watcher reports the relay file's changes as the sim
// backend makes them (write a temporary file, rename it over the pin's),
// ignores other pins and rewrites of the same level.
func TestWatchRelay(t *testing.T) {
	dir := t.TempDir()
	set := func(pin, level string) {
		t.Helper()
		p := filepath.Join(dir, pin)
		if err := os.WriteFile(p+".tmp", []byte(level+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
	set("relay", "0")
	w, err := watchRelay(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i, step := range []struct {
		pin, level string
		want       *bool
	}{
		{"lamp_green", "1", nil},
		{"relay", "1", ptr(true)},
		{"relay", "1", nil}, // same level again
		{"buzzer", "1", nil},
		{"relay", "0", ptr(false)},
	} {
		before := time.Now()
		set(step.pin, step.level)
		if step.want == nil {
			continue
		}
		at, err := w.wait(*step.want, 10*time.Second)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if at.Before(before) {
			t.Fatalf("step %d: edge stamped %v, before the change at %v", i, at, before)
		}
		select {
		case e := <-w.edges:
			t.Fatalf("step %d: extra edge %+v", i, e)
		default:
		}
	}
}

func ptr[T any](v T) *T { return &v }
