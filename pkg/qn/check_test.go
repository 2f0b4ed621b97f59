package qn

import (
	"math"
	"testing"
)

func TestCheckReportsViolations(t *testing.T) {
	q, _ := Generate(10, 1, 100, Uniform, 2)
	s := Settings{Rule: Greedy, Iters: 30}
	recs, err := Run(q, s)
	if err != nil {
		t.Fatal(err)
	}
	clean := Check(q, s, recs)
	if clean.Steps < 20 || clean.Linear > 1 || clean.ThetaSigma > 1 || clean.Contraction > 1 || clean.Bound > 1 || !math.IsNaN(clean.Classical) {
		t.Fatalf("clean greedy run: %+v", clean)
	}
	bad := func(mutate func(r []Record)) Report {
		c := append([]Record(nil), recs...)
		mutate(c)
		return Check(q, s, c)
	}
	if r := bad(func(c []Record) { c[3].EigMin = 1 - 1e-6 }); math.Abs(r.InvariantLow-1e-6) > 1e-15 {
		t.Errorf("EigMin 1 − 1e-6: InvariantLow = %g", r.InvariantLow)
	}
	if r := bad(func(c []Record) { c[4].EigMax = 101 }); math.Abs(r.InvariantHigh-1) > 1e-12 {
		t.Errorf("EigMax = L/μ + 1: InvariantHigh = %g", r.InvariantHigh)
	}
	if r := bad(func(c []Record) { c[5].Change.DSigma *= 1.001 }); r.SigmaIdentity < 1e-5 {
		t.Errorf("ΔΣ off by 0.1%%: SigmaIdentity = %g", r.SigmaIdentity)
	}
	if r := bad(func(c []Record) { c[6].Theta = 2 * c[6].Sigma }); r.ThetaSigma < 2-1e-12 {
		t.Errorf("θ = 2σ: ThetaSigma = %g", r.ThetaSigma)
	}
	if r := bad(func(c []Record) { c[7].Theta = 1 }); r.Linear <= 1 {
		t.Errorf("θ = 1: Linear = %g", r.Linear)
	}
	if r := bad(func(c []Record) { c[8].Sigma = c[7].Sigma }); r.Contraction <= 1 {
		t.Errorf("σ not contracting: Contraction = %g", r.Contraction)
	}
	if r := bad(func(c []Record) { c[9].Lambda = 1e300 }); r.Bound <= 1 {
		t.Errorf("λ = 1e300: Bound = %g", r.Bound)
	}
	// Steps stop at the floor.
	if r := bad(func(c []Record) { c[10].Lambda = 0 }); r.Steps != 10 {
		t.Errorf("λ_10 = 0: Steps = %d, want 10", r.Steps)
	}
	// Classical BFGS: θ_k ≤ σ_k − σ_{k+1}.
	sc := Settings{Iters: 10}
	rc, _ := Run(q, sc)
	rc[2].Theta = rc[2].Sigma - rc[3].Sigma + 1e-3
	if r := Check(q, sc, rc); r.Classical <= 1 || math.IsNaN(r.SigmaBound) || !math.IsNaN(r.Contraction) {
		t.Errorf("classical with θ_2 > σ_2 − σ_3: %+v", r)
	}
}

func TestRunAllMatchesRun(t *testing.T) {
	var cases []Case
	for seed := uint64(1); seed <= 5; seed++ {
		q, _ := Generate(8, 1, 50, LogUniform, seed)
		cases = append(cases, Case{q, Settings{Rule: Random, Seed: seed, Iters: 20}})
	}
	all, err := RunAll(cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		one, _ := Run(c.Q, c.S)
		for k := range one {
			if one[k].Lambda != all[i][k].Lambda || one[k].Sigma != all[i][k].Sigma {
				t.Fatalf("case %d k=%d: RunAll differs from Run", i, k)
			}
		}
	}
	if _, err := RunAll([]Case{cases[0], {cases[1].Q, Settings{Iters: -1}}}); err == nil {
		t.Error("RunAll hid a case's error")
	}
}

