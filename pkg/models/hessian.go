package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"qnlab/internal/trainvars"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// HVP is the Hessian of a model's mean loss on a fixed set of examples as an operator:
// Apply(v, out) sets out = H·v, with H = ∇²L(θ) and L(θ) = (1/N) Σᵢ Loss(modelFn(θ; xᵢ), yᵢ) the
// mean softmax cross-entropy over the N examples of the set, at θ the store's current values of
// the model's trainable variables.
//
// H·v is the gradient of the scalar ∇L·v with respect to θ (Pearlmutter 1994), one graph
// compiled once per batch shape (a second reverse pass through the first: 1.2–2× the time of a
// gradient, measured on the MLP).
// Vectors are flat []float64 over all trainable variables the model uses, concatenated in the
// order of their paths (as Parameters lists them and lbfgs orders its history), each variable
// row-major; Variables names the blocks. The graph runs in the model's dtype (Float32 or
// Float64); the products of the batches are summed on the host in float64.
//
// An HVP holds the set's normalised images as tensors (N·784 values of its dtype) and two
// compiled executables; Close frees them. It reads the store's values at each call, so
// SetPoint (or training) moves the point without recompiling. It is not safe for concurrent
// use.
type HVP struct {
	backend compute.Backend
	store   *model.Store
	modelFn ModelFn
	dtype   dtypes.DType

	vars    []*model.Variable // the model's trainable variables, by path
	offsets []int             // vars[i] occupies [offsets[i], offsets[i+1]) of a flat vector
	n       int               // number of parameters

	batches   []hvpBatch
	examples  int
	batchSize int

	hvpExec, gradExec *model.Exec
	closed            bool
}

// hvpBatch is one batch of the set, as the graphs' inputs.
type hvpBatch struct{ images, labels *tensors.Tensor }

// NewHVP returns the Hessian-vector product operator of modelFn's mean loss over all of set, at
// the variables in store, computed in batches of batchSize examples (the whole set as one batch
// if batchSize ≤ 0 or ≥ set.N; the last batch may be smaller). dtype is the model's dtype: if
// invalid, that of the store's trainable variables, or Float32 if the store has none yet;
// a dtype other than the store's variables' is an error. Variables missing from store are
// created and initialised (seeded by the store, as in training), so NewHVP(…, NewStore(seed), …)
// is the model at initialisation and a trained store (runs.Result.Store) the model after
// training.
func NewHVP(b compute.Backend, store *model.Store, modelFn ModelFn, set *Set, batchSize int, dtype dtypes.DType) (*HVP, error) {
	switch {
	case b == nil:
		return nil, errors.New("models: NewHVP: nil backend")
	case store == nil || modelFn == nil:
		return nil, errors.New("models: NewHVP: nil store or model")
	case set == nil || set.N == 0:
		return nil, errors.New("models: NewHVP: empty set")
	}
	dtype, err := storeDType(store, dtype)
	if err != nil {
		return nil, fmt.Errorf("models: NewHVP: %w", err)
	}
	h := &HVP{backend: b, store: store, modelFn: modelFn, dtype: dtype, examples: set.N}
	if err := h.findVariables(set); err != nil {
		return nil, fmt.Errorf("models: NewHVP: %w", err)
	}
	h.batchSize = batchSize
	h.setBatches(set)
	h.hvpExec, err = model.NewExec(b, store, h.hvpGraph)
	if err == nil {
		h.gradExec, err = model.NewExec(b, store, h.gradGraph)
	}
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("models: NewHVP: %w", err)
	}
	return h, nil
}

// setBatches cuts set into the operator's batches.
func (h *HVP) setBatches(set *Set) {
	size := h.batchSize
	if size <= 0 || size > set.N {
		size = set.N
	}
	batcher := &Batcher{Set: set, BatchSize: size, Sequential: true, DType: h.dtype}
	for _, indices := range batcher.EpochBatches(0) {
		images, labels := batcher.Tensors(indices)
		h.batches = append(h.batches, hvpBatch{images, labels})
	}
	h.examples = set.N
}

