package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBenchCommandLine: qnlab bench NAME [flags]: help and listings exit 0, misplaced or bad
// flags and unknown names exit 2 with one line naming them.
func TestBenchCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench", "-h"}, 0, "usage: qnlab bench NAME [flags]"},
		{[]string{"bench", "-help"}, 0, "  mgh "},
		{[]string{"bench", "help"}, 0, "  mgh "},
		{[]string{"bench", "mgh", "-h"}, 0, "-repeats"},
		{[]string{"bench"}, 2, "which benchmark? want one of: mgh"},
		{[]string{"bench", "-m", "5", "mgh"}, 2, "flags go after the benchmark's name: qnlab bench mgh -m 5"},
		{[]string{"bench", "-repeats", "1", "-m", "5", "mgh"}, 2, "qnlab bench mgh -repeats 1 -m 5"},
		{[]string{"bench", "-m", "5"}, 2, "flag -m before the benchmark's name"},
		{[]string{"bench", "cutest"}, 2, `unknown benchmark "cutest"; want one of: mgh`},
		{[]string{"bench", "mgh", "-m", "0"}, 2, "-m 0: must be ≥ 1"},
		{[]string{"bench", "mgh", "-m", "-5"}, 2, "-m -5: must be ≥ 1"},
		{[]string{"bench", "mgh", "-m", "ten"}, 2, "-m"},
		{[]string{"bench", "mgh", "-tol", "0"}, 2, "-tol 0: must be finite and > 0"},
		{[]string{"bench", "mgh", "-tol", "-1e-6"}, 2, "-tol -1e-06: must be finite and > 0"},
		{[]string{"bench", "mgh", "-tol", "Inf"}, 2, "-tol Inf: must be finite and > 0"},
		{[]string{"bench", "mgh", "-tol", "NaN"}, 2, "-tol NaN: must be finite and > 0"},
		{[]string{"bench", "mgh", "-repeats", "0"}, 2, "-repeats 0: must be ≥ 1"},
		{[]string{"bench", "mgh", "-repeats", "1.5"}, 2, "-repeats"},
		{[]string{"bench", "mgh", "extra"}, 2, "unexpected arguments"},
		{[]string{"bench", "mgh", "-nosuch"}, 2, "-nosuch"},
		{[]string{"bench", "speed", "-dims", "1"}, 2, "-dims \"1\": want integers ≥ 2"},
		{[]string{"bench", "speed", "-dims", "2,x"}, 2, "-dims \"2,x\""},
		{[]string{"bench", "speed", "-path", "gpu"}, 2, "-path \"gpu\": want auto, host or graph"},
		{[]string{"bench", "speed", "-repeats", "0"}, 2, "-repeats 0: must be ≥ 1"},
		{[]string{"bench", "speed", "-tol", "0"}, 2, "-tol 0: must be finite and > 0"},
	} {
		code, stdout, stderr := runCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", c.args, code, stdout, stderr, c.code, c.want)
		}
		if code == 2 && (!strings.Contains(lastLine(stderr), c.want) || messages(stderr, "qnlab bench: ") != 1) {
			t.Errorf("%q: stderr %q, want the error on one last line", c.args, stderr)
		}
	}
}

// TestBenchMGHRuns: flags after the name are parsed and the table is printed (the Makefile's
// `go run ./cmd/qnlab bench mgh` is the same command with the defaults).
func TestBenchMGHRuns(t *testing.T) {
	code, stdout, stderr := runCLI("bench", "mgh", "-m", "5", "-repeats", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"m = 5, to ‖∇f‖∞ ≤ 1e-06", "problem", "ExtendedRosenbrock/10", "Both solve"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestBenchSpeedRuns: one small round against scipy (skipped where Debian's python3-scipy is
// missing): the table has both contenders' evaluations and a ratio, and says where qnlab ran.
func TestBenchSpeedRuns(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import scipy").Run(); err != nil {
		t.Skip("no python3-scipy:", err)
	}
	code, stdout, stderr := runCLI("bench", "speed", "-dims", "2,20", "-repeats", "1", "-mgh=false")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"scipy 1.", "qnlab/scipy", "objective host, directions host"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	rows := 0
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && (f[0] == "2" || f[0] == "20") {
			rows++
		}
	}
	if rows != 2 {
		t.Errorf("%d table rows, want 2:\n%s", rows, stdout)
	}
}
