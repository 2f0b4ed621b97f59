package lbfgs

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
)

// gram returns SᵀY and YᵀY [m, m] of a padded history (rows of S and Y are the slots).
func gram(S, Y []float64, m, d int) (SY, YY []float64) {
	Sm, Ym := mat.NewDense(m, d, S), mat.NewDense(m, d, Y)
	var sy, yy mat.Dense
	sy.Mul(Sm, Ym.T())
	yy.Mul(Ym, Ym.T())
	return sy.RawMatrix().Data, yy.RawMatrix().Data
}

// TestCompactEqualsTwoLoop: the compact form's direction equals the kernel's (the two-loop) on
// the same pairs at every fill level, and its Gram update equals SᵀY, YᵀY of the new history —
// for both γ rules (the paper's checked against the two-loop direction).
func TestCompactEqualsTwoLoop(t *testing.T) {
	const m, d, d1 = 5, 30, 12
	for _, rule := range []GammaRule{GammaNewest, GammaPaper} {
		exec := MustNewExec(backend.MustDefault(), func(in []*Node) []*Node {
			g0, g1, S0, S1, Y0, Y1, SY, YY, count, accept, rho, yy := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8], in[9], in[10], in[11]
			g := []*Node{g0, g1}
			h := slotHistoryOf(slotsOf(S0, S1), slotsOf(Y0, Y1), rho, yy, count)
			dir, gamma, nSY, nYY := compact(g, h, SY, YY, GreaterThan(accept, ZerosLike(accept)), rule)
			ref := twoLoopDirection{}.direction(nil, h, g, nil, rule)
			refGamma := h.gamma(rule)
			return []*Node{dir[0], dir[1], gamma, nSY, nYY, ref[0], ref[1], refGamma}
		})
		full, err := RandomHistory(m, d, 41)
		if err != nil {
			t.Fatal(err)
		}
		g := RandomVector(d, 42)
		hist := func(k int) *History {
			h := &History{M: m}
			for _, p := range full.Pairs()[:k] {
				if err := h.Push(p.S, p.Y); err != nil {
					t.Fatal(err)
				}
			}
			return h
		}
		for k := 0; k <= m; k++ {
			for _, accept := range []bool{false, true} {
				if accept && k == 0 {
					continue
				}
				newH := hist(k)
				S, Y, rho, yy := padded(newH, m)
				if k == 0 {
					S, Y = make([]float64, m*d), make([]float64, m*d)
				}
				// The Gram matrices passed in: of the history before the new pair (accept) or after.
				before := newH
				if accept {
					before = hist(k - 1)
				}
				Sb, Yb, _, _ := padded(before, m)
				if before.Len() == 0 {
					Sb, Yb = make([]float64, m*d), make([]float64, m*d)
				}
				SY, YY := gram(Sb, Yb, m, d)
				S0, S1 := splitColumns(S, m, d, d1)
				Y0, Y1 := splitColumns(Y, m, d, d1)
				acc := 0.0
				if accept {
					acc = 1
				}
				out := exec.MustExec(g[:d1], g[d1:], S0, S1, Y0, Y1, tensors.FromFlatDataAndDimensions(SY, m, m),
					tensors.FromFlatDataAndDimensions(YY, m, m), float64(k), acc, rho, yy)
				got := append(tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])...)
				ref := append(tensors.MustCopyFlatData[float64](out[5]), tensors.MustCopyFlatData[float64](out[6])...)
				if e := relErr(got, ref); e > 1e-12 {
					t.Errorf("%v k=%d accept=%v: compact vs two-loop relative error %.3g", rule, k, accept, e)
				}
				if rule == GammaNewest {
					want, _, err := testKernel(t, dtypes.Float64).Direction(newH, g)
					if err != nil {
						t.Fatal(err)
					}
					if e := relErr(got, want); e > 1e-12 {
						t.Errorf("k=%d accept=%v: compact vs kernel relative error %.3g", k, accept, e)
					}
				}
				if g1, g2 := out[2].Value().(float64), out[7].Value().(float64); relErr([]float64{g1}, []float64{g2}) > 1e-14 {
					t.Errorf("%v k=%d: γ %g vs %g", rule, k, g1, g2)
				}
				wantSY, wantYY := gram(S, Y, m, d)
				if e := relErr(tensors.MustCopyFlatData[float64](out[3]), wantSY); k > 0 && e > 1e-13 {
					t.Errorf("%v k=%d accept=%v: SᵀY update relative error %.3g", rule, k, accept, e)
				}
				if e := relErr(tensors.MustCopyFlatData[float64](out[4]), wantYY); k > 0 && e > 1e-13 {
					t.Errorf("%v k=%d accept=%v: YᵀY update relative error %.3g", rule, k, accept, e)
				}
			}
		}
	}
}