// SetExamples makes the operator that of the mean loss over set instead (and Gradient its
// gradient), in batches of the size NewHVP was given: a batch shape seen before reuses its
// compiled graphs, so moving between mini-batches of one size costs no compilation.
func (h *HVP) SetExamples(set *Set) error {
	switch {
	case h.closed:
		return errors.New("models: HVP.SetExamples: used after Close")
	case set == nil || set.N == 0:
		return errors.New("models: HVP.SetExamples: empty set")
	}
	h.freeBatches()
	h.setBatches(set)
	return nil
}

func (h *HVP) freeBatches() {
	for _, batch := range h.batches {
		batch.images.MustFinalizeAll()
		batch.labels.MustFinalizeAll()
	}
	h.batches = nil
}

// storeDType returns the dtype of store's trainable variables, checked against want (if valid);
// want, or Float32, if the store has no trainable variables.
func storeDType(store *model.Store, want dtypes.DType) (dtypes.DType, error) {
	have := dtypes.InvalidDType
	for v := range store.IterVariables() {
		if !v.Trainable || !v.DType().IsFloat() {
			continue // a restored checkpoint marks every variable trainable, the global step too
		}
		if have != dtypes.InvalidDType && v.DType() != have {
			return have, fmt.Errorf("the store's trainable variables mix %s and %s", have, v.DType())
		}
		have = v.DType()
	}
	switch {
	case have == dtypes.InvalidDType && want == dtypes.InvalidDType:
		return dtypes.Float32, nil
	case have == dtypes.InvalidDType:
		return want, nil
	case want != dtypes.InvalidDType && want != have:
		return have, fmt.Errorf("dtype %s asked for, but the store's variables are %s", want, have)
	}
	return have, nil
}

// findVariables builds the model once on the set's first example, which creates and initialises
// any variables missing from the store, and records the trainable ones it uses, sorted by path.
func (h *HVP) findVariables(set *Set) error {
	if h.dtype != dtypes.Float32 && h.dtype != dtypes.Float64 {
		return fmt.Errorf("dtype %s not supported, want Float32 or Float64", h.dtype)
	}
	exec, err := model.NewExec(h.backend, h.store, func(scope *model.Scope, images *Node) *Node {
		logits := h.modelFn(scope, images)
		h.vars = usedTrainable(scope.Store(), images.Graph())
		return logits
	})
	if err != nil {
		return err
	}
	defer exec.Finalize()
	images, labels := BatchTensors(set, []int{0}, h.dtype)
	labels.MustFinalizeAll()
	defer images.MustFinalizeAll()
	outs, err := callExec(exec, images)
	if err != nil {
		return err
	}
	finalizeAll(outs)
	if len(h.vars) == 0 {
		return errors.New("the model has no trainable variables")
	}
	h.offsets = make([]int, len(h.vars)+1)
	for i, v := range h.vars {
		if v.DType() != h.dtype {
			return fmt.Errorf("variable %s is %s, the model runs in %s", v.Path(), v.DType(), h.dtype)
		}
		h.offsets[i+1] = h.offsets[i] + v.Shape().Size()
	}
	h.n = h.offsets[len(h.vars)]
	return nil
}

// usedTrainable returns the trainable variables of store that graph g uses, sorted by path.
func usedTrainable(store *model.Store, g *Graph) []*model.Variable {
	return trainvars.UsedByPath(store, g)
}

// lossAndParams builds the summed loss of a batch and returns it with the parameter nodes, in
// h.vars's order; it panics (with an error) if the model uses other variables than it did in
// findVariables.
func (h *HVP) lossAndParams(scope *model.Scope, images, labels *Node) (*Node, []*Node) {
	lossSum := ReduceAllSum(exampleLosses(h.modelFn(scope, images), labels))
	g := images.Graph()
	used := usedTrainable(scope.Store(), g)
	if len(used) != len(h.vars) {
		panic(fmt.Errorf("models: HVP: the model uses %d trainable variables, %d when the operator was built", len(used), len(h.vars)))
	}
	params := make([]*Node, len(h.vars))
	for i, v := range h.vars {
		if used[i] != v {
			panic(fmt.Errorf("models: HVP: the model's variables changed (%s, was %s)", used[i].Path(), v.Path()))
		}
		params[i] = v.NodeValue(g)
	}
	return lossSum, params
}

