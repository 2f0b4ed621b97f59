package qn

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"qnlab/internal/enum"
)

// Update is a Broyden-class update of G along u, with A's curvature Au (Rodomanov & Nesterov
// 2021; Lin, Ye & Zhang 2022). All three are in Hessian-approximation (G) form.
type Update int

const (
	// BFGS: G₊ = G − GuuᵀG/(uᵀGu) + AuuᵀA/(uᵀAu).
	BFGS Update = iota
	// DFP: G₊ = (I − Auuᵀ/(uᵀAu))·G·(I − uuᵀA/(uᵀAu)) + AuuᵀA/(uᵀAu).
	DFP
	// SR1: G₊ = G − RuuᵀR/(uᵀRu), R = G − A; no update when uᵀRu = 0 (G already equals A
	// along u).
	SR1
)

var updateNames = enum.Names[Update]{BFGS: "bfgs", DFP: "dfp", SR1: "sr1"}

func (u Update) String() string { return updateNames.String(u, "Update") }

// ParseUpdate returns the Update named "bfgs", "dfp" or "sr1".
func ParseUpdate(name string) (Update, error) { return updateNames.Parse("qn", "update", name) }

// Change is what one update did.
type Change struct {
	// Q is the update's ratio, computed from G and u before the update:
	// BFGS uᵀGA⁻¹Gu/uᵀGu, DFP uᵀGu/uᵀAu, SR1 uᵀRA⁻¹Ru/uᵀRu with R = G − A.
	Q float64
	// DSigma is σ_A(G₊) − σ_A(G) by the update's identity: 1 − Q (BFGS, DFP), −Q (SR1).
	DSigma float64
	// Skipped is true when SR1 made no update because uᵀ(G − A)u = 0 (to rounding: see sr1Skip).
	Skipped bool
}

// sr1Skip is r of the SR1 safeguard: no update unless uᵀRu ≥ r·‖u‖·‖Ru‖ (Nocedal & Wright
// 2006, eq. 6.26). uᵀRu = 0 in exact arithmetic (Ru = 0) computes as rounding noise w = Zᵀu,
// and projecting Z along that noise would remove an arbitrary part of G − A.
const sr1Skip = 1e-8

// Approx is a Hessian approximation G of a quadratic's A, starting at G_0 = L·I and changed
// by one Broyden-class update per call to Update. Create it with NewApprox.
//
// SR1 also keeps G − A = ZZᵀ and computes Ru = Z(Zᵀu) and uᵀRu = ‖Zᵀu‖²: the update is then
// Z₊ = Z(I − wwᵀ/wᵀw), w = Zᵀu, a projection, so rounding can neither make uᵀRu negative nor
// make G₊ − A indefinite.
type Approx struct {
	q   *Quadratic
	upd Update
	g   *mat.SymDense
	z   *mat.Dense // SR1 only
}

// NewApprox returns G_0 = L·I for q, to be changed by upd.
func NewApprox(q *Quadratic, upd Update) (*Approx, error) {
	if !updateNames.Valid(upd) {
		return nil, fmt.Errorf("qn: unknown update %v", upd)
	}
	n := q.Dim()
	g := mat.NewSymDense(n, nil)
	for i := range n {
		g.SetSym(i, i, q.l)
	}
	ap := &Approx{q: q, upd: upd, g: g}
	if upd == SR1 {
		// G_0 − A = L·I − VDVᵀ = V·diag(L − d)·Vᵀ, so Z_0 = V·diag(√(L − d)).
		ap.z = mat.DenseCopyOf(q.eigvec)
		for j, d := range q.eigval {
			s := math.Sqrt(math.Max(q.l-d, 0))
			for i := range n {
				ap.z.Set(i, j, ap.z.At(i, j)*s)
			}
		}
	}
	return ap, nil
}

// clone returns an independent copy of ap.
func (ap *Approx) clone() *Approx {
	c := &Approx{q: ap.q, upd: ap.upd, g: mat.NewSymDense(ap.g.SymmetricDim(), nil)}
	c.g.CopySym(ap.g)
	if ap.z != nil {
		c.z = mat.DenseCopyOf(ap.z)
	}
	return c
}

// G returns the current G (not a copy: do not change it).
func (ap *Approx) G() mat.Symmetric { return ap.g }

