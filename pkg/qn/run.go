package qn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"qnlab/internal/enum"
)

// randomStream is the PCG stream of the Random rule's draws (documented on Settings.Seed).
const randomStream = 0xda3e39cb94b95bdb

// Rule chooses the direction u_k along which G_k is updated.
type Rule int

const (
	// Classical: u_k = x_{k+1} − x_k, the step just taken (Rodomanov & Nesterov 2022).
	Classical Rule = iota
	// Greedy: u_k = G_k^{−1/2}e_i with i maximising e_iᵀG_k^{1/2}A⁻¹G_k^{1/2}e_i, G^{1/2} the
	// symmetric square root (Lin, Ye & Zhang 2022, the greedy rule in G's coordinates);
	// ties go to the smallest i.
	Greedy
	// Random: u_k = G_k^{−1/2}ũ, ũ ~ N(0, I) (Lin, Ye & Zhang 2022).
	Random
)

var ruleNames = enum.Names[Rule]{Classical: "classical", Greedy: "greedy", Random: "random"}

func (r Rule) String() string { return ruleNames.String(r, "Rule") }

// ParseRule returns the Rule named "classical", "greedy" or "random".
func ParseRule(name string) (Rule, error) { return ruleNames.Parse("qn", "method", name) }

// Settings configures Run. The zero value runs classical BFGS from x_0 = 0.
type Settings struct {
	Rule   Rule
	Update Update
	// Iters is the number of steps. If Iters is 0, it is defaulted to 4n + 40.
	Iters int
	// Stop ends the run early once λ_k ≤ Stop·λ_0. If Stop is 0, the run stops early only
	// when ∇f(x_k) = 0 exactly.
	Stop float64
	// Seed seeds the Random rule: ũ_k is the k-th block of n NormFloat64 draws from
	// rand.New(rand.NewPCG(Seed, 0xda3e39cb94b95bdb)). Same seed, same directions.
	Seed uint64
	// X0 is the starting point. If X0 is nil, it is defaulted to 0.
	X0 mat.Vector
}

// Record is the state at step k, before the step.
type Record struct {
	K      int
	Lambda float64 // λ_k = ∇f(x_k)ᵀA⁻¹∇f(x_k)
	Sigma  float64 // σ_A(G_k) = tr(A⁻¹(G_k − A))
	// Theta is θ_k = λ_{k+1}/λ_k; NaN on the last record.
	Theta float64
	// EigMin and EigMax are the extreme eigenvalues of A^{−1/2}G_kA^{−1/2}; the invariant
	// A ⪯ G_k ⪯ (L/μ)A says they lie in [1, L/μ].
	EigMin, EigMax float64
	// Bound is λ_0 times the method's explicit bound on λ_k/λ_0 (see Bound); NaN if the
	// theory gives none. It may be +Inf: the superlinear bounds exceed 1 for small k.
	Bound float64
	// Index is the greedy rule's i (−1 for the other rules and on the last record).
	Index int
	// Change is what the update of G_k did (zero on the last record).
	Change Change
}

// Run runs x_{k+1} = x_k − G_k⁻¹∇f(x_k), G_0 = L·I, G_{k+1} = the update of G_k along u_k,
// and returns one Record per k = 0, 1, …, up to Iters.
func Run(q *Quadratic, s Settings) ([]Record, error) {
	n := q.Dim()
	if !ruleNames.Valid(s.Rule) {
		return nil, fmt.Errorf("qn: unknown rule %v", s.Rule)
	}
	if s.Iters < 0 {
		return nil, fmt.Errorf("qn: Iters=%d must be ≥ 0", s.Iters)
	}
	if s.Stop < 0 || math.IsNaN(s.Stop) {
		return nil, fmt.Errorf("qn: Stop=%g must be ≥ 0", s.Stop)
	}
	iters := s.Iters
	if iters == 0 {
		iters = 4*n + 40
	}
	x := mat.NewVecDense(n, nil)
	if s.X0 != nil {
		if s.X0.Len() != n {
			return nil, fmt.Errorf("qn: X0 has length %d, want n=%d", s.X0.Len(), n)
		}
		x.CopyVec(s.X0)
	}
	ap, err := NewApprox(q, s.Update)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(s.Seed, randomStream))
	var recs []Record
	var g, step mat.VecDense
	var chol mat.Cholesky
	lambda0 := 0.0
	for k := 0; ; k++ {
		q.Grad(&g, x)
		lam := q.lambdaOfGrad(&g)
		eig, sigma := q.Whitened(ap.g)
		if k == 0 {
			lambda0 = lam
		}
		if k > 0 {
			recs[k-1].Theta = lam / recs[k-1].Lambda
		}
		bound := math.NaN()
		if lb, ok := LogBound(s.Rule, s.Update, n, q.mu, q.l, k); ok {
			bound = lambda0 * math.Exp(lb)
		}
		recs = append(recs, Record{K: k, Lambda: lam, Sigma: sigma, Theta: math.NaN(),
			EigMin: 1 + eig[0], EigMax: 1 + eig[n-1], Bound: bound, Index: -1})
		if k == iters || lam == 0 || lam <= s.Stop*lambda0 {
			return recs, nil
		}
		// Step: s = −G⁻¹∇f.
		if !chol.Factorize(ap.g) {
			return recs, fmt.Errorf("qn: step %d: G is not numerically positive definite", k)
		}
		if err := chol.SolveVecTo(&step, &g); err != nil {
			return recs, fmt.Errorf("qn: step %d: %w", k, err)
		}
		step.ScaleVec(-1, &step)
		x.AddVec(x, &step)
		var u *mat.VecDense
		var err error
		switch s.Rule {
		case Classical:
			u = mat.VecDenseCopyOf(&step)
		case Greedy:
			u, recs[k].Index, err = greedyDirection(q, ap.g)
		case Random:
			u, err = randomDirection(ap.g, rng)
		}
		if err != nil {
			return recs, fmt.Errorf("qn: step %d: %w", k, err)
		}
		ch, err := ap.Update(u)
		if err != nil {
			return recs, fmt.Errorf("qn: step %d: %w", k, err)
		}
		recs[k].Change = ch
	}
}

