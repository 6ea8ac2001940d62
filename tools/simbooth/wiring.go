package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"wartelsuspas/drivers/booth"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/store"
)

// console prints one line per thing that happens, from any goroutine.
type console struct {
	mu   sync.Mutex
	out  io.Writer
	lang string
}

// say prints the catalogue message key, stamped with the wall time.
func (c *console) say(key string, args ...any) {
	c.line(msg(c.lang, key, args...))
}

// line prints text as is, each line stamped.
func (c *console) line(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp := time.Now().Format("15:04:05.000")
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(c.out, "%s %s\n", stamp, l)
	}
}

// boothOutputs is the engine's Booth: the booth driver, with each relay
// change and lamp signal printed.
type boothOutputs struct {
	b   *booth.Booth
	con *console

	mu     sync.Mutex
	relay  *bool
	signal string
}

// ClearFaults implements session.Booth.
func (o *boothOutputs) ClearFaults() error { return o.b.ClearFaults() }

// SetRelay implements session.Booth.
func (o *boothOutputs) SetRelay(on bool) error {
	if err := o.b.SetRelay(on); err != nil {
		return err
	}
	o.mu.Lock()
	changed := o.relay == nil || *o.relay != on
	o.relay = &on
	o.mu.Unlock()
	if changed {
		if on {
			o.con.say("relay.on")
		} else {
			o.con.say("relay.off")
		}
	}
	return nil
}

// Show implements session.Booth. A base signal is printed when it changes;
// an overlay (card accepted, a denial) every time it plays.
func (o *boothOutputs) Show(signal string) error {
	if err := o.b.Show(signal); err != nil {
		return err
	}
	o.mu.Lock()
	changed := signal != o.signal
	o.signal = signal
	o.mu.Unlock()
	overlay := signal == "card_accepted" || strings.HasPrefix(signal, "denied_")
	switch {
	case signal == "warning_minute":
		o.con.say("warn.minute")
	case signal == "final_seconds":
		o.con.say("warn.final")
	}
	if changed || overlay {
		o.con.say("lamps", signal)
	}
	return nil
}

// journal is the engine's Store: the SQLite store, with every record the
// engine writes printed.
type journal struct {
	*store.Store
	con *console
}

// OpenCall implements session.Store: the call is journaled, so granted.
func (j *journal) OpenCall(c record.Call) (int64, error) {
	id, err := j.Store.OpenCall(c)
	if err == nil {
		j.con.say("granted", id, who(c.Card), c.Inmate, ms(c.MaxMs), c.EndReason)
	}
	return id, err
}

// CloseCall implements session.Store.
func (j *journal) CloseCall(c record.Call) (record.Record, error) {
	r, err := j.Store.CloseCall(c)
	if err == nil {
		j.con.say("ended", c.CallID, c.EndReason, ms(c.TalkedMs), ms(c.ChargedMs))
	}
	return r, err
}

// Deny implements session.Store.
func (j *journal) Deny(d record.Denial) (record.Record, error) {
	r, err := j.Store.Deny(d)
	if err == nil {
		j.con.say("denied", who(d.Card), d.Reason)
	}
	return r, err
}

// Officer implements session.Store.
func (j *journal) Officer(o record.Officer) (record.Record, error) {
	r, err := j.Store.Officer(o)
	if err != nil {
		return r, err
	}
	detail := ""
	if o.Action == "reset" || o.Action == "grant" {
		detail = msg(j.con.lang, "officer.on", o.Inmate, ms(o.BeforeMs), ms(o.AfterMs))
	}
	j.con.say("officer", o.Officer, o.Action, detail)
	if o.Action == "clear_tamper" || o.Action == "clear_fault" {
		j.con.say("cleared")
	}
	return r, nil
}

// Event implements session.Store.
func (j *journal) Event(e record.Event) (record.Record, error) {
	r, err := j.Store.Event(e)
	if err == nil {
		j.con.line(strings.TrimSpace(msg(j.con.lang, "event", e.Event, e.Detail)))
	}
	return r, err
}

// readerInputs turns the card reader's events into engine inputs until the
// reader closes its events or ctx ends.
func readerInputs(ctx context.Context, r *rfid.Reader, in chan<- session.Input, con *console) {
	for ev := range r.Events() {
		var i session.Input
		switch ev.Kind {
		case rfid.Present:
			con.say("card.present", who(string(ev.Card)))
			i = session.Tap{Card: string(ev.Card)}
		case rfid.Removed:
			con.say("card.removed", nameOf(string(ev.Card)))
			i = session.CardRemoved{Card: string(ev.Card)}
		case rfid.Down:
			con.say("reader.down", ev.Err)
			i = session.Reader{Up: false, Err: ev.Err}
		case rfid.Up:
			con.say("reader.up")
			i = session.Reader{Up: true}
		default:
			continue
		}
		select {
		case in <- i:
		case <-ctx.Done():
			// The engine has stopped; keep the reader from stalling
			// until its Run returns and closes the events.
			for range r.Events() {
			}
			return
		}
	}
}

// boothInputs turns the booth driver's events into engine inputs until the
// driver closes its events or ctx ends.
func boothInputs(ctx context.Context, b *booth.Booth, in chan<- session.Input, con *console) {
	for ev := range b.Events() {
		var i session.Input
		switch ev.Kind {
		case booth.HookOff:
			con.say("hook.off")
			i = session.Hook{OffHook: true}
		case booth.HookOn:
			con.say("hook.on")
			i = session.Hook{OffHook: false}
		case booth.TamperOpen:
			con.say("tamper.open")
			i = session.Tamper{Open: true}
		case booth.TamperClosed:
			con.say("tamper.close")
			i = session.Tamper{Open: false}
		case booth.RelayFault:
			con.say("relay.fault", ev.Err)
			i = session.RelayFault{Err: ev.Err}
		default:
			continue
		}
		select {
		case in <- i:
		case <-ctx.Done():
			return
		}
	}
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
