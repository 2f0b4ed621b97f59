package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"qnlab/pkg/backend"
	"qnlab/pkg/directions"
	"qnlab/pkg/firstorder"
	"qnlab/pkg/funcs"
	"qnlab/pkg/lbfgs"
)

// zooSecondMethods are zoo's methods run by lbfgs.Minimize with a Direction (package directions,
// and lbfgs's own L-BFGS), in help order.
var zooSecondMethods = []string{"newton", "newton-damped", "newton-modified", "saddle-free", "cg-fr", "cg-pr", "cg-hs", "bfgs", "lbfgs"}

// zooNeedsHessian reports whether method forms the Hessian (n HVPs and n² numbers an iteration).
func zooNeedsHessian(method string) bool {
	return strings.HasPrefix(method, "newton") || method == "saddle-free"
}

// zooSecond holds the flags only the Minimize methods read, and which of them read each.
type zooSecond struct {
	lineSearch string
	alpha      float64
	adapt      bool
	delta      float64
	restart    int
	m          int
	tol        float64
	readers    map[string][]string
}

func zooSecondFlags(fs *flag.FlagSet) *zooSecond {
	z := &zooSecond{readers: map[string][]string{
		"linesearch": slices.DeleteFunc(slices.Clone(zooSecondMethods), func(m string) bool { return m == "newton" }),
		"alpha":      {"newton-damped"},
		"adapt":      {"newton-damped"},
		"delta":      {"newton-modified", "saddle-free"},
		"restart":    {"cg-fr", "cg-pr", "cg-hs"},
		"m":          {"lbfgs"},
		"tol":        zooSecondMethods,
	}}
	fs.StringVar(&z.lineSearch, "linesearch", "wolfe", "line search of all but newton: wolfe (strong Wolfe; c2 = 0.1 for cg-*, 0.9 else), armijo, exact (for quadratics) or fixed (step 1)")
	fs.Float64Var(&z.alpha, "alpha", 1, "damping α of newton-damped: (H + αI)⁻¹∇f")
	fs.BoolVar(&z.adapt, "adapt", false, "newton-damped: adapt α as Levenberg–Marquardt (÷3 after a full step, ×3 after a shortened one)")
	fs.Float64Var(&z.delta, "delta", 1e-6, "smallest eigenvalue newton-modified (max(λ, δ)) and saddle-free (max(|λ|, δ)) use")
	fs.IntVar(&z.restart, "restart", 0, "restart period of cg-fr, cg-pr, cg-hs (0: the dimension n)")
	fs.IntVar(&z.m, "m", lbfgs.DefaultM, "history size of lbfgs")
	fs.Float64Var(&z.tol, "tol", 1e-10, "the Minimize methods stop at ‖∇f‖∞ ≤ tol")
	return z
}

// check refuses a flag method does not read, and bad values.
func (z *zooSecond) check(method string, set map[string]bool) error {
	for flagName, readers := range z.readers {
		if set[flagName] && !slices.Contains(readers, method) {
			return badInput("-%s is not read by %s (it is read by %s)", flagName, method, strings.Join(readers, ", "))
		}
	}
	switch {
	case !slices.Contains([]string{"wolfe", "armijo", "exact", "fixed"}, z.lineSearch):
		return badInput("-linesearch %q: want wolfe, armijo, exact or fixed", z.lineSearch)
	case !(z.alpha >= 0) || math.IsInf(z.alpha, 0):
		return badInput("-alpha %s: must be finite and ≥ 0", flagNum(z.alpha))
	case !(z.delta >= 0) || math.IsInf(z.delta, 0):
		return badInput("-delta %s: must be finite and ≥ 0", flagNum(z.delta))
	case z.restart < 0:
		return badInput("-restart %d: must be ≥ 0", z.restart)
	case z.m < 1:
		return badInput("-m %d: must be ≥ 1", z.m)
	case !(z.tol >= 0) || math.IsInf(z.tol, 0):
		return badInput("-tol %s: must be finite and ≥ 0", flagNum(z.tol))
	}
	return nil
}

// refuse refuses the Minimize methods' flags for a first-order method.
func (z *zooSecond) refuse(method string, set map[string]bool) error {
	for flagName, readers := range z.readers {
		if set[flagName] {
			return badInput("-%s is not read by %s (it is read by %s)", flagName, method, strings.Join(readers, ", "))
		}
	}
	return nil
}

