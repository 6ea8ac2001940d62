package pgtest

import (
	"strings"
	"testing"
)

// Without binaries the error tells the developer what to run.
func TestBinMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := debianBin
	debianBin = t.TempDir() + "/*/bin"
	defer func() { debianBin = old }()
	_, err := Bin()
	if err == nil || !strings.Contains(err.Error(), "run tools/release/ci/deps.sh (make test does)") || !strings.Contains(err.Error(), SkipEnv) {
		t.Fatalf("Bin() error %v, want one saying to run tools/release/ci/deps.sh", err)
	}
}

// WARTEL_SKIP_PG=1 skips instead of starting a server.
func TestSkipEnv(t *testing.T) {
	t.Run("skipped", func(t *testing.T) {
		t.Setenv(SkipEnv, "1")
		DB(t)
		t.Fatal("DB returned with " + SkipEnv + "=1")
	})
}
