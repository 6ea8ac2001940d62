package boothrig

// PID is the process id of the booth's running daemon, 0 when none runs:
// the benchmarks read its memory from /proc/PID/status.
func (b *Booth) PID() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc == nil {
		return 0
	}
	select {
	case <-b.proc.done:
		return 0
	default:
		return b.proc.cmd.Process.Pid
	}
}