// hvpGraph returns, for one batch and a direction v (one node per variable), the Hessian of the
// batch's summed loss times v: the gradient of Σᵢ ⟨∇ᵢ, vᵢ⟩.
func (h *HVP) hvpGraph(scope *model.Scope, inputs []*Node) []*Node {
	images, labels, dirs := inputs[0], inputs[1], inputs[2:]
	lossSum, params := h.lossAndParams(scope, images, labels)
	grads := Gradient(lossSum, params...)
	var dot *Node
	for i, grad := range grads {
		term := ReduceAllSum(Mul(grad, dirs[i]))
		if dot == nil {
			dot = term
		} else {
			dot = Add(dot, term)
		}
	}
	return Gradient(dot, params...)
}

// gradGraph returns the summed loss of one batch (as Float64) and its gradient, one node per
// variable.
func (h *HVP) gradGraph(scope *model.Scope, images, labels *Node) []*Node {
	lossSum, params := h.lossAndParams(scope, images, labels)
	return append([]*Node{ConvertDType(lossSum, dtypes.Float64)}, Gradient(lossSum, params...)...)
}

// Dim returns the number of parameters n: the length of the vectors Apply takes.
func (h *HVP) Dim() int { return h.n }

// DType returns the dtype the model's graphs run in.
func (h *HVP) DType() dtypes.DType { return h.dtype }

// Examples returns the number of examples the loss averages over.
func (h *HVP) Examples() int { return h.examples }

// Variables returns the blocks of a flat vector, in order: "path shape" for each trainable
// variable (the format of Parameters).
func (h *HVP) Variables() []string {
	names := make([]string, len(h.vars))
	for i, v := range h.vars {
		names[i] = fmt.Sprintf("%s %s", v.Path(), v.Shape())
	}
	return names
}

// Apply sets out = H·v, the Hessian of the mean loss at the store's current variables times v;
// len(v) and len(out) must be Dim(). out may be v. It has the signature Lanczos takes.
func (h *HVP) Apply(v, out []float64) error {
	if err := h.check(len(v), len(out)); err != nil {
		return fmt.Errorf("models: HVP.Apply: %w", err)
	}
	dirs := make([]any, len(h.vars))
	for i, vr := range h.vars {
		dirs[i] = h.tensorOf(v[h.offsets[i]:h.offsets[i+1]], vr.Shape().Dimensions)
	}
	defer func() {
		for _, d := range dirs {
			d.(*tensors.Tensor).MustFinalizeAll()
		}
	}()
	clear(out)
	for _, batch := range h.batches {
		outs, err := callExec(h.hvpExec, append([]any{batch.images, batch.labels}, dirs...)...)
		if err != nil {
			return fmt.Errorf("models: HVP.Apply: %w", err)
		}
		err = h.accumulate(out, outs)
		finalizeAll(outs)
		if err != nil {
			return fmt.Errorf("models: HVP.Apply: %w", err)
		}
	}
	blas64.Scal(1/float64(h.examples), blasVec(out))
	return nil
}

// Gradient sets grad = ∇L at the store's current variables and returns the mean loss L;
// len(grad) must be Dim().
func (h *HVP) Gradient(grad []float64) (loss float64, err error) {
	if err := h.check(h.n, len(grad)); err != nil {
		return 0, fmt.Errorf("models: HVP.Gradient: %w", err)
	}
	clear(grad)
	for _, batch := range h.batches {
		outs, err := callExec(h.gradExec, batch.images, batch.labels)
		if err != nil {
			return 0, fmt.Errorf("models: HVP.Gradient: %w", err)
		}
		loss += tensors.ToScalar[float64](outs[0])
		err = h.accumulate(grad, outs[1:])
		finalizeAll(outs)
		if err != nil {
			return 0, fmt.Errorf("models: HVP.Gradient: %w", err)
		}
	}
	blas64.Scal(1/float64(h.examples), blasVec(grad))
	return loss / float64(h.examples), nil
}

