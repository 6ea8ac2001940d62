// Test hooks: waiting on the loop's timer wake-ups and edge samples, for
// tests driving a fake clock.

package booth

// waitFired blocks until the loop has handled n timer wake-ups (tests).
func (b *Booth) waitFired(n uint64) {
	b.firedMu.Lock()
	defer b.firedMu.Unlock()
	for b.fired < n {
		b.firedC.Wait()
	}
}

// waitObserved blocks until the loop has taken n edge samples (tests).
func (b *Booth) waitObserved(n uint64) {
	b.firedMu.Lock()
	defer b.firedMu.Unlock()
	for b.observed < n {
		b.firedC.Wait()
	}
}

func (b *Booth) firedCount() uint64 {
	b.firedMu.Lock()
	defer b.firedMu.Unlock()
	return b.fired
}
