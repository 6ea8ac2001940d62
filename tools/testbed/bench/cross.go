package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func init() { registerSlow("cross-size", 1, benchCrossSize) }

// crossExpectedMB is DESIGN.md's expectation for a stripped GOARM=6
// firmware with periph, serial and SQLite.
const crossExpectedMB = 7.5

// benchCrossSize builds the firmware as `make cross` ships it for the
// Raspberry Pi and reports each binary's size. A build's size does not
// vary between runs: it runs once.
func benchCrossSize(r *Report) error {
	dir, err := os.MkdirTemp("", "bench-cross-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	for _, t := range []struct{ name, arch, arm string }{
		{"linux/arm GOARM=6", "arm", "6"},
		{"linux/arm64", "arm64", ""},
	} {
		out := filepath.Join(dir, "wartel-kiosk-"+t.arch)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./firmware")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+t.arch, "GOARM="+t.arm)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./firmware for %s: %w\n%s", t.name, err, b)
		}
		fi, err := os.Stat(out)
		if err != nil {
			return err
		}
		r.Add(Figure{Name: "wartel-kiosk binary, " + t.name, Value: float64(fi.Size()) / 1e6, Unit: "MB",
			Limit: crossExpectedMB, LimitNote: "DESIGN.md's expectation for GOARM=6",
			Note: "CGO_ENABLED=0, -trimpath, -ldflags \"-s -w\" (as make cross); MB = 10⁶ B; one build"})
	}
	return nil
}
