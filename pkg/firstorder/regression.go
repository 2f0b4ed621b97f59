package firstorder

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's graph DSL reads best dot-imported.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
)

// RegressionStart is the lecture's start θ = (θ0, θ1) = (1, 1) (its Python's
// theta = np.array([1, 1])), where every fit begins.
var RegressionStart = [2]float64{1, 1}

// RegressionData is a data set for the lecture's linear-regression worked example (seed 001,
// "梯度下降法(一份简短的Python实现, 同lecture 1)", then "2. 批梯度下降法(BGD)求极小",
// "3. 随机梯度下降法(Stochastic GD)" and "4. 改进 - 小批量(mini batch)梯度下降法"; Ruder 2016,
// "An overview of gradient descent optimization algorithms", §2.1–2.3 for batch, stochastic and
// mini-batch gradient descent): fit h_θ(x) = θ0 + θ1·x to the m points (X[i], Y[i]) by minimising
//
//	J(θ) = (1/(2m))·Σᵢ (θ0 + θ1·xᵢ − yᵢ)²,  ∇J(θ) = (1/m)·Σᵢ (θ0 + θ1·xᵢ − yᵢ)·(1, xᵢ),
//
// from θ = (1, 1) with η = 0.01. FitBatch, FitStochastic and FitMiniBatch all minimise the batch
// loss J_B(θ) = (1/(2|B|))·Σ_{i∈B} (θ0 + θ1·xᵢ − yᵢ)² over a batch B with the graph optimizer
// New(GD, Hyper{LR: η}), θ ← θ − η·∇J_B(θ): B is all the data (batch GD), one point (SGD: the
// i-th sample's loss ½(θ0 + θ1·xᵢ − yᵢ)²) or up to `batch` points (mini-batch).
type RegressionData struct {
	X, Y []float64
}

// LectureRegression returns the lecture's m = 18 points: x = 1, …, 18 (its Python's
// X1 = np.arange(1, m+1)) and y = 2, 3, 3, 5, 8, 10, 10, 13, 15, 15, 16, 19, 19, 20, 22, 22,
// 25, 28, in fresh slices.
//
// The lecture's Python has two bugs, neither of which changes its θ:
//   - cost_function returns (1./2*m)·Σ diff², and 1./2*m is (1/2)·m = 9 for m = 18, not
//     1/(2m) = 1/36: the cost it would print is m² = 324 times J. The shown code never calls it,
//     and gradient_function uses 1./m, which is right; Cost and the fits' Loss are J with 1/(2m).
//   - plt.scatter(x,y) uses an undefined x (a NameError); the next line, plt.scatter(X1,y), is
//     the intended plot.
//
// Its pseudo-code also drops the step size: BGD's θⱼ' = θⱼ + (1/m)·Σ(yⁱ − h_θ(xⁱ))·xⱼⁱ and SGD's
// θⱼ' = θⱼ + (yⁱ − h_θ(xⁱ))·xⱼⁱ are η = 1, which diverges on this data (gradient descent on J
// is stable only for η < 2/λmax(∇²J) ≈ 0.0170); the fits take the code's η. The mini-batch loop
// "for i = 1, 11, 21, …, 991" is written for m = 1000.
func LectureRegression() RegressionData {
	d := RegressionData{X: make([]float64, 18),
		Y: []float64{2, 3, 3, 5, 8, 10, 10, 13, 15, 15, 16, 19, 19, 20, 22, 22, 25, 28}}
	for i := range d.X {
		d.X[i] = float64(i + 1)
	}
	return d
}

// Check reports data that cannot be fitted: X and Y of different lengths, no points, or a
// coordinate that is not finite.
func (d RegressionData) Check() error {
	if len(d.X) != len(d.Y) {
		return fmt.Errorf("firstorder: regression data has %d x and %d y", len(d.X), len(d.Y))
	}
	if len(d.X) == 0 {
		return errors.New("firstorder: regression data has no points")
	}
	for i := range d.X {
		if math.IsNaN(d.X[i]) || math.IsInf(d.X[i], 0) || math.IsNaN(d.Y[i]) || math.IsInf(d.Y[i], 0) {
			return fmt.Errorf("firstorder: regression point %d (%g, %g) is not finite", i, d.X[i], d.Y[i])
		}
	}
	return nil
}

// Cost returns J(θ) = (1/(2m))·Σᵢ (θ0 + θ1·xᵢ − yᵢ)² on the host.
func (d RegressionData) Cost(theta [2]float64) float64 {
	var s float64
	for i, x := range d.X {
		r := theta[0] + theta[1]*x - d.Y[i]
		s += r * r
	}
	return s / (2 * float64(len(d.X)))
}

