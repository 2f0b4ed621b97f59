package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"qnlab/pkg/firstorder"
)

// zooHost computes the test functions on the host, written from their formulas.
var zooHost = map[string]func(x []float64) float64{
	"quad3": func(x []float64) float64 { return x[0]*x[0] + 0.1*x[1]*x[1] + 2*x[2]*x[2] },
	"beale": func(x []float64) float64 {
		u, v := x[0], x[1]
		return math.Pow(1.5-u+u*v, 2) + math.Pow(2.25-u+u*v*v, 2) + math.Pow(2.625-u+u*v*v*v, 2)
	},
	"sphere": func(x []float64) float64 {
		s := 0.0
		for _, v := range x {
			s += v * v
		}
		return s
	},
}

// readZoo parses a zoo CSV: its header and its rows as numbers.
func readZoo(t *testing.T, data string) (header []string, rows [][]float64) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("CSV %q: %v", data, err)
	}
	for i, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for j, s := range rec {
			if row[j], err = strconv.ParseFloat(s, 64); err != nil {
				t.Fatalf("row %d field %d %q: %v", i, j, s, err)
			}
		}
		rows = append(rows, row)
	}
	return recs[0], rows
}

// TestZooAllMethods: every method on quad3, beale and sphere writes the trajectory: the header
// k,f,x1,…,xn, iters+1 rows numbered from 0, row 0 the start (the lecture's on quad3 and beale),
// f equal to the function at the row's x, one summary line on stdout. The CSV on stdout
// without -out is the same file.
func TestZooAllMethods(t *testing.T) {
	const iters = 50
	dir := t.TempDir()
	starts := map[string][]float64{"quad3": {-2, -2, -2}, "beale": {1.75, 1.9}, "sphere": {2, 3}}
	for _, m := range firstorder.Methods() {
		for _, fn := range []string{"quad3", "beale", "sphere"} {
			path := filepath.Join(dir, fmt.Sprintf("%s-%s.csv", m, fn))
			code, stdout, stderr := runCLI("zoo", "-func", fn, "-method", m.String(), "-iters", strconv.Itoa(iters), "-out", path)
			if code != 0 {
				t.Errorf("%s on %s: exit %d: %s", m, fn, code, stderr)
				continue
			}
			if !strings.HasPrefix(stdout, fmt.Sprintf("qnlab zoo: %s on %s (", m, fn)) ||
				!strings.HasSuffix(stdout, fmt.Sprintf(" in %d updates; wrote %s\n", iters, path)) || strings.Count(stdout, "\n") != 1 {
				t.Errorf("%s on %s: stdout %q, want one summary line", m, fn, stdout)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			header, rows := readZoo(t, string(data))
			start := starts[fn]
			want := []string{"k", "f"}
			for i := range start {
				want = append(want, fmt.Sprintf("x%d", i+1))
			}
			if strings.Join(header, ",") != strings.Join(want, ",") || len(rows) != iters+1 {
				t.Errorf("%s on %s: header %v and %d rows, want %v and %d", m, fn, header, len(rows), want, iters+1)
				continue
			}
			for k, row := range rows {
				x := row[2:]
				if row[0] != float64(k) || len(x) != len(start) {
					t.Errorf("%s on %s: row %d is %v", m, fn, k, row)
					break
				}
				if k == 0 && fmt.Sprint(x) != fmt.Sprint(start) {
					t.Errorf("%s on %s: row 0 x = %v, want the start %v", m, fn, x, start)
				}
				if fx := zooHost[fn](x); math.Abs(row[1]-fx) > 1e-12*math.Max(1, math.Abs(fx)) {
					t.Errorf("%s on %s: row %d: f = %v, f(x) = %v on the host", m, fn, k, row[1], fx)
					break
				}
			}
		}
	}
	code, stdout, stderr := runCLI("zoo", "-method", "adam", "-iters", strconv.Itoa(iters))
	data, err := os.ReadFile(filepath.Join(dir, "adam-quad3.csv"))
	if code != 0 || err != nil || stdout != string(data) {
		t.Errorf("adam on quad3 to stdout: exit %d (%s), %d bytes; want exit 0 and the -out file's %d bytes (%v)",
			code, stderr, len(stdout), len(data), err)
	}
}

// TestZooLectureWorkedExample is the lecture's worked example 2: gradient descent on θ1² + θ2²
// from (2, 3) with η = 0.1 gives (1.6, 2.4), then (1.28, 1.92).
func TestZooLectureWorkedExample(t *testing.T) {
	code, stdout, stderr := runCLI("zoo", "-func", "sphere", "-dim", "2", "-method", "gd", "-x0", "2,3", "-lr", "0.1", "-iters", "2")
	want := "k,f,x1,x2\n0,13,2,3\n1,8.32,1.6,2.4\n2,5.3248,1.28,1.92\n"
	if code != 0 || stdout != want {
		t.Errorf("exit %d (%s), stdout %q; want %q", code, stderr, stdout, want)
	}
}

// TestZooHyperparameters: the lecture's hyperparameters on quad3 and beale, firstorder.Defaults
// on the others, each flag given overriding its own; -iters 0 writes the start alone.
func TestZooHyperparameters(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-method", "adam"}, "adam on quad3 (lr=0.1, beta1=0.9, beta2=0.999, eps=1e-06)"},
		{[]string{"-method", "adam", "-func", "beale", "-beta2", "0.99"}, "adam on beale (lr=0.01, beta1=0.9, beta2=0.99, eps=1e-06)"},
		{[]string{"-method", "adam", "-func", "sphere"}, "adam on sphere (lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07)"},
		{[]string{"-method", "adadelta", "-func", "rosenbrock", "-eps", "0"}, "adadelta on rosenbrock (decay=0.95, eps=0)"},
		{[]string{"-method", "momentum", "-func", "rastrigin", "-dim", "3", "-lr", "1e-3"}, "momentum on rastrigin (lr=0.001, momentum=0.9)"},
		{[]string{"-method", "nesterov", "-momentum", "0"}, "nesterov on quad3 (lr=0.01, momentum=0)"},
	} {
		path := filepath.Join(dir, "t.csv")
		code, stdout, stderr := runCLI(append([]string{"zoo", "-iters", "0", "-out", path}, c.args...)...)
		if code != 0 || !strings.HasPrefix(stdout, "qnlab zoo: "+c.want+": ") || !strings.Contains(stdout, " in 0 updates; ") {
			t.Errorf("%q: exit %d (%s), stdout %q; want %q", c.args, code, stderr, stdout, c.want)
		}
		if data, err := os.ReadFile(path); err != nil || strings.Count(string(data), "\n") != 2 {
			t.Errorf("%q: -iters 0 wrote %q (%v), want the header and row 0", c.args, data, err)
		}
	}
}

