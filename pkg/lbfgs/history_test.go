package lbfgs

import (
	"errors"
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"gonum.org/v1/gonum/mat"
)

func TestHistoryRejectsWithReason(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name string
		s, y []float64
		want Reason
	}{
		{"NaN in s", []float64{nan, 1}, []float64{1, 1}, NonFinite},
		{"Inf in y", []float64{1, 1}, []float64{1, inf}, NonFinite},
		{"-Inf in s", []float64{-inf, 1}, []float64{1, 1}, NonFinite},
		{"zero s", []float64{0, 0}, []float64{1, 1}, NoCurvature},
		{"zero y", []float64{1, 1}, []float64{0, 0}, NoCurvature},
		{"negative curvature", []float64{1, 0}, []float64{-1, 0}, NoCurvature},
		{"orthogonal", []float64{1, 0}, []float64{0, 1}, NoCurvature},
		{"below eps", []float64{1, 0}, []float64{1e-12, 1}, NoCurvature},
		{"overflow", []float64{1e200, 1e200}, []float64{1e200, 1e200}, NonFinite},
		{"ragged", []float64{1, 1}, []float64{1}, BadLength},
		{"empty", nil, nil, BadLength},
		{"other length", []float64{1, 1, 1}, []float64{1, 1, 1}, BadLength},
	}
	for _, c := range cases {
		h, _ := NewHistory(3, 0)
		if err := h.Push([]float64{1, 0}, []float64{2, 0}); err != nil {
			t.Fatal(err)
		}
		err := h.Push(c.s, c.y)
		var re *RejectError
		if !errors.As(err, &re) || re.Reason != c.want {
			t.Errorf("%s: Push error = %v, want reason %s", c.name, err, c.want)
		}
		if h.Len() != 1 {
			t.Errorf("%s: rejected pair was stored (len %d)", c.name, h.Len())
		}
	}
}

func TestHistoryKeepsNewestM(t *testing.T) {
	h, err := NewHistory(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		s := []float64{float64(i), 1}
		if err := h.Push(s, []float64{2 * float64(i), 1}); err != nil {
			t.Fatal(err)
		}
		s[0] = -99 // Push must have copied s.
	}
	if h.Len() != 3 {
		t.Fatalf("Len = %d, want 3", h.Len())
	}
	for k, p := range h.Pairs() {
		if want := float64(k + 3); p.S[0] != want {
			t.Errorf("pair %d: s[0] = %g, want %g (oldest first, newest 3 kept)", k, p.S[0], want)
		}
		if want := 1 / (2*float64(k+3)*float64(k+3) + 1); math.Abs(p.Rho-want) > 1e-15 {
			t.Errorf("pair %d: ρ = %g, want %g", k, p.Rho, want)
		}
	}
	// γ of the newest pair s = (5, 1), y = (10, 1): sᵀy/yᵀy = 51/101.
	if g := h.Gamma(); math.Abs(g-51.0/101) > 1e-15 {
		t.Errorf("Gamma = %g, want 51/101", g)
	}
}

func TestNewHistoryValidates(t *testing.T) {
	for _, c := range []struct {
		m   int
		eps float64
	}{{0, 0}, {-1, 0}, {5, -1}, {5, math.NaN()}, {5, math.Inf(1)}} {
		if _, err := NewHistory(c.m, c.eps); err == nil {
			t.Errorf("NewHistory(%d, %g) accepted bad input", c.m, c.eps)
		}
	}
	var zero History
	if zero.m() != DefaultM || zero.eps() != DefaultEps || zero.Gamma() != 1 {
		t.Errorf("zero History: m=%d eps=%g γ=%g, want defaults and γ=1", zero.m(), zero.eps(), zero.Gamma())
	}
}

