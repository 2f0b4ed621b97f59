package main

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"qnlab/pkg/backend"
	"qnlab/pkg/compare"
	"qnlab/pkg/funcs"
	"qnlab/pkg/lbfgs"
)

func init() {
	benchmarks["speed"] = command{"small problems: qnlab's L-BFGS vs scipy's L-BFGS-B on Rosenbrock and vs gonum on the MGH set (time ratios, evaluations)", runBenchSpeed}
}

//go:embed scipy_lbfgsb.py
var scipyScript []byte

// scipyRun is one answer of scipy_lbfgsb.py.
type scipyRun struct {
	Seconds float64 `json:"seconds"`
	NFev    int     `json:"nfev"`
	NIt     int     `json:"nit"`
	F       float64 `json:"f"`
	GNorm   float64 `json:"gnorm"`
	Status  string  `json:"status"`
	Version string  `json:"scipy"`
	Error   string  `json:"error"`
}

// scipyServer is a running scipy_lbfgsb.py: one request line in, one answer line out.
type scipyServer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	dir string
}

func startScipy(python string) (*scipyServer, error) {
	dir, err := os.MkdirTemp("", "qnlab-scipy-")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "scipy_lbfgsb.py")
	if err := os.WriteFile(script, scipyScript, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(python, script)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("-python %s: %w", python, err)
	}
	return &scipyServer{cmd: cmd, in: in, out: bufio.NewScanner(out), dir: dir}, nil
}

func (s *scipyServer) solve(n, m int, tol float64) (scipyRun, error) {
	req, _ := json.Marshal(map[string]any{"n": n, "m": m, "tol": tol})
	if _, err := fmt.Fprintf(s.in, "%s\n", req); err != nil {
		return scipyRun{}, fmt.Errorf("scipy: %w", err)
	}
	if !s.out.Scan() {
		return scipyRun{}, fmt.Errorf("scipy: no answer (is python3-scipy installed? apt-get install python3-scipy): %v", s.out.Err())
	}
	var r scipyRun
	if err := json.Unmarshal(s.out.Bytes(), &r); err != nil {
		return scipyRun{}, fmt.Errorf("scipy: reading %q: %w", s.out.Text(), err)
	}
	if r.Error != "" {
		return scipyRun{}, errors.New("scipy: " + r.Error)
	}
	return r, nil
}

func (s *scipyServer) close() {
	s.in.Close()
	_ = s.cmd.Wait()
	os.RemoveAll(s.dir)
}

// solveRosenbrock is what `qnlab minimize -func rosenbrock -dim n` does, timed: the evaluator
// (with its graph compiled) and the run.
func solveRosenbrock(n, m int, tol float64, path backend.Path) (lbfgs.Result, time.Duration, error) {
	t0 := time.Now()
	f, err := funcs.Rosenbrock(n)
	if err != nil {
		return lbfgs.Result{}, 0, err
	}
	e, err := f.Evaluator(nil)
	if err == nil {
		err = e.SetPath(path)
	}
	if err != nil {
		return lbfgs.Result{}, 0, err
	}
	res, err := lbfgs.Minimize(e, f.Start, lbfgs.Method{Direction: &lbfgs.LBFGS{M: m, Path: path}}, lbfgs.Settings{GradTol: tol, MaxIterations: 1 << 30})
	return res, time.Since(t0), err
}

func median(ts []time.Duration) time.Duration {
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[len(s)/2]
}