// LeastSquares returns the θ minimising J exactly: the solution of the normal equations
// (AᵀA)θ = Aᵀy with A = [1 x], by a Cholesky factorisation of the 2×2 AᵀA. It is an error if
// AᵀA is singular (fewer than two distinct x).
func (d RegressionData) LeastSquares() ([2]float64, error) {
	if err := d.Check(); err != nil {
		return [2]float64{}, err
	}
	var sx, sxx, sy, sxy float64
	for i, x := range d.X {
		sx += x
		sxx += x * x
		sy += d.Y[i]
		sxy += x * d.Y[i]
	}
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(2, []float64{float64(len(d.X)), sx, sx, sxx})) {
		return [2]float64{}, errors.New("firstorder: least squares: AᵀA is singular (fewer than two distinct x)")
	}
	var theta mat.VecDense
	if err := ch.SolveVecTo(&theta, mat.NewVecDense(2, []float64{sy, sxy})); err != nil {
		return [2]float64{}, fmt.Errorf("firstorder: least squares: %w", err)
	}
	return [2]float64{theta.AtVec(0), theta.AtVec(1)}, nil
}

// RegressionFit is one run of FitBatch, FitStochastic or FitMiniBatch.
type RegressionFit struct {
	// Batch is the batch size: len(data.X) for FitBatch, 1 for FitStochastic, the batch
	// argument (at most len(data.X)) for FitMiniBatch.
	Batch int
	// Eta is η.
	Eta float64
	// Theta is θ at the end, Gradient ∇J(θ) on all the data there.
	Theta, Gradient [2]float64
	// Updates is the number of updates done (θ ← θ − η·g); for FitBatch, the lecture's
	// iteration count.
	Updates int
	// Epochs is the number of complete passes over the data; PerEpoch the updates in one
	// (1 for FitBatch, m for FitStochastic, ⌈m/batch⌉ for FitMiniBatch).
	Epochs, PerEpoch int
	// Loss[k] is J(θ) on all the data after k updates (Loss[0] at the start), and Path[k] that
	// θ: both have Updates+1 rows. EpochLoss picks the rows at the ends of the epochs.
	Loss []float64
	Path [][2]float64
	// Converged is true if FitBatch's stopping rule held (every |∂J/∂θⱼ| ≤ tol). The stochastic
	// fits have no stopping rule and leave it false.
	Converged bool
	// Diverged is true if θ or J stopped being finite; the run ended at that update.
	Diverged bool
}

// EpochLoss returns J after each complete epoch, with J at the start first (Epochs+1 values):
// Loss[e·PerEpoch] for e = 0, …, Epochs.
func (f *RegressionFit) EpochLoss() []float64 {
	out := make([]float64, 0, f.Epochs+1)
	for e := 0; e <= f.Epochs && e*f.PerEpoch < len(f.Loss); e++ {
		out = append(out, f.Loss[e*f.PerEpoch])
	}
	return out
}

// FitBatch is the lecture's batch gradient descent (its Python's gradient_descent, section
// "2. 批梯度下降法(BGD)"; Ruder 2016 §2.1): from RegressionStart, while not every component of
// ∇J(θ) on all the data is ≤ tol in absolute value, θ ← θ − η·∇J(θ). The test comes before each
// update, as in the Python's `while not np.all(np.absolute(gradient) <= 1e-5)`, so Updates is its
// iteration count (0 if the start already passes). The lecture's run is
// FitBatch(b, LectureRegression(), 0.01, 1e-5, maxIter).
//
// Each update is one call of a graph compiled once: the graph optimizer New(GD, Hyper{LR: eta})
// on the loss J fed all the points as inputs, followed by J and ∇J on all the data at the new θ.
// It stops after maxIter updates (Converged false) or when θ or J is no longer finite (η too
// large: Diverged). An error is returned only for bad arguments (eta not finite and > 0, tol
// not ≥ 0, maxIter < 0, bad data) or a failing backend. b nil is backend.Default().
func FitBatch(b compute.Backend, data RegressionData, eta, tol float64, maxIter int) (*RegressionFit, error) {
	if err := checkFit(data, eta); err != nil {
		return nil, err
	}
	if !(tol >= 0) || math.IsInf(tol, 0) {
		return nil, fmt.Errorf("firstorder: tol = %g must be finite and ≥ 0", tol)
	}
	if maxIter < 0 {
		return nil, fmt.Errorf("firstorder: maxIter = %d must be ≥ 0", maxIter)
	}
	r, err := newRegressor(b, data, eta)
	if err != nil {
		return nil, err
	}
	defer r.close()
	m := len(data.X)
	fit := r.fit
	fit.Batch, fit.PerEpoch = m, 1
	small := func(g [2]float64) bool { return math.Abs(g[0]) <= tol && math.Abs(g[1]) <= tol }
	for !small(fit.Gradient) && !fit.Diverged && fit.Updates < maxIter {
		if err := r.step(data.X, data.Y); err != nil {
			return nil, err
		}
	}
	fit.Epochs = fit.Updates
	fit.Converged = !fit.Diverged && small(fit.Gradient)
	return fit, nil
}

