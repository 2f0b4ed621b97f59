package precond

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
)

// InverseRoot returns A^{−1/p} of a symmetric positive definite matrix A [n, n] by iters steps of
// the coupled Newton iteration (Guo & Higham 2006): with z = (1+p)/(2‖A‖_F), X₀ = z^{1/p}·I and
// M₀ = z·A, each step sets T = ((p+1)·I − M)/p, X ← X·T, M ← T^p·M. The invariant M = X^p·A holds
// throughout (all iterates are polynomials in A and commute), and M → I, so X → A^{−1/p}; the
// scaling z puts A's spectrum in (0, (1+p)/2], where the iteration converges. Only matrix
// products: every backend runs them fast. Regularise A (A + εI) before calling it.
func InverseRoot(A *Node, p, iters int) *Node {
	if A.Rank() != 2 || A.Shape().Dimensions[0] != A.Shape().Dimensions[1] {
		panic(fmt.Errorf("precond: InverseRoot of a %s, want a square matrix", A.Shape()))
	}
	if p < 1 || iters < 1 {
		panic(fmt.Errorf("precond: InverseRoot with p = %d, iters = %d, want both ≥ 1", p, iters))
	}
	g, n, dtype := A.Graph(), A.Shape().Dimensions[0], A.DType()
	eye := DiagonalWithValue(ScalarOne(g, dtype), n)
	z := Div(Scalar(g, dtype, float64(1+p)/2), Sqrt(ReduceAllSum(Mul(A, A))))
	X := Mul(Pow(z, Scalar(g, dtype, 1/float64(p))), eye)
	M := Mul(z, A)
	for range iters {
		T := DivScalar(Sub(MulScalar(eye, float64(p+1)), M), float64(p))
		X = MatMul(X, T)
		Tp := T
		for range p - 1 {
			Tp = MatMul(Tp, T)
		}
		M = MatMul(Tp, M)
	}
	return X
}
