// Package faultproxy is a TCP proxy for tests that misbehaves on purpose:
// per connection it passes bytes through, refuses, delays, cuts the
// answer after some bytes, swallows the answer after the request went
// through, or resets the connection. The choice for the n-th accepted
// connection comes from a seed and n alone, so a failing run repeats.
//
// It works below TLS and so cannot read or forge HTTP: faults that need
// the HTTP layer (500s, a request processed twice) belong in a handler
// wrapper. It listens on loopback only.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what the proxy does to one connection.
type Fault int

const (
	// Pass forwards both directions untouched.
	Pass Fault = iota
	// Refuse closes the client's connection at once, never dialling the
	// target (a gateway that is down).
	Refuse
	// Delay holds each direction's data for Action.Delay before passing it
	// (a slow link).
	Delay
	// Truncate passes the first Action.Bytes bytes from the target, then
	// closes both sides: the answer (or the handshake) is cut short.
	Truncate
	// LoseAnswer forwards the client's bytes and the target's first
	// Action.Bytes bytes, then closes both sides once the target has sent
	// more: the request may have been processed and its answer lost.
	LoseAnswer
	// Reset passes Action.Bytes bytes from the target, then resets both
	// sides with a TCP RST.
	Reset
	nFaults
)

var names = [...]string{"pass", "refuse", "delay", "truncate", "lose-answer", "reset"}

func (f Fault) String() string {
	if f >= 0 && f < nFaults {
		return names[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Action is the fault chosen for one connection and its parameters.
type Action struct {
	Fault Fault
	Delay time.Duration // for Delay
	Bytes int           // for Truncate, LoseAnswer, Reset
}

// Options configure New.
type Options struct {
	// Target is the address to forward to, e.g. "127.0.0.1:8443".
	Target string
	// Seed makes the choices repeatable.
	Seed uint64
	// Weights give each fault's relative frequency (nil or all zero:
	// everything passes).
	Weights map[Fault]int
	// MaxDelay bounds Delay (0: 50 ms). MaxBytes bounds the byte counts
	// of cutting faults (0: 8 KiB).
	MaxDelay time.Duration
	MaxBytes int
	// Plan, if set, overrides Weights: it returns the action for the n-th
	// accepted connection (n from 0).
	Plan func(n int, r *rand.Rand) Action
}

// Proxy is a running fault proxy. Close it when done.
type Proxy struct {
	opt Options
	ln  net.Listener

	n      atomic.Int64
	mu     sync.Mutex
	counts [nFaults]int
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	closed bool
	done   chan struct{} // closed by Close: cuts delays short
}

// New listens on 127.0.0.1 (a free port) and starts proxying to o.Target.
func New(o Options) (*Proxy, error) {
	if o.Target == "" {
		return nil, errors.New("faultproxy: no target address")
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 50 * time.Millisecond
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 10
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen on loopback: %w", err)
	}
	p := &Proxy{opt: o, ln: ln, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's listening address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// String describes the proxy for logs.
func (p *Proxy) String() string { return fmt.Sprintf("faultproxy %s → %s", p.Addr(), p.opt.Target) }

// Counts returns how many connections got each fault so far.
func (p *Proxy) Counts() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[Fault]int{}
	for f, n := range p.counts {
		if n > 0 {
			m[Fault(f)] = n
		}
	}
	return m
}

// Close stops accepting, cuts every open connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	if !p.closed {
		close(p.done)
	}
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// Choose returns the action for the n-th connection: a pure function of
// the options' seed and n.
func (p *Proxy) Choose(n int) Action {
	r := rand.New(rand.NewPCG(p.opt.Seed, uint64(n)))
	if p.opt.Plan != nil {
		return p.opt.Plan(n, r)
	}
	total := 0
	for f := Fault(0); f < nFaults; f++ {
		total += max(p.opt.Weights[f], 0)
	}
	a := Action{Fault: Pass}
	if total > 0 {
		x := r.IntN(total)
		for f := Fault(0); f < nFaults; f++ {
			if x < max(p.opt.Weights[f], 0) {
				a.Fault = f
				break
			}
			x -= max(p.opt.Weights[f], 0)
		}
	}
	a.Delay = time.Duration(r.Int64N(int64(p.opt.MaxDelay) + 1))
	a.Bytes = r.IntN(p.opt.MaxBytes + 1)
	return a
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		a := p.Choose(int(p.n.Add(1) - 1))
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.counts[a.Fault]++
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c, a)
	}
}

func (p *Proxy) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		if p.closed {
			return false
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *Proxy) serve(client net.Conn, a Action) {
	defer p.wg.Done()
	defer func() { client.Close(); p.track(client, false) }()
	if a.Fault == Refuse {
		return
	}
	target, err := net.DialTimeout("tcp", p.opt.Target, 10*time.Second)
	if err != nil {
		return
	}
	if !p.track(target, true) {
		target.Close()
		return
	}
	defer func() { target.Close(); p.track(target, false) }()

	var delay time.Duration
	if a.Fault == Delay {
		delay = a.Delay
	}
	up := make(chan struct{})
	go func() {
		defer close(up)
		p.copyDelayed(target, client, delay)
		if tc, ok := target.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	switch a.Fault {
	case Truncate, LoseAnswer, Reset:
		io.CopyN(client, target, int64(a.Bytes))
		if a.Fault == LoseAnswer {
			// Wait until the target answers more, then drop it unread.
			io.CopyN(io.Discard, target, 1)
		}
		if a.Fault == Reset {
			for _, c := range []net.Conn{client, target} {
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
			}
		}
	default:
		p.copyDelayed(client, target, delay)
	}
	client.Close()
	target.Close()
	<-up
}

// copyDelayed copies src to dst, holding each chunk for d (the proxy's
// job is to be slow; tests never wait on it, and Close cuts it short).
func (p *Proxy) copyDelayed(dst, src net.Conn, d time.Duration) {
	if d <= 0 {
		io.Copy(dst, src)
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
