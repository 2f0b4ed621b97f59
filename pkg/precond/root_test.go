package precond

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
	"qnlab/pkg/qn"
)

// TestInverseRootMatchesEigen: A^{−1/p} by the coupled Newton iteration equals V·diag(λ^{−1/p})·Vᵀ
// from gonum's dense eigendecomposition, for p = 1, 2, 4 and κ up to 1e4.
func TestInverseRootMatchesEigen(t *testing.T) {
	b := backend.MustDefault()
	const n = 12
	for _, kappa := range []float64{10, 1e4} {
		q, err := qn.Generate(n, 1, kappa, qn.LogUniform, 3)
		if err != nil {
			t.Fatal(err)
		}
		a := q.A()
		var es mat.EigenSym
		if !es.Factorize(a, true) {
			t.Fatal("eigendecomposition failed")
		}
		var v mat.Dense
		es.VectorsTo(&v)
		vals := es.Values(nil)
		flat := make([]float64, n*n)
		for i := range n {
			for j := range n {
				flat[i*n+j] = a.At(i, j)
			}
		}
		for _, p := range []int{1, 2, 4} {
			want := mat.NewDense(n, n, nil)
			for i := range n {
				for j := range n {
					s := 0.0
					for k := range n {
						s += v.At(i, k) * math.Pow(vals[k], -1/float64(p)) * v.At(j, k)
					}
					want.Set(i, j, s)
				}
			}
			iters := 40
			got := MustExecOnce(b, func(A *Node) *Node { return InverseRoot(A, p, iters) }, tensors.FromFlatDataAndDimensions(flat, n, n))
			g := tensors.MustCopyFlatData[float64](got)
			var diff, norm float64
			for i := range n {
				for j := range n {
					d := g[i*n+j] - want.At(i, j)
					diff, norm = diff+d*d, norm+want.At(i, j)*want.At(i, j)
				}
			}
			rel := math.Sqrt(diff / norm)
			t.Logf("κ = %g, p = %d, %d iterations: ‖X − A^{−1/p}‖_F / ‖A^{−1/p}‖_F = %.2e", kappa, p, iters, rel)
			if rel > 1e-9 {
				t.Errorf("κ = %g, p = %d: relative error %.2e > 1e-9", kappa, p, rel)
			}
		}
	}
}