// FitStochastic is the lecture's stochastic gradient descent (section "3. 随机梯度下降法
// (Stochastic GD)"; Ruder 2016 §2.2): for each of epochs epochs, shuffle the points, then for
// each point i in that order θ ← θ − η·∇ℓᵢ(θ) with the i-th sample's loss
// ℓᵢ(θ) = ½(θ0 + θ1·xᵢ − yᵢ)², from RegressionStart. It is FitMiniBatch with batch 1.
//
// The lecture's pseudo-code shuffles once, before "repeat"; this reshuffles at the start of
// every epoch, as Ruder's §2.2 code does (np.random.shuffle(data) inside the epoch loop): with
// one fixed order the iterates settle into a deterministic cycle whose position depends on that
// order (the last points of the order pull θ hardest), instead of sampling the points
// uniformly as SGD's analysis assumes. The shuffles come from math/rand/v2's
// rand.New(rand.NewPCG(seed, 0)), so a seed reproduces a run bit for bit.
func FitStochastic(b compute.Backend, data RegressionData, eta float64, epochs int, seed uint64) (*RegressionFit, error) {
	return fitShuffled(b, data, eta, 1, epochs, seed)
}

// FitMiniBatch is the lecture's mini-batch gradient descent (section "4. 改进 - 小批量(mini
// batch)梯度下降法", batch 10; Ruder 2016 §2.3): for each of epochs epochs, shuffle the points
// (the lecture's pseudo-code shows no shuffle; this reshuffles every epoch as FitStochastic,
// with the same generator, and as Ruder's §2.3 code), then for the consecutive batches of that order
// starting at i = 1, 1+batch, 1+2·batch, … take θ ← θ − η·(1/|B|)·Σ_{k∈B} (θ0 + θ1·x_k − y_k)·(1, x_k).
// When batch does not divide m the last batch is kept, with its actual size |B| < batch (with
// the lecture's 18 points and batch 10: batches of 10 and 8, two updates per epoch); a batch
// larger than m is m. From RegressionStart.
//
// Each update is one call of a graph compiled once per batch size: New(GD, Hyper{LR: eta}) on the
// batch loss fed the batch's points as inputs, followed by J and ∇J on all the data. The run
// stops early, with Diverged set, when θ or J is no longer finite. An error is returned only
// for bad arguments (eta not finite and > 0, batch < 1, epochs < 0, bad data) or a failing
// backend. b nil is backend.Default().
func FitMiniBatch(b compute.Backend, data RegressionData, eta float64, batch, epochs int, seed uint64) (*RegressionFit, error) {
	if batch < 1 {
		return nil, fmt.Errorf("firstorder: batch = %d must be ≥ 1", batch)
	}
	return fitShuffled(b, data, eta, batch, epochs, seed)
}