func runBenchSpeed(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench speed", stderr)
	dimsFlag := fs.String("dims", "2,100,1000,10000", "Rosenbrock dimensions, comma-separated")
	repeats := fs.Int("repeats", 5, "timed runs per contender and dimension (median reported); the contenders alternate")
	m := fs.Int("m", 10, "history size (both)")
	tol := fs.Float64("tol", 1e-6, "stop at ‖∇f‖∞ ≤ tol (both)")
	python := fs.String("python", "/usr/bin/python3", "the Python with scipy (Debian: python3-scipy)")
	pathFlag := fs.String("path", "auto", "qnlab's path: auto, host or graph (objective and directions)")
	mgh := fs.Bool("mgh", true, "also compare with gonum on the Moré–Garbow–Hillstrom set")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qnlab bench speed [-dims 2,100,…] [-repeats N] [-m N] [-tol x] [-python PATH] [-path auto|host|graph] [-mgh=false]")
		fmt.Fprintln(stderr, "Times qnlab's L-BFGS (strong Wolfe) against scipy's L-BFGS-B on the chained Rosenbrock function from")
		fmt.Fprintln(stderr, "(−1.2, 1, …), alternating, and against gonum's optimize.LBFGS on the MGH set; prints time ratios and evaluations.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var dims []int
	for _, d := range strings.Split(*dimsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(d))
		if err != nil || n < 2 {
			return badInput("-dims %q: want integers ≥ 2, comma-separated", *dimsFlag)
		}
		dims = append(dims, n)
	}
	path, err := backend.ParsePath(*pathFlag)
	switch {
	case err != nil:
		return badInput("-path %q: want auto, host or graph", *pathFlag)
	case *repeats < 1:
		return badInput("-repeats %d: must be ≥ 1", *repeats)
	case *m < 1:
		return badInput("-m %d: must be ≥ 1", *m)
	case !(*tol > 0) || math.IsInf(*tol, 0):
		return badInput("-tol %s: must be finite and > 0", flagNum(*tol))
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	sp, err := startScipy(*python)
	if err != nil {
		return err
	}
	defer sp.close()
	warm, err := sp.solve(2, *m, *tol) // imports are paid here
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "qnlab L-BFGS (m = %d, strong Wolfe, path %v) vs scipy %s L-BFGS-B (maxcor %d, ftol 0) on Rosenbrock from (−1.2, 1, …) to ‖∇f‖∞ ≤ %g; %d runs each, alternating; %s\n",
		*m, path, warm.Version, *m, *tol, *repeats, backend.Describe(b))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "n\tqnlab evals\tscipy evals\tqnlab iters\tscipy iters\tqnlab ‖g‖∞\tscipy ‖g‖∞\tqnlab time\tscipy time\tqnlab/scipy\tqnlab ran on\t")
	for _, n := range dims {
		var (
			q      lbfgs.Result
			sr     scipyRun
			qt, st []time.Duration
		)
		for r := range *repeats {
			for j := range 2 {
				if (j == 0) == (r%2 == 0) { // qnlab first in even rounds
					res, t, err := solveRosenbrock(n, *m, *tol, path)
					if err != nil {
						return fmt.Errorf("qnlab, n = %d: %w", n, err)
					}
					q, qt = res, append(qt, t)
				} else {
					run, err := sp.solve(n, *m, *tol)
					if err != nil {
						return err
					}
					sr, st = run, append(st, time.Duration(run.Seconds*float64(time.Second)))
				}
			}
		}
		qm, sm := median(qt), median(st)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%.1e\t%.1e\t%v\t%v\t%.2f\tobjective %v, directions %v\t\n", n, q.Evaluations, sr.NFev, q.Iterations, sr.NIt,
			q.GradNorm, sr.GNorm, qm.Round(time.Microsecond), sm.Round(time.Microsecond), qm.Seconds()/sm.Seconds(), q.ObjectiveRunsOn, q.DirectionRunsOn)
		fmt.Fprintf(stderr, "bench speed: n = %d done (qnlab %v, scipy %v)\n", n, qm.Round(time.Millisecond), sm.Round(time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !*mgh {
		return nil
	}
	fmt.Fprintf(stdout, "\nqnlab L-BFGS vs gonum optimize.LBFGS on the MGH set (m = %d, to ‖∇f‖∞ ≤ %g, %d runs each, alternating):\n", *m, *tol, *repeats)
	rows, err := compare.MGH(compare.MGHSettings{M: *m, GradTol: *tol, Repeats: *repeats, Path: path})
	if err != nil {
		return err
	}
	return compare.WriteMGHTable(stdout, rows)
}
