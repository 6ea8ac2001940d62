package boothrig

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/store"
)

// Resync restarts the booth's daemon and waits for its first roster sync:
// a running booth syncs only every uplink.DefaultSyncInterval, and one that
// starts syncs at once, so a test sees a change made at the centre reach
// the booth without waiting minutes.
func (b *Booth) Resync(ctx context.Context) error {
	if err := b.Stop(); err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return err
	}
	// LastSync is the new daemon's own: zero until it has synced.
	if _, err := b.WaitStatus(ctx, func(s Status) bool { return !s.Gateway.LastSync.IsZero() }); err != nil {
		return fmt.Errorf("boothrig: %s did not sync its roster after a restart: %w", b.Name, err)
	}
	return nil
}

// StoredNumbers reads what the booth's own store holds, the daemon
// stopped (Stop first; the store has one writer): the registered numbers
// of person as the booth would dial them, and the facility's blocked list.
// It reads the rig's own store path (booths/bNN/booth.db): an
// Options.Configure that moves the store is not followed.
func (b *Booth) StoredNumbers(person string) (numbers []record.Number, blocked []string, err error) {
	if b.Running() {
		return nil, nil, fmt.Errorf("boothrig: %s is running: stop it before reading its store", b.Name)
	}
	st, err := store.Open(filepath.Join(b.Dir, "booth.db"), store.Options{Device: b.Device, BusyTimeoutMs: int((5 * time.Second).Milliseconds())})
	if err != nil {
		return nil, nil, fmt.Errorf("boothrig: %s: %w", b.Name, err)
	}
	defer st.Close()
	if numbers, err = st.Numbers(person); err != nil {
		return nil, nil, fmt.Errorf("boothrig: %s: %w", b.Name, err)
	}
	if blocked, err = st.BlockedNumbers(); err != nil {
		return nil, nil, fmt.Errorf("boothrig: %s: %w", b.Name, err)
	}
	return numbers, blocked, nil
}