func fitShuffled(b compute.Backend, data RegressionData, eta float64, batch, epochs int, seed uint64) (*RegressionFit, error) {
	if err := checkFit(data, eta); err != nil {
		return nil, err
	}
	if epochs < 0 {
		return nil, fmt.Errorf("firstorder: epochs = %d must be ≥ 0", epochs)
	}
	m := len(data.X)
	batch = min(batch, m)
	r, err := newRegressor(b, data, eta)
	if err != nil {
		return nil, err
	}
	defer r.close()
	fit := r.fit
	fit.Batch, fit.PerEpoch = batch, (m+batch-1)/batch
	rng := rand.New(rand.NewPCG(seed, 0))
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	bx, by := make([]float64, batch), make([]float64, batch)
	for range epochs {
		rng.Shuffle(m, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < m; start += batch {
			n := min(batch, m-start)
			for k, i := range order[start : start+n] {
				bx[k], by[k] = data.X[i], data.Y[i]
			}
			if err := r.step(bx[:n], by[:n]); err != nil {
				return nil, err
			}
			if fit.Diverged {
				return fit, nil
			}
		}
		fit.Epochs++
	}
	return fit, nil
}

func checkFit(data RegressionData, eta float64) error {
	if !(eta > 0) || math.IsInf(eta, 0) {
		return fmt.Errorf("firstorder: eta = %g must be finite and > 0", eta)
	}
	return data.Check()
}

// regressor runs the update graph of one fit and records it in fit.
type regressor struct {
	step func(bx, by []float64) error
	fit  *RegressionFit
	exec []*model.Exec
}

// regressionOutputs is the length of the graphs' output vector: θ0, θ1, J, ∂J/∂θ0, ∂J/∂θ1, all
// on the whole data set.
const regressionOutputs = 5

// newRegressor compiles the graphs of a fit on data with step η and records the start: θ is one
// float64 variable of shape [2] in a fresh store, initialised to RegressionStart.
func newRegressor(b compute.Backend, data RegressionData, eta float64) (*regressor, error) {
	opt, err := New(GD, Hyper{LR: eta})
	if err != nil {
		return nil, err
	}
	if b, err = backend.Or(b); err != nil {
		return nil, err
	}
	store := model.NewStore()
	theta := func(scope *model.Scope) *model.Variable {
		return scope.In("regression").VariableWithValue("theta", RegressionStart[:])
	}
	// report returns θ, J and ∇J on all the data, concatenated (regressionOutputs values).
	report := func(th *Node) *Node {
		g := th.Graph()
		j, grad := regressionLoss(th, Const(g, data.X), Const(g, data.Y), true)
		return Concatenate([]*Node{th, Reshape(j, 1), grad}, 0)
	}
	eval, err := model.NewExec(b, store, func(scope *model.Scope, g *Graph) *Node {
		return report(theta(scope).NodeValue(g))
	})
	if err != nil {
		return nil, fmt.Errorf("firstorder: regression: %w", err)
	}
	// One call: the optimizer's update on the batch (bx, by), then the report at the new θ.
	update, err := model.NewExec(b, store, func(scope *model.Scope, bx, by *Node) *Node {
		v := theta(scope)
		loss, _ := regressionLoss(v.NodeValue(bx.Graph()), bx, by, false)
		opt.UpdateGraph(scope, bx.Graph(), loss)
		return report(v.NodeValue(bx.Graph()))
	})
	if err != nil {
		eval.Finalize()
		return nil, fmt.Errorf("firstorder: regression: %w", err)
	}
	r := &regressor{fit: &RegressionFit{Eta: eta}, exec: []*model.Exec{eval, update}}
	record := func(out []*tensors.Tensor) error {
		defer func() {
			for _, t := range out {
				t.MustFinalizeAll()
			}
		}()
		if len(out) != 1 {
			return fmt.Errorf("firstorder: regression: %d outputs, want 1", len(out))
		}
		v, err := tensors.CopyFlatData[float64](out[0])
		if err != nil || len(v) != regressionOutputs {
			return fmt.Errorf("firstorder: regression: bad output (%d values): %v", len(v), err)
		}
		f := r.fit
		th := [2]float64{v[0], v[1]}
		f.Theta, f.Gradient = th, [2]float64{v[3], v[4]}
		f.Loss, f.Path = append(f.Loss, v[2]), append(f.Path, th)
		f.Diverged = !finite(v[2], th[:])
		return nil
	}
	out, err := eval.Exec()
	if err == nil {
		err = record(out)
	}
	if err != nil {
		r.close()
		return nil, fmt.Errorf("firstorder: regression, start: %w", err)
	}
	r.step = func(bx, by []float64) error {
		out, err := update.Exec(bx, by)
		if err == nil {
			r.fit.Updates++
			err = record(out)
		}
		if err != nil {
			return fmt.Errorf("firstorder: regression, update %d: %w", r.fit.Updates, err)
		}
		return nil
	}
	return r, nil
}

func (r *regressor) close() {
	for _, e := range r.exec {
		e.Finalize()
	}
}

// regressionLoss returns J_B(θ) = (1/(2n))·Σᵢ (θ0 + θ1·xᵢ − yᵢ)² on the n points (x, y), and if
// withGrad its gradient (1/n)·Σᵢ rᵢ·(1, xᵢ) as a [2] vector (written out, not by autodiff: it is
// reported, not differentiated).
func regressionLoss(theta, x, y *Node, withGrad bool) (loss, grad *Node) {
	t0 := Reshape(Slice(theta, AxisElem(0)))
	t1 := Reshape(Slice(theta, AxisElem(1)))
	r := Sub(Add(t0, Mul(t1, x)), y)
	loss = MulScalar(ReduceAllMean(Square(r)), 0.5)
	if withGrad {
		grad = Concatenate([]*Node{Reshape(ReduceAllMean(r), 1), Reshape(ReduceAllMean(Mul(r, x)), 1)}, 0)
	}
	return loss, grad
}