// Point returns the store's current values of the model's trainable variables as a flat vector.
func (h *HVP) Point() ([]float64, error) {
	if err := h.check(h.n, h.n); err != nil {
		return nil, fmt.Errorf("models: HVP.Point: %w", err)
	}
	x := make([]float64, h.n)
	for i, v := range h.vars {
		value, err := v.Value()
		if err == nil {
			err = copyFromTensor(x[h.offsets[i]:h.offsets[i+1]], value)
		}
		if err != nil {
			return nil, fmt.Errorf("models: HVP.Point: %s: %w", v.Path(), err)
		}
	}
	return x, nil
}

// SetPoint sets the store's trainable variables to the flat vector x (rounded to the model's
// dtype), so that the next products are taken there. It changes the store.
func (h *HVP) SetPoint(x []float64) error {
	if err := h.check(h.n, len(x)); err != nil {
		return fmt.Errorf("models: HVP.SetPoint: %w", err)
	}
	for i, v := range h.vars {
		if err := v.SetValue(h.tensorOf(x[h.offsets[i]:h.offsets[i+1]], v.Shape().Dimensions)); err != nil {
			return fmt.Errorf("models: HVP.SetPoint: %s: %w", v.Path(), err)
		}
	}
	return nil
}

// Close frees the compiled graphs and the batches' tensors. Calling it again does nothing; the
// operator cannot be used after it.
func (h *HVP) Close() {
	if h.closed {
		return
	}
	h.closed = true
	for _, exec := range []*model.Exec{h.hvpExec, h.gradExec} {
		if exec != nil {
			exec.Finalize()
		}
	}
	h.freeBatches()
}

func (h *HVP) check(lenIn, lenOut int) error {
	switch {
	case h.closed:
		return errors.New("used after Close")
	case lenIn != h.n || lenOut != h.n:
		return fmt.Errorf("vectors of length %d and %d, want %d (the number of parameters)", lenIn, lenOut, h.n)
	}
	return nil
}

// tensorOf returns x as a tensor of h's dtype with the given dimensions.
func (h *HVP) tensorOf(x []float64, dims []int) *tensors.Tensor {
	if h.dtype == dtypes.Float64 {
		return tensors.FromFlatDataAndDimensions(x, dims...)
	}
	t := tensors.FromShape(shapes.Make(h.dtype, dims...))
	tensors.MustMutableFlatData(t, func(flat []float32) {
		for i, xi := range x {
			flat[i] = float32(xi)
		}
	})
	return t
}

// accumulate adds the per-variable tensors outs (in h.vars's order) to the flat vector sum.
func (h *HVP) accumulate(sum []float64, outs []*tensors.Tensor) error {
	if len(outs) != len(h.vars) {
		return fmt.Errorf("%d outputs for %d variables", len(outs), len(h.vars))
	}
	for i, t := range outs {
		if err := addFromTensor(sum[h.offsets[i]:h.offsets[i+1]], t); err != nil {
			return fmt.Errorf("%s: %w", h.vars[i].Path(), err)
		}
	}
	return nil
}

// addFromTensor adds a float32 or float64 tensor's values to dst (of its size).
func addFromTensor(dst []float64, t *tensors.Tensor) error {
	if t.Shape().Size() != len(dst) {
		return fmt.Errorf("tensor %s, want %d values", t.Shape(), len(dst))
	}
	switch t.DType() {
	case dtypes.Float64:
		return tensors.ConstFlatData(t, func(flat []float64) {
			for i, x := range flat {
				dst[i] += x
			}
		})
	case dtypes.Float32:
		return tensors.ConstFlatData(t, func(flat []float32) {
			for i, x := range flat {
				dst[i] += float64(x)
			}
		})
	}
	return fmt.Errorf("tensor %s: want Float32 or Float64", t.Shape())
}

// copyFromTensor copies a float32 or float64 tensor's values into dst (of its size).
func copyFromTensor(dst []float64, t *tensors.Tensor) error {
	clear(dst)
	return addFromTensor(dst, t)
}

// callExec calls exec, turning a panic with an error (GoMLX's convention) into an error.
func callExec(exec *model.Exec, args ...any) ([]*tensors.Tensor, error) {
	var outs []*tensors.Tensor
	var callErr error
	if err := exceptions.TryCatch[error](func() { outs, callErr = exec.Call(args...) }); err != nil || callErr != nil {
		return nil, errors.Join(err, callErr)
	}
	return outs, nil
}

