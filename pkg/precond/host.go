package precond

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"gonum.org/v1/gonum/mat"
)

// The refreshes of K-FAC's inverses and Shampoo's inverse roots run on the host with gonum, not
// in the graph, because the host is faster here. Measured with BenchmarkRefresh (go test -run '^$'
// -bench Refresh -benchtime=2x ./pkg/precond, 2-core machine, GOEXPERIMENT=simd, 2026-12-07) on
// the sizes SimpleCNN gives them: fc1's A factor (1569×1569, an inverse) takes 0.78 s by a host
// Cholesky against 1.91 s by 20 coupled Newton steps in the graph (InverseRoot, float32, pure-Go
// backend); a Shampoo block (224×224, an inverse fourth root) 16.9 ms by a host
// eigendecomposition against 27.9 ms in the graph. The refresh happens once every T steps, so the
// host round trip is paid once per T steps too; on a GPU backend the graph may win (InverseRoot
// is kept and tested for that).

// parallel runs f(0), …, f(n−1) on at most runtime.NumCPU() goroutines and joins their errors. Each f must touch only its own data: the results do not depend on the schedule.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readSym returns the symmetric matrix held by v ([n, n], float32 or float64) in float64,
// symmetrised ((M + Mᵀ)/2: the graph's products are symmetric only up to rounding).
func readSym(v *model.Variable) (*mat.SymDense, error) {
	t, err := v.Value()
	if err != nil {
		return nil, err
	}
	d := t.Shape().Dimensions
	if len(d) != 2 || d[0] != d[1] {
		return nil, fmt.Errorf("precond: %s is %s, want a square matrix", v.Path(), t.Shape())
	}
	flat, err := float64s(t)
	if err != nil {
		return nil, fmt.Errorf("precond: %s: %w", v.Path(), err)
	}
	n := d[0]
	s := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			s.SetSym(i, j, (flat[i*n+j]+flat[j*n+i])/2)
		}
	}
	return s, nil
}

// float64s copies a float32 or float64 tensor's values to float64.
func float64s(t *tensors.Tensor) ([]float64, error) {
	var out []float64
	var err error
	switch t.DType() {
	case dtypes.Float32:
		var f []float32
		if f, err = tensors.CopyFlatData[float32](t); err == nil {
			out = make([]float64, len(f))
			for i, x := range f {
				out[i] = float64(x)
			}
		}
	case dtypes.Float64:
		out, err = tensors.CopyFlatData[float64](t)
	default:
		err = fmt.Errorf("dtype %s, want float32 or float64", t.DType())
	}
	return out, err
}

// writeMatrix sets v ([n, n], its own dtype) to m.
func writeMatrix(v *model.Variable, m mat.Matrix) error {
	r, c := m.Dims()
	var t *tensors.Tensor
	switch v.Shape().DType {
	case dtypes.Float32:
		f := make([]float32, r*c)
		for i := range r {
			for j := range c {
				f[i*c+j] = float32(m.At(i, j))
			}
		}
		t = tensors.FromFlatDataAndDimensions(f, r, c)
	default:
		f := make([]float64, r*c)
		for i := range r {
			for j := range c {
				f[i*c+j] = m.At(i, j)
			}
		}
		t = tensors.FromFlatDataAndDimensions(f, r, c)
	}
	return v.SetValue(t)
}

// writeScalar sets the scalar variable v to x in its dtype.
func writeScalar(v *model.Variable, x float64) error {
	if v.Shape().DType == dtypes.Float32 {
		return v.SetValue(tensors.FromScalar(float32(x)))
	}
	return v.SetValue(tensors.FromScalar(x))
}

// readVar returns the values of the store's variable at path (float32 or float64) in float64.
func readVar(store *model.Store, path string) ([]float64, error) {
	v := store.GetVariable(path)
	if v == nil {
		return nil, fmt.Errorf("precond: no variable %s", path)
	}
	t, err := v.Value()
	if err != nil {
		return nil, err
	}
	return float64s(t)
}

// dampedInverse returns (S + d·I)⁻¹ by a Cholesky factorisation (S symmetric positive
// semi-definite, d > 0).
func dampedInverse(s *mat.SymDense, d float64) (*mat.SymDense, error) {
	n := s.SymmetricDim()
	a := mat.NewSymDense(n, nil)
	a.CopySym(s)
	for i := range n {
		a.SetSym(i, i, a.At(i, i)+d)
	}
	var ch mat.Cholesky
	if !ch.Factorize(a) {
		return nil, fmt.Errorf("precond: a %d×%d factor plus %g·I is not positive definite", n, n, d)
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, err
	}
	return &inv, nil
}

// HostInverseRoot returns (S + ε·I)^{−1/p} of a symmetric positive semi-definite S by its
// eigendecomposition S = V·diag(λ)·Vᵀ: V·diag((max(λ, 0) + ε)^{−1/p})·Vᵀ (eigenvalues below 0
// are rounding and count as 0). ε > 0.
func HostInverseRoot(s *mat.SymDense, p int, eps float64) (*mat.SymDense, error) {
	var e mat.EigenSym
	if !e.Factorize(s, true) {
		return nil, fmt.Errorf("precond: the eigendecomposition of a %d×%d matrix did not converge", s.SymmetricDim(), s.SymmetricDim())
	}
	var v mat.Dense
	e.VectorsTo(&v)
	lambda := e.Values(nil)
	n := len(lambda)
	scaled := mat.NewDense(n, n, nil)
	for j, l := range lambda {
		f := math.Pow(max(l, 0)+eps, -1/float64(p))
		for i := range n {
			scaled.Set(i, j, v.At(i, j)*f)
		}
	}
	out := mat.NewSymDense(n, nil)
	var prod mat.Dense
	prod.Mul(scaled, v.T())
	for i := range n {
		for j := i; j < n; j++ {
			out.SetSym(i, j, (prod.At(i, j)+prod.At(j, i))/2)
		}
	}
	return out, nil
}
