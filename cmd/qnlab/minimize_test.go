package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"qnlab/pkg/lbfgs"
)

// TestMinimizeRosenbrock100 is issue #4's acceptance run: f ≤ 1e-12 with no more evaluations
// than scipy's L-BFGS-B (m = 10) needs from the same start (635).
func TestMinimizeRosenbrock100(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.csv")
	code, stdout, stderr := runCLI("minimize", "-func", "rosenbrock", "-dim", "100", "-method", "lbfgs",
		"-linesearch", "wolfe", "-json", "-trace", trace)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var out minimizeOutput
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	t.Logf("f=%.3g gnorm=%.3g iterations=%d evals=%d status=%s", out.F, out.GradNorm, out.Iterations, out.Evals, out.Status)
	if !(out.F <= 1e-12) || out.Evals > 635 || out.Status != "gradient threshold" || len(out.X) != 100 {
		t.Errorf("f=%g after %d evaluations (%s), want f ≤ 1e-12 within 635", out.F, out.Evals, out.Status)
	}
	fh, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != out.Iterations+2 || strings.Join(rows[0], ",") != "k,f,gnorm,step,evals" {
		t.Errorf("trace has %d rows (header %v), want header + %d", len(rows), rows[0], out.Iterations+1)
	}
}

// TestMinimizePaths: -path graph and -path host both solve Rosenbrock n = 100 to the same
// minimiser within scipy's evaluation count, and the result says where each part ran.
func TestMinimizePaths(t *testing.T) {
	outs := map[string]minimizeOutput{}
	for _, path := range []string{"graph", "host", "auto"} {
		code, stdout, stderr := runCLI("minimize", "-func", "rosenbrock", "-dim", "100", "-json", "-path", path)
		if code != 0 {
			t.Fatalf("-path %s: exit %d: %s", path, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		var out minimizeOutput
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatal(err)
		}
		want := path
		if path == "auto" {
			want = "host" // n = 100 is small
		}
		if out.Objective != want || out.Direction != want {
			t.Errorf("-path %s: objective on %q, directions on %q, want %q", path, out.Objective, out.Direction, want)
		}
		if out.Status != "gradient threshold" || out.Evals > 635 || !(out.F <= 1e-12) {
			t.Errorf("-path %s: %s after %d evaluations, f = %g", path, out.Status, out.Evals, out.F)
		}
		outs[path] = out
	}
	for i, x := range outs["host"].X {
		if d := x - outs["graph"].X[i]; d > 1e-6 || d < -1e-6 {
			t.Errorf("x[%d]: host %g, graph %g", i, x, outs["graph"].X[i])
		}
	}
}

// TestMinimizeBadInputExitsTwo: every bad flag value, start or output path exits 2 with one
// line naming it, before the run (nothing on stdout).
func TestMinimizeBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-func", "himmelblau"}, "unknown function"},
		{[]string{"-func", "rosenbrock", "-dim", "1"}, "n ≥ 2"},
		{[]string{"-func", "beale", "-dim", "3"}, "beale"},
		{[]string{"-x0", "1,2,3"}, "-x0 has 3 values"},
		{[]string{"-x0", "1,abc"}, "not a number"},
		{[]string{"-method", "newton"}, "-method"},
		{[]string{"-linesearch", "exact"}, "-linesearch"},
		{[]string{"-path", "gpu"}, "-path"},
		{[]string{"-linesearch", "fixed", "-lr", "0"}, "-lr"},
		{[]string{"-m", "0"}, "-m"},
		{[]string{"-tol", "-1"}, "-tol"},
		{[]string{"-maxiter", "0"}, "-maxiter"},
		// issue 9
		{[]string{"-x0", "NaN,1"}, `-x0: value 1 ("NaN") is not a finite number`},
		{[]string{"-x0", "1,Inf"}, `-x0: value 2 ("Inf") is not a finite number`},
		{[]string{"-x0", "-Inf,1"}, `-x0: value 1 ("-Inf") is not a finite number`},
		{[]string{"-x0", "1e400,1"}, `-x0: value 1 ("1e400") is not a finite number`},
		{[]string{"-func", "rosenbrock", "-x0", "1e200,1e200"}, "-x0: f(x0) = +Inf is not finite"},
		{[]string{"-func", "rastrigin", "-dim", "1", "-x0", "1e308"}, "-x0: f(x0) = NaN is not finite"},
		{[]string{"-linesearch", "fixed", "-lr", "Inf"}, "-lr Inf: must be finite and > 0"},
		{[]string{"-linesearch", "fixed", "-lr", "NaN"}, "-lr NaN: must be finite and > 0"},
		{[]string{"-linesearch", "fixed", "-lr", "-0.1"}, "-lr -0.1: must be finite and > 0"},
		{[]string{"-lr", "0.1"}, "-lr applies only with -linesearch fixed"},
		{[]string{"-tol", "Inf"}, "-tol Inf: must be finite and > 0"},
		{[]string{"-tol", "NaN"}, "-tol NaN: must be finite and > 0"},
		{[]string{"-tol", "0"}, "-tol 0: must be finite and > 0"},
		{[]string{"-m", "-3"}, "-m -3: must be ≥ 1"},
		{[]string{"-maxiter", "-1"}, "-maxiter -1: must be ≥ 1"},
		{[]string{"-dim", "-5"}, "dimension n ≥ 2, got -5"},
		{[]string{"-dim", "abc"}, "-dim"},
		{[]string{"-dim", "1e3"}, "-dim"},
		{[]string{"-seed", "-1"}, "-seed"},
		{[]string{"-json=maybe"}, "-json"},
		{[]string{"-trace", filepath.Join(dir, "missing", "t.csv")}, "-trace " + filepath.Join(dir, "missing", "t.csv") + ": cannot create: no such file or directory"},
		{[]string{"-trace", dir}, "-trace " + dir + ": is a directory"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		code, stdout, stderr := runCLI(append([]string{"minimize"}, c.args...)...)
		msg := lastLine(stderr)
		if code != 2 || !strings.Contains(msg, c.want) || stdout != "" || messages(stderr, "qnlab minimize: ") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, one line mentioning %q, no output", c.args, code, stdout, stderr, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused runs left files: %v", entries)
	}
}

