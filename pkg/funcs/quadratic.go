package funcs

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/core/graph"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Quadratic returns f(x) = ½xᵀAx − bᵀx for a symmetric positive definite n×n A and b ∈ ℝⁿ.
// Its minimizer is the solution of Ax = b, x* = A⁻¹b (by Cholesky), with f* = −½bᵀx*; Start
// is 0. A must be symmetric to rounding (|A − Aᵀ| ≤ 1e-12·max|a_ij| entrywise), is then used
// as ½(A + Aᵀ), and must have a Cholesky factorization with an estimated condition number
// below 1/ε (ε = 2⁻⁵²); otherwise Quadratic returns an error naming the problem.
func Quadratic(A mat.Matrix, b []float64) (*Func, error) {
	if A == nil {
		return nil, fmt.Errorf("funcs: quadratic: A is nil")
	}
	n, c := A.Dims()
	if n != c || n == 0 {
		return nil, fmt.Errorf("funcs: quadratic: A is %d×%d, want square and non-empty", n, c)
	}
	if len(b) != n {
		return nil, fmt.Errorf("funcs: quadratic: b has length %d, A is %d×%d", len(b), n, n)
	}
	if i := firstNonFinite(b); i >= 0 {
		return nil, fmt.Errorf("funcs: quadratic: b[%d] = %g is not finite", i, b[i])
	}
	scale := 0.0
	for i := range n {
		for j := range n {
			a := A.At(i, j)
			if math.IsNaN(a) || math.IsInf(a, 0) {
				return nil, fmt.Errorf("funcs: quadratic: A[%d,%d] = %g is not finite", i, j, a)
			}
			scale = math.Max(scale, math.Abs(a))
		}
	}
	if !mat.EqualApprox(A, A.T(), 1e-12*scale) {
		i, j := worstAsymmetry(A)
		return nil, fmt.Errorf("funcs: quadratic: A is not symmetric: A[%d,%d] = %g, A[%d,%d] = %g",
			i, j, A.At(i, j), j, i, A.At(j, i))
	}
	sym := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, (A.At(i, j)+A.At(j, i))/2)
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(sym) {
		return nil, fmt.Errorf("funcs: quadratic: A is not positive definite (Cholesky factorization failed)")
	}
	if cond := chol.Cond(); !(cond < 1/epsilon) {
		return nil, fmt.Errorf("funcs: quadratic: A is numerically singular (condition number %g)", cond)
	}
	xstar := mat.NewVecDense(n, nil)
	if err := chol.SolveVecTo(xstar, mat.NewVecDense(n, append([]float64(nil), b...))); err != nil {
		return nil, fmt.Errorf("funcs: quadratic: solving Ax = b: %w", err)
	}
	minimizer := xstar.RawVector().Data
	rows := make([][]float64, n) // A as a constant for the graph
	for i := range rows {
		rows[i] = make([]float64, n)
		for j := range rows[i] {
			rows[i][j] = sym.At(i, j)
		}
	}
	bc := append([]float64(nil), b...)
	return &Func{
		Name: "quadratic",
		Dim:  n,
		Graph: func(x *graph.Node) *graph.Node {
			checkShape("quadratic", x, n)
			ax := graph.Einsum("ij,j->i", graph.ConstAs(x, rows), x)
			return graph.Sub(graph.MulScalar(graph.DotProduct(x, ax), 0.5), graph.DotProduct(graph.ConstAs(x, bc), x))
		},
		Host:      hostQuadratic(sym, bc),
		Minimizer: minimizer,
		Min:       -0.5 * floats.Dot(b, minimizer),
		Start:     make([]float64, n),
	}, nil
}

// epsilon is float64's machine epsilon 2⁻⁵².
const epsilon = 0x1p-52

// worstAsymmetry returns the (i, j) with the largest |A[i,j] − A[j,i]|.
func worstAsymmetry(A mat.Matrix) (wi, wj int) {
	n, _ := A.Dims()
	worst := -1.0
	for i := range n {
		for j := i + 1; j < n; j++ {
			if d := math.Abs(A.At(i, j) - A.At(j, i)); d > worst {
				worst, wi, wj = d, i, j
			}
		}
	}
	return wi, wj
}

// firstNonFinite returns the index of the first NaN or ±Inf in v, or −1.
func firstNonFinite(v []float64) int {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return i
		}
	}
	return -1
}
