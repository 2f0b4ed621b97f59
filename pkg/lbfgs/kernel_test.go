package lbfgs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
)

var (
	kernelsOnce sync.Once
	kernels     map[dtypes.DType]*Kernel
)

// testKernel returns a shared kernel per dtype on the default backend.
func testKernel(t testing.TB, dtype dtypes.DType) *Kernel {
	t.Helper()
	kernelsOnce.Do(func() {
		kernels = map[dtypes.DType]*Kernel{}
		for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
			k, err := NewKernel(backend.MustDefault(), dt)
			if err != nil {
				panic(err)
			}
			kernels[dt] = k
		}
	})
	return kernels[dtype]
}

// randomHistory is RandomHistory with a seed drawn from rng.
func randomHistory(t testing.TB, rng *rand.Rand, m, d int) *History {
	t.Helper()
	h, err := RandomHistory(m, d, rng.Uint64())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func randomVector(rng *rand.Rand, d int) []float64 { return RandomVector(d, rng.Uint64()) }

// denseDirection is −H_k·g with H_k from formula (2).
func denseDirection(h *History, g []float64) []float64 {
	H := DenseInverseHessian(h.Pairs(), h.Gamma())
	var d mat.VecDense
	d.MulVec(H, mat.NewVecDense(len(g), g))
	d.ScaleVec(-1, &d)
	return d.RawVector().Data
}

func relErr(got, want []float64) float64 {
	var num, den float64
	for i := range want {
		num += (got[i] - want[i]) * (got[i] - want[i])
		den += want[i] * want[i]
	}
	return math.Sqrt(num / den)
}

// TestKernelMatchesFormula2 is issue #3's acceptance test: the graph kernel equals formula (2)
// on random pairs for m ∈ {1, 2, 5, 10, 20} and d from 2 to 500.
func TestKernelMatchesFormula2(t *testing.T) {
	tol := map[dtypes.DType]float64{dtypes.Float64: 1e-10, dtypes.Float32: 1e-4}
	worst := map[dtypes.DType]float64{}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range []int{1, 2, 5, 10, 20} {
		for _, d := range []int{2, 3, 17, 100, 500} {
			h := randomHistory(t, rng, m, d)
			g := randomVector(rng, d)
			want := denseDirection(h, g)
			for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
				got, gamma, err := testKernel(t, dt).Direction(h, g)
				if err != nil {
					t.Fatal(err)
				}
				e := relErr(got, want)
				worst[dt] = max(worst[dt], e)
				if e > tol[dt] {
					t.Errorf("%s m=%d d=%d: relative error %.3g > %g", dt, m, d, e, tol[dt])
				}
				if gr := math.Abs(gamma-h.Gamma()) / h.Gamma(); gr > tol[dt] {
					t.Errorf("%s m=%d d=%d: γ = %g, want %g", dt, m, d, gamma, h.Gamma())
				}
			}
		}
	}
	t.Logf("worst relative error vs formula (2): float64 %.2g, float32 %.2g", worst[dtypes.Float64], worst[dtypes.Float32])
}

// TestFormula2EqualsRepeatedUpdate checks formula (2) against m applications of update (1).
func TestFormula2EqualsRepeatedUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range [][2]int{{1, 4}, {5, 30}, {20, 60}} {
		h := randomHistory(t, rng, c[0], c[1])
		H2 := DenseInverseHessian(h.Pairs(), h.Gamma())
		Hs := DenseUpdates(h.Pairs(), h.Gamma())
		H1 := Hs[len(Hs)-1]
		var diff mat.Dense
		diff.Sub(H2, H1)
		if e := mat.Norm(&diff, 2) / mat.Norm(H1, 2); e > 1e-12 {
			t.Errorf("m=%d d=%d: ‖(2) − (1)^m‖/‖H‖ = %.3g", c[0], c[1], e)
		}
	}
}

func TestEmptyHistoryIsSteepestDescent(t *testing.T) {
	g := []float64{1, -2, 3}
	for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
		d, gamma, err := testKernel(t, dt).Direction(&History{}, g)
		if err != nil {
			t.Fatal(err)
		}
		if gamma != 1 || d[0] != -1 || d[1] != 2 || d[2] != -3 {
			t.Errorf("%s: empty history gave d=%v γ=%g, want −g and 1", dt, d, gamma)
		}
	}
}

func TestKernelRejectsBadGradient(t *testing.T) {
	k := testKernel(t, dtypes.Float64)
	h := randomHistory(t, rand.New(rand.NewPCG(5, 6)), 2, 3)
	for _, g := range [][]float64{nil, {1, 2}, {1, math.NaN(), 0}, {math.Inf(-1), 0, 0}} {
		if _, _, err := k.Direction(h, g); err == nil {
			t.Errorf("Direction accepted g=%v", g)
		}
	}
	if _, err := NewKernel(backend.MustDefault(), dtypes.Int32); err == nil {
		t.Error("NewKernel accepted Int32")
	}
}