// messages counts the lines of stderr that start with prefix.
func messages(stderr, prefix string) int {
	n := 0
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// TestMinimizeExitCodes: a run that ends in a failure status exits 1 with one line saying so,
// after printing its result; converging or reaching the iteration limit exits 0.
func TestMinimizeExitCodes(t *testing.T) {
	for _, c := range []struct {
		args   []string
		code   int
		status string
	}{
		{[]string{"-func", "rosenbrock"}, 0, "gradient threshold"},
		{[]string{"-func", "rosenbrock", "-maxiter", "3"}, 0, "iteration limit"},
		{[]string{"-func", "rosenbrock", "-method", "gd", "-linesearch", "armijo", "-maxiter", "5"}, 0, "iteration limit"},
		{[]string{"-func", "rosenbrock", "-linesearch", "fixed", "-lr", "1e300"}, 1, "line search failure"},
		{[]string{"-func", "rastrigin", "-dim", "3", "-tol", "1e-300"}, 1, "line search failure"},
	} {
		code, stdout, stderr := runCLI(append([]string{"minimize", "-json"}, c.args...)...)
		var out minimizeOutput
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Errorf("%q: no JSON result (%v): stdout %q, stderr %q", c.args, err, stdout, stderr)
			continue
		}
		if code != c.code || out.Status != c.status {
			t.Errorf("%q: exit %d, status %q; want exit %d, status %q (stderr %q)", c.args, code, out.Status, c.code, c.status, stderr)
		}
		if wantMsg := "qnlab minimize: run failed: " + c.status; c.code == 1 && (lastLine(stderr) != strings.TrimSpace(stderr) || !strings.HasPrefix(stderr, wantMsg)) {
			t.Errorf("%q: stderr %q, want one line starting %q", c.args, stderr, wantMsg)
		}
	}
}

func TestMinimizeFailedStatuses(t *testing.T) {
	for st, want := range map[lbfgs.Status]bool{
		lbfgs.NotTerminated: true, lbfgs.GradientThreshold: false, lbfgs.FunctionConvergence: false,
		lbfgs.IterationLimit: false, lbfgs.EvaluationLimit: false, lbfgs.LineSearchFailure: true, lbfgs.Status(99): true,
	} {
		if got := failed(st); got != want {
			t.Errorf("failed(%v) = %v, want %v", st, got, want)
		}
	}
}

// TestMinimizeTraceCheckedFirst: -trace to an unwritable path is refused before the run, and a
// writable one is written after it even when the run fails.
func TestMinimizeTraceCheckedFirst(t *testing.T) {
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	if f, err := os.CreateTemp(ro, "probe"); err == nil { // root ignores permissions
		f.Close()
		os.Remove(f.Name())
	} else {
		path := filepath.Join(ro, "t.csv")
		code, stdout, stderr := runCLI("minimize", "-trace", path)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "-trace "+path+": cannot create: permission denied") {
			t.Errorf("read-only directory: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	}
	path := filepath.Join(t.TempDir(), "t.csv")
	code, _, stderr := runCLI("minimize", "-linesearch", "fixed", "-lr", "1e300", "-trace", path)
	data, err := os.ReadFile(path)
	if code != 1 || err != nil || !strings.HasPrefix(string(data), "k,f,gnorm,step,evals\n0,") {
		t.Errorf("failed run: exit %d (%s), trace %q, %v; want exit 1 and the trace", code, stderr, data, err)
	}
}

// TestMinimizeSeedIsReproducible: the same seed gives the same perturbed start and result.
func TestMinimizeSeedIsReproducible(t *testing.T) {
	var outs []string
	for _, seed := range []string{"7", "7", "8"} {
		code, stdout, stderr := runCLI("minimize", "-func", "rastrigin", "-dim", "3", "-seed", seed, "-json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		outs = append(outs, stdout)
	}
	if outs[0] != outs[1] || outs[0] == outs[2] {
		t.Errorf("seed 7 twice gave %q and %q; seed 8 %q", outs[0], outs[1], outs[2])
	}
}