// finalizeAll frees the tensors.
func finalizeAll(ts []*tensors.Tensor) {
	for _, t := range ts {
		t.MustFinalizeAll()
	}
}

// LanczosInfo describes a run of Lanczos.
type LanczosInfo struct {
	// Steps is the number of products with the matrix: k, or n if k > n.
	Steps int
	// Alpha (Steps values) and Beta (Steps−1) are the diagonal and off-diagonal of the
	// tridiagonal matrix T = QᵀAQ whose eigenvalues are the Ritz values. A zero in Beta marks a
	// restart.
	Alpha, Beta []float64
	// Residuals[i] = β·|s_i| (β the norm of the residual after the last step, s_i the last
	// component of T's eigenvector of eigenvalues[i]) is ‖A y_i − θ_i y_i‖ for the Ritz pair
	// (θ_i, y_i), unit y_i; there is an eigenvalue of A within it of θ_i (Golub & Van Loan
	// §10.1; exact with full reorthogonalisation, up to rounding and to the errors of the
	// products).
	Residuals []float64
	// Restarts counts Krylov spaces exhausted before the last step (an invariant subspace: the
	// residual vanished), each continued from a new random vector orthogonal to the basis.
	Restarts int
}

// lanczosStream is the second PCG seed of Lanczos's start vectors ("Lanczos" in ASCII).
const lanczosStream = 0x4c616e637a6f73

