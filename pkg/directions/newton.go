package directions

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Hessian returns ∇²f(x); funcs.Evaluator.Hessian is one (by autodiff).
type Hessian func(x []float64) (*mat.SymDense, error)

// Newton is the pure Newton step p = −H⁻¹∇f with H = ∇²f(x) (the lecture's 牛顿法 slide;
// Nocedal & Wright 2006 eq. 3.30), taken whole whatever the signs of H's eigenvalues: it is Plain,
// so lbfgs.Minimize neither tests it for descent nor replaces it, and it goes with
// lbfgs.Fixed{Step: 1}. It converges quadratically near a minimiser with H positive definite,
// and is attracted just as well by a saddle or a maximum (H indefinite: p need not descend).
type Newton struct {
	// Hessian gives ∇²f(x); required.
	Hessian Hessian
}

// Init implements lbfgs.Direction.
func (n *Newton) Init(x, g []float64) error { return checkHessian(n.Hessian) }

// Next implements lbfgs.Direction: p solves H·p = −g (LU); a singular H is an error.
func (n *Newton) Next(x, g []float64) ([]float64, error) {
	H, err := n.Hessian(x)
	if err != nil {
		return nil, err
	}
	var p mat.VecDense
	if err := p.SolveVec(H, mat.NewVecDense(len(g), neg(g))); err != nil {
		return nil, fmt.Errorf("directions: Newton: the Hessian at x is singular: %w", err)
	}
	return p.RawVector().Data, nil
}

// Update implements lbfgs.Direction: Newton keeps nothing.
func (n *Newton) Update(s, y []float64) bool { return true }

// Reset implements lbfgs.Direction: there is nothing to forget.
func (n *Newton) Reset() bool { return false }

// UnitStep implements lbfgs.Direction: the Newton step has length 1.
func (n *Newton) UnitStep() bool { return true }

// Plain implements lbfgs.Plain: the step is taken unchecked.
func (n *Newton) Plain() bool { return true }

func (n *Newton) String() string { return "Newton" }

// Damped is the damped (regularised) Newton direction p = −(H + αI)⁻¹∇f of the lecture's
// 牛顿法的缺陷 slide: α = 0 is Newton, and as α grows p turns into −∇f/α, gradient descent with
// step 1/α. With Adapt, α changes as in Levenberg–Marquardt (Nocedal & Wright §10.3), with the
// line search as the trust test: after a full step (α_ls = 1 accepted) α ← α/3, after a
// shortened one α ← 3α; and while H + αI is not positive definite (its Cholesky factorisation
// fails) α is raised tenfold (from at least MinAlpha), so that p is a descent direction. Without
// Adapt, α stays fixed and an indefinite H + αI may give a non-descent p (lbfgs.Minimize then
// restarts along −∇f).
type Damped struct {
	Hessian Hessian
	// Alpha is the damping α ≥ 0 (the starting value with Adapt).
	Alpha float64
	// Adapt lets α follow the steps (Levenberg–Marquardt style).
	Adapt bool
	// MinAlpha is the smallest α Adapt uses when it must raise a zero α. If 0, 1e-3.
	MinAlpha float64

	alpha float64
	last  []float64 // the last direction, to see whether the line search shortened it
}

// Init implements lbfgs.Direction.
func (d *Damped) Init(x, g []float64) error {
	if err := checkHessian(d.Hessian); err != nil {
		return err
	}
	if !(d.Alpha >= 0) || math.IsInf(d.Alpha, 0) {
		return fmt.Errorf("directions: damping α = %g must be finite and ≥ 0", d.Alpha)
	}
	d.alpha, d.last = d.Alpha, nil
	return nil
}

// CurrentAlpha returns the damping the next direction uses.
func (d *Damped) CurrentAlpha() float64 { return d.alpha }

// Next implements lbfgs.Direction.
func (d *Damped) Next(x, g []float64) ([]float64, error) {
	H, err := d.Hessian(x)
	if err != nil {
		return nil, err
	}
	n := len(g)
	for tries := 0; ; tries++ {
		A := shifted(H, d.alpha)
		var chol mat.Cholesky
		if chol.Factorize(A) {
			var p mat.VecDense
			if err := chol.SolveVecTo(&p, mat.NewVecDense(n, neg(g))); err != nil {
				return nil, fmt.Errorf("directions: damped Newton: %w", err)
			}
			d.last = p.RawVector().Data
			return d.last, nil
		}
		if !d.Adapt {
			var p mat.VecDense // indefinite: solve anyway (LU); Minimize checks descent
			if err := p.SolveVec(A, mat.NewVecDense(n, neg(g))); err != nil {
				return nil, fmt.Errorf("directions: damped Newton: H + %gI is singular: %w", d.alpha, err)
			}
			d.last = p.RawVector().Data
			return d.last, nil
		}
		if tries > 60 {
			return nil, errors.New("directions: damped Newton: H + αI not positive definite for any α ≤ 1e60·MinAlpha")
		}
		d.alpha = math.Max(10*d.alpha, d.minAlpha())
	}
}