// FuzzHistoryDescent feeds pairs holding NaN, ±Inf, zeros and negative curvature to a History,
// for d = 1…6 and m = 1…4, with values of moderate size (the mantissas below) or with
// magnitudes from 1e-300 to 1e300 (in float32: 1e-37 to 1e37), and runs the kernel in float64
// or float32. The history must stay finite with positive curvature. The direction must be a
// descent direction, cos∠(g, d) < 0, for any g ≠ 0, with γ > 0 and d finite: for moderate
// values in float64 always; otherwise d may be non-finite only where a bound on the two-loop
// recursion's intermediates overflows, zero only where −H·g underflows, and not a descent
// direction only where that bound times the rounding error reaches λ_min(H)‖g‖² ≤ −gᵀd.
//
// The first three bytes choose d, m, the dtype (bit 0) and wide magnitudes (bit 1); then come
// g and the pairs (s, y), two bytes a value: one for the mantissa int8/16 (or NaN, ±Inf, 0 in
// s and y), one for the exponent (ignored for moderate values).
func FuzzHistoryDescent(f *testing.F) {
	f.Add([]byte{3, 2, 0, 4, 128, 5, 128, 6, 128, 7, 128, 8, 128, 9, 128, 10, 128, 3, 128, 3, 128, 3, 128, 3, 128, 12, 128, 13, 128, 14, 128, 15, 128})
	f.Add([]byte{1, 3, 3, 20, 200, 21, 60, 22, 128, 23, 130, 20, 140, 236, 120, 237, 128, 238, 128, 239, 128, 40, 128, 41, 128})
	f.Add([]byte{5, 1, 2, 3, 255, 3, 0, 3, 3, 100, 255, 101, 255, 102, 0, 103, 0, 156, 255, 155, 255, 154, 0, 153, 0, 60, 128, 61, 128})
	f.Add([]byte{2, 4, 1, 12, 20, 28, 36, 44, 52, 60, 68, 76, 84, 92, 100, 108, 116, 124, 132, 140, 148, 156, 164, 172, 180, 188, 196})
	// Found by fuzzing: −H·g = −2e-332 underflows to 0; α = ρsᵀg = 9e317 overflows (d exact
	// would be 3e147); γ = 1e43 overflows float32; two pairs in d = 1 whose curvatures differ by
	// 1e175 make the two-loop cancel 1e-7 against 1e-7 for a d of 2e-166 (rounding).
	f.Add([]byte("01202000000000000\xee0\xefx0000"))
	f.Add([]byte("0020\xcd777E"))
	f.Add([]byte("00300000000000000\xd7\xd7\xd7A"))
	f.Add([]byte("0120C\xb7\x84\x9dC$97C"))
	f.Add([]byte("A020000000000007&70787070\xe5 7070707070\xffx")) // H's entries 1e-206…1e-91
	f.Add([]byte("1020\xff007770707\xab"))                         // q = g − αy overflows
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		d, m := 1+int(data[0])%6, 1+int(data[1])%4
		dt, maxExp, maxVal, minNormal, eps := dtypes.Float64, 300, math.MaxFloat64, 0x1p-1022, 0x1p-53
		if data[2]&1 == 1 {
			dt, maxExp, maxVal, minNormal, eps = dtypes.Float32, 37, math.MaxFloat32, 0x1p-126, 0x1p-24
		}
		wide := data[2]&2 == 2
		data = data[3:]
		value := func(a, b byte, special bool) float64 {
			if special {
				switch a % 8 {
				case 0:
					return math.NaN()
				case 1:
					return math.Inf(1)
				case 2:
					return math.Inf(-1)
				case 3:
					return 0
				}
			}
			v := float64(int8(a)) / 16
			if wide {
				v *= math.Pow(10, float64((int(b)-128)*maxExp/128))
			}
			return v
		}
		if len(data) < 2*d {
			return
		}
		g := make([]float64, d)
		for i := range g {
			g[i] = value(data[2*i], data[2*i+1], false)
		}
		h, _ := NewHistory(m, 0)
		for rest := data[2*d:]; len(rest) >= 4*d; rest = rest[4*d:] {
			s, y := make([]float64, d), make([]float64, d)
			for i := range d {
				s[i] = value(rest[2*i], rest[2*i+1], true)
				y[i] = value(rest[2*(d+i)], rest[2*(d+i)+1], true)
			}
			_ = h.Push(s, y)
		}
		for k, p := range h.Pairs() {
			if firstNonFinite(p.S) >= 0 || firstNonFinite(p.Y) >= 0 || !(dot(p.S, p.Y) > 0) {
				t.Fatalf("stored pair %d is non-finite or lacks curvature: %v", k, p)
			}
		}
		if normInf(g) == 0 {
			return
		}
		if dt == dtypes.Float32 && !fitsFloat32Range(h) {
			return // outside the float32 kernel's domain
		}
		dir, gamma, err := testKernel(t, dt).Direction(h, g)
		if err != nil {
			t.Fatal(err)
		}
		strict := dt == dtypes.Float64 && !wide
		bound := logOverflowBound(h, g)
		if firstNonFinite(dir) >= 0 {
			if strict || bound < math.Log(maxVal)-math.Log(1e6) {
				t.Fatalf("%s direction %v is not finite, but no intermediate can exceed e^%.1f (g=%v, %d pairs)", dt, dir, bound, g, h.Len())
			}
			return
		}
		if !(gamma > 0) {
			t.Fatalf("%s: γ = %g, want > 0", dt, gamma)
		}
		if !strict && logDirectionNorm(h, g) < math.Log(minNormal)+math.Log(1e6) {
			return // −H·g is (nearly) below dt's normal range: d may underflow to 0
		}
		// cos∠(g, d) from vectors scaled to ‖·‖∞ = 1, so that tiny g and d cannot underflow.
		gn, dn := scaled(1/normInf(g), g), scaled(1/normInf(dir), dir)
		if c := dot(gn, dn); !(c < 0) {
			// The computed d is off by at most about k·ε·bound, −gᵀd ≥ λ_min(H)‖g‖² exactly.
			k := float64(10 * (d + h.Len()))
			if !strict && logMinEigen(h)+2*math.Log(normInf(g)) <= math.Log(k*eps)+bound+math.Log(normInf(g)*math.Sqrt(float64(d))) {
				return
			}
			t.Fatalf("%s: gᵀd/(‖g‖‖d‖) ∝ %g ≥ 0 for g=%v, d=%v, %d pairs: not a descent direction", dt, c, g, dir, h.Len())
		}
	})
}

