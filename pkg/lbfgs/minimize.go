package lbfgs

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"qnlab/internal/enum"
	"qnlab/pkg/backend"
)

// Objective is a differentiable function: Eval writes ∇f(x) into grad and returns f(x).
// A NaN or Inf value or gradient is not an error: Minimize shrinks the step.
type Objective interface {
	Eval(x, grad []float64) (float64, error)
}

// ObjectiveFunc adapts a function to Objective.
type ObjectiveFunc func(x, grad []float64) (float64, error)

// Eval implements Objective.
func (f ObjectiveFunc) Eval(x, grad []float64) (float64, error) { return f(x, grad) }

// Status says why Minimize stopped.
type Status int

const (
	NotTerminated Status = iota
	// GradientThreshold: ‖∇f‖∞ ≤ Settings.GradTol.
	GradientThreshold
	// FunctionConvergence: (f_k − f_{k+1})/max(|f_k|, |f_{k+1}|, 1) ≤ Settings.FTol.
	FunctionConvergence
	// IterationLimit: Settings.MaxIterations reached.
	IterationLimit
	// EvaluationLimit: Settings.MaxEvaluations reached.
	EvaluationLimit
	// LineSearchFailure: no step decreased f, even along −∇f; Result holds the best point.
	LineSearchFailure
)

var statusNames = enum.Names[Status]{NotTerminated: "not terminated", GradientThreshold: "gradient threshold",
	FunctionConvergence: "function convergence", IterationLimit: "iteration limit", EvaluationLimit: "evaluation limit",
	LineSearchFailure: "line search failure"}

func (s Status) String() string { return statusNames.String(s, "Status") }

// Failed reports whether s ends a run that did not converge or run out of budget: a line
// search that found no decrease, even along −∇f.
func (s Status) Failed() bool { return s == LineSearchFailure }

// Method is a search direction composed with a line search (gonum's NextDirectioner composed
// with a Linesearcher). The zero value is L-BFGS (m = 10, the float64 kernel on the default
// backend) with a strong Wolfe search.
type Method struct {
	// Direction computes the search directions. If nil, &LBFGS{}.
	Direction Direction
	// LineSearch chooses steps along them. If nil, Wolfe{}.
	LineSearch LineSearch
}

func (m Method) String() string {
	return fmt.Sprintf("%v with %v line search", m.direction(), m.lineSearch())
}

func (m Method) direction() Direction {
	if m.Direction == nil {
		return &LBFGS{}
	}
	return m.Direction
}

func (m Method) lineSearch() LineSearch {
	if m.LineSearch == nil {
		return Wolfe{}
	}
	return m.LineSearch
}

// Settings are when Minimize stops (and what it records). The zero value stops at
// ‖∇f‖∞ ≤ 1e-6 or after 10000 iterations.
type Settings struct {
	// GradTol stops at ‖∇f‖∞ ≤ GradTol. If GradTol is 0, it will be defaulted to 1e-6.
	GradTol float64
	// FTol stops when the relative decrease (f_k − f_{k+1})/max(|f_k|, |f_{k+1}|, 1) ≤ FTol.
	// If FTol is 0, this test is off.
	FTol float64
	// MaxIterations bounds the iterations. If MaxIterations is 0, it will be defaulted to 10000.
	MaxIterations int
	// MaxEvaluations bounds the objective evaluations. If MaxEvaluations is 0, there is no bound.
	MaxEvaluations int
	// RecordX records every iterate in Result.Iterates[k].X (for plots of low-dimensional runs).
	RecordX bool
}

// Iteration is one row of Result.Iterates: the state after iteration k (row 0 is x_0).
type Iteration struct {
	F, GradNorm float64 // f(x_k), ‖∇f(x_k)‖∞
	Step        float64 // α_{k-1}, the step that led to x_k (0 for x_0)
	Slope0      float64 // φ'(0) = ∇f(x_{k-1})ᵀp_{k-1}
	Slope       float64 // φ'(α) = ∇f(x_k)ᵀp_{k-1}
	Evals       int     // cumulative objective evaluations
	// StepOK reports that the step met the line search's conditions; false when the search
	// failed but its best point still decreased f and was taken.
	StepOK bool
	// X is x_k, recorded only with Settings.RecordX.
	X []float64
}

