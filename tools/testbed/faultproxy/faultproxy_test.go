package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// echoServer answers every connection with size bytes after reading a
// line-less request of 4 bytes, and counts requests it received.
func echoServer(t *testing.T, size int) (addr string, got chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got = make(chan []byte, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req := make([]byte, 4)
				if _, err := io.ReadFull(c, req); err != nil {
					return
				}
				got <- req
				c.Write(bytes.Repeat([]byte{'x'}, size))
			}()
		}
	}()
	return ln.Addr().String(), got
}

// exchange sends a 4-byte request through p and reads the answer to EOF.
func exchange(t *testing.T, p *Proxy) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second)) // bounds a hang only
	if _, err := c.Write([]byte("ping")); err != nil {
		return nil, err
	}
	return io.ReadAll(c)
}

func TestFaults(t *testing.T) {
	const size = 1000
	for _, tc := range []struct {
		a         Action
		wantBytes int  // bytes of answer the client gets
		wantReq   bool // the request reaches the target
	}{
		{Action{Fault: Pass}, size, true},
		{Action{Fault: Delay, Delay: time.Millisecond}, size, true},
		{Action{Fault: Refuse}, 0, false},
		{Action{Fault: Truncate, Bytes: 300}, 300, true},
		{Action{Fault: LoseAnswer, Bytes: 0}, 0, true},
		{Action{Fault: Reset, Bytes: 10}, 10, true},
	} {
		t.Run(tc.a.Fault.String(), func(t *testing.T) {
			addr, got := echoServer(t, size)
			p, err := New(Options{Target: addr, Plan: func(int, *rand.Rand) Action { return tc.a }})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			b, err := exchange(t, p)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("hung: %v", err)
			}
			if tc.a.Fault == Reset {
				// A reset may arrive before the client read everything.
				if len(b) > tc.wantBytes {
					t.Fatalf("got %d bytes, want at most %d", len(b), tc.wantBytes)
				}
			} else if len(b) != tc.wantBytes {
				t.Fatalf("got %d bytes (err %v), want %d", len(b), err, tc.wantBytes)
			}
			if tc.wantReq {
				select {
				case r := <-got:
					if string(r) != "ping" {
						t.Fatalf("target got %q", r)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("request never reached the target")
				}
			}
			if c := p.Counts()[tc.a.Fault]; c != 1 {
				t.Fatalf("Counts()[%v] = %d, want 1", tc.a.Fault, c)
			}
		})
	}
}

// TestChooseDeterministic: the same seed gives the same plan; weights are
// respected; another seed differs.
func TestChooseDeterministic(t *testing.T) {
	w := map[Fault]int{Pass: 2, Refuse: 1, Truncate: 1, Reset: 0}
	mk := func(seed uint64) *Proxy {
		return &Proxy{opt: Options{Seed: seed, Weights: w, MaxDelay: time.Second, MaxBytes: 100}}
	}
	a, b, c := mk(1), mk(1), mk(2)
	counts := map[Fault]int{}
	differ := false
	for n := range 2000 {
		x, y := a.Choose(n), b.Choose(n)
		if x != y {
			t.Fatalf("connection %d: %+v vs %+v from the same seed", n, x, y)
		}
		if x != c.Choose(n) {
			differ = true
		}
		if x.Bytes < 0 || x.Bytes > 100 || x.Delay < 0 || x.Delay > time.Second {
			t.Fatalf("connection %d: %+v out of bounds", n, x)
		}
		counts[x.Fault]++
	}
	if !differ {
		t.Error("seeds 1 and 2 gave the same 2000 choices")
	}
	if counts[Reset] != 0 || counts[Delay] != 0 {
		t.Errorf("zero-weight faults chosen: %v", counts)
	}
	if counts[Pass] < 800 || counts[Refuse] < 350 || counts[Truncate] < 350 {
		t.Errorf("choices %v far from weights 2:1:1", counts)
	}
}

func TestCloseCutsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a target that never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	p, err := New(Options{Target: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	for p.Counts()[Pass] == 0 {
		time.Sleep(time.Millisecond) // until accepted; bounded by the test timeout
	}
	p.Close() // returns only after its goroutines ended
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ne net.Error
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read after Close: %v, want EOF", err)
	}
}