// Lanczos runs k steps of the Lanczos iteration with full reorthogonalisation on the symmetric
// n×n matrix A that hvp applies (hvp(v, out) sets out = A·v; HVP.Apply does for a model's loss)
// and returns the k Ritz values — the eigenvalues of the tridiagonal T = QᵀAQ, Q the orthonormal
// basis of the Krylov space spanned by q, Aq, …, A^{k−1}q — in increasing order: the most
// negative first, the largest last. The start vector q has N(0, 1) entries drawn from seed alone
// (math/rand/v2's PCG), so a seed gives the same run every time. k larger than n is taken as n.
//
// Lanczos keeps all k basis vectors as the rows of one k×n float64 array, allocated at the start
// (k = 100 steps on SimpleCNN's 206,922 parameters: 166 MB), and makes each new vector orthogonal
// to all of them by classical Gram–Schmidt as two BLAS matrix-vector products (gonum's blas64),
// repeated when the first pass cancels more than 1 − 1/√2 of its norm ("twice is enough"): up
// to 8·j·n flops at step j beyond the product, so that no spurious copies of converged Ritz
// values appear. If the residual vanishes before step k (a Krylov space invariant under A:
// β ≤ 1e-12·‖T‖), the iteration continues from a new random vector orthogonal to the basis,
// with a zero in T's off-diagonal; k = n thus gives all of A's eigenvalues. T's eigenvalues and
// eigenvectors (for the residual bounds) come from gonum's mat.EigenSym.
//
// Convergence: the extreme Ritz values converge first, from inside (θ_max ≤ λ_max and
// θ_min ≥ λ_min), at a rate set by the gap between an extreme eigenvalue and the rest of the
// spectrum relative to its width (Kaniel–Paige–Saad; Golub & Van Loan §10.1: the error falls
// like the inverse square of a Chebyshev polynomial of degree k−1). Hessians of networks have a
// few large outlying eigenvalues and a bulk around zero (Ghorbani, Krishnan & Xiao 2019), so the
// largest converges in a few steps and the most negative, at the edge of the bulk, more slowly.
// Measured (hessian_test.go, float64 unless said): on a 370-parameter MLP whose Hessian is known
// densely, the largest eigenvalue to 5e-10 relative at k = 10 and to rounding at k = 20, the
// most negative to 4% at k = 10, 6e-12 at k = 20, rounding at k = 30; on the MNIST MLP at
// initialisation (101,770 parameters, 256 images, float32) the largest to ~1e-7 at k = 20
// (residual 5e-5 against λ_max ≈ 5.83), the most negative to 3% at k = 20 (−2.388 against
// −2.4616), 4e-5 at k = 40 and 1e-8 (residual) at k = 80. info.Residuals bounds the distance of
// each Ritz value to the spectrum: stop when the extremes' residuals are small enough.
//
// References: Lanczos, C.: An iteration method for the solution of the eigenvalue problem of
// linear differential and integral operators. J. Res. Nat. Bur. Standards 45, 255–282 (1950).
// Golub, G.H., Van Loan, C.F.: Matrix Computations, 4th ed., §10.1 (2013). Ghorbani, B.,
// Krishnan, S., Xiao, Y.: An investigation into neural net optimization via Hessian eigenvalue
// density. ICML (2019).
func Lanczos(hvp func(v, out []float64) error, n, k int, seed uint64) (eigenvalues []float64, info LanczosInfo, err error) {
	switch {
	case hvp == nil:
		return nil, info, errors.New("models: Lanczos: nil product")
	case n < 1:
		return nil, info, fmt.Errorf("models: Lanczos: dimension n=%d must be ≥ 1", n)
	case k < 1:
		return nil, info, fmt.Errorf("models: Lanczos: steps k=%d must be ≥ 1", k)
	}
	k = min(k, n)
	rng := rand.New(rand.NewPCG(seed, lanczosStream))
	b := newKrylovBasis(n, k)
	if !b.appendRandom(rng) {
		return nil, info, errors.New("models: Lanczos: zero start vector") // not for n ≥ 1 in practice
	}
	alpha := make([]float64, 0, k)
	beta := make([]float64, 0, k) // beta[j] couples q_j and q_{j+1}; the last one is the final residual norm
	w := make([]float64, n)
	var tnorm float64 // a running estimate of ‖T‖: its largest row sum
	for j := 0; j < k; j++ {
		qj := b.vector(j)
		if err := hvp(qj, w); err != nil {
			return nil, info, fmt.Errorf("models: Lanczos: product %d: %w", j+1, err)
		}
		a, norm := blas64.Dot(blasVec(qj), blasVec(w)), blas64.Nrm2(blasVec(w))
		if math.IsNaN(a+norm) || math.IsInf(a+norm, 0) {
			return nil, info, fmt.Errorf("models: Lanczos: product %d is not finite", j+1)
		}
		alpha = append(alpha, a)
		r := b.orthogonalize(w, norm)
		beta = append(beta, r)
		prev := 0.0
		if j > 0 {
			prev = beta[j-1]
		}
		tnorm = max(tnorm, math.Abs(a)+r+prev)
		if j == k-1 {
			break
		}
		if r > 1e-12*tnorm {
			blas64.Scal(1/r, blasVec(w))
			b.append(w)
			continue
		}
		// An invariant subspace: restart from a random vector orthogonal to the basis.
		if !b.appendRandom(rng) { // the basis spans everything (j+1 = n, up to rounding)
			break
		}
		beta[j] = 0
		info.Restarts++
	}
	steps := len(alpha)
	info.Steps, info.Alpha, info.Beta = steps, alpha, append([]float64(nil), beta[:steps-1]...)
	last := beta[steps-1]

	eigenvalues, vectors, err := tridiagonalEigen(alpha, beta[:steps-1])
	if err != nil {
		return nil, info, fmt.Errorf("models: Lanczos: %w", err)
	}
	info.Residuals = make([]float64, steps)
	for i := range steps {
		info.Residuals[i] = last * math.Abs(vectors.At(steps-1, i))
	}
	return eigenvalues, info, nil
}

// tridiagonalEigen returns the eigenvalues (increasing) and eigenvectors (columns) of the
// symmetric tridiagonal matrix with diagonal alpha and off-diagonal beta. It asks gonum for the
// vectors too: its values-only path (Dsterf) can panic on tiny blocks (see pkg/qn); any panic
// left is returned as an error.
func tridiagonalEigen(alpha, beta []float64) (values []float64, vectors *mat.Dense, err error) {
	m := len(alpha)
	t := mat.NewSymDense(m, nil)
	for i := range m {
		t.SetSym(i, i, alpha[i])
		if i+1 < m {
			t.SetSym(i, i+1, beta[i])
		}
	}
	var es mat.EigenSym
	ok := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("eigendecomposition of T (%d×%d) panicked: %v", m, m, r)
			}
		}()
		ok = es.Factorize(t, true)
	}()
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("eigendecomposition of T (%d×%d) did not converge", m, m)
	}
	vectors = new(mat.Dense)
	es.VectorsTo(vectors)
	return es.Values(nil), vectors, nil
}

