package qn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"

	"qnlab/internal/enum"
)

// Spectrum says how Generate spreads A's eigenvalues over [μ, L].
type Spectrum int

const (
	// Uniform: μ, L and n−2 eigenvalues drawn uniformly from [μ, L].
	Uniform Spectrum = iota
	// LogUniform: μ, L and n−2 eigenvalues whose logarithms are uniform in [log μ, log L].
	LogUniform
	// Clusters: the lower half log-uniform in [μ, μ·κ^0.1], the upper half in [L·κ^−0.1, L],
	// κ = L/μ; μ and L included.
	Clusters
)

var spectrumNames = enum.Names[Spectrum]{Uniform: "uniform", LogUniform: "loguniform", Clusters: "clusters"}

func (s Spectrum) String() string { return spectrumNames.String(s, "Spectrum") }

// ParseSpectrum returns the Spectrum named "uniform", "loguniform" or "clusters".
func ParseSpectrum(name string) (Spectrum, error) { return spectrumNames.Parse("qn", "spectrum", name) }

// Quadratic is f(x) = ½xᵀAx − bᵀx with A symmetric and μI ⪯ A ⪯ LI, μ > 0.
// Create one with Generate or NewQuadratic; it is not changed after that.
type Quadratic struct {
	a      *mat.SymDense
	b      *mat.VecDense
	mu, l  float64
	chol   mat.Cholesky  // A = CCᵀ
	c      *mat.TriDense // the lower factor C
	ainv   *mat.SymDense // A⁻¹
	eigval []float64     // A's eigenvalues, ascending
	eigvec *mat.Dense    // and its orthonormal eigenvectors (columns)
}

// Generate returns a quadratic with n×n A = QDQᵀ, Q a random orthogonal matrix (Haar
// distributed), D's diagonal drawn from the spectrum s on [μ, L], and b ~ N(0, I), all from
// seed: the same arguments give the same quadratic. For n ≥ 2 both μ and L are eigenvalues;
// for n = 1 A = [μ].
func Generate(n int, mu, L float64, s Spectrum, seed uint64) (*Quadratic, error) {
	if n < 1 {
		return nil, fmt.Errorf("qn: dimension n=%d must be ≥ 1", n)
	}
	if err := checkMuL(mu, L); err != nil {
		return nil, err
	}
	if !spectrumNames.Valid(s) {
		return nil, fmt.Errorf("qn: unknown spectrum %v", s)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	d := spectrum(n, mu, L, s, rng)
	q := haar(n, rng)
	b := mat.NewVecDense(n, nil)
	for i := range n {
		b.SetVec(i, rng.NormFloat64())
	}
	// A = Q·diag(d)·Qᵀ, symmetrized exactly.
	var qd, a mat.Dense
	qd.CloneFrom(q)
	for j := range n {
		for i := range n {
			qd.Set(i, j, qd.At(i, j)*d[j])
		}
	}
	a.Mul(&qd, q.T())
	sym := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, (a.At(i, j)+a.At(j, i))/2)
		}
	}
	quad, err := newQuadratic(sym, b)
	if err != nil {
		return nil, err
	}
	// The constants are the ones asked for; the computed extremes differ by rounding only.
	quad.mu, quad.l = mu, L
	return quad, nil
}

func checkMuL(mu, L float64) error {
	switch {
	case !(mu > 0) || math.IsInf(mu, 0):
		return fmt.Errorf("qn: μ=%g must be finite and > 0", mu)
	case math.IsNaN(L) || math.IsInf(L, 0):
		return fmt.Errorf("qn: L=%g must be finite", L)
	case mu > L:
		return fmt.Errorf("qn: μ=%g must be ≤ L=%g", mu, L)
	}
	return nil
}

// spectrum draws n eigenvalues in [mu, L]; for n ≥ 2 the first is mu and the last L.
func spectrum(n int, mu, L float64, s Spectrum, rng *rand.Rand) []float64 {
	d := make([]float64, n)
	logU := func(lo, hi float64) float64 { return math.Exp(math.Log(lo) + rng.Float64()*math.Log(hi/lo)) }
	width := math.Pow(L/mu, 0.1)
	for i := range d {
		switch s {
		case Uniform:
			d[i] = mu + rng.Float64()*(L-mu)
		case LogUniform:
			d[i] = logU(mu, L)
		case Clusters:
			if i < n/2 {
				d[i] = logU(mu, mu*width)
			} else {
				d[i] = logU(L/width, L)
			}
		}
	}
	d[0] = mu
	if n >= 2 {
		d[n-1] = L
	}
	return d
}

// haar returns an n×n orthogonal matrix distributed uniformly (Haar): Q of the QR
// factorization of a Gaussian matrix, columns signed so that R has a positive diagonal.
func haar(n int, rng *rand.Rand) *mat.Dense {
	g := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	for j := range n {
		if r.At(j, j) < 0 {
			for i := range n {
				q.Set(i, j, -q.At(i, j))
			}
		}
	}
	return &q
}

