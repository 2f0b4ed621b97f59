package lbfgs

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/core/tensors"
)

// Kernel runs TwoLoop on a backend for a History and a gradient held in host memory, in
// float32 or float64. One graph is compiled per (number of pairs, dimension) and cached.
// A Kernel is safe for concurrent use.
type Kernel struct {
	backend compute.Backend
	dtype   dtypes.DType
	exec    *Exec // outputs d, γ
	steps   *Exec // outputs d, γ, α [m], q [m, d], r [m, d]
}

// NewKernel returns a Kernel computing in dtype (dtypes.Float32 or dtypes.Float64) on b.
func NewKernel(b compute.Backend, dtype dtypes.DType) (*Kernel, error) {
	if b == nil {
		return nil, fmt.Errorf("lbfgs: NewKernel needs a backend, got nil")
	}
	if dtype != dtypes.Float32 && dtype != dtypes.Float64 {
		return nil, fmt.Errorf("lbfgs: kernel dtype %s not supported: use Float32 or Float64", dtype)
	}
	k := &Kernel{backend: b, dtype: dtype}
	var err error
	k.exec, err = NewExec(b, func(inputs []*Node) []*Node {
		g, s, y := splitInputs(inputs)
		d, gamma := TwoLoop(g, s, y)
		return []*Node{d[0], gamma}
	})
	if err != nil {
		return nil, fmt.Errorf("lbfgs: building the direction kernel: %w", err)
	}
	k.steps, err = NewExec(b, func(inputs []*Node) []*Node {
		g, s, y := splitInputs(inputs)
		t := twoLoop(g, s, y)
		if len(s) == 0 {
			return []*Node{t.d[0], t.gamma}
		}
		q, r := make([]*Node, len(s)), make([]*Node, len(s))
		for i := range s {
			q[i], r[i] = t.q[i][0], t.r[i][0]
		}
		return []*Node{t.d[0], t.gamma, Stack(t.alpha, 0), Stack(q, 0), Stack(r, 0)}
	})
	if err != nil {
		return nil, fmt.Errorf("lbfgs: building the recursion kernel: %w", err)
	}
	k.exec.SetMaxCache(-1)
	k.steps.SetMaxCache(-1)
	return k, nil
}

// DType is the dtype the kernel computes in.
func (k *Kernel) DType() dtypes.DType { return k.dtype }

// splitInputs reads the kernel's flat input list: g, s_0…s_{m-1}, y_0…y_{m-1}.
func splitInputs(inputs []*Node) (g []*Node, s, y [][]*Node) {
	m := (len(inputs) - 1) / 2
	s, y = make([][]*Node, m), make([][]*Node, m)
	for i := range m {
		s[i] = []*Node{inputs[1+i]}
		y[i] = []*Node{inputs[1+m+i]}
	}
	return []*Node{inputs[0]}, s, y
}

// Direction returns d = −H_k·g for the pairs in h and the scaling γ_k of H_0 = γ_k·I.
// An empty history gives d = −g and γ = 1.
func (k *Kernel) Direction(h *History, g []float64) (d []float64, gamma float64, err error) {
	out, err := k.run(k.exec, h, g)
	if err != nil {
		return nil, 0, err
	}
	return k.vector(out[0]), k.vector(out[1])[0], nil
}

// Recursion is the two-loop recursion's intermediate values, as computed by the graph kernel.
// Index i runs over the pairs oldest first: Q[i] = q_i = V_i⋯V_{k-1}·g after the first loop's
// step i, Alpha[i] = ρ_i s_iᵀ q_{i+1}, and R[i] = r after the second loop's step i, which the
// proof shows equals H^{(i+1)}·q_{i+1} (H^{(i+1)}: H_0 updated with pairs 0..i; q_m = g).
type Recursion struct {
	D     []float64
	Gamma float64
	Alpha []float64
	Q, R  [][]float64
}

// Recursion runs the two-loop recursion and returns its intermediate vectors (for the proof's
// step-by-step checks).
func (k *Kernel) Recursion(h *History, g []float64) (*Recursion, error) {
	out, err := k.run(k.steps, h, g)
	if err != nil {
		return nil, err
	}
	t := &Recursion{D: k.vector(out[0]), Gamma: k.vector(out[1])[0]}
	if len(out) > 2 {
		m, d := h.Len(), len(g)
		t.Alpha = k.vector(out[2])
		q, r := k.vector(out[3]), k.vector(out[4])
		for i := range m {
			t.Q = append(t.Q, q[i*d:(i+1)*d])
			t.R = append(t.R, r[i*d:(i+1)*d])
		}
	}
	return t, nil
}

func (k *Kernel) run(e *Exec, h *History, g []float64) ([]*tensors.Tensor, error) {
	if len(g) == 0 {
		return nil, fmt.Errorf("lbfgs: gradient g is empty")
	}
	if i := firstNonFinite(g); i >= 0 {
		return nil, fmt.Errorf("lbfgs: gradient g[%d] = %g is not finite", i, g[i])
	}
	if d := h.Dim(); d != 0 && d != len(g) {
		return nil, fmt.Errorf("lbfgs: gradient has length %d, history pairs have length %d", len(g), d)
	}
	pairs := h.Pairs()
	if k.dtype == dtypes.Float32 {
		if err := fitsFloat32("g", g); err != nil {
			return nil, err
		}
		for i, p := range pairs {
			if err := fitsFloat32(fmt.Sprintf("s[%d]", i), p.S); err != nil {
				return nil, err
			}
			if err := fitsFloat32(fmt.Sprintf("y[%d]", i), p.Y); err != nil {
				return nil, err
			}
		}
	}
	args := make([]any, 0, 1+2*len(pairs))
	args = append(args, k.tensor(g))
	for _, p := range pairs {
		args = append(args, k.tensor(p.S))
	}
	for _, p := range pairs {
		args = append(args, k.tensor(p.Y))
	}
	out, err := e.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("lbfgs: running the two-loop kernel on %s: %w", k.backend.Name(), err)
	}
	return out, nil
}

// fitsFloat32 rejects values that would become ±Inf in float32.
func fitsFloat32(name string, v []float64) error {
	for i, x := range v {
		if math.Abs(x) > math.MaxFloat32 {
			return fmt.Errorf("lbfgs: %s[%d] = %g overflows float32", name, i, x)
		}
	}
	return nil
}

func (k *Kernel) tensor(v []float64) *tensors.Tensor {
	if k.dtype == dtypes.Float64 {
		return tensors.FromFlatDataAndDimensions(v, len(v))
	}
	v32 := make([]float32, len(v))
	for i, x := range v {
		v32[i] = float32(x)
	}
	return tensors.FromFlatDataAndDimensions(v32, len(v32))
}

func (k *Kernel) vector(t *tensors.Tensor) []float64 {
	defer func() { _ = t.FinalizeAll() }()
	if k.dtype == dtypes.Float64 {
		return tensors.MustCopyFlatData[float64](t)
	}
	v32 := tensors.MustCopyFlatData[float32](t)
	v := make([]float64, len(v32))
	for i, x := range v32 {
		v[i] = float64(x)
	}
	return v
}
