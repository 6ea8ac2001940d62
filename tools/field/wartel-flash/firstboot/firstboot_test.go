package firstboot

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"pgregory.net/rapid"
)

const cmdline = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n"

func TestAddFirstrun(t *testing.T) {
	hook := " systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target"
	base := strings.TrimSuffix(cmdline, "\n")
	tests := []struct {
		name, in, want, err string
	}{
		{"plain", cmdline, base + hook + "\n", ""},
		{"no newline", base, base + hook + "\n", ""},
		{"crlf", base + "\r\n", base + hook + "\n", ""},
		{"imager hook replaced", base + " systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target\n", base + hook + "\n", ""},
		{"second line kept", cmdline + "# note\n", base + hook + "\n# note\n", ""},
		{"foreign hook", base + " systemd.run=/usr/local/bin/x\n", "", "another first-boot program"},
		{"empty", "\n", "", "no kernel arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddFirstrun([]byte(tt.in), "/boot/firmware")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, tt.want)
			}
			if !HasFirstrun(got) {
				t.Error("HasFirstrun is false on the result")
			}
		})
	}
}

// removeHook runs the sed line of FirstrunScript on cmdline, as the booth
// does after its first boot.
func removeHook(t *testing.T, cmdline []byte) []byte {
	t.Helper()
	script := FirstrunScript("")
	i := strings.Index(script, "sed -i '")
	expr := script[i+len("sed -i '"):]
	expr = expr[:strings.Index(expr, "'")]
	p := filepath.Join(t.TempDir(), "cmdline.txt")
	if err := os.WriteFile(p, cmdline, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sed", "-i", expr, p).CombinedOutput(); err != nil {
		t.Fatalf("sed: %v %s", err, out)
	}
	b, _ := os.ReadFile(p)
	return b
}

// TestFirstrunRoundTrip: what AddFirstrun adds, the script's own sed
// removes, leaving the original arguments in order.
func TestFirstrunRoundTrip(t *testing.T) {
	tok := rapid.StringMatching(`[a-z0-9_.]{1,8}(=[A-Za-z0-9/,:_.-]{0,12})?`)
	rapid.Check(t, func(rt *rapid.T) {
		toks := rapid.SliceOfN(tok, 1, 8).Draw(rt, "args")
		in := []byte(strings.Join(toks, " ") + "\n")
		if strings.Contains(string(in), "systemd.") {
			return
		}
		out, err := AddFirstrun(in, rapid.SampledFrom([]string{"/boot", "/boot/firmware"}).Draw(rt, "boot"))
		if err != nil {
			rt.Fatal(err)
		}
		again, err := AddFirstrun(out, "/boot/firmware")
		if err != nil || strings.Count(string(again), "systemd.run=") != 1 {
			rt.Fatalf("adding twice: %q, %v", again, err)
		}
		if got := removeHook(t, out); !bytes.Equal(got, in) {
			rt.Fatalf("after the booth's sed: %q, want %q", got, in)
		}
	})
}

func TestScriptsParse(t *testing.T) {
	for name, s := range map[string]string{
		"install":           InstallScript("wartel-kiosk_1.2.3_armhf.deb"),
		"firstrun":          FirstrunScript(""),
		"firstrun + before": FirstrunScript("firstrun-before.sh"),
		"hook":              hookCommand,
	} {
		cmd := exec.Command("sh", "-n")
		cmd.Stdin = strings.NewReader(s)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v %s", name, err, out)
		}
	}
}

// TestHookRunsScript runs the hook command with a fake boot folder: it
// must find the script under /boot or /boot/firmware only, so here it
// finds nothing and does nothing.
func TestHookRunsNothingWithoutScript(t *testing.T) {
	if _, err := os.Stat("/boot/firmware/" + Dir); err == nil {
		t.Skip("this machine has a provisioned boot partition")
	}
	if _, err := os.Stat("/boot/" + Dir); err == nil {
		t.Skip("this machine has a provisioned boot partition")
	}
	if out, err := exec.Command("sh", "-c", hookCommand).CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("hook without a script: %v %q", err, out)
	}
}

