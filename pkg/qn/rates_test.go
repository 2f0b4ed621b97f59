package qn

import (
	"fmt"
	"math"
	"sync"
	"testing"
)

// The property grid of issue #5: 20 seeds × n ∈ {5, 20, 50} × L/μ ∈ {10, 100, 1000}, the
// spectrum cycling with the seed.
var (
	gridSeeds  = 20
	gridDims   = []int{5, 20, 50}
	gridKappas = []float64{10, 100, 1000}
)

type gridCase struct {
	n     int
	kappa float64
	seed  uint64
	q     *Quadratic
}

func forGrid(t *testing.T, f func(t *testing.T, c gridCase)) {
	for _, n := range gridDims {
		for _, kappa := range gridKappas {
			t.Run(fmt.Sprintf("n=%d/kappa=%g", n, kappa), func(t *testing.T) {
				t.Parallel()
				for s := 1; s <= gridSeeds; s++ {
					seed := uint64(s)
					mu := math.Ldexp(1, s%5-2) // as Grid: the scale varies too
					q, err := Generate(n, mu, kappa*mu, Spectrum(s%3), seed)
					if err != nil {
						t.Fatal(err)
					}
					f(t, gridCase{n, kappa, seed, q})
				}
			})
		}
	}
}

// The grid's methods: BFGS runs until λ_k ≤ Floor·λ_0 (and must get there); DFP and SR1 with
// greedy or random directions contract σ only by 1 − μ/(nL) and get 150 steps.
var (
	bfgsMethods  = []Method{{Classical, BFGS}, {Greedy, BFGS}, {Random, BFGS}}
	otherMethods = []Method{{Greedy, DFP}, {Random, DFP}, {Greedy, SR1}, {Random, SR1}}
)

func TestRatesGrid(t *testing.T) {
	runs, err := Grid(gridSeeds, gridDims, gridKappas, bfgsMethods, 2000)
	if err != nil {
		t.Fatal(err)
	}
	more, err := Grid(gridSeeds, gridDims, gridKappas, otherMethods, 150)
	if err != nil {
		t.Fatal(err)
	}
	var reps []Report
	for _, r := range append(runs, more...) {
		tag := fmt.Sprintf("seed %d n=%d L/μ=%g %v (%d steps)", r.Seed, r.N, r.Kappa, r.Method, len(r.Records)-1)
		if last := r.Records[len(r.Records)-1]; r.Method.Update == BFGS && last.Lambda > Floor*r.Records[0].Lambda {
			t.Errorf("%s: λ_k/λ_0 only reached %.3g", tag, last.Lambda/r.Records[0].Lambda)
		}
		checkReport(t, tag, r.Method, r.Report)
		reps = append(reps, r.Report)
	}
	w := Worst(reps...)
	t.Logf("%d runs; worst: invariant excess %.2g below 1, %.2g above L/μ; σ identity %.2g (relative to σ_k); "+
		"θ/(1−μ/L)² %.8g; θ/σ %.3g; classical θ/(σ_k−σ_{k+1}) %.3g; greedy σ_{k+1}/(cσ_k) %.8g; λ/bound %.8g (1 at k = 0)",
		len(reps), w.InvariantLow, w.InvariantHigh, w.SigmaIdentity, w.Linear, w.ThetaSigma, w.Classical, w.Contraction, w.Bound)
}

