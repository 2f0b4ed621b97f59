package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"qnlab/pkg/backend"
	"qnlab/pkg/funcs"
	"qnlab/pkg/lbfgs"
)

func init() {
	register("minimize", "minimise a test function with L-BFGS or gradient descent", runMinimize)
}

// minimizeOutput is the -json line.
type minimizeOutput struct {
	F          float64   `json:"f"`
	GradNorm   float64   `json:"gnorm"`
	Iterations int       `json:"iterations"`
	Evals      int       `json:"evals"`
	Status     string    `json:"status"`
	X          []float64 `json:"x"`
	// Where the objective and the directions ran: "host" or "graph" ("auto": not reported).
	Objective string `json:"objective_on"`
	Direction string `json:"direction_on"`
}

func runMinimize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("minimize", stderr)
	name := fs.String("func", "rosenbrock", "test function: "+strings.Join(funcs.Names(), ", "))
	dim := fs.Int("dim", 2, "dimension n")
	method := fs.String("method", "lbfgs", "lbfgs or gd")
	lsName := fs.String("linesearch", "wolfe", "fixed, armijo or wolfe")
	lr := fs.Float64("lr", 1e-3, "step length of -linesearch fixed")
	m := fs.Int("m", lbfgs.DefaultM, "L-BFGS history size")
	x0Flag := fs.String("x0", "", `start "v,v,…" (default: the function's standard start)`)
	tol := fs.Float64("tol", 1e-6, "stop at ‖∇f‖∞ ≤ tol")
	maxIter := fs.Int("maxiter", 10000, "iteration limit")
	seed := fs.Uint64("seed", 0, "if not 0, perturb the start by N(0, 1) noise drawn with this seed")
	asJSON := fs.Bool("json", false, "print the result as one JSON line, last")
	tracePath := fs.String("trace", "", "write the per-iteration trace (k,f,gnorm,step,evals) to this CSV file")
	pathFlag := fs.String("path", "auto", "where the objective and the L-BFGS directions run: host (plain Go), graph (the backend) or auto (host up to "+fmt.Sprint(backend.HostMaxDim)+" numbers)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path, err := backend.ParsePath(*pathFlag)
	if err != nil {
		return badInput("-path %q: want auto, graph or host", *pathFlag)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	s := lbfgs.Settings{GradTol: *tol, MaxIterations: *maxIter}
	var meth lbfgs.Method
	switch *method {
	case "lbfgs":
		meth.Direction = &lbfgs.LBFGS{M: *m, Path: path}
	case "gd":
		meth.Direction = lbfgs.GradientDescent{}
	default:
		return badInput("-method %q: want lbfgs or gd", *method)
	}
	if !(*lr > 0) || math.IsInf(*lr, 0) {
		return badInput("-lr %s: must be finite and > 0", flagNum(*lr))
	}
	switch *lsName {
	case "fixed":
		meth.LineSearch = lbfgs.Fixed{Step: *lr}
	case "armijo":
		meth.LineSearch = lbfgs.Armijo{}
	case "wolfe":
		meth.LineSearch = lbfgs.Wolfe{}
	default:
		return badInput("-linesearch %q: want fixed, armijo or wolfe", *lsName)
	}
	if set["lr"] && *lsName != "fixed" {
		return badInput("-lr applies only with -linesearch fixed (-linesearch %s chooses its own steps)", *lsName)
	}
	if *m < 1 {
		return badInput("-m %d: must be ≥ 1", *m)
	}
	if !(*tol > 0) || math.IsInf(*tol, 0) {
		return badInput("-tol %s: must be finite and > 0", flagNum(*tol))
	}
	if *maxIter < 1 {
		return badInput("-maxiter %d: must be ≥ 1", *maxIter)
	}
	var x0Given []float64
	if *x0Flag != "" {
		var err error
		if x0Given, err = parseVector(*x0Flag); err != nil {
			return badInput("-x0: %v", err)
		}
	}
	if *tracePath != "" {
		if err := checkWritable("-trace", *tracePath); err != nil {
			return err
		}
	}
	if !slices.ContainsFunc(funcs.Names(), func(n string) bool { return strings.EqualFold(n, strings.TrimSpace(*name)) }) {
		_, err := funcs.ByName(*name, *dim) // allocates nothing for an unknown name
		return usageError{err}
	}
	if *dim > 0 {
		pairs, what := 0, fmt.Sprintf("-dim %d with -method gd and -maxiter %d", *dim, *maxIter)
		if *method == "lbfgs" {
			pairs = min(*m, *maxIter)
			what = fmt.Sprintf("-dim %d with -m %d and -maxiter %d", *dim, *m, *maxIter)
		}
		if err := checkMemory(what, minimizeMemory(*dim, pairs, *maxIter)); err != nil {
			return err
		}
	}
	f, err := funcs.ByName(*name, *dim)
	if err != nil {
		return usageError{err}
	}
	x0 := append([]float64(nil), f.Start...)
	if x0Given != nil {
		if len(x0Given) != f.Dim {
			return badInput("-x0 has %d values, %s has dimension %d", len(x0Given), f.Name, f.Dim)
		}
		x0 = x0Given
	}
	perturb(x0, *seed)

	b, err := backend.Default()
	if err != nil {
		return err
	}
	eval, err := f.Evaluator(b)
	if err != nil {
		return err
	}
	if err := eval.SetPath(path); err != nil {
		return err
	}
	res, err := lbfgs.Minimize(eval, x0, meth, s)
	if errors.Is(err, lbfgs.ErrBadStart) { // bad input: x0, f(x0) or ∇f(x0) not finite
		where := "-x0"
		if *x0Flag == "" {
			where = "the standard start"
		}
		if *seed != 0 {
			where += fmt.Sprintf(" perturbed by -seed %d", *seed)
		}
		_, detail, _ := strings.Cut(err.Error(), lbfgs.ErrBadStart.Error()+": ")
		return badInput("%s: %s", where, detail)
	}
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "qnlab minimize: %s n=%d, %v; %s\n", f.Name, f.Dim, meth, backend.Describe(b))
	}
	if *tracePath != "" {
		if err := writeTrace(*tracePath, res.Iterates); err != nil {
			return err
		}
	}
	if *asJSON {
		out, err := json.Marshal(minimizeOutput{res.F, res.GradNorm, res.Iterations, res.Evaluations, res.Status.String(), res.X,
			res.ObjectiveRunsOn.String(), res.DirectionRunsOn.String()})
		if err != nil {
			return fmt.Errorf("result not representable in JSON (f=%g): %w", res.F, err)
		}
		if _, err := fmt.Fprintf(stdout, "%s\n", out); err != nil {
			return err
		}
	} else {
		where := fmt.Sprintf("objective on the %v", res.ObjectiveRunsOn)
		if res.DirectionRunsOn != backend.Auto {
			where += fmt.Sprintf(", directions on the %v", res.DirectionRunsOn)
		}
		fmt.Fprintf(stdout, "status %s after %d iterations, %d evaluations: f = %.6g, ‖∇f‖∞ = %.3g (%s)\n",
			res.Status, res.Iterations, res.Evaluations, res.F, res.GradNorm, where)
	}
	if failed(res.Status) {
		return fmt.Errorf("run failed: %s after %d iterations (f = %.6g, ‖∇f‖∞ = %.3g > -tol %g)",
			res.Status, res.Iterations, res.F, res.GradNorm, *tol)
	}
	return nil
}

// failed reports whether a run that ended with status st failed (exit 1). LineSearchFailure
// is a failure: no step decreased f, even along −∇f, before ‖∇f‖∞ reached the tolerance.
// NotTerminated (never returned) and unknown statuses count as failures too. Reaching the
// tolerance (GradientThreshold, FunctionConvergence) or a budget (IterationLimit,
// EvaluationLimit) is a result: exit 0.
func failed(st lbfgs.Status) bool {
	switch st {
	case lbfgs.GradientThreshold, lbfgs.FunctionConvergence, lbfgs.IterationLimit, lbfgs.EvaluationLimit:
		return false
	}
	return true // lbfgs.LineSearchFailure (Status.Failed), NotTerminated, unknown
}

// minimizeMemory estimates minimize's peak memory in bytes for dimension n with at most pairs
// curvature pairs (0 for gradient descent) and maxIter iterations: per coordinate a base (x,
// ∇f, the graph's buffers, the line search's trial points) and a cost per pair (s, y, the
// kernel's copies and the two-loop's temporaries), plus the kernel's compiled graphs, one per
// history length 1…pairs with a node set per pair (≈ pairs²), plus the trace. Least-squares
// fit n·(490 + 86·pairs) + 14 KB·pairs² to peak RSS (/usr/bin/time, rosenbrock, -tol 1e-300,
// -maxiter = m + 2 so that the history fills; 2026-12-02), then ×1.5: the fit is 0.68× the
// measurement at n = 1e4, where the garbage collector lets the heap grow to twice the live
// graphs. Measured (MB):
//
//	n = 1e4: m 10: 30, 50: 127, 100: 342, 200: 1079, 400: 3209
//	n = 1e5: m 10: 140, 50: 585, 100: 1229, 200: 3175; gd: 70
//	n = 1e6: m 10: 993–1342, 25: 2616, 50: 4282–4835; gd: 492
//	n = 4e6: m 10: 4268; gd: 2207
//	n = 100, 1000: m 200: 427, 522; n = 1000, m 300: 1135
func minimizeMemory(n, pairs, maxIter int) float64 {
	d, k := float64(n), float64(pairs)
	trace := 2 * float64(maxIter) * float64(unsafe.Sizeof(lbfgs.Iteration{}))
	return 50e6 + 1.5*(d*(490+86*k)+14e3*k*k) + trace
}

// parseVector reads "v,v,…".
func parseVector(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	v := make([]float64, len(parts))
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("value %d (%q) is not a number", i+1, p)
		}
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("value %d (%q) is not a finite number", i+1, p)
		}
		v[i] = x
	}
	return v, nil
}

func writeTrace(path string, trace []lbfgs.Iteration) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(fh)
	_ = w.Write([]string{"k", "f", "gnorm", "step", "evals"})
	for k, it := range trace {
		_ = w.Write([]string{strconv.Itoa(k), fmtG(it.F), fmtG(it.GradNorm), fmtG(it.Step), strconv.Itoa(it.Evals)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func fmtG(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// perturb adds N(0, 1) noise drawn from seed to every coordinate of x (-seed); seed 0 leaves x
// as it is.
func perturb(x []float64, seed uint64) {
	if seed == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range x {
		x[i] += rng.NormFloat64()
	}
}