// Result is Minimize's outcome: the best point found and how it got there.
type Result struct {
	X           []float64
	F, GradNorm float64 // f(X), ‖∇f(X)‖∞
	Iterations  int
	Evaluations int
	Status      Status
	// Rejected counts curvature pairs the direction refused (Direction.Update).
	Rejected int
	// Restarts counts direction resets: after a failed line search along a direction with
	// curvature information, or a direction that was not a descent direction.
	Restarts int
	// Iterates holds the state after every iteration, x_0 first.
	Iterates []Iteration
	// DirectionRunsOn and ObjectiveRunsOn say where the directions and the objective were
	// computed (backend.Host or backend.Graph), for those that say (a RunsOn method);
	// backend.Auto for those that do not.
	DirectionRunsOn, ObjectiveRunsOn backend.Path
}

// runsOn is implemented by Directions and Objectives that have a graph and a host path.
type runsOn interface{ RunsOn() backend.Path }

// ErrBadStart marks Minimize's errors for a start it cannot leave: x0, f(x0) or ∇f(x0) not
// finite (bad input, as opposed to a failing objective).
var ErrBadStart = errors.New("bad start")

// Minimize minimises f from x0 by method m — a Direction composed with a LineSearch (Nocedal &
// Wright 2006, Alg. 7.5 for L-BFGS) — until s says stop. Bad input (empty x0, non-finite x0,
// f(x0) or ∇f(x0), a failing objective, bad settings) is an error; running out of budget or a
// failed line search is a Status, with the best point found.
//
// Each iteration takes p = m.Direction.Next(x, g); if p is not a descent direction the
// direction is Reset and p = −g, unless the direction is Plain. The first trial step is 1 when the direction says its step has
// a natural length (Direction.UnitStep), else 1/‖g‖₂ on the first iteration (as L-BFGS-B) and
// α_{k-1}·φ'_{k-1}(0)/φ'_k(0) after (N&W eq. 3.60). A failed line search resets the direction
// and retries along −g if it had curvature information to forget; otherwise the run stops with
// LineSearchFailure.
func Minimize(f Objective, x0 []float64, m Method, s Settings) (Result, error) {
	if f == nil {
		return Result{}, errors.New("lbfgs: Minimize needs an objective, got nil")
	}
	n := len(x0)
	if n == 0 {
		return Result{}, errors.New("lbfgs: x0 is empty")
	}
	if i := firstNonFinite(x0); i >= 0 {
		return Result{}, fmt.Errorf("lbfgs: %w: x0[%d] = %g is not finite", ErrBadStart, i, x0[i])
	}
	if s.GradTol < 0 || s.FTol < 0 || s.MaxIterations < 0 || s.MaxEvaluations < 0 {
		return Result{}, fmt.Errorf("lbfgs: settings must not be negative: %+v", s)
	}
	dir, ls := m.direction(), m.lineSearch()
	pd, isPlain := dir.(Plain)
	plain := isPlain && pd.Plain()
	gradTol := orDefault(s.GradTol, 1e-6)
	maxIter := s.MaxIterations
	if maxIter == 0 {
		maxIter = 10000
	}

	x, g := slices.Clone(x0), make([]float64, n)
	fx, err := f.Eval(x, g)
	if err != nil {
		return Result{}, fmt.Errorf("lbfgs: objective at x0: %w", err)
	}
	if !finite(fx) {
		return Result{}, fmt.Errorf("lbfgs: %w: f(x0) = %g is not finite", ErrBadStart, fx)
	}
	if i := firstNonFinite(g); i >= 0 {
		return Result{}, fmt.Errorf("lbfgs: %w: ∇f(x0)[%d] = %g is not finite", ErrBadStart, i, g[i])
	}
	if err := dir.Init(x, g); err != nil {
		return Result{}, err
	}
	res := Result{Evaluations: 1}
	if r, ok := dir.(runsOn); ok {
		res.DirectionRunsOn = r.RunsOn()
	}
	if r, ok := f.(runsOn); ok {
		res.ObjectiveRunsOn = r.RunsOn()
	}
	res.Iterates = append(res.Iterates, Iteration{F: fx, GradNorm: normInf(g), Evals: 1})
	if s.RecordX {
		res.Iterates[0].X = slices.Clone(x)
	}

	// Trial points of the current line search, so the accepted one need not be re-evaluated.
	type trial struct {
		alpha, f float64
		x, g     []float64
	}
	var trials []trial
	var p []float64
	var evalErr error
	phi := func(alpha float64) (float64, float64) {
		xt, gt := make([]float64, n), make([]float64, n)
		for i := range xt {
			xt[i] = x[i] + alpha*p[i]
		}
		ft, err := f.Eval(xt, gt)
		res.Evaluations++
		if err != nil {
			evalErr = err
			return math.NaN(), math.NaN()
		}
		trials = append(trials, trial{alpha, ft, xt, gt})
		return ft, dot(gt, p)
	}

	prevAlpha, prevSlope := 0.0, 0.0
	for {
		gnorm := normInf(g)
		switch {
		case gnorm <= gradTol:
			res.Status = GradientThreshold
		case res.Iterations >= maxIter:
			res.Status = IterationLimit
		case s.MaxEvaluations > 0 && res.Evaluations >= s.MaxEvaluations:
			res.Status = EvaluationLimit
		}
		if res.Status != NotTerminated {
			break
		}

		if p, err = dir.Next(x, g); err != nil {
			return res, err
		}
		slope := dot(g, p)
		if !(slope < 0) && !plain { // rounding made the direction useless: restart from steepest descent
			dir.Reset()
			res.Restarts++
			p = scaled(-1, g)
			slope = dot(g, p)
		}
		alpha0 := 1.0
		if !dir.UnitStep() {
			if prevAlpha == 0 {
				alpha0 = 1 / math.Sqrt(dot(g, g))
			} else {
				alpha0 = prevAlpha * prevSlope / slope
			}
		}

		trials = trials[:0]
		step := ls.Search(phi, fx, slope, alpha0)
		if evalErr != nil {
			return res, fmt.Errorf("lbfgs: objective: %w", evalErr)
		}
		if !step.OK && !(step.F < fx) {
			if dir.Reset() { // retry from the same point along −g
				res.Restarts++
				continue
			}
			res.Status = LineSearchFailure
			break
		}
		var t *trial
		for i := range trials {
			if trials[i].alpha == step.Alpha {
				t = &trials[i]
			}
		}
		if t == nil {
			return res, fmt.Errorf("lbfgs: line search %v returned step %g it never evaluated", ls, step.Alpha)
		}
		sVec, yVec := make([]float64, n), make([]float64, n)
		for i := range n {
			sVec[i] = t.x[i] - x[i]
			yVec[i] = t.g[i] - g[i]
		}
		fPrev := fx
		x, g, fx = t.x, t.g, t.f
		res.Iterations++
		res.Iterates = append(res.Iterates, Iteration{
			F: fx, GradNorm: normInf(g), Step: step.Alpha, Slope0: slope, Slope: step.DF, Evals: res.Evaluations, StepOK: step.OK,
		})
		if s.RecordX {
			res.Iterates[len(res.Iterates)-1].X = x // t.x is a fresh slice, never modified
		}
		prevAlpha, prevSlope = step.Alpha, slope
		if !dir.Update(sVec, yVec) {
			res.Rejected++
		}
		if s.FTol > 0 && (fPrev-fx)/math.Max(math.Max(math.Abs(fPrev), math.Abs(fx)), 1) <= s.FTol {
			res.Status = FunctionConvergence
			break
		}
	}
	res.X, res.F, res.GradNorm = x, fx, normInf(g)
	return res, nil
}

var (
	kernelOnce sync.Once
	kernel64   *Kernel
	kernelErr  error
)

// defaultKernel is the process-wide float64 kernel on backend.Default().
func defaultKernel() (*Kernel, error) {
	kernelOnce.Do(func() {
		var b compute.Backend
		if b, kernelErr = backend.Default(); kernelErr == nil {
			kernel64, kernelErr = NewKernel(b, dtypes.Float64)
		}
	})
	return kernel64, kernelErr
}

// normInf is ‖v‖∞, NaN if v holds a NaN.
func normInf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		if a := math.Abs(x); a > m {
			m = a
		} else if x != x {
			return math.NaN()
		}
	}
	return m
}

func scaled(a float64, v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = a * x
	}
	return out
}
