package qn

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// floorRatio: below λ_k = floorRatio·λ_0 rounding in ∇f = Ax − b sets the floor (measured
// there: 1e-31 to 1e-24), so inequalities on λ are checked only above it.
const floorRatio = 1e-20

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
					mu := 0.5 + float64(s)/8 // vary the scale as well
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

// method is one rule and update with how many steps the grid gives it. BFGS runs until
// λ_k ≤ floorRatio·λ_0 (and must get there); DFP and SR1 with greedy or random directions
// contract σ only by 1 − μ/(nL) and get a fixed number of steps.
type method struct {
	rule   Rule
	update Update
	iters  int
}

var gridMethods = []method{
	{Classical, BFGS, 2000}, {Greedy, BFGS, 2000}, {Random, BFGS, 2000},
	{Greedy, DFP, 150}, {Random, DFP, 150}, {Greedy, SR1, 150}, {Random, SR1, 150},
}

func TestRatesGrid(t *testing.T) {
	var mu sync.Mutex // the subtests run in parallel
	worst := struct{ inv, ident, identSR1 float64 }{}
	t.Cleanup(func() {
		t.Logf("worst invariant excess %.2g, worst σ-identity error (relative to σ_k) BFGS/DFP %.2g, SR1 %.2g",
			worst.inv, worst.ident, worst.identSR1)
	})
	forGrid(t, func(t *testing.T, c gridCase) {
		for _, m := range gridMethods {
			recs, err := Run(c.q, Settings{Rule: m.rule, Update: m.update, Iters: m.iters, Stop: floorRatio, Seed: c.seed})
			if err != nil {
				t.Fatalf("seed %d %v %v: %v", c.seed, m.rule, m.update, err)
			}
			tag := fmt.Sprintf("seed %d %v %v", c.seed, m.rule, m.update)
			if m.update == BFGS && recs[len(recs)-1].Lambda > floorRatio*recs[0].Lambda {
				t.Errorf("%s: λ_k/λ_0 only reached %.3g in %d steps", tag, recs[len(recs)-1].Lambda/recs[0].Lambda, m.iters)
			}
			inv, ident, identSR1 := checkRun(t, tag, c, m, recs)
			mu.Lock()
			worst.inv = max(worst.inv, inv)
			if m.update == SR1 {
				worst.identSR1 = max(worst.identSR1, identSR1)
			} else {
				worst.ident = max(worst.ident, ident)
			}
			mu.Unlock()
		}
	})
}