// TestTwoLoopOverParameterList runs TwoLoop on a gradient split into tensors of different
// shapes (as a model's parameters are) and checks it equals the flat computation.
func TestTwoLoopOverParameterList(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := [][]int{{2, 3}, {5}, {4, 1, 2}}
	d := 6 + 5 + 8
	h := randomHistory(t, rng, 4, d)
	g := randomVector(rng, d)
	split := func(v []float64) []any {
		var out []any
		off := 0
		for _, sh := range shapes {
			n := 1
			for _, x := range sh {
				n *= x
			}
			out = append(out, tensors.FromFlatDataAndDimensions(v[off:off+n], sh...))
			off += n
		}
		return out
	}
	np := len(shapes)
	exec := MustNewExec(backend.MustDefault(), func(in []*Node) []*Node {
		m := (len(in)/np - 1) / 2
		gl := in[:np]
		s, y := make([][]*Node, m), make([][]*Node, m)
		for i := range m {
			s[i] = in[np*(1+i) : np*(2+i)]
			y[i] = in[np*(1+m+i) : np*(2+m+i)]
		}
		d, gamma := TwoLoop(gl, s, y)
		return append(d, gamma)
	})
	args := split(g)
	for _, p := range h.Pairs() {
		args = append(args, split(p.S)...)
	}
	for _, p := range h.Pairs() {
		args = append(args, split(p.Y)...)
	}
	out := exec.MustExec(args...)
	var got []float64
	for _, o := range out[:np] {
		got = append(got, tensors.MustCopyFlatData[float64](o)...)
	}
	want, _, err := testKernel(t, dtypes.Float64).Direction(h, g)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(got, want); e > 1e-14 {
		t.Errorf("split into %v: relative error %.3g vs the flat kernel", shapes, e)
	}
}

// TestTraceFollowsTheProof checks each step of the proof of Alg. 7.4 on the graph's own
// intermediate vectors: q_i = V_i⋯V_{k-1}·g and r_i = H^{(i+1)}·q_{i+1}.
func TestTraceFollowsTheProof(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	m, d := 6, 40
	h := randomHistory(t, rng, m, d)
	g := randomVector(rng, d)
	tr, err := testKernel(t, dtypes.Float64).Recursion(h, g)
	if err != nil {
		t.Fatal(err)
	}
	pairs := h.Pairs()
	Hs := DenseUpdates(pairs, h.Gamma())
	q := mat.NewVecDense(d, append([]float64(nil), g...)) // q_m = g
	for i := m - 1; i >= 0; i-- {
		qNext := mat.VecDenseCopyOf(q)
		// q_i = V_i q_{i+1} = q_{i+1} − ρ_i y_i (s_iᵀ q_{i+1}).
		s, y := mat.NewVecDense(d, pairs[i].S), mat.NewVecDense(d, pairs[i].Y)
		q.AddScaledVec(q, -pairs[i].Rho*mat.Dot(s, qNext), y)
		if e := relErr(tr.Q[i], q.RawVector().Data); e > 1e-12 {
			t.Errorf("q_%d: relative error %.3g", i, e)
		}
		var r mat.VecDense
		r.MulVec(Hs[i+1], qNext)
		if e := relErr(tr.R[i], r.RawVector().Data); e > 1e-12 {
			t.Errorf("r_%d = H^(%d) q_%d: relative error %.3g", i, i+1, i+1, e)
		}
	}
}

func ExampleKernel_Direction() {
	h, _ := NewHistory(5, 0)
	_ = h.Push([]float64{1, 0}, []float64{2, 0}) // curvature 2 along e₁
	_ = h.Push([]float64{0, 1}, []float64{0, 4}) // curvature 4 along e₂
	k, _ := NewKernel(backend.MustDefault(), dtypes.Float64)
	d, gamma, _ := k.Direction(h, []float64{2, 4})
	fmt.Printf("d = [%.2f %.2f], γ = %.2f\n", d[0], d[1], gamma)
	// Output: d = [-1.00 -1.00], γ = 0.25
}

func TestFloat32KernelRejectsOverflow(t *testing.T) {
	h, _ := NewHistory(2, 0)
	if err := h.Push([]float64{1e39, 0}, []float64{1e39, 0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := testKernel(t, dtypes.Float32).Direction(h, []float64{1, 1}); err == nil || !strings.Contains(err.Error(), "s[0][0]") {
		t.Errorf("float32 kernel on 1e39: err = %v, want an overflow error naming s[0][0]", err)
	}
	if _, _, err := testKernel(t, dtypes.Float64).Direction(h, []float64{1, 1}); err != nil {
		t.Errorf("float64 kernel on 1e39: %v", err)
	}
}
