package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// gateway is one `wartel-gateway serve` replica.
type gateway struct {
	cmd     *exec.Cmd
	addr    string // host:port of its booth listener
	metrics string // URL of its /metrics
	log     string
	done    chan struct{}
	err     error
}

// startGateway starts a replica on a free loopback port with the state
// folder's CA and the database at dsn, and waits until it serves. Its
// standard error goes to logPath.
func startGateway(ctx context.Context, bin, state, dsn, logPath string) (*gateway, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("country: %w", err)
	}
	// The rate limit stays the product's: a booth here sends far less.
	cmd := exec.Command(bin, "serve", "-state", state, "-db", dsn, "-listen", "127.0.0.1:0", "-metrics", "127.0.0.1:0")
	cmd.Stderr = f
	// A replica must not outlive the load generator, even if it dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("country: start %s: %w", bin, err)
	}
	g := &gateway{cmd: cmd, log: logPath, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "metrics on "); ok {
				g.metrics = strings.Fields(rest)[0] // printed before the line below
			}
			if rest, ok := strings.CutPrefix(sc.Text(), "serving booths on https://"); ok {
				ready <- strings.Fields(rest)[0]
			}
		}
	}()
	go func() {
		g.err = cmd.Wait()
		f.Close()
		close(g.done)
	}()
	select {
	case g.addr = <-ready:
		return g, nil
	case <-g.done:
		return nil, fmt.Errorf("country: wartel-gateway serve exited before serving: %v\n%s", g.err, tail(logPath))
	case <-ctx.Done():
		g.kill()
		return nil, fmt.Errorf("country: wartel-gateway serve: %w", ctx.Err())
	case <-time.After(time.Minute):
		g.kill()
		return nil, fmt.Errorf("country: wartel-gateway serve did not serve within a minute\n%s", tail(logPath))
	}
}

// stop ends the replica with SIGTERM (it finishes what is in flight),
// killing it if it has not stopped within 20 s.
func (g *gateway) stop() error {
	select {
	case <-g.done:
		return nil
	default:
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		return nil
	case <-time.After(20 * time.Second):
		g.kill()
		return fmt.Errorf("country: gateway %s did not stop within 20 s of SIGTERM: killed\n%s", g.addr, tail(g.log))
	}
}

func (g *gateway) kill() {
	g.cmd.Process.Kill()
	<-g.done
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// procSample is a process's CPU time so far and its resident set.
type procSample struct {
	cpu time.Duration
	rss int64 // bytes
}

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// 100 on every Linux this runs on.
const clockTick = 10 * time.Millisecond

// sampleProcs sums the CPU time and resident sets of the processes pids.
func sampleProcs(pids []int) (procSample, error) {
	var s procSample
	for _, pid := range pids {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			return s, err
		}
		// The command name is in parentheses and may hold spaces: fields
		// count from after its closing one (utime is field 14, stime 15).
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			return s, errors.New("country: unreadable /proc stat")
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 {
			return s, errors.New("country: short /proc stat")
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		s.cpu += time.Duration(ut+st) * clockTick
		status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
		if err != nil {
			return s, err
		}
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				s.rss += kb << 10
			}
		}
	}
	return s, nil
}

// histogram is the cumulative count of a request path's answers at or
// under each bucket bound of wartel_request_duration_seconds, summed over
// status codes and replicas: the gateways' own view of their latency,
// without the booths' side of the loopback and the scheduler.
type histogram map[float64]float64

// scrapeLatency reads path's latency histogram from every replica.
func scrapeLatency(ctx context.Context, gs []*gateway, path string) (histogram, error) {
	h := histogram{}
	for _, g := range gs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.metrics, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("country: metrics of %s: %w", g.addr, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(body), "\n") {
			rest, ok := strings.CutPrefix(line, "wartel_request_duration_seconds_bucket{")
			if !ok || !strings.Contains(rest, `path="`+path+`"`) {
				continue
			}
			_, le, ok := strings.Cut(rest, `le="`)
			if !ok {
				continue
			}
			le, count, _ := strings.Cut(le, `"} `)
			bound, err := strconv.ParseFloat(le, 64)
			if le == "+Inf" {
				bound, err = math.Inf(1), nil
			}
			n, err2 := strconv.ParseFloat(strings.TrimSpace(count), 64)
			if err != nil || err2 != nil {
				continue
			}
			h[bound] += n
		}
	}
	return h, nil
}

// since is h minus an earlier scrape.
func (h histogram) since(before histogram) histogram {
	d := histogram{}
	for b, n := range h {
		d[b] = n - before[b]
	}
	return d
}

// quantile is the smallest bucket bound under which at least q of the
// answers fall (+Inf when past the last bound).
func (h histogram) quantile(q float64) float64 {
	bounds := make([]float64, 0, len(h))
	for b := range h {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	total := h[math.Inf(1)]
	for _, b := range bounds {
		if total > 0 && h[b] >= q*total {
			return b
		}
	}
	return math.Inf(1)
}