// TestZooBadInputExitsTwo: every bad flag value, start or output path exits 2 with one line
// naming it, before the run (nothing on stdout, no file written).
func TestZooBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(t.TempDir(), "keep.csv")
	if err := os.WriteFile(existing, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-method", "gd", "-func", "himmelblau"}, `-func "himmelblau": unknown function`},
		{[]string{"-method", "gd", "-func", "beale", "-dim", "3"}, "-dim 3: beale has dimension 2"},
		{[]string{"-method", "gd", "-func", "quad3", "-dim", "2"}, "-dim 2: quad3 has dimension 3"},
		{[]string{"-method", "gd", "-func", "sphere", "-dim", "0"}, "-dim 0: sphere needs dimension n ≥ 1"},
		{[]string{"-method", "gd", "-func", "rosenbrock", "-dim", "1"}, "-dim 1: rosenbrock"},
		{[]string{"-method", "gd", "-dim", "abc"}, "-dim"},
		{[]string{}, "-method is required: want gd, momentum, nesterov, adagrad, adadelta, rmsprop, adam, adamax, nadam, newton, newton-damped, newton-modified, saddle-free, cg-fr, cg-pr, cg-hs, bfgs or lbfgs"},
		{[]string{"-method", " "}, "-method is required"},
		{[]string{"-method", "sr1"}, `-method "sr1": want gd, momentum, nesterov, adagrad, adadelta, rmsprop, adam, adamax, nadam, newton, newton-damped, newton-modified, saddle-free, cg-fr, cg-pr, cg-hs, bfgs or lbfgs`},
		{[]string{"-method", "adam", "-momentum", "0.9"}, "-momentum is not a hyperparameter of adam (it reads lr, beta1, beta2, eps)"},
		{[]string{"-method", "adadelta", "-lr", "1"}, "-lr is not a hyperparameter of adadelta (it reads decay, eps)"},
		{[]string{"-method", "adamax", "-eps", "1e-6"}, "-eps is not a hyperparameter of adamax (it reads lr, beta1, beta2)"},
		{[]string{"-method", "gd", "-decay", "0.9"}, "-decay is not a hyperparameter of gd (it reads lr)"},
		{[]string{"-method", "gd", "-lr", "0"}, "-lr 0: gd: lr 0 must be finite and > 0"},
		{[]string{"-method", "gd", "-lr", "-0.1"}, "-lr -0.1: gd: lr -0.1 must be finite and > 0"},
		{[]string{"-method", "gd", "-lr", "NaN"}, "-lr NaN:"},
		{[]string{"-method", "adam", "-lr", "Inf"}, "-lr Inf:"},
		{[]string{"-method", "adam", "-beta1", "1"}, "-beta1 1: adam: beta1 1 must be in [0, 1)"},
		{[]string{"-method", "nadam", "-beta2", "-0.5"}, "-beta2 -0.5: nadam: beta2 -0.5 must be in [0, 1)"},
		{[]string{"-method", "momentum", "-momentum", "1"}, "-momentum 1:"},
		{[]string{"-method", "rmsprop", "-decay", "1.5"}, "-decay 1.5:"},
		{[]string{"-method", "adam", "-eps", "-1e-8"}, "-eps -1e-08: adam: eps -1e-08 must be finite and ≥ 0"},
		{[]string{"-method", "gd", "-clip", "-1"}, "-clip -1: must be finite and ≥ 0"},
		{[]string{"-method", "bfgs", "-clip", "1"}, "-clip is a first-order hyperparameter; bfgs does not read it"},
		{[]string{"-method", "adagrad", "-lr", "abc"}, "-lr"},
		{[]string{"-method", "gd", "-x0", "1,2"}, "-x0 has 2 values, quad3 has dimension 3"},
		{[]string{"-method", "gd", "-func", "sphere", "-dim", "3", "-x0", "1,2"}, "-x0 has 2 values, sphere has dimension 3"},
		{[]string{"-method", "gd", "-x0", "1,abc,3"}, `-x0: value 2 ("abc") is not a number`},
		{[]string{"-method", "gd", "-x0", "1,NaN,3"}, `-x0: value 2 ("NaN") is not a finite number`},
		{[]string{"-method", "gd", "-x0", "1,2,1e400"}, `-x0: value 3 ("1e400") is not a finite number`},
		{[]string{"-method", "gd", "-func", "rosenbrock", "-x0", "1e200,1e200"}, "-x0: f(x0) = +Inf is not finite"},
		{[]string{"-method", "gd", "-iters", "-1"}, "-iters -1: must be ≥ 0"},
		{[]string{"-method", "gd", "-iters", "1e3"}, "-iters"},
		{[]string{"-method", "gd", "-out", filepath.Join(dir, "missing", "t.csv")}, "-out " + filepath.Join(dir, "missing", "t.csv") + ": cannot create: no such file or directory"},
		{[]string{"-method", "gd", "-out", dir}, "-out " + dir + ": is a directory"},
		{[]string{"-method", "gd", "-lr", "0", "-out", existing}, "-lr 0"},
		{[]string{"-method", "gd", "extra"}, "unexpected arguments"},
	} {
		code, stdout, stderr := runCLI(append([]string{"zoo"}, c.args...)...)
		if code != 2 || !strings.Contains(lastLine(stderr), c.want) || stdout != "" || messages(stderr, "qnlab zoo: ") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, one line mentioning %q, no output", c.args, code, stdout, stderr, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused runs left files: %v", entries)
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep" {
		t.Errorf("a refused run changed an existing -out file: %q", data)
	}
}

