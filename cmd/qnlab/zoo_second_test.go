package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestZooSecondOrder: every Minimize method on quad3, beale, sphere and saddle writes the same
// CSV as the first-order methods (header k,f,x1,…,xn, rows numbered from 0, row 0 the start, f
// equal to the function at the row's x on the host) and ends near a stationary point; on the
// saddle, pure Newton ends at the saddle (0, 0), saddle-free Newton at a minimum (0, ±1).
func TestZooSecondOrder(t *testing.T) {
	dir := t.TempDir()
	host := map[string]func([]float64) float64{"quad3": zooHost["quad3"], "beale": zooHost["beale"], "sphere": zooHost["sphere"],
		"saddle": func(x []float64) float64 { return x[0]*x[0] + math.Pow(x[1], 4)/4 - x[1]*x[1]/2 }}
	starts := map[string][]float64{"quad3": {-2, -2, -2}, "beale": {1.75, 1.9}, "sphere": {2, 3}, "saddle": {0.5, 0.1}}
	for _, m := range zooSecondMethods {
		for _, fn := range []string{"quad3", "beale", "sphere", "saddle"} {
			path := filepath.Join(dir, fmt.Sprintf("%s-%s.csv", m, fn))
			code, stdout, stderr := runCLI("zoo", "-func", fn, "-method", m, "-iters", "500", "-out", path)
			if m == "newton" && fn == "beale" {
				// Pure Newton from (1.75, 1.9) leaves Beale's valley: any exit but 2 is fine.
				if code == 2 {
					t.Errorf("newton on beale: exit 2 (%s)", stderr)
				}
				continue
			}
			if code != 0 {
				t.Errorf("%s on %s: exit %d: %s", m, fn, code, stderr)
				continue
			}
			if strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, "wrote "+path) {
				t.Errorf("%s on %s: stdout %q", m, fn, stdout)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			header, rows := readZoo(t, string(data))
			if len(header) != 2+len(starts[fn]) || header[0] != "k" || header[1] != "f" || len(rows) < 2 {
				t.Errorf("%s on %s: header %v, %d rows", m, fn, header, len(rows))
				continue
			}
			for k, row := range rows {
				x := row[2:]
				if row[0] != float64(k) || (k == 0 && fmt.Sprint(x) != fmt.Sprint(starts[fn])) {
					t.Errorf("%s on %s: row %d is %v", m, fn, k, row)
					break
				}
				if fx := host[fn](x); math.Abs(row[1]-fx) > 1e-12*math.Max(1, math.Abs(fx)) {
					t.Errorf("%s on %s: row %d: f = %v, f(x) = %v on the host", m, fn, k, row[1], fx)
					break
				}
			}
			last := rows[len(rows)-1][2:]
			if fn == "saddle" {
				atSaddle := math.Hypot(last[0], last[1]) < 1e-6
				if (m == "newton") != atSaddle {
					t.Errorf("%s on saddle ended at %v (at the saddle: %v)", m, last, atSaddle)
				}
			}
		}
	}
}

// TestZooSecondOrderBadInput: flags a method does not read, bad values and a Hessian too large
// to form exit 2 with one line naming the flag, before any work.
func TestZooSecondOrderBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-method", "newton", "-func", "rosenbrock", "-dim", "20000"}, "-dim 20000: newton forms the 20000×20000 Hessian"},
		{[]string{"-method", "saddle-free", "-func", "sphere", "-dim", "10001"}, "Hessian"},
		{[]string{"-method", "newton", "-lr", "0.1"}, "-lr is a first-order hyperparameter"},
		{[]string{"-method", "newton", "-linesearch", "wolfe"}, "-linesearch is not read by newton"},
		{[]string{"-method", "cg-fr", "-alpha", "1"}, "-alpha is not read by cg-fr"},
		{[]string{"-method", "adam", "-m", "5"}, "-m is not read by adam"},
		{[]string{"-method", "bfgs", "-linesearch", "exactly"}, "-linesearch \"exactly\""},
		{[]string{"-method", "newton-modified", "-delta", "-1"}, "-delta -1"},
		{[]string{"-method", "newton-damped", "-alpha", "NaN"}, "-alpha NaN"},
		{[]string{"-method", "lbfgs", "-m", "0"}, "-m 0"},
		{[]string{"-method", "cg-pr", "-restart", "-2"}, "-restart -2"},
		{[]string{"-method", "bfgs", "-tol", "-1"}, "-tol -1"},
		{[]string{"-method", "bfgs", "-x0", "1,2"}, "-x0 has 2 values"},
		{[]string{"-method", "bfgs", "-func", "nope"}, "-func \"nope\""},
		{[]string{"-method", "newton", "-func", "beale", "-dim", "3"}, "-dim 3"},
	} {
		code, stdout, stderr := runCLI(append([]string{"zoo"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line mentioning %q", c.args, code, stdout, stderr, c.want)
		}
	}
}
