package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"wartelsuspas/firmware/config"
	"wartelsuspas/kiosk/store"
	"wartelsuspas/kiosk/uplink"
)

// TestDaemonRefusesAnotherBoothsBundle: the daemon started (by hand, not
// through the unit's config check) with another booth's bundle starts no
// gateway link: it would authorise as that booth and have every upload of
// its own store refused. Its own bundle starts one.
func TestDaemonRefusesAnotherBoothsBundle(t *testing.T) {
	for _, tc := range []struct {
		bundleOf string
		link     bool
	}{{"b02", false}, {"b01", true}} {
		t.Run("bundle of "+tc.bundleOf, func(t *testing.T) {
			dir := t.TempDir()
			bdir := enrol(t, dir, "lapas-x", tc.bundleOf)
			state := filepath.Join(dir, "state")
			if err := os.Mkdir(state, 0o700); err != nil {
				t.Fatal(err)
			}
			doc := "device = \"lapas-x/b01\"\n[store]\npath = \"" + filepath.Join(state, "booth.db") + "\"\n[gateway]\nurl = \"https://gw:8443\"\nbundle = \"" + bdir + "\"\n"
			cfg, err := config.Load(writeConfig(t, dir, doc))
			if err != nil {
				t.Fatal(err)
			}
			path, so := cfg.StoreOptions()
			st, err := store.Open(path, so)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			up := newUplink(cfg, st, &wiring{log: quiet}, quiet, "boot", func() uplink.BoothState { return uplink.BoothState{} })
			if (up != nil) != tc.link {
				t.Fatalf("configured as lapas-x/b01 with the bundle of lapas-x/%s: link started %v, want %v", tc.bundleOf, up != nil, tc.link)
			}
		})
	}
}
