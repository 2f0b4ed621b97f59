package qn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
)

// Report says how close one run came to breaking each fact of the package comment. Ratios are
// left side over right side, maximised over the steps checked: a fact holds when its ratio is
// ≤ 1. NaN means the fact does not apply to the run's rule and update.
type Report struct {
	Steps int // steps k checked: those with λ_k ≥ Floor·λ_0 (all records for the invariant)
	// InvariantLow and InvariantHigh are max(1 − eig_min) and max(eig_max − L/μ) over all
	// records: A ⪯ G_k ⪯ (L/μ)A up to these.
	InvariantLow, InvariantHigh float64
	// SigmaIdentity is max |σ_{k+1} − σ_k − ΔΣ_k|/σ_k over the IdentitySteps steps with
	// σ_k ≥ IdentityFloor (σ read from G's float64 entries has an absolute error near 1e-15,
	// which matters only once σ is tiny, as SR1 makes it in n steps); Contraction is taken
	// over the same steps.
	SigmaIdentity float64
	IdentitySteps int
	Linear        float64 // θ_k / (1 − μ/L)²
	ThetaSigma    float64 // θ_k / σ_k
	Classical     float64 // θ_k / (σ_k − σ_{k+1}), classical rule (a fact for BFGS only)
	Contraction   float64 // σ_{k+1} / (c·σ_k), greedy, c = SigmaFactor
	Bound         float64 // λ_k / (λ_0·bound_k), where LogBound gives one
	SigmaBound    float64 // λ_k / (λ_0·(σ_0/k)^k), classical BFGS
}

// Floor and IdentityFloor are Check's limits: below λ_k = Floor·λ_0 rounding in ∇f = Ax − b
// dominates λ (measured floors 1e-31 to 1e-24), so θ_k and the λ-bounds are not checked there;
// the σ identity is checked while σ_k ≥ IdentityFloor.
const (
	Floor         = 1e-20
	IdentityFloor = 1e-5
)

// Check measures a run of s on q (recs from Run) against the facts of the package comment.
func Check(q *Quadratic, s Settings, recs []Record) Report {
	n, mu, L := q.Dim(), q.Mu(), q.L()
	nan := math.NaN()
	rep := Report{Classical: nan, Contraction: nan, Bound: nan, SigmaBound: nan}
	classical := s.Rule == Classical && s.Update == BFGS
	if classical {
		rep.SigmaBound = 0
	}
	if s.Rule == Classical {
		rep.Classical = 0
	}
	if s.Rule == Greedy {
		rep.Contraction = 0
	}
	_, hasBound := LogBound(s.Rule, s.Update, n, mu, L, 0)
	if hasBound {
		rep.Bound = 0
	}
	lam0, sigma0 := recs[0].Lambda, recs[0].Sigma
	c := SigmaFactor(s.Update, n, mu, L)
	lin := math.Pow(1-mu/L, 2)
	for _, r := range recs {
		rep.InvariantLow = math.Max(rep.InvariantLow, 1-r.EigMin)
		rep.InvariantHigh = math.Max(rep.InvariantHigh, r.EigMax-L/mu)
	}
	for k, r := range recs {
		if r.Lambda < Floor*lam0 {
			break
		}
		rep.Steps++
		if hasBound {
			b, _ := LogBound(s.Rule, s.Update, n, mu, L, k)
			rep.Bound = math.Max(rep.Bound, r.Lambda/(lam0*math.Exp(b)))
		}
		if classical {
			rep.SigmaBound = math.Max(rep.SigmaBound, r.Lambda/(lam0*math.Exp(LogClassicalSigmaRate(sigma0, k))))
		}
		if k+1 == len(recs) {
			break
		}
		next := recs[k+1]
		if r.Sigma >= IdentityFloor {
			rep.IdentitySteps++
			rep.SigmaIdentity = math.Max(rep.SigmaIdentity, math.Abs(next.Sigma-r.Sigma-r.Change.DSigma)/r.Sigma)
			if s.Rule == Greedy {
				rep.Contraction = math.Max(rep.Contraction, next.Sigma/(c*r.Sigma))
			}
		}
		if next.Lambda < Floor*lam0 {
			continue // θ_k = λ_{k+1}/λ_k is rounding
		}
		rep.Linear = math.Max(rep.Linear, r.Theta/lin)
		rep.ThetaSigma = math.Max(rep.ThetaSigma, r.Theta/r.Sigma)
		if s.Rule == Classical {
			rep.Classical = math.Max(rep.Classical, r.Theta/(r.Sigma-next.Sigma))
		}
	}
	return rep
}

