package lbfgs

import (
	"fmt"
	"math"
	"slices"

	"qnlab/internal/enum"
)

// DefaultM is the history size used when History.M is 0 (Nocedal & Wright suggest 3 ≤ m ≤ 20).
const DefaultM = 10

// DefaultEps is the curvature threshold used when History.Eps is 0.
const DefaultEps = 1e-8

// Pair is one curvature pair: s = x_{k+1} − x_k, y = ∇f_{k+1} − ∇f_k and ρ = 1/(yᵀs).
type Pair struct {
	S, Y []float64
	Rho  float64
}

// History holds the last M accepted curvature pairs, oldest first, in host memory: the history
// of Minimize and Kernel. The training optimizer keeps the same history in the graph
// (slotHistory).
//
// A pair is rejected, never stored, if it holds NaN or Inf, if its length differs from the
// stored pairs', or if it fails the relative Curvature test yᵀs > Eps·‖s‖‖y‖ (no positive
// curvature along s: storing it would make H_k indefinite or singular). The zero value is an
// empty history with the defaults.
type History struct {
	// M is the number of pairs kept. If M is 0, it will be defaulted to DefaultM.
	M int
	// Eps is the relative curvature threshold: a pair needs yᵀs > Eps·‖s‖‖y‖, i.e. the cosine of
	// the angle between s and y above Eps. If Eps is 0, it will be defaulted to DefaultEps.
	Eps float64

	pairs []Pair
}

// NewHistory returns an empty history of size m with curvature threshold eps (0: DefaultEps).
func NewHistory(m int, eps float64) (*History, error) {
	if m < 1 {
		return nil, fmt.Errorf("lbfgs: history size m=%d must be ≥ 1", m)
	}
	if eps < 0 || math.IsNaN(eps) || math.IsInf(eps, 0) {
		return nil, fmt.Errorf("lbfgs: curvature threshold eps=%g must be finite and ≥ 0", eps)
	}
	return &History{M: m, Eps: eps}, nil
}

func (h *History) m() int {
	if h.M <= 0 {
		return DefaultM
	}
	return h.M
}

func (h *History) eps() float64 {
	if h.Eps <= 0 {
		return DefaultEps
	}
	return h.Eps
}

// Reason says why a pair was rejected.
type Reason int

const (
	// NonFinite: s or y holds NaN or ±Inf.
	NonFinite Reason = iota + 1
	// BadLength: s and y differ in length, are empty, or differ from the stored pairs' length.
	BadLength
	// NoCurvature: yᵀs ≤ Eps·‖s‖‖y‖ (zero, negative or too small curvature, or s = 0 or y = 0).
	NoCurvature
)

var reasonNames = enum.Names[Reason]{NonFinite: "non-finite", BadLength: "bad length", NoCurvature: "no curvature"}

func (r Reason) String() string { return reasonNames.String(r, "Reason") }

// RejectError is returned by History.Push for a pair that was not stored.
type RejectError struct {
	Reason Reason
	Detail string
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("lbfgs: pair rejected (%s): %s", e.Reason, e.Detail)
}

// Push stores the pair (s, y), dropping the oldest pair if the history is full. It copies s and
// y. A rejected pair returns a *RejectError and leaves the history unchanged.
func (h *History) Push(s, y []float64) error {
	if len(s) == 0 || len(s) != len(y) {
		return &RejectError{BadLength, fmt.Sprintf("len(s)=%d, len(y)=%d", len(s), len(y))}
	}
	if d := h.Dim(); d != 0 && len(s) != d {
		return &RejectError{BadLength, fmt.Sprintf("len(s)=%d, stored pairs have length %d", len(s), d)}
	}
	if i := firstNonFinite(s); i >= 0 {
		return &RejectError{NonFinite, fmt.Sprintf("s[%d] = %g", i, s[i])}
	}
	if i := firstNonFinite(y); i >= 0 {
		return &RejectError{NonFinite, fmt.Sprintf("y[%d] = %g", i, y[i])}
	}
	ys, ns, ny := dot(y, s), norm(s), norm(y)
	if math.IsInf(ys, 0) || math.IsInf(ns*ny, 0) {
		return &RejectError{NonFinite, fmt.Sprintf("yᵀs = %g, ‖s‖‖y‖ = %g overflow", ys, ns*ny)}
	}
	if thr := (Curvature{Eps: h.eps(), Relative: true}).threshold(ns, ny); !(ys > thr) {
		return &RejectError{NoCurvature, fmt.Sprintf("yᵀs = %.3g ≤ ε‖s‖‖y‖ = %.3g", ys, thr)}
	}
	// ρ = 1/yᵀs and γ = yᵀs/yᵀy must be finite too (they can overflow for extreme scales).
	if rho, gamma := 1/ys, ys/(ny*ny); math.IsInf(rho, 0) || math.IsInf(gamma, 0) || gamma == 0 {
		return &RejectError{NonFinite, fmt.Sprintf("ρ = 1/yᵀs = %g or γ = yᵀs/yᵀy = %g out of range", rho, gamma)}
	}
	if len(h.pairs) == h.m() {
		h.pairs[0] = Pair{} // release the dropped pair's slices
		h.pairs = h.pairs[1:]
	}
	h.pairs = append(h.pairs, Pair{S: slices.Clone(s), Y: slices.Clone(y), Rho: 1 / ys})
	return nil
}

// Len is the number of stored pairs.
func (h *History) Len() int { return len(h.pairs) }

// Dim is the length of the stored pairs, 0 if the history is empty.
func (h *History) Dim() int {
	if len(h.pairs) == 0 {
		return 0
	}
	return len(h.pairs[0].S)
}

// Pairs returns the stored pairs, oldest first. The caller must not modify them.
func (h *History) Pairs() []Pair { return h.pairs }

// Gamma is the initial scaling γ_k = s_{k-1}ᵀy_{k-1}/(y_{k-1}ᵀy_{k-1}) of the newest pair
// (Nocedal & Wright eq. 7.20), so H_0 = γ_k·I; 1 for an empty history.
func (h *History) Gamma() float64 {
	if len(h.pairs) == 0 {
		return 1
	}
	p := h.pairs[len(h.pairs)-1]
	return 1 / (p.Rho * dot(p.Y, p.Y))
}

// Clear empties the history.
func (h *History) Clear() { h.pairs = nil }

func firstNonFinite(v []float64) int {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return i
		}
	}
	return -1
}

// dot is aᵀb summed in index order. Minimize, History and the graph path use it, so their
// results do not depend on the host path's faster kernel (hostDot).
func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }
