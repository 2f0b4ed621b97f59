package autodiff

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"

	"qnlab/pkg/backend"
)

// TestPadVJP checks the registered gradient of Pad against its definition: for
// f(x, fill) = Σ w ⊙ Pad(x, fill), ∂f/∂x[i] is w at the position x[i] lands on (0 if cropped)
// and ∂f/∂fill is the sum of w over the positions filled. The positions come from padding
// 1, 2, 3, … with fill 0, so start, end and interior padding are all covered. (Negative padding is refused: the go
// backend cannot run it and Slice's gradient never makes it.)
func TestPadVJP(t *testing.T) {
	be := backend.MustDefault()
	rng := rand.New(rand.NewPCG(8, 9))
	for _, c := range []struct {
		name   string
		dims   []int
		config []PadAxis
	}{
		{"start/end", []int{3, 4}, []PadAxis{{Start: 1, End: 2}, {Start: 0, End: 3}}},
		{"interior", []int{3, 4}, []PadAxis{{Start: 2, End: 1, Interior: 1}, {Interior: 2}}},
		{"interior and ends", []int{5, 6}, []PadAxis{{Start: 3, End: 2, Interior: 2}, {Start: 1, End: 0, Interior: 1}}},
		{"rank 4, one axis", []int{2, 3, 3, 2}, []PadAxis{{}, {Start: 1, End: 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, _ := randomTensor(rng, c.dims...)
			n := x.Shape().Size()
			ids := make([]float64, n)
			for i := range ids {
				ids[i] = float64(i + 1)
			}
			idT := tensors.FromFlatDataAndDimensions(ids, c.dims...)
			positions := MustExecOnce(be, func(id *Node) *Node {
				return Pad(id, ScalarZero(id.Graph(), id.DType()), c.config...)
			}, idT)
			pos := flat64(positions)
			w, wFlat := randomTensor(rng, positions.Shape().Dimensions...)
			fill := tensors.FromScalar(0.5)

			outs := MustExecOnceN(be, func(x, fill, w *Node) []*Node {
				y := Pad(x, fill, c.config...)
				return Gradient(ReduceAllSum(Mul(y, w)), x, fill)
			}, x, fill, w)
			dx, dFill := flat64(outs[0]), tensors.ToScalar[float64](outs[1])

			wantDx := make([]float64, n)
			var wantFill float64
			for j, p := range pos {
				if p == 0 {
					wantFill += wFlat[j]
				} else {
					wantDx[int(p)-1] = wFlat[j]
				}
			}
			for i := range wantDx {
				if dx[i] != wantDx[i] {
					t.Fatalf("d/dx\n got %v\nwant %v", dx, wantDx)
				}
			}
			if math.Abs(dFill-wantFill) > 1e-12*max(1, math.Abs(wantFill)) {
				t.Errorf("d/dfill = %v, want %v", dFill, wantFill)
			}
		})
	}
}

// TestSecondDerivativeThroughSlice checks a Hessian-vector product through strided Slices (whose
// gradient is a Pad) on f(x) = Σ_k c_k·(x[2k]·x[2k+1])²: H v is known in closed form.
func TestSecondDerivativeThroughSlice(t *testing.T) {
	be := backend.MustDefault()
	rng := rand.New(rand.NewPCG(10, 11))
	const n = 8
	x, xs := randomTensor(rng, n)
	v, vs := randomTensor(rng, n)
	cT, cs := randomTensor(rng, n/2)
	hv := flat64(MustExecOnce(be, func(x, v, c *Node) *Node {
		f := func(x *Node) *Node {
			even := Slice(x, AxisRange().Stride(2))
			odd := Slice(x, AxisRange(1).Stride(2))
			p := Mul(even, odd)
			return ReduceAllSum(Mul(c, Mul(p, p)))
		}
		g := Gradient(f(x), x)[0]
		return Gradient(ReduceAllSum(Mul(g, v)), x)[0]
	}, x, v, cT))
	for k := range n / 2 {
		a, b, va, vb, ck := xs[2*k], xs[2*k+1], vs[2*k], vs[2*k+1], cs[k]
		// f_k = c a²b²: H = c [[2b², 4ab], [4ab, 2a²]].
		wantA := ck * (2*b*b*va + 4*a*b*vb)
		wantB := ck * (4*a*b*va + 2*a*a*vb)
		if math.Abs(hv[2*k]-wantA) > 1e-12*max(1, math.Abs(wantA)) || math.Abs(hv[2*k+1]-wantB) > 1e-12*max(1, math.Abs(wantB)) {
			t.Fatalf("pair %d: Hv = (%v, %v), want (%v, %v)", k, hv[2*k], hv[2*k+1], wantA, wantB)
		}
	}
}
