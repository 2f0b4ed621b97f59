package qn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestGenerateErrors(t *testing.T) {
	for _, c := range []struct {
		n     int
		mu, L float64
		s     Spectrum
		want  string
	}{
		{0, 1, 10, Uniform, "n=0"},
		{-3, 1, 10, Uniform, "n=-3"},
		{5, 0, 10, Uniform, "μ=0"},
		{5, -1, 10, Uniform, "μ=-1"},
		{5, 11, 10, Uniform, "μ=11 must be ≤ L=10"},
		{5, math.NaN(), 10, Uniform, "μ=NaN"},
		{5, 1, math.Inf(1), Uniform, "L=+Inf"},
		{5, 1, 10, Spectrum(7), "unknown spectrum"},
	} {
		_, err := Generate(c.n, c.mu, c.L, c.s, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "qn: ") {
			t.Errorf("Generate(%d, %g, %g, %v): error %v, want one containing %q", c.n, c.mu, c.L, c.s, err, c.want)
		}
	}
}

func TestNewQuadraticErrors(t *testing.T) {
	ones := func(n int) *mat.VecDense { return mat.NewVecDense(n, []float64{1, 1, 1}[:n]) }
	for _, c := range []struct {
		name string
		a    mat.Matrix
		b    mat.Vector
		want string
	}{
		{"non-symmetric", mat.NewDense(2, 2, []float64{2, 1, 0.5, 2}), ones(2), "not symmetric"},
		{"indefinite", mat.NewDense(2, 2, []float64{1, 2, 2, 1}), ones(2), "not positive definite"},
		{"negative definite", mat.NewDense(2, 2, []float64{-1, 0, 0, -2}), ones(2), "not positive definite"},
		{"singular", mat.NewDense(2, 2, []float64{1, 1, 1, 1}), ones(2), "not positive definite"},
		{"non-square", mat.NewDense(2, 3, nil), ones(2), "2×3"},
		{"short b", mat.NewDense(3, 3, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}), ones(2), "length n=3"},
		{"nil b", mat.NewDense(2, 2, []float64{1, 0, 0, 1}), nil, "length n=2"},
		{"NaN in A", mat.NewDense(2, 2, []float64{1, math.NaN(), math.NaN(), 1}), ones(2), "not finite"},
		{"Inf in b", mat.NewDense(2, 2, []float64{1, 0, 0, 1}), mat.NewVecDense(2, []float64{1, math.Inf(-1)}), "not finite"},
	} {
		var err error
		if c.b == nil {
			_, err = NewQuadratic(c.a, nil)
		} else {
			_, err = NewQuadratic(c.a, c.b)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	q, err := NewQuadratic(mat.NewDense(2, 2, []float64{3, 1, 1, 3}), ones(2))
	if err != nil {
		t.Fatal(err)
	}
	if s0 := q.Sigma0(); math.Abs(s0-(4.0/2+4.0/4-2)) > 1e-15 {
		t.Errorf("σ_0 = %g, want L/2 + L/4 − 2 = 1", s0)
	}
	if g0, _ := NewApprox(q, BFGS); math.Abs(q.Sigma(g0.G())-q.Sigma0()) > 1e-14 {
		t.Errorf("σ_A(G_0) = %g, Sigma0 = %g", q.Sigma(g0.G()), q.Sigma0())
	}
	if math.Abs(q.Mu()-2) > 1e-15 || math.Abs(q.L()-4) > 1e-15 {
		t.Errorf("μ, L = %g, %g, want A's eigenvalues 2, 4", q.Mu(), q.L())
	}
}

func TestGenerateSpectrum(t *testing.T) {
	const n, mu, L = 200, 0.5, 500.0
	kappa := L / mu
	mid := math.Sqrt(mu * L)
	for _, s := range []Spectrum{Uniform, LogUniform, Clusters} {
		q, err := Generate(n, mu, L, s, 9)
		if err != nil {
			t.Fatal(err)
		}
		ev := q.Eigenvalues()
		if math.Abs(ev[0]-mu) > 1e-12*L || math.Abs(ev[n-1]-L) > 1e-12*L {
			t.Errorf("%v: extreme eigenvalues %.17g, %.17g, want μ=%g, L=%g", s, ev[0], ev[n-1], mu, L)
		}
		below := 0
		for _, e := range ev {
			if e < mid {
				below++
			}
		}
		frac := float64(below) / n
		switch s {
		case Uniform: // P(e < √(μL)) = (√κ − 1)/(κ − 1) ≈ 0.03
			if frac > 0.15 {
				t.Errorf("uniform: %.2f of the eigenvalues below √(μL)", frac)
			}
		case LogUniform: // P = 1/2
			if frac < 0.35 || frac > 0.65 {
				t.Errorf("loguniform: %.2f of the eigenvalues below √(μL)", frac)
			}
		case Clusters:
			w := math.Pow(kappa, 0.1)
			for i, e := range ev {
				if (i < n/2 && e > mu*w*(1+1e-12)) || (i >= n/2 && e < L/w*(1-1e-12)) {
					t.Errorf("clusters: eigenvalue %d = %g outside [%g, %g] ∪ [%g, %g]", i, e, mu, mu*w, L/w, L)
				}
			}
		}
	}
	a1, _ := Generate(20, 1, 10, Uniform, 4)
	a2, _ := Generate(20, 1, 10, Uniform, 4)
	a3, _ := Generate(20, 1, 10, Uniform, 5)
	if !mat.Equal(a1.A(), a2.A()) || !mat.Equal(a1.B(), a2.B()) {
		t.Error("same seed, different quadratics")
	}
	if mat.Equal(a1.A(), a3.A()) {
		t.Error("seeds 4 and 5 gave the same A")
	}
}

// literalUpdate applies the update's defining formula with dense products.
func literalUpdate(upd Update, g, a *mat.SymDense, u *mat.VecDense) *mat.Dense {
	n := u.Len()
	outer := func(x, y mat.Vector, s float64) *mat.Dense {
		var m mat.Dense
		m.Outer(s, x, y)
		return &m
	}
	var gu, au mat.VecDense
	gu.MulVec(g, u)
	au.MulVec(a, u)
	out := mat.DenseCopyOf(g)
	switch upd {
	case BFGS:
		out.Sub(out, outer(&gu, &gu, 1/mat.Dot(u, &gu)))
		out.Add(out, outer(&au, &au, 1/mat.Dot(u, &au)))
	case DFP:
		c := mat.Dot(u, &au)
		p := mat.NewDense(n, n, nil) // I − Auuᵀ/c
		for i := range n {
			p.Set(i, i, 1)
		}
		p.Sub(p, outer(&au, u, 1/c))
		var t1, t2 mat.Dense
		t1.Mul(p, g)
		t2.Mul(&t1, p.T())
		out.Add(&t2, outer(&au, &au, 1/c))
	case SR1:
		var r mat.VecDense // (A − G)u
		r.SubVec(&au, &gu)
		out.Add(out, outer(&r, &r, 1/mat.Dot(u, &r)))
	}
	return out
}

func TestUpdatesMatchFormulas(t *testing.T) {
	q, err := Generate(12, 0.3, 30, LogUniform, 2)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, upd := range []Update{BFGS, DFP, SR1} {
		ap, _ := NewApprox(q, upd)
		for k := range 8 { // along random directions, from G_0 and from later G_k
			u := normalVec(12, rng)
			before := mat.NewSymDense(12, nil)
			before.CopySym(ap.g)
			want := literalUpdate(upd, before, q.a, u)
			if _, err := ap.Update(u); err != nil {
				t.Fatal(err)
			}
			var diff mat.Dense
			diff.Sub(ap.g, want)
			if e := mat.Norm(&diff, math.Inf(1)) / mat.Norm(before, math.Inf(1)); e > 1e-13 {
				t.Errorf("%v step %d: update differs from its formula by %.2g (relative)", upd, k, e)
			}
			var gu, au mat.VecDense
			gu.MulVec(ap.g, u)
			au.MulVec(q.a, u)
			gu.SubVec(&gu, &au)
			if e := mat.Norm(&gu, 2) / (mat.Norm(before, 2) * mat.Norm(u, 2)); e > 1e-13 {
				t.Errorf("%v step %d: G₊u ≠ Au (relative residual %.2g)", upd, k, e)
			}
		}
	}
}

func TestSR1NoUpdate(t *testing.T) {
	// A = diag(1, 2, 3, 4): G_0 = 4·I equals A along e_3, so uᵀ(A − G)u = 0 there.
	a := mat.NewDense(4, 4, nil)
	for i := range 4 {
		a.Set(i, i, float64(i+1))
	}
	b := mat.NewVecDense(4, []float64{0, 0, 0, 4}) // x* = e_3
	q, err := NewQuadratic(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ap, _ := NewApprox(q, SR1)
	e3 := mat.NewVecDense(4, []float64{0, 0, 0, 1})
	ch, err := ap.Update(e3)
	if err != nil {
		t.Fatal(err)
	}
	g0 := mat.NewDiagDense(4, []float64{4, 4, 4, 4})
	if !ch.Skipped || !mat.Equal(ap.g, g0) {
		t.Errorf("SR1 along e_3 with G = A there: Skipped=%v, G=%v; want no update", ch.Skipped, mat.Formatted(ap.g))
	}
	// From x_0 = 0 the first classical step is e_3 = x*: skipped, then λ_1 = 0 ends the run.
	recs, err := Run(q, Settings{Rule: Classical, Update: SR1})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !recs[0].Change.Skipped || recs[1].Lambda != 0 {
		t.Errorf("classical SR1 run: %d records, Skipped=%v, λ_1=%g; want 2, true, 0", len(recs), recs[0].Change.Skipped, recs[len(recs)-1].Lambda)
	}
	// After an update along u, G₊u = Au: a second update along u changes G by rounding only.
	q2, _ := Generate(10, 1, 100, Uniform, 3)
	ap2, _ := NewApprox(q2, SR1)
	u := normalVec(10, rand.New(rand.NewPCG(5, 6)))
	if _, err := ap2.Update(u); err != nil {
		t.Fatal(err)
	}
	before := mat.NewSymDense(10, nil)
	before.CopySym(ap2.g)
	if _, err := ap2.Update(u); err != nil {
		t.Fatal(err)
	}
	var d mat.Dense
	d.Sub(ap2.g, before)
	if e := mat.Norm(&d, math.Inf(1)); e > 1e-12*q2.L() {
		t.Errorf("second SR1 update along the same u changed G by %.2g", e)
	}
}

func TestGreedyFirstIndex(t *testing.T) {
	// G_0 = L·I, so M = G^{1/2}A⁻¹G^{1/2} = L·A⁻¹: the first greedy index maximises (A⁻¹)_ii.
	for seed := uint64(1); seed <= 5; seed++ {
		q, _ := Generate(15, 1, 50, Clusters, seed)
		best, bestV := -1, 0.0
		for i := range 15 {
			e := mat.NewVecDense(15, nil)
			e.SetVec(i, 1)
			var x mat.VecDense
			if err := x.SolveVec(q.a, e); err != nil {
				t.Fatal(err)
			}
			if x.AtVec(i) > bestV {
				best, bestV = i, x.AtVec(i)
			}
		}
		recs, err := Run(q, Settings{Rule: Greedy, Iters: 1})
		if err != nil {
			t.Fatal(err)
		}
		if recs[0].Index != best {
			t.Errorf("seed %d: greedy chose e_%d, want e_%d (largest (A⁻¹)_ii)", seed, recs[0].Index, best)
		}
	}
}

func TestRunDeterministic(t *testing.T) {
	q, _ := Generate(10, 1, 100, Uniform, 1)
	r1, _ := Run(q, Settings{Rule: Random, Seed: 7, Iters: 30})
	r2, _ := Run(q, Settings{Rule: Random, Seed: 7, Iters: 30})
	r3, _ := Run(q, Settings{Rule: Random, Seed: 8, Iters: 30})
	same := func(a, b []Record) bool {
		for k := range a {
			if a[k].Lambda != b[k].Lambda || a[k].Sigma != b[k].Sigma {
				return false
			}
		}
		return len(a) == len(b)
	}
	if !same(r1, r2) {
		t.Error("same seed, different runs")
	}
	if same(r1, r3) {
		t.Error("seeds 7 and 8 gave the same run")
	}
}

func TestRunErrors(t *testing.T) {
	q, _ := Generate(4, 1, 10, Uniform, 1)
	for _, c := range []struct {
		s    Settings
		want string
	}{
		{Settings{Iters: -1}, "Iters=-1"},
		{Settings{Stop: -1}, "Stop=-1"},
		{Settings{Rule: Rule(9)}, "unknown rule"},
		{Settings{Update: Update(9)}, "unknown update"},
		{Settings{X0: mat.NewVecDense(3, nil)}, "X0 has length 3"},
	} {
		if _, err := Run(q, c.s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%+v): error %v, want one containing %q", c.s, err, c.want)
		}
	}
}

func TestBoundsAreTheProofChains(t *testing.T) {
	const n, mu, L = 7, 2.0, 300.0
	for k := 0; k <= 40; k++ {
		// Greedy: λ_k ≤ Π_{j<k} σ_j λ_0 with σ_j ≤ c^j·nL/μ.
		for _, upd := range []Update{BFGS, DFP, SR1} {
			c := SigmaFactor(upd, n, mu, L)
			chain := 0.0
			for j := range k {
				chain += math.Log(math.Pow(c, float64(j)) * n * L / mu)
			}
			got, ok := LogBound(Greedy, upd, n, mu, L, k)
			if !ok || math.Abs(got-chain) > 1e-12*math.Max(1, math.Abs(chain)) {
				t.Errorf("greedy %v k=%d: log bound %v (%v), chain %v", upd, k, got, ok, chain)
			}
		}
		// Classical: AM–GM over k factors with sum ≤ σ_0 ≤ nL/μ.
		got, ok := LogBound(Classical, BFGS, n, mu, L, k)
		want := 0.0
		if k > 0 {
			want = float64(k) * math.Log(n*L/mu/float64(k))
		}
		if !ok || math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("classical k=%d: log bound %v (%v), want %v", k, got, ok, want)
		}
		if lin := LogLinearRate(mu, L, k); math.Abs(math.Exp(lin)-math.Pow(1-mu/L, 2*float64(k))) > 1e-14 {
			t.Errorf("linear k=%d: %v", k, math.Exp(lin))
		}
	}
	for _, c := range []struct {
		r Rule
		u Update
	}{{Random, BFGS}, {Random, DFP}, {Random, SR1}, {Classical, DFP}, {Classical, SR1}} {
		if _, ok := LogBound(c.r, c.u, n, mu, L, 3); ok {
			t.Errorf("LogBound(%v, %v) reports a bound; none is proven here", c.r, c.u)
		}
	}
	nf := float64(n)
	if SigmaFactor(BFGS, n, mu, L) != 1-1/nf || SigmaFactor(DFP, n, mu, L) != 1-mu/(nf*L) || SigmaFactor(SR1, n, mu, L) != 1-mu/(nf*L) {
		t.Error("SigmaFactor constants")
	}
}

