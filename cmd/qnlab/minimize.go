package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

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
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	f, err := funcs.ByName(*name, *dim)
	if err != nil {
		return usageError{err}
	}
	s := lbfgs.Settings{GradTol: *tol, MaxIterations: *maxIter}
	var meth lbfgs.Method
	switch *method {
	case "lbfgs":
		meth.Direction = &lbfgs.LBFGS{M: *m}
	case "gd":
		meth.Direction = lbfgs.GradientDescent{}
	default:
		return badInput("-method %q: want lbfgs or gd", *method)
	}
	switch *lsName {
	case "fixed":
		if !(*lr > 0) {
			return badInput("-lr %g: must be > 0", *lr)
		}
		meth.LineSearch = lbfgs.Fixed{Step: *lr}
	case "armijo":
		meth.LineSearch = lbfgs.Armijo{}
	case "wolfe":
		meth.LineSearch = lbfgs.Wolfe{}
	default:
		return badInput("-linesearch %q: want fixed, armijo or wolfe", *lsName)
	}
	if *m < 1 {
		return badInput("-m %d: must be ≥ 1", *m)
	}
	if !(*tol > 0) {
		return badInput("-tol %g: must be > 0", *tol)
	}
	if *maxIter < 1 {
		return badInput("-maxiter %d: must be ≥ 1", *maxIter)
	}
	x0 := append([]float64(nil), f.Start...)
	if *x0Flag != "" {
		if x0, err = parseVector(*x0Flag); err != nil {
			return badInput("-x0: %v", err)
		}
		if len(x0) != f.Dim {
			return badInput("-x0 has %d values, %s has dimension %d", len(x0), f.Name, f.Dim)
		}
	}
	if *seed != 0 {
		rng := rand.New(rand.NewPCG(*seed, 0))
		for i := range x0 {
			x0[i] += rng.NormFloat64()
		}
	}

	b, err := backend.Default()
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "qnlab minimize: %s n=%d, %v; %s\n", f.Name, f.Dim, meth, backend.Describe(b))
	}
	eval, err := f.Evaluator(b)
	if err != nil {
		return err
	}
	res, err := lbfgs.Minimize(eval, x0, meth, s)
	if err != nil {
		return err
	}
	if *tracePath != "" {
		if err := writeTrace(*tracePath, res.Iterates); err != nil {
			return err
		}
	}
	if *asJSON {
		out, err := json.Marshal(minimizeOutput{res.F, res.GradNorm, res.Iterations, res.Evaluations, res.Status.String(), res.X})
		if err != nil {
			return fmt.Errorf("result not representable in JSON (f=%g): %w", res.F, err)
		}
		_, err = fmt.Fprintf(stdout, "%s\n", out)
		return err
	}
	fmt.Fprintf(stdout, "status %s after %d iterations, %d evaluations: f = %.6g, ‖∇f‖∞ = %.3g\n",
		res.Status, res.Iterations, res.Evaluations, res.F, res.GradNorm)
	return nil
}

// parseVector reads "v,v,…".
func parseVector(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	v := make([]float64, len(parts))
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("value %d (%q) is not a number", i+1, p)
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
