// Package session is the booth's call engine: one goroutine, one event loop,
// an injected clock. It turns card taps, hook changes and officer actions
// into decisions (policy), durable journal entries and records (Store), and
// relay and lamp commands (Booth).
package session
