package lbfgs

import (
	"errors"
	"math"
	"testing"
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