// NewQuadratic returns the quadratic with the given A and b. A must be square, exactly
// symmetric, finite and positive definite; μ and L are its extreme eigenvalues.
func NewQuadratic(a mat.Matrix, b mat.Vector) (*Quadratic, error) {
	n, c := a.Dims()
	if n != c || n < 1 {
		return nil, fmt.Errorf("qn: A is %d×%d, want square with n ≥ 1", n, c)
	}
	sym := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			v := a.At(i, j)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("qn: A[%d,%d]=%g is not finite", i, j, v)
			}
			if w := a.At(j, i); w != v {
				return nil, fmt.Errorf("qn: A is not symmetric: A[%d,%d]=%g ≠ A[%d,%d]=%g", i, j, v, j, i, w)
			}
			sym.SetSym(i, j, v)
		}
	}
	return newQuadratic(sym, b)
}

func newQuadratic(a *mat.SymDense, b mat.Vector) (*Quadratic, error) {
	n := a.SymmetricDim()
	bv, err := checkB(b, n)
	if err != nil {
		return nil, err
	}
	q := &Quadratic{a: a, b: bv}
	var eig mat.EigenSym
	if !eig.Factorize(a, true) {
		return nil, fmt.Errorf("qn: eigendecomposition of A failed")
	}
	q.eigval = eig.Values(nil)
	q.eigvec = new(mat.Dense)
	eig.VectorsTo(q.eigvec)
	sortEigen(q.eigval, q.eigvec)
	q.mu, q.l = q.eigval[0], q.eigval[n-1]
	if !(q.mu > 0) {
		return nil, fmt.Errorf("qn: A is not positive definite: smallest eigenvalue %g", q.mu)
	}
	if !q.chol.Factorize(a) {
		return nil, fmt.Errorf("qn: A is not numerically positive definite (Cholesky failed; eigenvalues in [%g, %g])", q.mu, q.l)
	}
	q.c = new(mat.TriDense)
	q.chol.LTo(q.c)
	q.ainv = new(mat.SymDense)
	if err := q.chol.InverseTo(q.ainv); err != nil {
		return nil, fmt.Errorf("qn: inverting A: %w", err)
	}
	return q, nil
}

// sortEigen orders eigenvalues ascending and permutes the vector columns alike.
func sortEigen(val []float64, vec *mat.Dense) {
	n := len(val)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return val[idx[i]] < val[idx[j]] })
	v := append([]float64(nil), val...)
	old := mat.DenseCopyOf(vec)
	for j, k := range idx {
		val[j] = v[k]
		for i := range n {
			vec.Set(i, j, old.At(i, k))
		}
	}
}

// WithB returns the quadratic with the same A, μ and L and another b.
func (q *Quadratic) WithB(b mat.Vector) (*Quadratic, error) {
	bv, err := checkB(b, q.Dim())
	if err != nil {
		return nil, err
	}
	c := *q
	c.b = bv
	return &c, nil
}

// checkB returns a copy of b after checking its length and that it is finite.
func checkB(b mat.Vector, n int) (*mat.VecDense, error) {
	if b == nil || b.Len() != n {
		return nil, fmt.Errorf("qn: b must have length n=%d", n)
	}
	bv := mat.NewVecDense(n, nil)
	for i := range n {
		v := b.AtVec(i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("qn: b[%d]=%g is not finite", i, v)
		}
		bv.SetVec(i, v)
	}
	return bv, nil
}

// Dim returns n.
func (q *Quadratic) Dim() int { return q.a.SymmetricDim() }

// Mu returns μ: for NewQuadratic A's smallest eigenvalue, for Generate the μ asked for.
func (q *Quadratic) Mu() float64 { return q.mu }

// L returns L: for NewQuadratic A's largest eigenvalue, for Generate the L asked for.
func (q *Quadratic) L() float64 { return q.l }

// A returns a copy of A.
func (q *Quadratic) A() *mat.SymDense {
	return mat.NewSymDense(q.Dim(), append([]float64(nil), q.a.RawSymmetric().Data...))
}

// B returns a copy of b.
func (q *Quadratic) B() *mat.VecDense { return mat.VecDenseCopyOf(q.b) }

// Sigma0 returns σ_0 = σ_A(L·I) = L·tr(A⁻¹) − n, σ of the starting G_0 = L·I (≤ nL/μ).
func (q *Quadratic) Sigma0() float64 {
	s := 0.0
	for _, a := range q.eigval {
		s += q.l/a - 1
	}
	return s
}

// Eigenvalues returns A's eigenvalues in ascending order.
func (q *Quadratic) Eigenvalues() []float64 { return append([]float64(nil), q.eigval...) }

// Grad stores ∇f(x) = Ax − b in dst.
func (q *Quadratic) Grad(dst *mat.VecDense, x mat.Vector) {
	dst.MulVec(q.a, x)
	dst.SubVec(dst, q.b)
}

// Lambda returns λ(x) = ∇f(x)ᵀA⁻¹∇f(x) = ‖x − x*‖²_A.
func (q *Quadratic) Lambda(x mat.Vector) float64 {
	var g mat.VecDense
	q.Grad(&g, x)
	return q.lambdaOfGrad(&g)
}

func (q *Quadratic) lambdaOfGrad(g *mat.VecDense) float64 {
	var w mat.VecDense
	w.SolveVec(q.c, g) // w = C⁻¹g, so λ = ‖w‖²
	return mat.Dot(&w, &w)
}

// Sigma returns σ_A(G) = tr(A⁻¹(G − A)).
func (q *Quadratic) Sigma(g mat.Symmetric) float64 {
	n := q.Dim()
	s := 0.0
	for i := range n {
		for j := range n {
			s += q.ainv.At(i, j) * (g.At(j, i) - q.a.At(j, i))
		}
	}
	return s
}