// TestZooMemoryRefusal: a trajectory the machine cannot hold is refused before the run.
func TestZooMemoryRefusal(t *testing.T) {
	setMemoryLimit(t, 1<<30)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-func", "sphere", "-dim", "1000000000000"}, "-dim 1000000000000 with -iters 1000 needs about"},
		{[]string{"-iters", "1000000000000"}, "-dim 3 with -iters 1000000000000 needs about"},
		{[]string{"-func", "sphere", "-dim", "9223372036854775807", "-iters", "9223372036854775807"}, "needs about"},
		{[]string{"-func", "sphere", "-dim", "10000", "-iters", "5000", "-out", filepath.Join(t.TempDir(), "t.csv")}, "-dim 10000 with -iters 5000 needs about"},
	} {
		code, stdout, stderr := runCLI(append([]string{"zoo", "-method", "gd"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", c.args, code, stdout, stderr, c.want)
		}
	}
}

// TestZooDiverges: gradient descent on quad3 with η = 10 (> 2/L = 0.5) blows up: exit 1 with one
// line naming the update and suggesting a smaller -lr, after writing the rows, finite up to the
// last, which is not. An existing -out file is replaced, as minimize -trace does.
func TestZooDiverges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("zoo", "-method", "gd", "-lr", "10", "-out", path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rows := readZoo(t, string(data))
	last := len(rows) - 1
	want := fmt.Sprintf("qnlab zoo: diverged at update %d: ", last)
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "try a smaller -lr than 10") ||
		strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, one line starting %q", code, stdout, stderr, want)
	}
	if last < 1 || last >= 1000 {
		t.Fatalf("%d rows, want the run to stop early", len(rows))
	}
	finite := func(row []float64) bool {
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
		return true
	}
	for k, row := range rows {
		if finite(row) != (k < last) {
			t.Errorf("row %d of %d: %v; want finite rows up to the last, which is not", k, last, row)
		}
	}
}