// logMinEigen returns log λ_min(H) for h's H (DenseInverseHessian), or −Inf if H is not
// numerically positive definite or not finite.
func logMinEigen(h *History) float64 {
	if h.Len() == 0 {
		return 0 // H = I
	}
	H := DenseInverseHessian(h.Pairs(), h.Gamma())
	var es mat.EigenSym
	// With vectors: gonum's eigenvalue-only path panics on blocks of norm below ≈1e-122.
	if firstNonFinite(H.RawSymmetric().Data) >= 0 || !es.Factorize(H, true) {
		return math.Inf(-1)
	}
	if l := es.Values(nil)[0]; l > 0 {
		return math.Log(l)
	}
	return math.Inf(-1)
}

// fitsFloat32Range reports whether every stored pair's values, yᵀs and yᵀy, and the newest
// pair's γ = yᵀs/yᵀy lie in [1/MaxFloat32, MaxFloat32] (values: below MaxFloat32), so that
// the float32 kernel computes ρ_i = 1/yᵀs and γ as finite, nonzero numbers. qnlab direction
// refuses other inputs for -dtype float32 before the kernel runs.
func fitsFloat32Range(h *History) bool {
	in := func(v float64) bool { return v >= 1/math.MaxFloat32 && v <= math.MaxFloat32 }
	for _, p := range h.Pairs() {
		if normInf(p.S) > math.MaxFloat32 || normInf(p.Y) > math.MaxFloat32 || !in(dot(p.Y, p.S)) || !in(dot(p.Y, p.Y)) {
			return false
		}
	}
	return h.Len() == 0 || in(h.Gamma())
}

// logOverflowBound returns the logarithm of a bound on the magnitudes in the two-loop
// recursion for h and g: with c_i = ρ_i‖s_i‖‖y_i‖ ≥ 1, the first loop keeps
// ‖q‖ ≤ Q = ‖g‖·Π(1 + c_i), the second ‖r‖ ≤ R = Q·(γ + Σρ_i‖s_i‖²)·Π(1 + c_i); the inner
// products are at most ‖s_i‖Q and ‖y_i‖R, α_i and β_i at most ρ_i times them; γ and ρ_i are
// intermediates too. Computed in logarithms so that it cannot overflow.
func logOverflowBound(h *History, g []float64) float64 {
	logAdd := func(a, b float64) float64 { // log(e^a + e^b)
		hi, lo := math.Max(a, b), math.Min(a, b)
		return hi + math.Log1p(math.Exp(lo-hi))
	}
	logNorm := func(v []float64) float64 { // log‖v‖₂ via ‖v‖∞, which cannot overflow
		m := normInf(v)
		return math.Log(m) + math.Log(norm(scaled(1/m, v)))
	}
	pairs := h.Pairs()
	logProd, logH0 := 0.0, math.Log(h.Gamma())
	for _, p := range pairs {
		ls, ly, lys := logNorm(p.S), logNorm(p.Y), math.Log(dot(p.Y, p.S))
		logProd += logAdd(0, ls+ly-lys)
		logH0 = logAdd(logH0, 2*ls-lys)
	}
	logQ := logNorm(g) + logProd
	logR := logQ + logH0 + logProd
	b := max(logQ, logR, math.Log(h.Gamma()))
	for _, p := range pairs {
		logRho := math.Max(0, math.Log(p.Rho))
		b = math.Max(b, math.Max(logNorm(p.S)+logQ, logNorm(p.Y)+logR)+logRho)
	}
	return b
}

// logDirectionNorm returns log‖H·g‖₂ for h's H (DenseInverseHessian, the independent formula
// (2)), computed from g/‖g‖∞ so that it cannot underflow or overflow with g; +Inf if H
// itself overflows.
func logDirectionNorm(h *History, g []float64) float64 {
	gmax := normInf(g)
	if h.Len() == 0 {
		return math.Log(norm(scaled(1/gmax, g))) + math.Log(gmax) // H = I
	}
	H := DenseInverseHessian(h.Pairs(), h.Gamma())
	var hg mat.VecDense
	hg.MulVec(H, mat.NewVecDense(len(g), scaled(1/gmax, g)))
	v := hg.RawVector().Data
	if firstNonFinite(v) >= 0 {
		return math.Inf(1)
	}
	return math.Log(norm(v)) + math.Log(gmax)
}