func (d *Damped) minAlpha() float64 {
	if d.MinAlpha > 0 {
		return d.MinAlpha
	}
	return 1e-3
}

// Update implements lbfgs.Direction: with Adapt, α falls after a full step and rises after a
// shortened one.
func (d *Damped) Update(s, y []float64) bool {
	if !d.Adapt || d.last == nil {
		return true
	}
	var diff, norm float64
	for i := range s {
		diff += (s[i] - d.last[i]) * (s[i] - d.last[i])
		norm += d.last[i] * d.last[i]
	}
	if diff <= 1e-20*norm {
		d.alpha /= 3
	} else {
		d.alpha = math.Max(3*d.alpha, d.minAlpha())
	}
	return true
}

// Reset implements lbfgs.Direction: α returns to its start.
func (d *Damped) Reset() bool {
	d.alpha = d.Alpha
	return false
}

// UnitStep implements lbfgs.Direction.
func (d *Damped) UnitStep() bool { return true }

func (d *Damped) String() string {
	if d.Adapt {
		return fmt.Sprintf("damped Newton (α from %g, adapted)", d.Alpha)
	}
	return fmt.Sprintf("damped Newton (α = %g)", d.Alpha)
}

// Modified is Newton with H's eigenvalues changed so that the matrix is positive definite, the
// remedies seed 002 §5.3 names: with Abs false, each eigenvalue λ is raised to at least Delta
// (Nocedal & Wright 2006 §3.4, eq. 3.41); with Abs true, λ is replaced by max(|λ|, Delta), the
// saddle-free Newton method of Dauphin et al. (2014), which moves away from a saddle along
// negative curvature instead of towards it. p = −Q·diag(1/λ̃)·Qᵀ·∇f from H = Q·diag(λ)·Qᵀ
// (gonum's EigenSym).
type Modified struct {
	Hessian Hessian
	// Abs selects |λ| (saddle-free Newton) instead of max(λ, Delta).
	Abs bool
	// Delta is the smallest eigenvalue used. If 0, 1e-6.
	Delta float64
}

// Init implements lbfgs.Direction.
func (m *Modified) Init(x, g []float64) error {
	if err := checkHessian(m.Hessian); err != nil {
		return err
	}
	if !(m.Delta >= 0) || math.IsInf(m.Delta, 0) {
		return fmt.Errorf("directions: δ = %g must be finite and ≥ 0", m.Delta)
	}
	return nil
}

// Next implements lbfgs.Direction.
func (m *Modified) Next(x, g []float64) ([]float64, error) {
	H, err := m.Hessian(x)
	if err != nil {
		return nil, err
	}
	var eig mat.EigenSym
	if !eig.Factorize(H, true) {
		return nil, errors.New("directions: the eigendecomposition of the Hessian failed")
	}
	lambda := eig.Values(nil)
	var Q mat.Dense
	eig.VectorsTo(&Q)
	delta := m.Delta
	if delta == 0 {
		delta = 1e-6
	}
	n := len(g)
	c := make([]float64, n) // c = Qᵀg, then scaled by −1/λ̃
	var cv mat.VecDense
	cv.MulVec(Q.T(), mat.NewVecDense(n, g))
	for i := range c {
		l := lambda[i]
		if m.Abs {
			l = math.Abs(l)
		}
		c[i] = -cv.AtVec(i) / math.Max(l, delta)
	}
	var p mat.VecDense
	p.MulVec(&Q, mat.NewVecDense(n, c))
	return p.RawVector().Data, nil
}

// Update implements lbfgs.Direction: nothing is kept.
func (m *Modified) Update(s, y []float64) bool { return true }

// Reset implements lbfgs.Direction.
func (m *Modified) Reset() bool { return false }

// UnitStep implements lbfgs.Direction.
func (m *Modified) UnitStep() bool { return true }

func (m *Modified) String() string {
	if m.Abs {
		return "saddle-free Newton"
	}
	return "modified Newton"
}

// shifted returns H + αI.
func shifted(H *mat.SymDense, alpha float64) *mat.SymDense {
	n := H.SymmetricDim()
	A := mat.NewSymDense(n, nil)
	A.CopySym(H)
	for i := range n {
		A.SetSym(i, i, A.At(i, i)+alpha)
	}
	return A
}

func checkHessian(h Hessian) error {
	if h == nil {
		return errors.New("directions: a Newton method needs a Hessian")
	}
	return nil
}

func neg(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}
