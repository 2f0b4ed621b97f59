package lbfgs

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"qnlab/pkg/backend"
)

// slotsOf splits stacked histories [m, …] (one per parameter) into m slots of per-parameter rows.
func slotsOf(H ...*Node) [][]*Node {
	m := H[0].Shape().Dimensions[0]
	out := make([][]*Node, m)
	for i := range m {
		for _, h := range H {
			out[i] = append(out[i], Squeeze(Slice(h, AxisElem(i)), 0))
		}
	}
	return out
}

// splitColumns splits a padded history [m, d] into two parameters: columns [0, d1) and [d1, d).
func splitColumns(v []float64, m, d, d1 int) (*tensors.Tensor, *tensors.Tensor) {
	a, b := make([]float64, 0, m*d1), make([]float64, 0, m*(d-d1))
	for i := range m {
		a = append(a, v[i*d:i*d+d1]...)
		b = append(b, v[i*d+d1:(i+1)*d]...)
	}
	return tensors.FromFlatDataAndDimensions(a, m, d1), tensors.FromFlatDataAndDimensions(b, m, d-d1)
}

// padded returns the history as the optimizer stores it for one flat parameter: S, Y of shape
// [m, d] with the newest pair last and zero rows in front, ρ and yᵀy of shape [m].
func padded(h *History, m int) (S, Y, rho, yy []float64) {
	d := h.Dim()
	if d == 0 {
		return nil, nil, make([]float64, m), make([]float64, m)
	}
	S, Y, rho, yy = make([]float64, m*d), make([]float64, m*d), make([]float64, m), make([]float64, m)
	off := m - h.Len()
	for i, p := range h.Pairs() {
		copy(S[(off+i)*d:], p.S)
		copy(Y[(off+i)*d:], p.Y)
		rho[off+i] = p.Rho
		yy[off+i] = dot(p.Y, p.Y)
	}
	return S, Y, rho, yy
}

// slotHistoryOf builds a slot history from graph inputs.
func slotHistoryOf(s, y [][]*Node, rho, yy, count *Node) *slotHistory {
	return &slotHistory{m: len(s), s: s, y: y, rho: rho, yy: yy, count: count}
}

// TestTwoLoopDirectionEqualsKernel: the optimizer's direction over its slot history equals the
// kernel's on the same pairs, for every fill level 0…m, split into two parameters.
func TestTwoLoopDirectionEqualsKernel(t *testing.T) {
	const m, d, d1 = 6, 40, 15 // parameter 0 holds coordinates [0, d1), parameter 1 the rest
	exec := MustNewExec(backend.MustDefault(), func(in []*Node) []*Node {
		g0, g1, S0, S1, Y0, Y1, rho, yy, count := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8]
		h := slotHistoryOf(slotsOf(S0, S1), slotsOf(Y0, Y1), rho, yy, count)
		dir := twoLoopDirection{}.direction(nil, h, []*Node{g0, g1}, nil, GammaNewest)
		return []*Node{dir[0], dir[1], h.gamma(GammaNewest)}
	})
	rng := rand.New(rand.NewPCG(21, 22))
	full, err := RandomHistory(m, d, 23)
	if err != nil {
		t.Fatal(err)
	}
	g := randomVector(rng, d)
	for count := 0; count <= m; count++ {
		h := &History{M: m}
		for _, p := range full.Pairs()[m-count:] {
			if err := h.Push(p.S, p.Y); err != nil {
				t.Fatal(err)
			}
		}
		S, Y, rho, yy := padded(h, m)
		if count == 0 {
			S, Y = make([]float64, m*d), make([]float64, m*d)
		}
		S0, S1 := splitColumns(S, m, d, d1)
		Y0, Y1 := splitColumns(Y, m, d, d1)
		out := exec.MustExec(g[:d1], g[d1:], S0, S1, Y0, Y1, rho, yy, float64(count))
		got := append(tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])...)
		want, gamma, err := testKernel(t, dtypes.Float64).Direction(h, g)
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(got, want); e > 1e-13 {
			t.Errorf("count=%d: relative error %.3g vs the kernel", count, e)
		}
		if gg := out[2].Value().(float64); gg != gamma && (gg-gamma)/gamma > 1e-14 {
			t.Errorf("count=%d: γ = %g, kernel %g", count, gg, gamma)
		}
	}
}