// checkReport fails the test where a run broke a fact: the invariant beyond 1e-9, the σ
// identity beyond 1e-8 relative, or any inequality (ratio > 1). BFGS and DFP keep σ_k above
// IdentityFloor, so their identity must have been checked at every step.
func checkReport(t *testing.T, tag string, m Method, r Report) {
	t.Helper()
	if r.InvariantLow > 1e-9 || r.InvariantHigh > 1e-9 {
		t.Errorf("%s: invariant broken: eigenvalues of A^{-1/2}GA^{-1/2} %.2g below 1 or %.2g above L/μ", tag, r.InvariantLow, r.InvariantHigh)
	}
	if r.SigmaIdentity > 1e-8 {
		t.Errorf("%s: σ identity off by %.2g relative", tag, r.SigmaIdentity)
	}
	if m.Update != SR1 && r.IdentitySteps != r.Steps-1 && r.IdentitySteps != r.Steps {
		t.Errorf("%s: σ identity checked on %d of %d steps", tag, r.IdentitySteps, r.Steps)
	}
	classicalBFGS := math.NaN() // θ_k ≤ σ_k − σ_{k+1} is a fact for BFGS only
	if m.Update == BFGS {
		classicalBFGS = r.Classical
	}
	for _, c := range []struct {
		name  string
		ratio float64
	}{
		{"θ_k ≤ (1 − μ/L)²", r.Linear}, {"θ_k ≤ σ_k", r.ThetaSigma},
		{"θ_k ≤ σ_k − σ_{k+1} (classical BFGS)", classicalBFGS},
		{"σ_{k+1} ≤ c·σ_k (greedy)", r.Contraction},
		{"λ_k ≤ bound_k", r.Bound}, {"λ_k ≤ (σ_0/k)^k λ_0 (classical BFGS)", r.SigmaBound},
	} {
		if c.ratio > 1 {
			t.Errorf("%s: %s broken: ratio %.17g", tag, c.name, c.ratio)
		}
	}
	wantNaN := map[string]bool{
		"Classical": m.Rule != Classical, "Contraction": m.Rule != Greedy,
		"Bound": m.Rule == Random || (m.Rule == Classical && m.Update != BFGS),
	}
	for name, v := range map[string]float64{"Classical": r.Classical, "Contraction": r.Contraction, "Bound": r.Bound} {
		if math.IsNaN(v) != wantNaN[name] {
			t.Errorf("%s: Report.%s = %g, want NaN: %v", tag, name, v, wantNaN[name])
		}
	}
}

// TestRandomSigmaMean: E[σ_{k+1} | G_k] = (1 − 1/n)σ_k for random BFGS, and ≤ (1 − μ/(nL))σ_k
// for random DFP and SR1. At G_k (k = 0 and k = n/2 of a random run) 400 directions are drawn;
// the mean of σ_{k+1}/σ_k must be within 4 standard errors of 1 − 1/n (BFGS), or not above
// 1 − μ/(nL) by more than 4 (DFP, SR1).
func TestRandomSigmaMean(t *testing.T) {
	const draws = 400
	var mu sync.Mutex // the subtests run in parallel
	var zs []float64
	t.Cleanup(func() {
		zmax, zsum := 0.0, 0.0
		for _, z := range zs {
			zmax, zsum = max(zmax, math.Abs(z)), zsum+z
		}
		t.Logf("random BFGS: %d z-scores, max |z| = %.2f, mean z = %.3f", len(zs), zmax, zsum/float64(len(zs)))
	})
	forGrid(t, func(t *testing.T, c gridCase) {
		for _, upd := range []Update{BFGS, DFP, SR1} {
			ks := []int{0, c.n / 2}
			mean, se, err := RandomSigmaRatios(c.q, upd, ks, draws, c.seed)
			if err != nil {
				t.Fatal(err)
			}
			cf := SigmaFactor(upd, c.n, c.q.Mu(), c.q.L())
			for i, k := range ks {
				z := (mean[i] - cf) / se[i]
				if upd == BFGS {
					mu.Lock()
					zs = append(zs, z)
					mu.Unlock()
				}
				if (upd == BFGS && math.Abs(z) > 4) || (upd != BFGS && z > 4) {
					t.Errorf("seed %d %v k=%d: mean σ₊/σ = %.6f ± %.2g, want %s %.6f (z = %.2f)",
						c.seed, upd, k, mean[i], se[i], map[bool]string{true: "=", false: "≤"}[upd == BFGS], cf, z)
				}
			}
		}
	})
}
