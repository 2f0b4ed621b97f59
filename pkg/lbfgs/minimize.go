package lbfgs

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

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

// Method chooses the search direction.
type Method int

const (
	// LBFGS: d = −H_k·g from the two-loop kernel (the default).
	LBFGS Method = iota
	// GradientDescent: d = −g, for comparison.
	GradientDescent
)

func (m Method) String() string {
	switch m {
	case LBFGS:
		return "lbfgs"
	case GradientDescent:
		return "gd"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

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

func (s Status) String() string {
	switch s {
	case NotTerminated:
		return "not terminated"
	case GradientThreshold:
		return "gradient threshold"
	case FunctionConvergence:
		return "function convergence"
	case IterationLimit:
		return "iteration limit"
	case EvaluationLimit:
		return "evaluation limit"
	case LineSearchFailure:
		return "line search failure"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Settings configure Minimize. The zero value is L-BFGS with m = 10 and a strong Wolfe search
// to ‖∇f‖∞ ≤ 1e-6.
type Settings struct {
	// Method is LBFGS (default) or GradientDescent.
	Method Method
	// M is the L-BFGS history size. If M is 0, it will be defaulted to DefaultM.
	M int
	// LineSearch chooses steps. If LineSearch is nil, it will be defaulted to Wolfe{}.
	LineSearch LineSearch
	// GradTol stops at ‖∇f‖∞ ≤ GradTol. If GradTol is 0, it will be defaulted to 1e-6.
	GradTol float64
	// FTol stops when the relative decrease (f_k − f_{k+1})/max(|f_k|, |f_{k+1}|, 1) ≤ FTol.
	// If FTol is 0, this test is off.
	FTol float64
	// MaxIterations bounds the iterations. If MaxIterations is 0, it will be defaulted to 10000.
	MaxIterations int
	// MaxEvaluations bounds the objective evaluations. If MaxEvaluations is 0, there is no bound.
	MaxEvaluations int
	// TraceX records every iterate in Result.Trace[k].X (for plots of low-dimensional runs).
	TraceX bool
	// Kernel computes L-BFGS directions. If Kernel is nil, a float64 kernel on backend.Default()
	// is used.
	Kernel *Kernel
}

// Iteration is one row of Result.Trace: the state after iteration k (row 0 is x_0).
type Iteration struct {
	F, GradNorm float64 // f(x_k), ‖∇f(x_k)‖∞
	Step        float64 // α_{k-1}, the step that led to x_k (0 for x_0)
	Slope0      float64 // φ'(0) = ∇f(x_{k-1})ᵀp_{k-1}
	Slope       float64 // φ'(α) = ∇f(x_k)ᵀp_{k-1}
	Evals       int     // cumulative objective evaluations
	// StepOK reports that the step met the line search's conditions; false when the search
	// failed but its best point still decreased f and was taken.
	StepOK bool
	// X is x_k, recorded only with Settings.TraceX.
	X []float64
}

// Result is Minimize's outcome: the best point found and how it got there.
type Result struct {
	X           []float64
	F, GradNorm float64 // f(X), ‖∇f(X)‖∞
	Iterations  int
	Evaluations int
	Status      Status
	// Rejected counts curvature pairs the history refused (History.Push).
	Rejected int
	// Restarts counts history resets after a failed line search along an L-BFGS direction.
	Restarts int
	Trace    []Iteration
}

// Minimize minimises f from x0 with L-BFGS (Nocedal & Wright 2006, Alg. 7.5) or gradient
// descent, using the line search in s. Bad input (empty x0, non-finite x0 or f(x0), a failing
// objective, bad settings) is an error; running out of budget or a failed line search is a
// Status, with the best point found.
func Minimize(f Objective, x0 []float64, s Settings) (Result, error) {
	if f == nil {
		return Result{}, errors.New("lbfgs: Minimize needs an objective, got nil")
	}
	n := len(x0)
	if n == 0 {
		return Result{}, errors.New("lbfgs: x0 is empty")
	}
	if i := firstNonFinite(x0); i >= 0 {
		return Result{}, fmt.Errorf("lbfgs: x0[%d] = %g is not finite", i, x0[i])
	}
	if s.Method != LBFGS && s.Method != GradientDescent {
		return Result{}, fmt.Errorf("lbfgs: unknown method %v", s.Method)
	}
	if s.M < 0 || s.GradTol < 0 || s.FTol < 0 || s.MaxIterations < 0 || s.MaxEvaluations < 0 {
		return Result{}, fmt.Errorf("lbfgs: settings must not be negative: %+v", s)
	}
	ls := s.LineSearch
	if ls == nil {
		ls = Wolfe{}
	}
	gradTol := orDefault(s.GradTol, 1e-6)
	maxIter := s.MaxIterations
	if maxIter == 0 {
		maxIter = 10000
	}
	kernel := s.Kernel
	if kernel == nil && s.Method == LBFGS {
		var err error
		if kernel, err = defaultKernel(); err != nil {
			return Result{}, err
		}
	}
	hist := &History{M: s.M}

	x, g := slices.Clone(x0), make([]float64, n)
	fx, err := f.Eval(x, g)
	if err != nil {
		return Result{}, fmt.Errorf("lbfgs: objective at x0: %w", err)
	}
	if !finite(fx) || firstNonFinite(g) >= 0 {
		return Result{}, fmt.Errorf("lbfgs: f(x0) = %g or its gradient is not finite", fx)
	}
	res := Result{Evaluations: 1}
	res.Trace = append(res.Trace, Iteration{F: fx, GradNorm: normInf(g), Evals: 1})
	if s.TraceX {
		res.Trace[0].X = slices.Clone(x)
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

		// Direction: L-BFGS (two-loop kernel) or −g; −g whenever the history is empty.
		if s.Method == LBFGS && hist.Len() > 0 {
			if p, _, err = kernel.Direction(hist, g); err != nil {
				return res, err
			}
		} else {
			p = scaled(-1, g)
		}
		slope := dot(g, p)
		if !(slope < 0) { // rounding made H_k·g useless: restart from steepest descent
			hist.Clear()
			res.Restarts++
			p = scaled(-1, g)
			slope = dot(g, p)
		}

		// First trial step: 1 for L-BFGS once it has curvature pairs; 1/‖g‖₂ on the first
		// iteration (as L-BFGS-B does); otherwise N&W eq. (3.60), α_{k-1}·φ'_{k-1}(0)/φ'_k(0).
		alpha0 := 1.0
		if s.Method == GradientDescent || hist.Len() == 0 {
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
			if s.Method == LBFGS && hist.Len() > 0 {
				hist.Clear() // retry from the same point along −g
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
		res.Trace = append(res.Trace, Iteration{
			F: fx, GradNorm: normInf(g), Step: step.Alpha, Slope0: slope, Slope: step.DF, Evals: res.Evaluations, StepOK: step.OK,
		})
		if s.TraceX {
			res.Trace[len(res.Trace)-1].X = x // t.x is a fresh slice, never modified
		}
		prevAlpha, prevSlope = step.Alpha, slope
		if s.Method == LBFGS {
			if hist.Push(sVec, yVec) != nil {
				res.Rejected++
			}
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

func normInf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
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
