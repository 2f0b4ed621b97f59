package funcs

import (
	"fmt"
	"sync/atomic"

	"gonum.org/v1/gonum/optimize/functions"

	"qnlab/pkg/backend"
)

// Function is a function with a gradient evaluated on the host, as gonum's
// optimize/functions types are: Grad writes ∇f(x) into grad.
type Function interface {
	Func(x []float64) float64
	Grad(grad, x []float64)
}

// Problem is a benchmark problem: a gonum function, its dimension and its standard start.
// Its Eval method counts evaluations, so use a Problem for one run at a time or read Evals
// as a total; MGH returns new Problems on every call.
type Problem struct {
	// Name is the gonum type name, e.g. "BiggsEXP6".
	Name string
	// MGH is the problem's number in Moré, Garbow & Hillstrom (1981), or 0 if it is not one of
	// their 35 problems (Biggs EXP2–EXP5; ExtendedRosenbrock for Dim > 2, see MGH).
	MGH int
	// F is the gonum function (a value of a gonum.org/v1/gonum/optimize/functions type).
	F Function
	// Dim is the dimension n; X0 is the standard starting point, of length Dim.
	Dim int
	X0  []float64

	evals atomic.Int64
}

// RunsOn reports that a Problem is evaluated on the host (gonum's Go code).
func (p *Problem) RunsOn() backend.Path { return backend.Host }

// String returns "Name/Dim".
func (p *Problem) String() string { return fmt.Sprintf("%s/%d", p.Name, p.Dim) }

// Eval returns f(x) and writes ∇f(x) into grad; a nil grad asks for f(x) only. x and a non-nil
// grad must have length Dim. A NaN or ±Inf result is returned as computed; a panic in the
// gonum function (HelicalValley is undefined at x_1 = 0) is returned as an error.
func (p *Problem) Eval(x, grad []float64) (fx float64, err error) {
	if len(x) != p.Dim {
		return 0, fmt.Errorf("funcs: %s: x has length %d, want %d", p, len(x), p.Dim)
	}
	if grad != nil && len(grad) != p.Dim {
		return 0, fmt.Errorf("funcs: %s: grad has length %d, want %d", p, len(grad), p.Dim)
	}
	defer func() {
		if r := recover(); r != nil {
			fx, err = 0, fmt.Errorf("funcs: %s at %v: %v", p, x, r)
		}
	}()
	p.evals.Add(1)
	fx = p.F.Func(x)
	if grad != nil {
		p.F.Grad(grad, x)
	}
	return fx, nil
}

// Evals returns how many times Eval has evaluated f.
func (p *Problem) Evals() int { return int(p.evals.Load()) }

// MGH returns the Moré–Garbow–Hillstrom problems that gonum's optimize/functions implements
// with a gradient, at the dimensions MGH define or gonum's own tests use, each from its
// standard starting point (MGH 1981 §3; Biggs EXP2–EXP5: Biggs 1971, as gonum documents).
//
// Notes on gonum's versions: ExtendedRosenbrock is the chained form (see Rosenbrock), which
// equals MGH problem 21 only for n = 2; ExtendedPowellSingular is MGH 22 (13 for n = 4), whose
// start is (3, −1, 0, 1, …) as used here (gonum's documentation and tests use (3, −1, 0, 3, …));
// Box3D, BrownAndDennis, BiggsEXP6 and GulfResearchAndDevelopment fix MGH's free number of
// residuals m at 10, 20, 13 and 99.
//
// References:
//   - Moré, J.J., Garbow, B.S., Hillstrom, K.E.: Testing unconstrained optimization software.
//     ACM Trans. Math. Softw. 7(1), 17–41 (1981).
//   - Biggs, M.C.: Minimization algorithms making use of non-quadratic properties of the
//     objective function. J. Inst. Math. Appl. 8, 315–327 (1971).
func MGH() []*Problem {
	var ps []*Problem
	add := func(name string, number int, f Function, x0 ...float64) {
		ps = append(ps, &Problem{Name: name, MGH: number, F: f, Dim: len(x0), X0: x0})
	}
	add("PowellBadlyScaled", 3, functions.PowellBadlyScaled{}, 0, 1)
	add("BrownBadlyScaled", 4, functions.BrownBadlyScaled{}, 1, 1)
	add("Beale", 5, functions.Beale{}, 1, 1)
	add("HelicalValley", 7, functions.HelicalValley{}, -1, 0, 0)
	add("Gaussian", 9, functions.Gaussian{}, 0.4, 1, 0)
	add("GulfResearchAndDevelopment", 11, functions.GulfResearchAndDevelopment{}, 5, 2.5, 0.15)
	add("Box3D", 12, functions.Box3D{}, 0, 10, 20)
	add("Wood", 14, functions.Wood{}, -3, -1, -3, -1)
	add("BrownAndDennis", 16, functions.BrownAndDennis{}, 25, 5, -5, -1)
	add("BiggsEXP2", 0, functions.BiggsEXP2{}, 1, 2)
	add("BiggsEXP3", 0, functions.BiggsEXP3{}, 1, 2, 1)
	add("BiggsEXP4", 0, functions.BiggsEXP4{}, 1, 2, 1, 1)
	add("BiggsEXP5", 0, functions.BiggsEXP5{}, 1, 2, 1, 1, 1)
	add("BiggsEXP6", 18, functions.BiggsEXP6{}, 1, 2, 1, 1, 1, 1)
	for _, n := range []int{6, 9, 12} {
		add("Watson", 20, functions.Watson{}, make([]float64, n)...) // x0 = 0
	}
	for _, n := range []int{2, 4, 10} {
		number := 0
		if n == 2 {
			number = 1 // MGH 1, Rosenbrock; for n > 2 gonum's chained form is not MGH 21
		}
		x0 := make([]float64, n) // (−1.2, 1, −1.2, 1, …)
		for i := range x0 {
			x0[i] = 1
			if i%2 == 0 {
				x0[i] = -1.2
			}
		}
		add("ExtendedRosenbrock", number, functions.ExtendedRosenbrock{}, x0...)
	}
	for _, n := range []int{4, 8} {
		x0 := make([]float64, n) // (3, −1, 0, 1) repeated
		for i := range x0 {
			x0[i] = []float64{3, -1, 0, 1}[i%4]
		}
		number := 22
		if n == 4 {
			number = 13 // Powell singular
		}
		add("ExtendedPowellSingular", number, functions.ExtendedPowellSingular{}, x0...)
	}
	for _, n := range []int{4, 10} {
		x0 := make([]float64, n) // x0_j = j
		for j := range x0 {
			x0[j] = float64(j + 1)
		}
		add("PenaltyI", 23, functions.PenaltyI{}, x0...)
	}
	for _, n := range []int{4, 10} {
		add("PenaltyII", 24, functions.PenaltyII{}, fill(n, 0.5)...)
	}
	for _, n := range []int{2, 10, 100} {
		x0 := make([]float64, n) // x0_j = 1 − j/n
		for j := range x0 {
			x0[j] = 1 - float64(j+1)/float64(n)
		}
		add("VariablyDimensioned", 25, functions.VariablyDimensioned{}, x0...)
	}
	for _, n := range []int{5, 10} {
		add("Trigonometric", 26, functions.Trigonometric{}, fill(n, 1/float64(n))...)
	}
	return ps
}
