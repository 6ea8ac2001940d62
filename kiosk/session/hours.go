package session

import "time"

// hoursCheck is how often an idle booth looks whether it opened or closed.
const hoursCheck = 30 * time.Second

// checkHours updates the closed state and its lamp. With an untrusted wall
// clock the hours cannot be judged: the booth does not show closed.
func (e *Engine) checkHours() {
	if was := e.closed; e.refreshHours() != was {
		e.showIdle()
	}
}

// refreshHours judges the hours now and schedules the next check.
func (e *Engine) refreshHours() bool {
	e.hoursAt = e.clk.Mono() + hoursCheck
	e.closed = false
	if e.trusted {
		open, _ := e.cfg.Rules.Hours.OpenAt(e.clk.Now(), e.cfg.Rules.Location)
		e.closed = !open
	}
	return e.closed
}