func TestCurveHelpers(t *testing.T) {
	ys := []float64{5, 3, 1, 0.5, 2}
	if FirstBelow(ys, 1) != 2 || FirstBelow(ys, 0.1) != -1 {
		t.Error("FirstBelow")
	}
	runs := [][]float64{{1, 10}, {2, 20}, {3, 30}, {4}}
	if m := Quantile(runs, 0.5); len(m) != 2 || m[0] != 2.5 || m[1] != 20 {
		t.Errorf("median %v, want [2.5 20]", m)
	}
	if lo, hi := Quantile(runs, 0), Quantile(runs, 1); lo[0] != 1 || hi[1] != 30 {
		t.Errorf("extremes %v %v", lo, hi)
	}
	if q := SampleQuantile([]float64{9, 1, 5, 3}, 0.25); q != 2.5 || !math.IsNaN(SampleQuantile(nil, 0.5)) {
		t.Errorf("SampleQuantile = %g, want 2.5", q)
	}
	const n, mu, L = 5, 1.0, 10.0
	curve := BoundCurve(Greedy, BFGS, n, mu, L, 60, 1)
	greedy := func(k int) float64 { lb, _ := LogBound(Greedy, BFGS, n, mu, L, k); return lb }
	k := FirstKBelow(greedy, 1e-10, 1000)
	for j, v := range curve {
		lb, _ := LogBound(Greedy, BFGS, n, mu, L, j)
		if (lb >= 0) != math.IsNaN(v) || (!math.IsNaN(v) && math.Abs(v-math.Exp(lb)) > 1e-15) {
			t.Errorf("BoundCurve[%d] = %g, bound %g", j, v, math.Exp(lb))
		}
	}
	lk, _ := LogBound(Greedy, BFGS, n, mu, L, k)
	lk1, _ := LogBound(Greedy, BFGS, n, mu, L, k-1)
	if k < 1 || lk > math.Log(1e-10) || lk1 <= math.Log(1e-10) {
		t.Errorf("FirstKBelow = %d", k)
	}
	if c := Curve(4, func(k int) float64 { return -float64(k) }, math.Exp(-2.5), 1); !math.IsNaN(c[0]) ||
		c[1] != math.Exp(-1) || c[2] != math.Exp(-2) || !math.IsNaN(c[3]) {
		t.Errorf("Curve clipped to [e^-2.5, 1): %v", c)
	}
	if FirstKBelow(greedy, 1e-10, k-1) != -1 || !math.IsNaN(BoundCurve(Random, BFGS, n, mu, L, 3, 1)[1]) {
		t.Error("random has no bound")
	}
}

func TestRandomSigmaRatiosErrors(t *testing.T) {
	q, _ := Generate(4, 1, 10, Uniform, 1)
	for _, c := range []struct {
		ks    []int
		draws int
	}{{[]int{0}, 1}, {[]int{3, 2}, 10}, {[]int{-1}, 10}} {
		if _, _, err := RandomSigmaRatios(q, BFGS, c.ks, c.draws, 1); err == nil {
			t.Errorf("RandomSigmaRatios(ks=%v, draws=%d): no error", c.ks, c.draws)
		}
	}
}

func TestWorst(t *testing.T) {
	nan := math.NaN()
	a := Report{Steps: 10, InvariantLow: 1e-12, Linear: 0.5, Classical: nan, Bound: nan}
	b := Report{Steps: 7, InvariantLow: 1e-14, Linear: 0.9, Classical: nan, Bound: 0.3}
	w := Worst(a, b)
	if w.Steps != 7 || w.InvariantLow != 1e-12 || w.Linear != 0.9 || !math.IsNaN(w.Classical) || w.Bound != 0.3 {
		t.Errorf("Worst = %+v", w)
	}
}

func TestRatiosAndWorstByMethod(t *testing.T) {
	if r := Ratios([]Record{{Lambda: 4}, {Lambda: 2}, {Lambda: 1}}); len(r) != 3 || r[0] != 1 || r[1] != 0.5 || r[2] != 0.25 {
		t.Errorf("Ratios = %v", r)
	}
	if Ratios(nil) != nil {
		t.Error("Ratios(nil) != nil")
	}
	g, c := Method{Greedy, BFGS}, Method{Classical, BFGS}
	runs := []GridRun{{Method: g, Report: Report{Linear: 0.5}}, {Method: g, Report: Report{Linear: 0.7}}, {Method: c, Report: Report{Linear: 0.1}}}
	w := WorstByMethod(runs)
	if len(w) != 2 || w[g].Linear != 0.7 || w[c].Linear != 0.1 {
		t.Errorf("WorstByMethod: %+v", w)
	}
}
