package lbfgs

import (
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
// [m, d] with the newest pair last and zero rows in front, ρ of shape [m].
func padded(h *History, m int) (S, Y []float64, rho []float64) {
	d := h.Dim()
	S, Y, rho = make([]float64, m*d), make([]float64, m*d), make([]float64, m)
	off := m - h.Len()
	for i, p := range h.Pairs() {
		copy(S[(off+i)*d:], p.S)
		copy(Y[(off+i)*d:], p.Y)
		rho[off+i] = p.Rho
	}
	return S, Y, rho
}

// TestMaskedDirectionEqualsKernel: the optimizer's fixed-capacity direction equals the kernel's
// on the same pairs, for every fill level 0…m of the history, split into two parameters.
func TestMaskedDirectionEqualsKernel(t *testing.T) {
	const m, d, d1 = 6, 40, 15 // parameter 0 holds coordinates [0, d1), parameter 1 the rest
	exec := MustNewExec(backend.MustDefault(), func(in []*Node) []*Node {
		g0, g1, S0, S1, Y0, Y1, rho, count := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]
		dir, gamma := MaskedDirection([]*Node{g0, g1}, slotsOf(S0, S1), slotsOf(Y0, Y1), rho, count, GammaNewest)
		return []*Node{dir[0], dir[1], gamma}
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
		if count == 0 {
			h = &History{}
		}
		S, Y, rho := padded(h, m)
		if count == 0 {
			S, Y = make([]float64, m*d), make([]float64, m*d)
		}
		S0, S1 := splitColumns(S, m, d, d1)
		Y0, Y1 := splitColumns(Y, m, d, d1)
		out := exec.MustExec(g[:d1], g[d1:], S0, S1, Y0, Y1, rho, float64(count))
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

// TestMaskedDirectionPaperGamma: the seed code's γ uses the oldest pair's yᵀy.
func TestMaskedDirectionPaperGamma(t *testing.T) {
	const m, d = 4, 10
	exec := MustNewExec(backend.MustDefault(), func(g, S, Y, rho, count *Node) *Node {
		_, gamma := MaskedDirection([]*Node{g}, slotsOf(S), slotsOf(Y), rho, count, GammaPaper)
		return gamma
	})
	full, _ := RandomHistory(m, d, 31)
	for count := 1; count <= m; count++ {
		h := &History{M: m}
		for _, p := range full.Pairs()[m-count:] {
			_ = h.Push(p.S, p.Y)
		}
		S, Y, rho := padded(h, m)
		got := exec.MustExec1(RandomVector(d, 1), tensors.FromFlatDataAndDimensions(S, m, d),
			tensors.FromFlatDataAndDimensions(Y, m, d), rho, float64(count)).Value().(float64)
		ps := h.Pairs()
		newest, oldest := ps[len(ps)-1], ps[0]
		want := dot(newest.S, newest.Y) / dot(oldest.Y, oldest.Y)
		if d := (got - want) / want; d > 1e-14 || d < -1e-14 {
			t.Errorf("count=%d: paper γ = %g, want s_newᵀy_new/y_oldᵀy_old = %g", count, got, want)
		}
	}
}