func TestParseNames(t *testing.T) {
	for _, r := range []Rule{Classical, Greedy, Random} {
		if got, err := ParseRule(r.String()); err != nil || got != r {
			t.Errorf("ParseRule(%q) = %v, %v", r.String(), got, err)
		}
	}
	for _, u := range []Update{BFGS, DFP, SR1} {
		if got, err := ParseUpdate(u.String()); err != nil || got != u {
			t.Errorf("ParseUpdate(%q) = %v, %v", u.String(), got, err)
		}
	}
	for _, s := range []Spectrum{Uniform, LogUniform, Clusters} {
		if got, err := ParseSpectrum(s.String()); err != nil || got != s {
			t.Errorf("ParseSpectrum(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseRule("newton"); err == nil || err.Error() != `qn: unknown method "newton" (want classical, greedy or random)` {
		t.Errorf("ParseRule(newton): %v", err)
	}
	if _, err := ParseSpectrum("flat"); err == nil || !strings.Contains(err.Error(), "uniform, loguniform or clusters") {
		t.Errorf("ParseSpectrum(flat): %v", err)
	}
	if s := Update(5).String(); s != "Update(5)" {
		t.Errorf("Update(5).String() = %q", s)
	}
}

func TestUpdateIsScaleFree(t *testing.T) {
	// The updates depend on u's direction only: u·1e-200 (a step near x*) and u·1e200 give
	// the G that u gives, and u = 0 is an error.
	q, _ := Generate(9, 1, 200, LogUniform, 8)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, upd := range []Update{BFGS, DFP, SR1} {
		ap, _ := NewApprox(q, upd)
		for range 3 {
			u := normalVec(9, rng)
			for _, scale := range []float64{1e-200, 1e200} {
				c := ap.clone()
				var su mat.VecDense
				su.ScaleVec(scale, u)
				if _, err := c.Update(&su); err != nil {
					t.Fatal(err)
				}
				ref := ap.clone()
				if _, err := ref.Update(u); err != nil {
					t.Fatal(err)
				}
				if !mat.EqualApprox(c.g, ref.g, 1e-12*q.L()) {
					t.Errorf("%v: update along %g·u differs from the one along u", upd, scale)
				}
			}
			if _, err := ap.Update(u); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ap.Update(mat.NewVecDense(9, nil)); err == nil {
			t.Errorf("%v: update along u = 0 gave no error", upd)
		}
	}
}
