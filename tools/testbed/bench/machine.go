package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where the figures were measured.
type Machine struct {
	CPU    string // model name
	Cores  int
	Memory string // e.g. "23.5 GiB"
	Kernel string
	Go     string
	// Load is the 1-minute load average at the start and end of the run,
	// e.g. "1.20 → 3.05": other work on a shared machine shows in p99s.
	Load string
}

// ReadMachine describes this machine from /proc. What it cannot read stays
// empty and is reported in the error; the rest is still filled in.
func ReadMachine() (Machine, error) {
	m := Machine{Go: runtime.Version(), Cores: runtime.NumCPU()}
	var errs []error
	if b, err := os.ReadFile("/proc/cpuinfo"); err != nil {
		errs = append(errs, err)
	} else {
		model, cores := ParseCPUInfo(string(b))
		m.CPU = model
		if cores > 0 {
			m.Cores = cores
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err != nil {
		errs = append(errs, err)
	} else if mem, err := ParseMemInfo(string(b)); err != nil {
		errs = append(errs, err)
	} else {
		m.Memory = mem
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err != nil {
		errs = append(errs, err)
	} else {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m, errors.Join(errs...)
}

// ParseCPUInfo reads /proc/cpuinfo's text: the CPU's model name (x86's
// "model name"; on a Raspberry Pi "Model", else "Hardware" or the ARM
// "CPU part") and the number of processors listed.
func ParseCPUInfo(text string) (model string, cores int) {
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "processor" {
			cores++
		}
		if _, seen := fields[k]; !seen {
			fields[k] = v
		}
	}
	for _, k := range []string{"model name", "Model", "Hardware", "CPU part"} {
		if v := fields[k]; v != "" {
			return v, cores
		}
	}
	return "", cores
}

// ParseMemInfo reads /proc/meminfo's text and returns MemTotal in GiB.
func ParseMemInfo(text string) (string, error) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return "", fmt.Errorf("meminfo: MemTotal line %q: want \"<n> kB\"", sc.Text())
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return "", fmt.Errorf("meminfo: MemTotal: %w", err)
		}
		return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20)), nil
	}
	return "", errors.New("meminfo: no MemTotal line")
}

// Commit is the short hash of HEAD, with "+dirty" when the work tree has
// changes; "" outside a git work tree.
func Commit() string {
	head, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	status, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	return DescribeCommit(string(head), string(status), err == nil)
}

// DescribeCommit joins git rev-parse's and git status --porcelain's
// outputs: the hash, "+dirty" when status lists a change (or could not be
// read: an unknown tree is not claimed clean).
func DescribeCommit(head, status string, statusOK bool) string {
	h := strings.TrimSpace(head)
	if h == "" {
		return ""
	}
	if !statusOK || strings.TrimSpace(status) != "" {
		h += "+dirty"
	}
	return h
}

// ParseStatusKB reads a field counted in kB (VmRSS, VmHWM) from the text
// of /proc/PID/status and returns the kB.
func ParseStatusKB(text, field string) (float64, error) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("/proc status: %s line %q: want \"<n> kB\"", field, sc.Text())
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc status: %s: %w", field, err)
		}
		return float64(kb), nil
	}
	return 0, fmt.Errorf("/proc status: no %s line", field)
}

// LoadAverage is the 1-minute load average from /proc/loadavg, "" when it
// cannot be read.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