// RandomSigmaRatios follows random updates upd of G_0 = L·I (directions from seed) and, at each
// step k in ks (ascending), draws `draws` more directions u = G_k^{−1/2}ũ and returns the sample
// mean and standard error of σ_A(G_k updated along u)/σ_A(G_k), σ taken from the updated
// matrix. Random BFGS has E = 1 − 1/n (Lin, Ye & Zhang 2022); DFP and SR1 E ≤ 1 − μ/(nL).
func RandomSigmaRatios(q *Quadratic, upd Update, ks []int, draws int, seed uint64) (mean, se []float64, err error) {
	if draws < 2 {
		return nil, nil, fmt.Errorf("qn: draws=%d must be ≥ 2", draws)
	}
	for i, k := range ks {
		if k < 0 || (i > 0 && k <= ks[i-1]) {
			return nil, nil, fmt.Errorf("qn: steps %v must be ≥ 0 and ascending", ks)
		}
	}
	ap, err := NewApprox(q, upd)
	if err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(seed, randomStream))
	for k, i := 0, 0; i < len(ks); k++ {
		if k == ks[i] {
			d, v, err := sqrtEigen(ap.g)
			if err != nil {
				return nil, nil, fmt.Errorf("qn: step %d: %w", k, err)
			}
			s0 := q.Sigma(ap.g)
			sum, sum2 := 0.0, 0.0
			for range draws {
				c := ap.clone()
				if _, err := c.Update(invSqrtTimes(d, v, normalVec(len(d), rng))); err != nil {
					return nil, nil, err
				}
				r := q.Sigma(c.g) / s0
				sum, sum2 = sum+r, sum2+r*r
			}
			nf := float64(draws)
			m := sum / nf
			mean, se = append(mean, m), append(se, math.Sqrt(max(sum2/nf-m*m, 0)/(nf-1)))
			i++
		}
		u, err := randomDirection(ap.g, rng)
		if err != nil {
			return nil, nil, fmt.Errorf("qn: step %d: %w", k, err)
		}
		if _, err := ap.Update(u); err != nil {
			return nil, nil, err
		}
	}
	return mean, se, nil
}

// Case is one run for RunAll.
type Case struct {
	Q *Quadratic
	S Settings
}

// RunAll runs the cases, GOMAXPROCS at a time, and returns their records in the cases' order;
// the first error (in that order) is returned with them.
func RunAll(cases []Case) ([][]Record, error) {
	out := make([][]Record, len(cases))
	errs := make([]error, len(cases))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = Run(cases[i].Q, cases[i].S)
			}
		})
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Column returns f of every record, e.g. Column(recs, func(r Record) float64 { return r.Sigma }).
func Column(recs []Record, f func(Record) float64) []float64 {
	out := make([]float64, len(recs))
	for i, r := range recs {
		out[i] = f(r)
	}
	return out
}

// Ratios returns λ_k/λ_0 for each record of a run.
func Ratios(recs []Record) []float64 {
	if len(recs) == 0 {
		return nil
	}
	return Column(recs, func(r Record) float64 { return r.Lambda / recs[0].Lambda })
}

// Curve returns exp(logf(k)) for k = 0, …, K−1, NaN where that is not in [lo, hi): a bound
// of 1 or more says nothing, and explicit bounds are far above 1 for many steps (and, once
// below, fall superexponentially).
func Curve(K int, logf func(k int) float64, lo, hi float64) []float64 {
	out := make([]float64, K)
	for k := range out {
		out[k] = math.NaN()
		if lf := logf(k); lf < math.Log(hi) && lf >= math.Log(lo) {
			out[k] = math.Exp(lf)
		}
	}
	return out
}

// BoundCurve is Curve of the method's bound on λ_k/λ_0 (LogBound); all NaN where none is
// reported.
func BoundCurve(r Rule, u Update, n int, mu, L float64, K int, clip float64) []float64 {
	return Curve(K, func(k int) float64 {
		if lb, ok := LogBound(r, u, n, mu, L, k); ok {
			return lb
		}
		return math.NaN()
	}, 0, clip)
}

// FirstBelow returns the first k with ys[k] ≤ level, or −1.
func FirstBelow(ys []float64, level float64) int {
	for k, y := range ys {
		if y <= level {
			return k
		}
	}
	return -1
}

// FirstKBelow returns the first k ≤ kmax with logBound(k) ≤ log(level), or −1; e.g. with
// func(k int) float64 { return LogClassicalSigmaRate(σ_0, k) }, the step from which a bound
// promises λ_k ≤ level·λ_0.
func FirstKBelow(logBound func(k int) float64, level float64, kmax int) int {
	for k := 0; k <= kmax; k++ {
		if logBound(k) <= math.Log(level) {
			return k
		}
	}
	return -1
}

// Quantile returns, for each k, the p-quantile (SampleQuantile) of runs[i][k] over the runs
// that have a k-th value.
func Quantile(runs [][]float64, p float64) []float64 {
	var out []float64
	for k := 0; ; k++ {
		var v []float64
		for _, r := range runs {
			if k < len(r) {
				v = append(v, r[k])
			}
		}
		if len(v) == 0 {
			return out
		}
		out = append(out, SampleQuantile(v, p))
	}
}

// SampleQuantile returns the p-quantile (0 ≤ p ≤ 1, linear interpolation between order
// statistics) of xs, which it sorts; NaN if xs is empty.
func SampleQuantile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	x := p * float64(len(xs)-1)
	i := int(x)
	if i+1 < len(xs) {
		return xs[i] + (x-float64(i))*(xs[i+1]-xs[i])
	}
	return xs[i]
}