// sqrtEigen returns G = VDVᵀ; an error if the eigendecomposition fails or G is not positive
// definite (then G^{±1/2} does not exist).
func sqrtEigen(g mat.Symmetric) (d []float64, v *mat.Dense, err error) {
	var es mat.EigenSym
	if !es.Factorize(g, true) {
		return nil, nil, errors.New("qn: the eigendecomposition of G failed")
	}
	v = new(mat.Dense)
	es.VectorsTo(v)
	d = es.Values(nil)
	if !(d[0] > 0) {
		return nil, nil, fmt.Errorf("qn: G is not positive definite (smallest eigenvalue %g)", d[0])
	}
	return d, v, nil
}

// greedyDirection returns u = G^{−1/2}e_i for the i maximising the diagonal of
// M = G^{1/2}A⁻¹G^{1/2} = WᵀW, W = C⁻¹G^{1/2} (A = CCᵀ).
func greedyDirection(q *Quadratic, g mat.Symmetric) (*mat.VecDense, int, error) {
	n := q.Dim()
	d, v, err := sqrtEigen(g)
	if err != nil {
		return nil, -1, err
	}
	var vs, w mat.Dense // vs = V·diag(√d), W = vs·Vᵀ = G^{1/2}
	vs.CloneFrom(v)
	for j := range n {
		sj := math.Sqrt(d[j])
		for i := range n {
			vs.Set(i, j, vs.At(i, j)*sj)
		}
	}
	w.Mul(&vs, v.T())
	blas64.Trsm(blas.Left, blas.NoTrans, 1, q.c.RawTriangular(), blas64.General(w.RawMatrix()))
	best, bestM := 0, math.Inf(-1)
	for i := range n {
		m := 0.0
		for r := range n {
			m += w.At(r, i) * w.At(r, i)
		}
		if m > bestM {
			best, bestM = i, m
		}
	}
	e := mat.NewVecDense(n, nil)
	e.SetVec(best, 1)
	return invSqrtTimes(d, v, e), best, nil
}

// randomDirection returns u = G^{−1/2}ũ, ũ ~ N(0, I) drawn from rng (ũ_0 first).
func randomDirection(g mat.Symmetric, rng *rand.Rand) (*mat.VecDense, error) {
	d, v, err := sqrtEigen(g)
	if err != nil {
		return nil, err
	}
	return invSqrtTimes(d, v, normalVec(g.SymmetricDim(), rng)), nil
}

// normalVec draws n independent N(0, 1) values from rng, the first one first.
func normalVec(n int, rng *rand.Rand) *mat.VecDense {
	ut := mat.NewVecDense(n, nil)
	for i := range n {
		ut.SetVec(i, rng.NormFloat64())
	}
	return ut
}

// invSqrtTimes returns G^{−1/2}x = V·diag(1/√d)·Vᵀx for G = VDVᵀ.
func invSqrtTimes(d []float64, v *mat.Dense, x mat.Vector) *mat.VecDense {
	c := mat.NewVecDense(len(d), nil)
	c.MulVec(v.T(), x)
	for j := range d {
		c.SetVec(j, c.AtVec(j)/math.Sqrt(d[j]))
	}
	u := mat.NewVecDense(len(d), nil)
	u.MulVec(v, c)
	return u
}
