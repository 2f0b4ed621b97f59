package precond

import (
	"fmt"
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
	"qnlab/pkg/qn"
)

// spd returns a symmetric positive definite n×n matrix with condition number kappa.
func spd(t testing.TB, n int, kappa float64, seed uint64) *mat.SymDense {
	t.Helper()
	q, err := qn.Generate(n, 1, kappa, qn.LogUniform, seed)
	if err != nil {
		t.Fatal(err)
	}
	return q.A()
}

// relDiff is ‖a − b‖_F / ‖b‖_F.
func relDiff(a, b mat.Matrix) float64 {
	var d mat.Dense
	d.Sub(a, b)
	return mat.Norm(&d, 2) / mat.Norm(b, 2)
}

// TestHostInverseRootMatchesGraph: the host's (S + εI)^{−1/p} (eigendecomposition) equals the
// graph's coupled Newton iteration on S + εI, and X^p·(S + εI) = I, for p = 1 and 4.
func TestHostInverseRootMatchesGraph(t *testing.T) {
	b := backend.MustDefault()
	const n, eps = 16, 1e-3
	s := spd(t, n, 1e3, 5)
	reg := mat.NewSymDense(n, nil)
	reg.CopySym(s)
	flat := make([]float64, n*n)
	for i := range n {
		reg.SetSym(i, i, reg.At(i, i)+eps)
	}
	for i := range n {
		for j := range n {
			flat[i*n+j] = reg.At(i, j)
		}
	}
	for _, p := range []int{1, 4} {
		host, err := HostInverseRoot(s, p, eps)
		if err != nil {
			t.Fatal(err)
		}
		got := MustExecOnce(b, func(A *Node) *Node { return InverseRoot(A, p, 40) }, tensors.FromFlatDataAndDimensions(flat, n, n))
		graph := mat.NewDense(n, n, tensors.MustCopyFlatData[float64](got))
		if rel := relDiff(host, graph); rel > 1e-10 {
			t.Errorf("p = %d: host and graph roots differ by %.2e (relative) > 1e-10", p, rel)
		}
		prod := mat.DenseCopyOf(reg)
		for range p {
			prod.Mul(host, prod)
		}
		if rel := relDiff(prod, eyeDense(n)); rel > 1e-10 {
			t.Errorf("p = %d: ‖X^p·(S+εI) − I‖/‖I‖ = %.2e > 1e-10", p, rel)
		}
	}
}

func eyeDense(n int) *mat.Dense {
	e := mat.NewDense(n, n, nil)
	for i := range n {
		e.Set(i, i, 1)
	}
	return e
}

// TestDampedInverses: K-FAC's factored damping inverts A + π√γ·I and G + √γ/π·I, with π
// chosen so that both get the same damping relative to their mean eigenvalue.
func TestDampedInverses(t *testing.T) {
	a, g := spd(t, 9, 1e2, 1), spd(t, 4, 1e2, 2)
	g.ScaleSym(1e-3, g) // a G factor much smaller than A, as gradients are
	const gamma = 1e-2
	aInv, gInv, err := DampedInverses(a, g, gamma)
	if err != nil {
		t.Fatal(err)
	}
	ta, tg := mat.Trace(a)/9, mat.Trace(g)/4
	pi := math.Sqrt(ta / tg)
	for _, c := range []struct {
		name string
		m    *mat.SymDense
		inv  *mat.SymDense
		d    float64
	}{{"A", a, aInv, pi * math.Sqrt(gamma)}, {"G", g, gInv, math.Sqrt(gamma) / pi}} {
		damped := mat.DenseCopyOf(c.m)
		for i := range damped.RawMatrix().Rows {
			damped.Set(i, i, damped.At(i, i)+c.d)
		}
		var prod mat.Dense
		prod.Mul(c.inv, damped)
		if rel := relDiff(&prod, eyeDense(damped.RawMatrix().Rows)); rel > 1e-10 {
			t.Errorf("%s: ‖inverse·(%s + d·I) − I‖ = %.2e > 1e-10", c.name, c.name, rel)
		}
	}
	// Equal relative damping: (π√γ)/mean eig(A) = (√γ/π)/mean eig(G).
	if ra, rg := pi*math.Sqrt(gamma)/ta, math.Sqrt(gamma)/pi/tg; math.Abs(ra-rg) > 1e-12*ra {
		t.Errorf("relative damping of A %.6g ≠ of G %.6g", ra, rg)
	}
}

// BenchmarkRefresh times the refreshes on the sizes SimpleCNN gives them — K-FAC's largest
// factor (fc1's A, 1569×1569, an inverse) and a Shampoo block (224×224, an inverse fourth
// root) — on the host (gonum: Cholesky, eigendecomposition) and in the graph (the coupled Newton
// iteration, 20 steps, on the pure-Go backend, compiled once before timing).
func BenchmarkRefresh(b *testing.B) {
	be := backend.MustDefault()
	for _, c := range []struct {
		n, p int
	}{{1569, 1}, {224, 4}} {
		s := spd(b, c.n, 1e3, 9)
		b.Run(fmt.Sprintf("host/n=%d/p=%d", c.n, c.p), func(b *testing.B) {
			for b.Loop() {
				if c.p == 1 {
					if _, err := dampedInverse(s, 1e-3); err != nil {
						b.Fatal(err)
					}
				} else if _, err := HostInverseRoot(s, c.p, 1e-3); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("graph/n=%d/p=%d", c.n, c.p), func(b *testing.B) {
			flat := make([]float32, c.n*c.n)
			for i := range c.n {
				for j := range c.n {
					flat[i*c.n+j] = float32(s.At(i, j))
				}
			}
			exec := MustNewExec(be, func(A *Node) *Node { return InverseRoot(A, c.p, 20) })
			in := tensors.FromFlatDataAndDimensions(flat, c.n, c.n)
			exec.MustExec(in)[0].MustFinalizeAll()
			for b.Loop() {
				exec.MustExec(in)[0].MustFinalizeAll()
			}
		})
	}
}
