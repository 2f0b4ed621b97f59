package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

func TestMinimizeBadInputExitsTwo(t *testing.T) {
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
		{[]string{"-linesearch", "fixed", "-lr", "0"}, "-lr"},
		{[]string{"-m", "0"}, "-m"},
		{[]string{"-tol", "-1"}, "-tol"},
		{[]string{"-maxiter", "0"}, "-maxiter"},
	} {
		code, _, stderr := runCLI(append([]string{"minimize"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, stderr, c.want)
		}
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