// TestSlotHistoryPaperGamma: the seed code's γ uses the oldest pair's yᵀy.
func TestSlotHistoryPaperGamma(t *testing.T) {
	const m, d = 4, 10
	exec := MustNewExec(backend.MustDefault(), func(S, Y, rho, yy, count *Node) *Node {
		return slotHistoryOf(slotsOf(S), slotsOf(Y), rho, yy, count).gamma(GammaPaper)
	})
	full, _ := RandomHistory(m, d, 31)
	for count := 1; count <= m; count++ {
		h := &History{M: m}
		for _, p := range full.Pairs()[m-count:] {
			_ = h.Push(p.S, p.Y)
		}
		S, Y, rho, yy := padded(h, m)
		got := exec.MustExec1(tensors.FromFlatDataAndDimensions(S, m, d),
			tensors.FromFlatDataAndDimensions(Y, m, d), rho, yy, float64(count)).Value().(float64)
		ps := h.Pairs()
		newest, oldest := ps[len(ps)-1], ps[0]
		want := dot(newest.S, newest.Y) / dot(oldest.Y, oldest.Y)
		if d := (got - want) / want; d > 1e-14 || d < -1e-14 {
			t.Errorf("count=%d: paper γ = %g, want s_newᵀy_new/y_oldᵀy_old = %g", count, got, want)
		}
	}
}

// TestSlotHistoryPushMirrorsHistory: offering the same pairs to History.Push (host) and to
// slotHistory.push (graph) with the same Curvature test stores the same pairs in the same
// order: slots, ρ, yᵀy and count agree after every push, rejected pairs (no curvature,
// non-finite, or offered with isPair false) included.
func TestSlotHistoryPushMirrorsHistory(t *testing.T) {
	const m, d = 3, 8
	test := DefaultCurvature
	exec := MustNewExec(backend.MustDefault(), func(in []*Node) []*Node {
		S, Y, rho, yy, count, s, y, isPair := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]
		h := slotHistoryOf(slotsOf(S), slotsOf(Y), rho, yy, count)
		accept := h.push([]*Node{s}, []*Node{y}, GreaterThan(isPair, ZerosLike(isPair)), test)
		return []*Node{Stack(slotColumn(h.s), 0), Stack(slotColumn(h.y), 0), h.rho, h.yy, h.count, ConvertDType(accept, dtypes.Float64)}
	})
	rng := rand.New(rand.NewPCG(41, 42))
	host := &History{M: m, Eps: test.Eps}
	S, Y := make([]float64, m*d), make([]float64, m*d)
	rho, yy := make([]float64, m), make([]float64, m)
	count := 0.0
	for k := range 12 {
		s, y := randomVector(rng, d), randomVector(rng, d)
		for i := range y {
			y[i] = 0.5*s[i] + 0.1*y[i] // mostly positive curvature
		}
		isPair := 1.0
		switch k {
		case 3: // negative curvature
			for i := range y {
				y[i] = -s[i]
			}
		case 5:
			y[2] = math.Inf(1)
		case 7:
			s[0] = math.NaN()
		case 9: // a first step: no pair to offer
			isPair = 0
		}
		out := exec.MustExec(tensors.FromFlatDataAndDimensions(S, m, d), tensors.FromFlatDataAndDimensions(Y, m, d), rho, yy, count, s, y, isPair)
		S, Y = tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
		rho, yy = tensors.MustCopyFlatData[float64](out[2]), tensors.MustCopyFlatData[float64](out[3])
		count = out[4].Value().(float64)
		accepted := out[5].Value().(float64) == 1
		hostErr := error(nil)
		if isPair == 1 {
			hostErr = host.Push(s, y)
		}
		if accepted != (isPair == 1 && hostErr == nil) {
			t.Fatalf("pair %d: graph accepted %v, host error %v", k, accepted, hostErr)
		}
		wS, wY, wRho, wYY := padded(host, m)
		if host.Len() == 0 {
			wS, wY = make([]float64, m*d), make([]float64, m*d)
		}
		if count != float64(host.Len()) || relErr(S, wS) > 0 || relErr(Y, wY) > 0 || relErr(rho, wRho) > 1e-15 || relErr(yy, wYY) > 1e-15 {
			t.Fatalf("pair %d: graph count %g, host %d; slots equal: %v %v; ρ %v vs %v; yᵀy %v vs %v",
				k, count, host.Len(), relErr(S, wS) == 0, relErr(Y, wY) == 0, rho, wRho, yy, wYY)
		}
	}
	if host.Len() != m {
		t.Errorf("the test never filled the history: %d pairs", host.Len())
	}
}

// slotColumn returns each slot's only parameter (a one-parameter history).
func slotColumn(slots [][]*Node) []*Node {
	out := make([]*Node, len(slots))
	for i := range slots {
		out[i] = slots[i][0]
	}
	return out
}