// checkRun checks the invariant, the σ identity, the linear phase, θ_k ≤ σ_k, the classical
// θ_k ≤ σ_k − σ_{k+1}, the greedy σ contraction and the method's λ-bound on one run.
func checkRun(t *testing.T, tag string, c gridCase, m method, recs []Record) (invExcess, identErr, identErrSR1 float64) {
	t.Helper()
	mu, L := c.q.Mu(), c.q.L()
	lam0, sigma0 := recs[0].Lambda, recs[0].Sigma
	cf := SigmaFactor(m.update, c.n, mu, L)
	fails := 0
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		fails++
	}
	for k, r := range recs {
		if fails >= 3 {
			t.Errorf("%s: more failures not shown", tag)
			break
		}
		// Invariant A ⪯ G_k ⪯ (L/μ)A: at every step, whatever λ is.
		invExcess = max(invExcess, 1-r.EigMin, r.EigMax-L/mu)
		if r.EigMin < 1-1e-9 || r.EigMax > L/mu+1e-9 {
			fail("%s k=%d: eigenvalues of A^{-1/2}GA^{-1/2} in [%.17g, %.17g], want [1, %g]", tag, k, r.EigMin, r.EigMax, L/mu)
		}
		if r.Lambda < floorRatio*lam0 {
			break
		}
		if b, ok := LogBound(m.rule, m.update, c.n, mu, L, k); ok && r.Lambda > lam0*math.Exp(b) {
			fail("%s k=%d: λ_k/λ_0 = %.3g above the bound %.3g", tag, k, r.Lambda/lam0, math.Exp(b))
		}
		if m.rule == Classical && m.update == BFGS && r.Lambda > lam0*math.Exp(LogClassicalSigmaRate(sigma0, k)) {
			fail("%s k=%d: λ_k/λ_0 = %.3g above (σ_0/k)^k = %.3g", tag, k, r.Lambda/lam0, math.Exp(LogClassicalSigmaRate(sigma0, k)))
		}
		if k+1 == len(recs) {
			break
		}
		next := recs[k+1]
		// σ identity. SR1 drives σ to 0 in n steps, and σ read from G's float64 entries has an
		// absolute error (measured on this grid) up to 3e-15, so SR1's is checked while
		// σ_k ≥ 1e-5, where that is below 1e-9 relative.
		e := math.Abs(next.Sigma-r.Sigma-r.Change.DSigma) / r.Sigma
		if m.update != SR1 || r.Sigma >= 1e-5 {
			if m.update == SR1 {
				identErrSR1 = max(identErrSR1, e)
			} else {
				identErr = max(identErr, e)
			}
			if e > 1e-8 {
				fail("%s k=%d: σ_{k+1} − σ_k = %.17g, identity says %.17g (relative error %.2g)", tag, k, next.Sigma-r.Sigma, r.Change.DSigma, e)
			}
		}
		if next.Lambda < floorRatio*lam0 {
			continue // θ_k = λ_{k+1}/λ_k is rounding
		}
		if lin := math.Pow(1-mu/L, 2); r.Theta > lin {
			fail("%s k=%d: θ_k = %.17g > (1 − μ/L)² = %.17g", tag, k, r.Theta, lin)
		}
		if r.Theta > r.Sigma {
			fail("%s k=%d: θ_k = %.3g > σ_k = %.3g", tag, k, r.Theta, r.Sigma)
		}
		if m.rule == Classical && m.update == BFGS && r.Theta > r.Sigma-next.Sigma {
			fail("%s k=%d: θ_k = %.6g > σ_k − σ_{k+1} = %.6g", tag, k, r.Theta, r.Sigma-next.Sigma)
		}
		if m.rule == Greedy && next.Sigma > cf*r.Sigma {
			fail("%s k=%d: σ_{k+1} = %.17g > %.17g·σ_k = %.17g", tag, k, next.Sigma, cf, cf*r.Sigma)
		}
	}
	return invExcess, identErr, identErrSR1
}

// TestRandomSigmaMean: E[σ_{k+1} | G_k] = (1 − 1/n)σ_k for random BFGS, and ≤ (1 − μ/(nL))σ_k
// for random DFP and SR1. From G_k fixed (k = 0 and k = n/2 of a random run), 400 directions
// are drawn; the mean of σ_{k+1}/σ_k must be within 4 standard errors of 1 − 1/n (BFGS), or
// not above 1 − μ/(nL) by more than 4 (DFP, SR1).
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
			ap, err := NewApprox(c.q, upd)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(c.seed, 77))
			for k := 0; k <= c.n/2; k++ {
				if k == 0 || k == c.n/2 {
					mean, se := sigmaRatioMean(t, ap, rng, draws)
					cf := SigmaFactor(upd, c.n, c.q.Mu(), c.q.L())
					z := (mean - cf) / se
					if upd == BFGS {
						mu.Lock()
						zs = append(zs, z)
						mu.Unlock()
					}
					if (upd == BFGS && math.Abs(z) > 4) || (upd != BFGS && z > 4) {
						t.Errorf("seed %d %v k=%d: mean σ₊/σ = %.6f ± %.2g, want %s %.6f (z = %.2f)",
							c.seed, upd, k, mean, se, map[bool]string{true: "=", false: "≤"}[upd == BFGS], cf, z)
					}
				}
				if _, err := ap.Update(randomDirection(ap.g, rng)); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// sigmaRatioMean draws u = G^{−1/2}ũ from ap's G, updates a copy of G along it, and returns the
// sample mean and standard error of σ_A(G₊)/σ_A(G), σ computed directly from the matrices.
func sigmaRatioMean(t *testing.T, ap *Approx, rng *rand.Rand, draws int) (mean, se float64) {
	t.Helper()
	d, v := sqrtEigen(ap.g)
	s0 := ap.q.Sigma(ap.g)
	sum, sum2 := 0.0, 0.0
	for range draws {
		c := ap.clone()
		if _, err := c.Update(invSqrtTimes(d, v, normalVec(len(d), rng))); err != nil {
			t.Fatal(err)
		}
		r := ap.q.Sigma(c.g) / s0
		sum, sum2 = sum+r, sum2+r*r
	}
	nf := float64(draws)
	mean = sum / nf
	return mean, math.Sqrt((sum2/nf - mean*mean) / (nf - 1))
}
