package main

import "testing"

func TestParseCPUInfo(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		model      string
		cores      int
	}{
		{"x86", "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 2\nmodel name\t: AMD EPYC\n\nprocessor\t: 1\nmodel\t\t: 2\nmodel name\t: AMD EPYC\n", "AMD EPYC", 2},
		{"raspberry pi", "processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi Zero W Rev 1.1\n", "ARMv6-compatible processor rev 7 (v6l)", 1},
		{"arm64 without model name", "processor\t: 0\nCPU part\t: 0xd08\n\nprocessor\t: 1\nCPU part\t: 0xd08\n\nprocessor\t: 2\n\nprocessor\t: 3\nHardware\t: BCM2711\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4", 4},
		{"empty", "", "", 0},
	} {
		model, cores := ParseCPUInfo(tc.text)
		if model != tc.model || cores != tc.cores {
			t.Errorf("%s: %q, %d; want %q, %d", tc.name, model, cores, tc.model, tc.cores)
		}
	}
}

func TestParseMemInfo(t *testing.T) {
	for _, tc := range []struct {
		text, want string
		err        bool
	}{
		{"MemTotal:       24683620 kB\nMemFree:        24027936 kB\n", "23.5 GiB", false},
		{"MemFree: 1 kB\nMemTotal: 1048576 kB\n", "1.0 GiB", false},
		{"MemTotal: 12 MB\n", "", true},
		{"MemTotal: lots kB\n", "", true},
		{"MemFree: 1 kB\n", "", true},
	} {
		got, err := ParseMemInfo(tc.text)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseMemInfo(%q) = %q, %v; want %q, error %v", tc.text, got, err, tc.want, tc.err)
		}
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\twartel-kiosk\nVmHWM:\t   16012 kB\nVmRSS:\t   15480 kB\nThreads:\t7\n"
	for _, tc := range []struct {
		field string
		want  float64
		err   bool
	}{
		{"VmRSS", 15480, false},
		{"VmHWM", 16012, false},
		{"Threads", 0, true}, // no unit
		{"VmSwap", 0, true},
	} {
		got, err := ParseStatusKB(status, tc.field)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%s: %v, %v; want %v, error %v", tc.field, got, err, tc.want, tc.err)
		}
	}
}

func TestDescribeCommit(t *testing.T) {
	for _, tc := range []struct {
		head, status string
		ok           bool
		want         string
	}{
		{"abc1234\n", "", true, "abc1234"},
		{"abc1234\n", " M tools/testbed/bench/main.go\n", true, "abc1234+dirty"},
		{"abc1234\n", "", false, "abc1234+dirty"},
		{"", "", true, ""},
	} {
		if got := DescribeCommit(tc.head, tc.status, tc.ok); got != tc.want {
			t.Errorf("DescribeCommit(%q, %q, %v) = %q, want %q", tc.head, tc.status, tc.ok, got, tc.want)
		}
	}
}