// TestZooMemoryEstimate: zooMemory is at least the peak RSS measured for it (the numbers in its
// comment) and at most 3× it, as TestMemoryEstimatesCoverMeasurements checks the others.
func TestZooMemoryEstimate(t *testing.T) {
	const MB = 1e6
	for _, c := range []struct {
		name     string
		n, iters int
		out      bool
		rss      float64
	}{
		{"n=2 2e6 adam -out", 2, 2e6, true, 432 * MB},
		{"n=2 2e6 adam stdout", 2, 2e6, false, 289 * MB},
		{"n=2 5e5 adam -out", 2, 5e5, true, 123 * MB},
		{"n=2 5e5 adam stdout", 2, 5e5, false, 83 * MB},
		{"n=1e3 3e4 rmsprop -out", 1e3, 3e4, true, 1126 * MB},
		{"n=1e4 3000 adam -out", 1e4, 3000, true, 1097 * MB},
		{"n=1e4 3000 adam stdout", 1e4, 3000, false, 342 * MB},
		{"n=1e5 300 adam -out", 1e5, 300, true, 1103 * MB},
		{"n=1e6 3 adam -out", 1e6, 3, true, 358 * MB},
		{"n=1e6 3 rosenbrock nadam -out", 1e6, 3, true, 473 * MB},
	} {
		if r := zooMemory(c.n, c.iters, c.out) / c.rss; !(r >= 1 && r <= 3) {
			t.Errorf("%s: estimate %.0f MB is %.2f× the measured %.0f MB, want 1–3×", c.name, zooMemory(c.n, c.iters, c.out)/MB, r, c.rss/MB)
		}
	}
}