// krylovBasis holds up to k orthonormal vectors of length n as the rows of one k×n row-major
// array, for BLAS's matrix-vector products.
type krylovBasis struct {
	n, m  int       // length of a vector; number of vectors so far
	data  []float64 // k·n values; rows 0…m−1 are the basis
	coefs []float64 // scratch: k coefficients
}

func newKrylovBasis(n, k int) *krylovBasis {
	return &krylovBasis{n: n, data: make([]float64, k*n), coefs: make([]float64, k)}
}

// vector returns basis vector j (sharing the basis's memory).
func (b *krylovBasis) vector(j int) []float64 { return b.data[j*b.n : (j+1)*b.n] }

// append adds the unit vector v, orthogonal to the basis, as its next vector.
func (b *krylovBasis) append(v []float64) {
	copy(b.vector(b.m), v)
	b.m++
}

// orthogonalize removes from w its components along the basis by classical Gram–Schmidt
// (w −= Qᵀ(Q w), two BLAS matrix-vector products), and once more if that pass left less than
// 1/√2 of norm, w's norm before it ("twice is enough": Daniel, Gragg, Kaufman & Stewart 1976;
// Parlett, The Symmetric Eigenvalue Problem, 1998); it returns w's norm after.
func (b *krylovBasis) orthogonalize(w []float64, norm float64) float64 {
	for pass := 0; pass < 2; pass++ {
		if b.m > 0 {
			q := blas64.General{Rows: b.m, Cols: b.n, Stride: b.n, Data: b.data[:b.m*b.n]}
			c := blas64.Vector{N: b.m, Inc: 1, Data: b.coefs[:b.m]}
			blas64.Gemv(blas.NoTrans, 1, q, blasVec(w), 0, c) // c = Q w
			blas64.Gemv(blas.Trans, -1, q, c, 1, blasVec(w))  // w −= Qᵀ c
		}
		after := blas64.Nrm2(blasVec(w))
		if after >= norm/math.Sqrt2 {
			return after
		}
		norm = after
	}
	return norm
}

// appendRandom adds a unit vector of N(0, 1) draws from rng made orthogonal to the basis, unless
// nothing is left of it (the basis spans the space, up to rounding): then it returns false.
func (b *krylovBasis) appendRandom(rng *rand.Rand) bool {
	v := make([]float64, b.n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	before := blas64.Nrm2(blasVec(v))
	after := b.orthogonalize(v, before)
	if !(after > 1e-8*before) {
		return false
	}
	blas64.Scal(1/after, blasVec(v))
	b.append(v)
	return true
}

// blasVec wraps x as a BLAS vector.
func blasVec(x []float64) blas64.Vector { return blas64.Vector{N: len(x), Inc: 1, Data: x} }

// HessianExtremes returns the largest and the smallest (most negative) Ritz values of k Lanczos
// steps (seeded by seed) on the Hessian of modelFn's mean loss over all of set at the variables
// in store, and all k Ritz values in increasing order. The model runs in the dtype of the
// store's variables (Float32 for a fresh store), in batches of at most 1000 examples. See
// NewHVP and Lanczos; use them directly for the residual bounds, the gradient or other points.
func HessianExtremes(b compute.Backend, store *model.Store, modelFn ModelFn, set *Set, k int, seed uint64) (largest, smallest float64, ritz []float64, err error) {
	h, err := NewHVP(b, store, modelFn, set, 1000, dtypes.InvalidDType)
	if err != nil {
		return 0, 0, nil, err
	}
	defer h.Close()
	ritz, _, err = Lanczos(h.Apply, h.Dim(), k, seed)
	if err != nil {
		return 0, 0, nil, err
	}
	return ritz[len(ritz)-1], ritz[0], ritz, nil
}
