// Package booth drives the booth's own hardware on GPIO: the handset relay,
// the lamps (three discrete lamps or one RGB lamp), the buzzer, and reads the
// hook switch, the tamper switch and an optional relay feedback contact.
//
// It fails closed. New drives the relay off before anything else; Close,
// Halt, a SIGTERM/SIGINT (OffOnSignal) and a panic in a guarded goroutine
// (Go, Guard) drive it off too; a relay that does not follow its command, or
// an opened panel, puts the booth out of service until ClearFaults. What
// software cannot promise (SIGKILL, a kernel hang) is left to the hardware
// and the service manager: see docs/wiring.md and SafeOff.
//
// Lamps and buzzer run patterns that are data (Pattern), keyed by the signal
// names the session engine emits, on one goroutine driven by an injected
// clock. Inputs are debounced on the same goroutine; edges come from the GPIO
// character device where it offers them, and polling replaces them where not.
//
// Pins are reached through a thin seam (Backend, Output, Input) with three
// implementations: periph.io for the Raspberry Pi (NewPeriph), periph pins
// given by the caller such as gpiotest.Pin (NewPins), and Sim, a simulated
// backend that records every output change and can mirror its pins into a
// directory for another process to watch.
package booth
