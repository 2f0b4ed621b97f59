package lbfgs

import (
	"cmp"
	"fmt"

	"qnlab/pkg/backend"
)

// Direction computes Minimize's search directions (gonum's NextDirectioner idea): gradient
// descent and L-BFGS are Directions, and so are Newton, conjugate gradients and BFGS; Minimize
// composes one with a LineSearch (Method). A Direction keeps per-run state; Minimize calls
// Init first, so one value serves several runs, one at a time.
type Direction interface {
	// Init starts a run at x_0 with gradient g_0.
	Init(x, g []float64) error
	// Next returns the search direction p_k at x_k with gradient g_k. It should be a descent
	// direction (gᵀp < 0); Minimize resets the direction and takes −g when it is not.
	Next(x, g []float64) ([]float64, error)
	// Update records the step taken, s = x_{k+1} − x_k and y = ∇f_{k+1} − ∇f_k, and reports
	// whether it used the pair (false: refused, counted in Result.Rejected).
	Update(s, y []float64) bool
	// Reset forgets the curvature information gathered so far and reports whether there was
	// any: after a failed line search Minimize retries along −g only if there was.
	Reset() bool
	// UnitStep reports whether Next's direction has a natural step length 1 (a quasi-Newton or
	// Newton direction with curvature information): the line search then tries α = 1 first.
	UnitStep() bool
}

// Plain is implemented by a Direction whose steps Minimize takes as they come: it does not test
// them for descent or replace them by −g (pure Newton, x ← x − H⁻¹∇f, which the lecture writes
// whatever the signs of H's eigenvalues: it may climb to a saddle). Compose it with Fixed{Step: 1}.
type Plain interface {
	Direction
	// Plain reports whether Minimize must take the direction unchecked.
	Plain() bool
}

// GradientDescent is the direction p = −∇f (steepest descent), for comparison.
type GradientDescent struct{}

// Init implements Direction.
func (GradientDescent) Init(x, g []float64) error { return nil }

// Next implements Direction: p = −g.
func (GradientDescent) Next(x, g []float64) ([]float64, error) { return scaled(-1, g), nil }

// Update implements Direction: gradient descent keeps nothing.
func (GradientDescent) Update(s, y []float64) bool { return true }

// Reset implements Direction: there is nothing to forget.
func (GradientDescent) Reset() bool { return false }

// UnitStep implements Direction: −g has no natural length.
func (GradientDescent) UnitStep() bool { return false }

func (GradientDescent) String() string { return "gradient descent" }

// LBFGS is the L-BFGS direction p = −H_k·g (Nocedal & Wright 2006, Alg. 7.4 and 7.5): the two-loop
// recursion over a History of the last M pairs, by the graph kernel or HostDirection; −g while
// the history is empty. The zero value is ready: m = DefaultM, the default curvature test, the
// host up to backend.HostMaxDim numbers and the float64 kernel on backend.Default() above.
type LBFGS struct {
	// M is the history size. If M is 0, it will be defaulted to DefaultM.
	M int
	// Kernel computes the directions on the graph path. If Kernel is nil, a float64 kernel on
	// backend.Default() is used.
	Kernel *Kernel
	// Path is where the directions are computed: backend.Graph (Kernel), backend.Host
	// (HostDirection, float64) or backend.Auto (the default): the graph if a Kernel is given,
	// else the host up to backend.HostMaxDim numbers.
	Path backend.Path

	hist *History
	path backend.Path // the path Init chose
}

// Init implements Direction: an empty history.
func (l *LBFGS) Init(x, g []float64) error {
	if l.M < 0 {
		return fmt.Errorf("lbfgs: history size m=%d is negative (0: the default)", l.M)
	}
	switch l.Path {
	case backend.Auto:
		l.path = backend.Graph
		if l.Kernel == nil {
			l.path = backend.Auto.Resolve(len(x))
		}
	case backend.Graph, backend.Host:
		l.path = l.Path
	default:
		return fmt.Errorf("lbfgs: unknown path %v", l.Path)
	}
	if l.path == backend.Graph && l.Kernel == nil {
		k, err := defaultKernel()
		if err != nil {
			return err
		}
		l.Kernel = k
	}
	l.hist = &History{M: l.M}
	return nil
}

// RunsOn is where the directions of the current run are computed: backend.Host or
// backend.Graph (backend.Auto before Init).
func (l *LBFGS) RunsOn() backend.Path { return l.path }

// Next implements Direction: −H_k·g, or −g with no pairs.
func (l *LBFGS) Next(x, g []float64) ([]float64, error) {
	if l.hist.Len() == 0 {
		return scaled(-1, g), nil
	}
	if l.path == backend.Host {
		p, _ := HostDirection(l.hist, g)
		return p, nil
	}
	p, _, err := l.Kernel.Direction(l.hist, g)
	return p, err
}

// Update implements Direction: the pair enters the history unless History.Push refuses it.
func (l *LBFGS) Update(s, y []float64) bool { return l.hist.Push(s, y) == nil }

// Reset implements Direction: the history is emptied.
func (l *LBFGS) Reset() bool {
	had := l.hist.Len() > 0
	l.hist.Clear()
	return had
}

// UnitStep implements Direction: α = 1 is natural once there are pairs.
func (l *LBFGS) UnitStep() bool { return l.hist.Len() > 0 }

func (l *LBFGS) String() string { return fmt.Sprintf("L-BFGS (m = %d)", cmp.Or(l.M, DefaultM)) }
