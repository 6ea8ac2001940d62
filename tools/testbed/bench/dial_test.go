package main

import (
	"testing"
	"time"
)

// TestOnTheWire: the dial suite's limits are bytes at the UART's 115200
// baud, ten bits a byte.
func TestOnTheWire(t *testing.T) {
	if got := onTheWire(4); got != 347222*time.Nanosecond {
		t.Errorf("onTheWire(4) = %v, want 347.222µs", got)
	}
	if got := onTheWire(11520); got != time.Second {
		t.Errorf("onTheWire(11520) = %v, want 1s", got)
	}
}
