package lbfgs

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.

	"qnlab/internal/enum"
)

// GammaRule chooses γ_k in H_0 = γ_k·I.
type GammaRule int

const (
	// GammaNewest is γ_k = s_{k-1}ᵀy_{k-1}/(y_{k-1}ᵀy_{k-1}) of the newest pair (Nocedal & Wright
	// eq. 7.20), the correct rule and the default.
	GammaNewest GammaRule = iota
	// GammaPaper reproduces the seed paper's code: after its first loop the variable y holds the
	// oldest pair, so it computes γ = s_{k-1}ᵀy_{k-1}/(y_{k-m}ᵀy_{k-m}).
	GammaPaper
)

var gammaNames = enum.Names[GammaRule]{GammaNewest: "newest", GammaPaper: "paper"}

func (r GammaRule) String() string { return gammaNames.String(r, "GammaRule") }

// MarshalText writes the rule's name (for JSON run specifications).
func (r GammaRule) MarshalText() ([]byte, error) {
	if !gammaNames.Valid(r) {
		return nil, fmt.Errorf("lbfgs: unknown γ rule %d", int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText reads a name written by MarshalText.
func (r *GammaRule) UnmarshalText(text []byte) error {
	v, err := ParseGammaRule(string(text))
	if err == nil {
		*r = v
	}
	return err
}

// ParseGammaRule reads "newest" or "paper".
func ParseGammaRule(s string) (GammaRule, error) { return gammaNames.Parse("lbfgs", "γ rule", s) }

// gammaRatio is γ = sᵀy / yᵀy from scalars: s_{k-1}ᵀy_{k-1} over the yᵀy that the γ rule
// chooses (Nocedal & Wright 2006, eq. 7.20, with the newest pair's). With count (the number
// of valid pairs) it is 1 when there is no pair or yᵀy ≤ 0; with count nil the pairs are given
// and valid, and the ratio is unguarded. Every γ in this package is computed here.
func gammaRatio(sy, yy, count *Node) *Node {
	if count == nil {
		return Div(sy, yy)
	}
	one := OnesLike(sy)
	return Where(GreaterThan(count, ZerosLike(count)), Div(sy, Where(GreaterThan(yy, ZerosLike(yy)), yy, one)), one)
}

// gammaOf is γ_k by rule from the per-slot products sy [m] (s_iᵀy_i, newest last) and yy [m]
// (y_iᵀy_i) of a slot history with count valid slots: the newest pair's yᵀy (GammaNewest), or
// that of the oldest valid slot, m − count (GammaPaper).
func gammaOf(sy, yy, count *Node, rule GammaRule) *Node {
	m := sy.Shape().Dimensions[0]
	syNew := Squeeze(Slice(sy, AxisElem(m-1)), 0)
	var den *Node
	switch rule {
	case GammaNewest:
		den = Squeeze(Slice(yy, AxisElem(m-1)), 0)
	case GammaPaper:
		oldest := Sub(ConstAs(count, m), count)
		idx := Iota(count.Graph(), shapes.Make(count.DType(), m), 0)
		den = ReduceAllSum(Mul(yy, ConvertDType(Equal(idx, oldest), yy.DType())))
	default:
		panic(fmt.Errorf("lbfgs: unknown γ rule %v", rule))
	}
	return gammaRatio(syNew, den, count)
}