// method builds the lbfgs.Method for name on e.
func (z *zooSecond) method(name string, e *funcs.Evaluator) lbfgs.Method {
	var ls lbfgs.LineSearch
	switch z.lineSearch {
	case "armijo":
		ls = lbfgs.Armijo{}
	case "exact":
		ls = lbfgs.Exact{}
	case "fixed":
		ls = lbfgs.Fixed{Step: 1}
	default:
		ls = lbfgs.Wolfe{}
		if strings.HasPrefix(name, "cg-") {
			ls = lbfgs.Wolfe{C2: 0.1} // Nocedal & Wright §5.2: c2 = 0.1 for CG (< ½ keeps FR's directions descending)
		}
	}
	var d lbfgs.Direction
	switch name {
	case "newton":
		return lbfgs.Method{Direction: &directions.Newton{Hessian: e.Hessian}, LineSearch: lbfgs.Fixed{Step: 1}}
	case "newton-damped":
		d = &directions.Damped{Hessian: e.Hessian, Alpha: z.alpha, Adapt: z.adapt}
	case "newton-modified":
		d = &directions.Modified{Hessian: e.Hessian, Delta: z.delta}
	case "saddle-free":
		d = &directions.Modified{Hessian: e.Hessian, Delta: z.delta, Abs: true}
	case "cg-fr":
		d = &directions.CG{Beta: directions.FletcherReeves, Restart: z.restart}
	case "cg-pr":
		d = &directions.CG{Beta: directions.PolakRibiere, Restart: z.restart}
	case "cg-hs":
		d = &directions.CG{Beta: directions.HestenesStiefel, Restart: z.restart}
	case "bfgs":
		d = &directions.BFGS{}
	default:
		d = &lbfgs.LBFGS{M: z.m}
	}
	return lbfgs.Method{Direction: d, LineSearch: ls}
}

// zooSecondMemory estimates the peak memory of a Minimize method in dimension n over iters
// iterations: the evaluator (≈ 300 bytes a coordinate, as zooMemory), the recorded iterates
// (8n + 64 bytes each, doubled), and for the Hessian methods three n×n matrices (the Hessian,
// its columns, the eigenvectors) or for bfgs two (H and its update).
func zooSecondMemory(method string, n, iters int) float64 {
	d := float64(n)
	need := 50e6 + 450*d + 2*float64(iters+1)*(64+8*d)
	switch {
	case zooNeedsHessian(method):
		need += 3 * 8 * d * d
	case method == "bfgs":
		need += 2 * 8 * d * d
	}
	return need
}

// runZooSecond runs a Minimize method on fn and writes the same CSV as the first-order methods:
// row k is x after k iterations.
func runZooSecond(method, fn string, dim int, dimSet bool, x0Flag string, iters int, out string, z *zooSecond, stdout, stderr io.Writer) error {
	if iters < 0 {
		return badInput("-iters %d: must be ≥ 0", iters)
	}
	var x0 []float64
	if x0Flag != "" {
		var err error
		if x0, err = parseVector(x0Flag); err != nil {
			return badInput("-x0: %v", err)
		}
	}
	if out != "" {
		if err := checkWritable("-out", out); err != nil {
			return err
		}
	}
	if !dimSet {
		dim = zooDim(fn)
	}
	if zooNeedsHessian(method) && dim > funcs.MaxHessianDim {
		return badInput("-dim %d: %s forms the %d×%d Hessian every iteration; it is formed only up to n = %d (use cg-*, bfgs or lbfgs)",
			dim, method, dim, dim, funcs.MaxHessianDim)
	}
	if dim > 0 {
		if err := checkMemory(fmt.Sprintf("%s with -dim %d", method, dim), zooSecondMemory(method, dim, iters)); err != nil {
			return err
		}
	}
	f, err := funcs.ByName(fn, dim)
	if err != nil {
		return badInput("-dim %d: %s", dim, strings.TrimPrefix(err.Error(), "funcs: "))
	}
	if x0 == nil {
		if x0 = firstorder.LectureStart(f.Name); x0 == nil {
			x0 = append([]float64(nil), f.Start...)
		}
	} else if len(x0) != f.Dim {
		return badInput("-x0 has %d values, %s has dimension %d", len(x0), f.Name, f.Dim)
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	e, err := f.Evaluator(b)
	if err != nil {
		return err
	}
	m := z.method(method, e)
	res, err := lbfgs.Minimize(e, x0, m, lbfgs.Settings{GradTol: z.tol, MaxIterations: max(iters, 1), RecordX: true})
	if err != nil {
		if errors.Is(err, lbfgs.ErrBadStart) {
			return badInput("x0: %v", err)
		}
		return fmt.Errorf("%s on %s: %w", method, f.Name, err)
	}
	if iters == 0 {
		res.Iterates = res.Iterates[:1]
	}
	tr := &firstorder.Trajectory{Func: f.Name}
	for _, it := range res.Iterates {
		tr.X, tr.F = append(tr.X, it.X), append(tr.F, it.F)
	}
	if err := emitZoo(tr, out, stdout); err != nil {
		return err
	}
	last := len(tr.F) - 1
	summary := fmt.Sprintf("qnlab zoo: %v on %s: f %.3g → %.3g in %d iterations, %d evaluations, %d Hessian-vector products (%v)",
		m, f.Name, tr.F[0], tr.F[last], last, res.Evaluations, e.HVPs(), res.Status)
	if res.Status.Failed() {
		return fmt.Errorf("%s (the CSV holds k = 0…%d)", summary, last)
	}
	if out != "" {
		_, err = fmt.Fprintf(stdout, "%s; wrote %s\n", summary, out)
		return err
	}
	fmt.Fprintf(stderr, "%s; %s\n", summary, backend.Describe(b))
	return nil
}
