package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// notifier sends sd_notify(3) messages to the service manager. With no
// $NOTIFY_SOCKET (not started by systemd, or Type= is not notify) it sends
// nothing.
type notifier struct {
	addr string // "" when there is nowhere to send
}

// newNotifier reads $NOTIFY_SOCKET. An abstract socket is written "@name".
func newNotifier() notifier {
	return notifier{addr: os.Getenv("NOTIFY_SOCKET")}
}

// Notify sends state, e.g. "READY=1" or "WATCHDOG=1", as one datagram.
func (n notifier) Notify(state string) error {
	if n.addr == "" {
		return nil
	}
	name := n.addr
	if name[0] == '@' {
		name = "\x00" + name[1:] // Linux abstract namespace
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %q to %s: %w", state, n.addr, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %q to %s: %w", state, n.addr, err)
	}
	return nil
}

// watchdogInterval returns how often to ping the watchdog: half of
// $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises, and false when the
// watchdog is off or meant for another process ($WATCHDOG_PID).
func watchdogInterval() (time.Duration, bool) {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		if pid, err := strconv.Atoi(p); err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(usec) * time.Microsecond / 2, true
}
