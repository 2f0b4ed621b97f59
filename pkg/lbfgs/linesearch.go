package lbfgs

import (
	"fmt"
	"math"
)

// Phi is the objective along a ray, φ(α) = f(x + α·p): it returns φ(α) and φ'(α) = ∇f(x+αp)ᵀp.
// A non-finite value or slope means the trial point is outside f's domain or overflows: line
// searches shrink the step then.
type Phi func(alpha float64) (f, df float64)

// Step is a line search's result: the step α with φ(α), φ'(α), and the number of evaluations.
// OK reports whether α satisfies the search's acceptance conditions; if not, α is the best
// point seen (the lowest finite φ; 0 if none decreased φ) and F, DF are its values.
type Step struct {
	Alpha, F, DF float64
	Evals        int
	OK           bool
}

// LineSearch finds a step along a descent direction: f0 = φ(0), df0 = φ'(0) < 0, and alpha0 > 0
// is the first trial step.
type LineSearch interface {
	Search(phi Phi, f0, df0, alpha0 float64) Step
	fmt.Stringer
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// maxShrinks bounds how often a step is halved to get back into f's domain.
const maxShrinks = 60

// Fixed takes the step Step every time (the seed code's x ← x + lr·p), ignoring alpha0.
// If φ is not finite there, the step is halved until it is (at most 60 times).
type Fixed struct {
	// Step is the step length. If Step is 0, it will be defaulted to 1.
	Step float64
}

func (ls Fixed) String() string { return fmt.Sprintf("fixed(%g)", ls.step()) }

func (ls Fixed) step() float64 {
	if ls.Step == 0 {
		return 1
	}
	return ls.Step
}

// Search implements LineSearch.
func (ls Fixed) Search(phi Phi, f0, df0, _ float64) Step {
	alpha := ls.step()
	for n := 1; n <= maxShrinks; n++ {
		f, df := phi(alpha)
		if finite(f) && finite(df) {
			return Step{Alpha: alpha, F: f, DF: df, Evals: n, OK: true}
		}
		alpha /= 2
	}
	return Step{Alpha: 0, F: f0, DF: df0, Evals: maxShrinks}
}

// Exact is the exact line search for a quadratic f: along the ray φ'(α) = φ'(0) + α·pᵀAp is
// linear, so from φ'(0) and φ'(α0) its root is α* = α0·φ'(0)/(φ'(0) − φ'(α0)) (Nocedal & Wright
// 2006 eq. 5.6 without forming A), at one extra evaluation. On a quadratic with pᵀAp > 0 it is
// exact up to rounding, which conjugate gradients need for their n-step termination; on any
// other function it is a secant step, OK only if φ' grows along the ray (else it fails, and
// Minimize resets the direction).
type Exact struct{}

func (Exact) String() string { return "exact (quadratic)" }

// Search implements LineSearch.
func (Exact) Search(phi Phi, f0, df0, alpha0 float64) Step {
	if !(alpha0 > 0) || math.IsInf(alpha0, 0) {
		alpha0 = 1
	}
	f1, df1 := phi(alpha0)
	if !finite(f1) || !finite(df1) || !(df1 > df0) {
		return Step{Alpha: 0, F: f0, DF: df0, Evals: 1}
	}
	alpha := alpha0 * df0 / (df0 - df1)
	if alpha == alpha0 {
		return Step{Alpha: alpha, F: f1, DF: df1, Evals: 1, OK: true}
	}
	f, df := phi(alpha)
	if !finite(f) || !finite(df) {
		return Step{Alpha: 0, F: f0, DF: df0, Evals: 2}
	}
	return Step{Alpha: alpha, F: f, DF: df, Evals: 2, OK: true}
}

// Armijo is backtracking until sufficient decrease, φ(α) ≤ φ(0) + C1·α·φ'(0)
// (Nocedal & Wright 2006, Alg. 3.1), with safeguarded quadratic interpolation for the next trial.
type Armijo struct {
	// C1 is the sufficient-decrease constant. If C1 is 0, it will be defaulted to 1e-4.
	C1 float64
	// MaxEvals bounds the trial points. If MaxEvals is 0, it will be defaulted to 40.
	MaxEvals int
}

func (ls Armijo) String() string { return "armijo" }

// Search implements LineSearch.
func (ls Armijo) Search(phi Phi, f0, df0, alpha0 float64) Step {
	c1 := orDefault(ls.C1, 1e-4)
	maxEvals := ls.MaxEvals
	if maxEvals == 0 {
		maxEvals = 40
	}
	best := Step{F: f0, DF: df0}
	alpha := alpha0
	for n := 1; n <= maxEvals; n++ {
		f, df := phi(alpha)
		best.Evals = n
		if finite(f) && finite(df) {
			if f < best.F {
				best.Alpha, best.F, best.DF = alpha, f, df
			}
			// Strict decrease too: at steps so small that c1·α·φ'(0) is below φ(0)'s rounding,
			// φ(α) = φ(0) would pass without progress, and Armijo has no curvature test.
			if f <= f0+c1*alpha*df0 && f < f0 {
				return Step{Alpha: alpha, F: f, DF: df, Evals: n, OK: true}
			}
			// Minimiser of the quadratic through φ(0), φ'(0), φ(α) (N&W eq. 3.57), kept in
			// [0.1α, 0.5α].
			q := -df0 * alpha * alpha / (2 * (f - f0 - df0*alpha))
			alpha = math.Min(math.Max(q, 0.1*alpha), 0.5*alpha)
		} else {
			alpha /= 2
		}
	}
	return best
}

// Wolfe is a line search for the strong Wolfe conditions (Nocedal & Wright 2006, Alg. 3.5
// bracketing and Alg. 3.6 zoom):
//
//	φ(α) ≤ φ(0) + C1·α·φ'(0)  and  |φ'(α)| ≤ C2·|φ'(0)|,
//
// with cubic interpolation (eq. 3.59) in the zoom, safeguarded to the interval's inner 98%.
type Wolfe struct {
	// C1 is the sufficient-decrease constant. If C1 is 0, it will be defaulted to 1e-4.
	C1 float64
	// C2 is the curvature constant. If C2 is 0, it will be defaulted to 0.9.
	C2 float64
	// MaxEvals bounds the trial points. If MaxEvals is 0, it will be defaulted to 30.
	MaxEvals int
	// MaxStep bounds α during bracketing. If MaxStep is 0, it will be defaulted to 1e10.
	MaxStep float64
}

func (ls Wolfe) String() string { return "wolfe" }

// Search implements LineSearch.
func (ls Wolfe) Search(phi Phi, f0, df0, alpha0 float64) Step {
	c1, c2 := orDefault(ls.C1, 1e-4), orDefault(ls.C2, 0.9)
	maxStep := orDefault(ls.MaxStep, 1e10)
	maxEvals := ls.MaxEvals
	if maxEvals == 0 {
		maxEvals = 30
	}
	best := Step{F: f0, DF: df0} // lowest φ seen
	n := 0
	eval := func(a float64) (float64, float64) {
		n++
		f, df := phi(a)
		if finite(f) && finite(df) && f < best.F {
			best.Alpha, best.F, best.DF = a, f, df
		}
		return f, df
	}
	done := func(a, f, df float64) Step { return Step{Alpha: a, F: f, DF: df, Evals: n, OK: true} }
	fail := func() Step {
		best.Evals = n
		return best
	}
	// When c1·α·φ'(0) is below φ(0)'s rounding, φ(α) = φ(0) passes; the curvature test then
	// still demands progress in the slope, which is what is left to measure near a minimum.
	sufficient := func(a, f float64) bool { return f <= f0+c1*a*df0 }
	curvature := func(df float64) bool { return math.Abs(df) <= -c2*df0 }

	// zoom (Alg. 3.6): lo satisfies sufficient decrease with the lowest φ so far, and
	// φ'(lo)·(hi − lo) < 0, so [lo, hi] holds a strong Wolfe point.
	//
	// The trial is the cubic interpolant's minimiser if it lies in the interval's inner 98%, or
	// the midpoint if the last two trials did not shrink the interval to 2/3 of its width
	// (Moré & Thuente 1994's safeguard, so the interval shrinks at a linear rate at worst).
	zoom := func(lo, flo, dflo, hi, fhi, dfhi float64) Step {
		var width [2]float64 // the interval's width one and two trials ago
		for trials := 0; n < maxEvals; trials++ {
			w := math.Abs(hi - lo)
			a := (lo + hi) / 2
			if trials < 2 || w <= 0.66*width[1] {
				c := cubicMin(lo, flo, dflo, hi, fhi, dfhi)
				if finite(fhi) && finite(dfhi) && c >= math.Min(lo, hi)+0.01*w && c <= math.Max(lo, hi)-0.01*w {
					a = c
				}
			}
			width[1], width[0] = width[0], w
			f, df := eval(a)
			// f > flo, not ≥: when φ is flat to rounding, ties are decided by the slope.
			switch {
			case !finite(f) || !finite(df) || !sufficient(a, f) || f > flo:
				hi, fhi, dfhi = a, f, df
			default:
				if curvature(df) {
					return done(a, f, df)
				}
				if df*(hi-lo) >= 0 {
					hi, fhi, dfhi = lo, flo, dflo
				}
				lo, flo, dflo = a, f, df
			}
			if math.Abs(hi-lo) <= 1e-16*math.Max(math.Abs(lo), math.Abs(hi)) {
				break
			}
		}
		return fail()
	}

	prev, fprev, dfprev := 0.0, f0, df0
	a := math.Min(alpha0, maxStep)
	for n < maxEvals {
		f, df := eval(a)
		if !finite(f) || !finite(df) {
			// Outside the domain: the bracket is [prev, a]; shrink toward prev.
			return zoom(prev, fprev, dfprev, a, f, df)
		}
		if !sufficient(a, f) || (n > 1 && f >= fprev) {
			return zoom(prev, fprev, dfprev, a, f, df)
		}
		if curvature(df) {
			return done(a, f, df)
		}
		if df >= 0 {
			return zoom(a, f, df, prev, fprev, dfprev)
		}
		if a >= maxStep {
			break
		}
		prev, fprev, dfprev = a, f, df
		a = math.Min(2*a, maxStep)
	}
	return fail()
}

// cubicMin is the minimiser of the cubic interpolating φ and φ' at a and b (Nocedal & Wright
// eq. 3.59); NaN if it does not exist.
func cubicMin(a, fa, dfa, b, fb, dfb float64) float64 {
	d1 := dfa + dfb - 3*(fa-fb)/(a-b)
	disc := d1*d1 - dfa*dfb
	if disc < 0 {
		return math.NaN()
	}
	d2 := math.Copysign(math.Sqrt(disc), b-a)
	return b - (b-a)*(dfb+d2-d1)/(dfb-dfa+2*d2)
}

func orDefault(x, def float64) float64 {
	if x == 0 {
		return def
	}
	return x
}