// Update replaces G by its update along u and reports the change. u must not be zero.
// The updates do not depend on u's length; u is scaled to length 1 first, so that steps near
// x* (tiny u) cannot underflow.
func (ap *Approx) Update(dir *mat.VecDense) (Change, error) {
	q, g := ap.q, ap.g
	norm := mat.Norm(dir, 2)
	if !(norm > 0) || math.IsInf(norm, 0) {
		return Change{}, fmt.Errorf("qn: update direction has length %g", norm)
	}
	var u, au, gu mat.VecDense
	u.ScaleVec(1/norm, dir)
	au.MulVec(q.a, &u)
	uau := mat.Dot(&u, &au)
	switch ap.upd {
	case BFGS:
		gu.MulVec(g, &u)
		ugu := mat.Dot(&u, &gu)
		qv := q.lambdaOfGrad(&gu) / ugu // (Gu)ᵀA⁻¹(Gu)/uᵀGu
		g.SymRankOne(g, -1/ugu, &gu)
		g.SymRankOne(g, 1/uau, &au)
		return Change{Q: qv, DSigma: 1 - qv}, nil
	case DFP:
		gu.MulVec(g, &u)
		ugu := mat.Dot(&u, &gu)
		qv := ugu / uau
		// Expanded: G − (Au(Gu)ᵀ + Gu(Au)ᵀ)/c + (1 + uᵀGu/c)·AuuᵀA/c, c = uᵀAu.
		g.RankTwo(g, -1/uau, &au, &gu)
		g.SymRankOne(g, (1+qv)/uau, &au)
		return Change{Q: qv, DSigma: 1 - qv}, nil
	default: // SR1
		// With ŵ = w/‖w‖, w = Zᵀu and p = Zŵ: Ru = ‖w‖p, uᵀRu = ‖w‖², so RuuᵀR/uᵀRu = ppᵀ.
		var w, p mat.VecDense
		w.MulVec(ap.z.T(), &u)
		wn := mat.Norm(&w, 2)
		if wn > 0 {
			// Divide rather than scale by 1/‖w‖: once Z has shrunk to subnormal entries
			// (G = A to rounding), 1/‖w‖ overflows and ŵ would be NaN.
			for i := range w.Len() {
				w.SetVec(i, w.AtVec(i)/wn)
			}
			p.MulVec(ap.z, &w)
		}
		// The safeguard uᵀRu > r·‖u‖·‖Ru‖, divided by ‖w‖ (‖u‖ = 1).
		if wn == 0 || !(wn > sr1Skip*mat.Norm(&p, 2)) {
			return Change{Skipped: true}, nil
		}
		qv := q.lambdaOfGrad(&p) // (Ru)ᵀA⁻¹(Ru)/uᵀRu = pᵀA⁻¹p
		g.SymRankOne(g, -1, &p)
		// Z₊ = Z − pŵᵀ = Z(I − ŵŵᵀ).
		blas64.Ger(-1, p.RawVector(), w.RawVector(), blas64.General(ap.z.RawMatrix()))
		return Change{Q: qv, DSigma: -qv}, nil
	}
}

// Whitened returns the eigenvalues (ascending) of A^{−1/2}GA^{−1/2} − I and its trace σ_A(G).
// It uses A = CCᵀ: C⁻¹(G − A)C⁻ᵀ has the same eigenvalues and is formed without cancelling
// the I (G − A is taken entrywise first).
func (q *Quadratic) Whitened(g mat.Symmetric) (eig []float64, sigma float64) {
	n := q.Dim()
	r := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			r.Set(i, j, g.At(i, j)-q.a.At(i, j))
		}
	}
	c := q.c.RawTriangular()
	rr := blas64.General(r.RawMatrix())
	blas64.Trsm(blas.Left, blas.NoTrans, 1, c, rr)
	blas64.Trsm(blas.Right, blas.Trans, 1, c, rr)
	s := mat.NewSymDense(n, nil)
	for i := range n {
		sigma += r.At(i, i)
		for j := i; j < n; j++ {
			s.SetSym(i, j, (r.At(i, j)+r.At(j, i))/2)
		}
	}
	var es mat.EigenSym
	if !factorizeValues(&es, s) {
		nan := make([]float64, n)
		for i := range nan {
			nan[i] = math.NaN()
		}
		return nan, sigma
	}
	return es.Values(nil), sigma
}

// factorizeValues is es.Factorize(s, false), falling back to computing eigenvectors too where
// gonum (v0.17.0) panics: its eigenvalue-only path (Dsterf) rescales a block of the tridiagonal
// form whose norm is below ≈1e-122 with the wrong leading dimension ("lapack: insufficient
// length of a"), e.g. for G − A = [[0, 1e-140], [1e-140, 0]]. The path with vectors (Dsteqr)
// rescales correctly.
func factorizeValues(es *mat.EigenSym, s mat.Symmetric) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ok = es.Factorize(s, true)
		}
	}()
	return es.Factorize(s, false)
}