func TestMergeUserData(t *testing.T) {
	tests := []struct {
		name, in string
		runcmd   int    // entries before ours
		err      string // "" = merged
	}{
		{"empty", "", 0, ""},
		{"no runcmd", "#cloud-config\nhostname: booth\n", 0, ""},
		{"no trailing newline", "#cloud-config\nhostname: booth", 0, ""},
		{"runcmd at column 0", "#cloud-config\nruncmd:\n- [echo, a]\n- echo b\nhostname: x\n", 2, ""},
		{"runcmd indented", "#cloud-config\nruncmd:\n    - [echo, a]\n    # between\n    - >-\n      echo folded\nusers:\n- name: pi\n", 2, ""},
		{"runcmd last with comment after", "#cloud-config\nruncmd:\n  - echo a\n\n# end\n", 1, ""},
		{"empty runcmd", "#cloud-config\nruncmd:\nhostname: x\n", 0, ""},
		{"runcmd not a list", "#cloud-config\nruncmd:\n  a: b\n", 0, "not a list"},
		{"inline runcmd", "#cloud-config\nruncmd: [[echo, a]]\n", 0, "written inline"},
		{"script", "#!/bin/sh\necho\n", 0, "does not start with #cloud-config"},
		{"bad yaml", "#cloud-config\nruncmd:\n  - [\n", 0, "not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := MergeUserData([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			rc, _ := got["runcmd"].([]any)
			if len(rc) != tt.runcmd+1 || !reflect.DeepEqual(rc[len(rc)-1], hookItem) {
				t.Errorf("runcmd = %#v", got["runcmd"])
			}
			for _, l := range strings.Split(tt.in, "\n") {
				if !strings.Contains(string(out), l) {
					t.Errorf("lost line %q", l)
				}
			}
			if !strings.HasPrefix(string(out), "#cloud-config") {
				t.Error("no #cloud-config header")
			}
			again, err := MergeUserData(out)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("merging twice changed the file: %v\n%s", err, again)
			}
		})
	}
}

func FuzzMergeUserData(f *testing.F) {
	f.Add([]byte("#cloud-config\nruncmd:\n- [echo, a]\nhostname: x\n"))
	f.Add([]byte("#cloud-config\nusers:\n  - name: pi\nruncmd:\n  - echo a\n  # c\n"))
	f.Add([]byte("#cloud-config\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := MergeUserData(in)
		if err != nil {
			return
		}
		// Accepted: the original's text is kept (by lines, in order) and
		// the hook is the last runcmd entry (MergeUserData checked the
		// rest against the original's parse).
		var got map[string]any
		if err := yaml.Unmarshal(out, &got); err != nil {
			t.Fatalf("merged user-data does not parse: %v", err)
		}
		rc, _ := got["runcmd"].([]any)
		if len(rc) == 0 || !reflect.DeepEqual(rc[len(rc)-1], hookItem) {
			t.Fatalf("hook not last in runcmd: %#v", got["runcmd"])
		}
		if len(bytes.TrimSpace(in)) == 0 {
			return // a blank file is replaced
		}
		rest := string(out)
		for _, l := range strings.Split(strings.TrimSuffix(string(in), "\n"), "\n") {
			i := strings.Index(rest, l)
			if i < 0 {
				t.Fatalf("line %q lost or moved", l)
			}
			rest = rest[i+len(l):]
		}
	})
}

func FuzzAddFirstrun(f *testing.F) {
	f.Add([]byte(cmdline))
	f.Add([]byte("a systemd.run=/boot/firstrun.sh b\nsecond"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := AddFirstrun(in, "/boot/firmware")
		if err != nil {
			return
		}
		if !HasFirstrun(out) {
			t.Fatal("no hook in the result")
		}
		again, err := AddFirstrun(out, "/boot/firmware")
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q then %q (%v)", out, again, err)
		}
		first, _, _ := bytes.Cut(out, []byte("\n"))
		n := 0
		for _, f := range strings.Fields(string(first)) {
			if strings.HasPrefix(f, "systemd.run=") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d systemd.run= in %q", n, first)
		}
	})
}
