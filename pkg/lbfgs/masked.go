package lbfgs

import (
	"fmt"
	"qnlab/internal/enum"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
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

// MaskedDirection is TwoLoop over a fixed-capacity history, as the training optimizer keeps it:
// s[i] and y[i] (i = 0…m−1) are the slots, each a list of tensors shaped like g, oldest first,
// with the newest pair in slot m−1 and the last count slots valid; rho has shape [m] with ρ_i
// for the valid slots and 0 for the empty ones, whose s and y are 0 (so they drop out exactly, see
// twoLoopWith). count is a scalar of g's dtype. With count = 0, d = −g and γ = 1.
func MaskedDirection(g []*Node, s, y [][]*Node, rho, count *Node, rule GammaRule) (d []*Node, gamma *Node) {
	m := rho.Shape().Dimensions[0]
	if len(s) != m || len(y) != m {
		panic(fmt.Errorf("lbfgs: MaskedDirection: %d s slots and %d y slots for ρ of size %d", len(s), len(y), m))
	}
	rhos := make([]*Node, m)
	for i := range m {
		rhos[i] = Squeeze(Slice(rho, AxisElem(i)), 0)
	}
	sy := dotList(s[m-1], y[m-1])
	var yy *Node
	switch rule {
	case GammaNewest:
		yy = dotList(y[m-1], y[m-1])
	case GammaPaper:
		// y_oldᵀy_old for the oldest valid slot, index m − count.
		oldest := Sub(ConstAs(count, m), count)
		yy = ZerosLike(sy)
		for i := range m {
			yy = Add(yy, Where(Equal(oldest, ConstAs(count, i)), dotList(y[i], y[i]), ZerosLike(sy)))
		}
	default:
		panic(fmt.Errorf("lbfgs: unknown γ rule %v", rule))
	}
	one := OnesLike(sy)
	gamma = Where(GreaterThan(count, ZerosLike(count)), Div(sy, Where(GreaterThan(yy, ZerosLike(yy)), yy, one)), one)
	t := twoLoopWith(g, s, y, rhos, gamma)
	return t.d, gamma
}
