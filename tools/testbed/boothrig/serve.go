package boothrig

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// StartWithMetrics is Start with the gateway's /metrics served on a
// free loopback port, whose URL it returns: the drills read the ingest
// counters (stored, duplicate, conflict) there.
func (g *Gateway) StartWithMetrics(ctx context.Context, listen string, log io.Writer, extra ...string) (string, error) {
	return g.startServe(ctx, listen, log, append(extra, "-metrics", "127.0.0.1:0"))
}

func (g *Gateway) startServe(ctx context.Context, listen string, log io.Writer, extra []string) (metrics string, err error) {
	if err := os.MkdirAll(g.Dir, 0o755); err != nil {
		return "", fmt.Errorf("boothrig: %w", err)
	}
	// A repeated flag: the last one wins, so extra may override -metrics.
	args := append([]string{"serve", "-state", g.Dir, "-listen", listen, "-metrics", ""}, extra...)
	cmd := exec.Command(g.bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	p, err := startProcess(cmd, "gateway", filepath.Join(g.Dir, "gateway.log"), log)
	if err != nil {
		return "", err
	}
	type addrs struct{ api, metrics, console string }
	ready := make(chan addrs, 1)
	go func() {
		var a addrs
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "metrics on "); ok {
				a.metrics = strings.Fields(rest)[0]
			}
			if rest, ok := strings.CutPrefix(sc.Text(), "console on "); ok {
				a.console = strings.Fields(rest)[0]
			}
			if rest, ok := strings.CutPrefix(sc.Text(), "serving booths on https://"); ok {
				a.api = strings.Fields(rest)[0]
				ready <- a
			}
		}
	}()
	select {
	case a := <-ready:
		g.Addr, g.Console = a.api, a.console
		g.proc = p
		return a.metrics, nil
	case <-p.done:
		return "", fmt.Errorf("boothrig: wartel-gateway %s exited before serving: %v\n%s", strings.Join(args, " "), p.err, p.tail())
	case <-ctx.Done():
		p.kill()
		return "", fmt.Errorf("boothrig: wartel-gateway serve: %w", ctx.Err())
	}
}
