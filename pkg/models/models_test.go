package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // GoMLX's convention for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"qnlab/internal/autodiff"
	"qnlab/pkg/backend"
)

// randomTensor returns a float64 tensor of the given dimensions with N(0, 1) entries from rng.
func randomTensor(rng *rand.Rand, dims ...int) (*tensors.Tensor, []float64) {
	n := 1
	for _, d := range dims {
		n *= d
	}
	flat := make([]float64, n)
	for i := range flat {
		flat[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(append([]float64(nil), flat...), dims...), flat
}

func flat64(t *tensors.Tensor) []float64 { return tensors.MustCopyFlatData[float64](t) }

// maxAbsDiff returns max |a−b| and max |b|.
func maxAbsDiff(a, b []float64) (diff, scale float64) {
	for i := range a {
		diff = max(diff, math.Abs(a[i]-b[i]))
		scale = max(scale, math.Abs(b[i]))
	}
	return diff, scale
}

// testImages returns n normalised MNIST training images [n, 28, 28, 1] and their labels (real data:
// its flat background makes max-pool ties, the case that matters for the gradient).
func testImages(t *testing.T, n int, dtype dtypes.DType) (images, labels *tensors.Tensor) {
	t.Helper()
	m := loadRealMNIST(t)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i * 7 // spread over the first examples, all digits present
	}
	return BatchTensors(m.Train, idx, dtype)
}

func TestConv3x3MatchesConvolve(t *testing.T) {
	be := backend.MustDefault()
	rng := rand.New(rand.NewPCG(1, 2))
	x, _ := randomTensor(rng, 3, 6, 5, 4)
	k, _ := randomTensor(rng, 3, 3, 4, 7)
	// Outputs and both gradients of Σ w·conv(x, k), for a random weighting w.
	w, _ := randomTensor(rng, 3, 6, 5, 7)
	run := func(conv func(x, k *Node) *Node) [][]float64 {
		outs := MustExecOnceN(be, func(x, k, w *Node) []*Node {
			y := conv(x, k)
			return append([]*Node{y}, Gradient(ReduceAllSum(Mul(y, w)), x, k)...)
		}, x, k, w)
		res := make([][]float64, len(outs))
		for i, o := range outs {
			res[i] = flat64(o)
		}
		return res
	}
	got, want := run(conv3x3), run(convolveSame)
	for i, name := range []string{"output", "d/dx", "d/dkernel"} {
		diff, scale := maxAbsDiff(got[i], want[i])
		if diff > 1e-12*max(1, scale) {
			t.Errorf("%s: conv3x3 differs from Convolve by %.3g (scale %.3g)", name, diff, scale)
		}
	}
}

func TestMaxPool2(t *testing.T) {
	be := backend.MustDefault()
	// One image 4×4, 2 channels; channel 1 is constant (all ties), channel 0 has a tie in one window.
	const h, w, c = 4, 4, 2
	data := []float64{
		// row 0: (c0, c1) per column
		1, 5, 3, 5, 0, 5, 2, 5,
		4, 5, 2, 5, 7, 5, 7, 5,
		9, 5, 8, 5, -1, 5, -3, 5,
		9, 5, 9, 5, -2, 5, -1, 5,
	}
	x := tensors.FromFlatDataAndDimensions(data, 1, h, w, c)
	weights := []float64{10, 1, 20, 2, 30, 3, 40, 4} // [1, 2, 2, 2] weighting of the outputs
	wt := tensors.FromFlatDataAndDimensions(weights, 1, 2, 2, c)
	outs := MustExecOnceN(be, func(x, wt *Node) []*Node {
		y := maxPool2(x)
		return []*Node{y, Gradient(ReduceAllSum(Mul(y, wt)), x)[0]}
	}, x, wt)
	y, dx := flat64(outs[0]), flat64(outs[1])
	wantY := []float64{4, 5, 7, 5, 9, 5, -1, 5}
	for i := range wantY {
		if y[i] != wantY[i] {
			t.Fatalf("pooled %v, want %v", y, wantY)
		}
	}
	// Gradient goes to the first maximum in row-major order within each window.
	wantDx := make([]float64, len(data))
	at := func(r, col, ch int) int { return (r*w+col)*c + ch }
	wantDx[at(1, 0, 0)] = 10 // window (0,0): max 4 at (1,0)
	wantDx[at(0, 0, 1)] = 1  // channel 1: all 5, first wins
	wantDx[at(1, 2, 0)] = 20 // window (0,1): 7 at (1,2) and (1,3): first wins
	wantDx[at(0, 2, 1)] = 2
	wantDx[at(2, 0, 0)] = 30 // window (1,0): 9 at (2,0), (3,0), (3,1): first wins
	wantDx[at(2, 0, 1)] = 3
	wantDx[at(2, 2, 0)] = 40 // window (1,1): -1 at (2,2) and (3,3): first wins
	wantDx[at(2, 2, 1)] = 4
	for i := range wantDx {
		if dx[i] != wantDx[i] {
			t.Fatalf("gradient\n got %v\nwant %v", dx, wantDx)
		}
	}
}

func TestParameterCountsAndInit(t *testing.T) {
	be := backend.MustDefault()
	for _, c := range []struct {
		name   string
		fn     ModelFn
		params int
		fanIn  map[string]int
	}{
		{"SimpleCNN", SimpleCNN, 206922, map[string]int{"conv1": 9, "conv2": 144, "fc1": 1568, "fc2": 128}},
		{"MLP", MLP, 101770, map[string]int{"fc1": 784, "fc2": 128}},
	} {
		store := NewStore(42)
		images := tensors.FromShape(shapesOf(dtypes.Float32, 2, 28, 28, 1))
		logits := model.MustExecOnce(be, store, c.fn, images)
		if d := logits.Shape().Dimensions; len(d) != 2 || d[0] != 2 || d[1] != 10 || logits.DType() != dtypes.Float32 {
			t.Errorf("%s: logits %s, want (Float32)[2 10]", c.name, logits.Shape())
		}
		if n := numTrainable(store); n != c.params {
			t.Errorf("%s: %d parameters, want %d", c.name, n, c.params)
		}
		// PyTorch's default: weights and biases U(±1/√fanIn): within the bound, variance bound²/3.
		for v := range store.IterVariables() {
			if !v.Trainable {
				continue
			}
			layer := v.Scope()[1:]
			bound := 1 / math.Sqrt(float64(c.fanIn[layer]))
			vals := tensors.MustCopyFlatData[float32](v.MustValue())
			var sumSq float64
			for _, x := range vals {
				if math.Abs(float64(x)) > bound {
					t.Fatalf("%s %s: value %g outside ±%g", c.name, v.Path(), x, bound)
				}
				sumSq += float64(x) * float64(x)
			}
			if len(vals) >= 1000 {
				ratio := sumSq / float64(len(vals)) / (bound * bound / 3)
				if ratio < 0.9 || ratio > 1.1 {
					t.Errorf("%s %s: variance / (bound²/3) = %.3f", c.name, v.Path(), ratio)
				}
			}
		}
	}
	// Same seed, same parameters; another seed, other parameters.
	first := func(seed int64) float32 {
		store := NewStore(seed)
		model.MustExecOnce(be, store, SimpleCNN, tensors.FromShape(shapesOf(dtypes.Float32, 1, 28, 28, 1)))
		return tensors.MustCopyFlatData[float32](store.GetVariable("/fc1/weights").MustValue())[123]
	}
	if a, b, other := first(7), first(7), first(8); a != b || a == other {
		t.Errorf("seeded init: seed 7 gave %g and %g, seed 8 gave %g", a, b, other)
	}
}

// paramVars returns the trainable variables of store in creation order.
func paramVars(store *model.Store) []*model.Variable {
	var vars []*model.Variable
	for v := range store.IterVariables() {
		if v.Trainable {
			vars = append(vars, v)
		}
	}
	return vars
}

// newGradExec returns an executor of the loss and its gradient with respect to vars (in that order).
func newGradExec(t *testing.T, store *model.Store, fn ModelFn) *model.Exec {
	t.Helper()
	exec, err := model.NewExec(backend.MustDefault(), store, func(scope *model.Scope, images, labels *Node) []*Node {
		loss := Loss(fn(scope, images), labels)
		var params []*Node
		for _, v := range paramVars(scope.Store()) {
			params = append(params, v.NodeValue(images.Graph()))
		}
		return append([]*Node{loss}, Gradient(loss, params...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	return exec
}

func TestGradientCheckCNN(t *testing.T) {
	be := backend.MustDefault()
	images, labels := testImages(t, 8, dtypes.Float64)
	store := NewStore(3)
	lossExec := model.MustNewExec(be, store, func(scope *model.Scope, images, labels *Node) *Node {
		return Loss(SimpleCNN(scope, images), labels)
	})
	loss := func() float64 { return tensors.ToScalar[float64](lossExec.MustExec(images, labels)[0]) }
	loss0 := loss() // initialises the variables
	gradExec := newGradExec(t, store, SimpleCNN)
	outs := gradExec.MustExec(images, labels)
	if l := tensors.ToScalar[float64](outs[0]); l != loss0 {
		t.Fatalf("loss %v from the gradient graph, %v from the loss graph", l, loss0)
	}
	vars := paramVars(store)
	rng := rand.New(rand.NewPCG(4, 5))
	const perVar = 40 // 8 variables: 320 coordinates, in every layer, weights and biases
	// h is small enough that no ReLU or max-pool kink lies within ±h of the sampled points here
	// (with h = 1e-5 one does, for this seed: the error then grows in proportion to h).
	const h = 1e-6
	var worst, sumSqDiff, sumSqFD float64
	var worstAt string
	for vi, v := range vars {
		base := flat64(v.MustValue())
		grad := flat64(outs[1+vi])
		dims := v.Shape().Dimensions
		set := func(values []float64) {
			if err := v.SetValue(tensors.FromFlatDataAndDimensions(values, dims...)); err != nil {
				t.Fatal(err)
			}
		}
		for range perVar {
			i := rng.IntN(len(base))
			p := append([]float64(nil), base...)
			p[i] = base[i] + h
			set(p)
			up := loss()
			p = append([]float64(nil), base...)
			p[i] = base[i] - h
			set(p)
			down := loss()
			fd := (up - down) / (2 * h)
			// Central differences carry a rounding error of about ε·L/h ≈ 1e-10 here: gradients
			// below 1e-4 are compared on that scale rather than relative to their own size.
			rel := math.Abs(grad[i]-fd) / max(math.Abs(fd), math.Abs(grad[i]), 1e-4)
			if rel > worst {
				worst, worstAt = rel, fmt.Sprintf("%s[%d]: gradient %.10g, differences %.10g", v.Path(), i, grad[i], fd)
			}

			sumSqDiff += (grad[i] - fd) * (grad[i] - fd)
			sumSqFD += fd * fd
		}
		set(base)
	}
	normRel := math.Sqrt(sumSqDiff / sumSqFD)
	t.Logf("gradient check, %d coordinates (batch 8, float64, h=%g): worst relative error %.2e (%s), ‖g−fd‖/‖fd‖ = %.2e",
		perVar*len(vars), h, worst, worstAt, normRel)
	if worst > 1e-5 || normRel > 1e-7 {
		t.Errorf("gradient does not match central differences: worst relative error %.2e at %s, norm-relative %.2e",
			worst, worstAt, normRel)
	}
}

func TestHVPCNN(t *testing.T) {
	be := backend.MustDefault()
	images, labels := testImages(t, 8, dtypes.Float64)
	store := NewStore(5)
	gradExec := newGradExec(t, store, SimpleCNN)
	gradExec.MustExec(images, labels) // initialise the variables
	vars := paramVars(store)

	// A random direction of unit norm, one tensor per variable.
	rng := rand.New(rand.NewPCG(6, 7))
	d := numTrainable(store)
	dirs := make([]*tensors.Tensor, len(vars))
	dirFlat := make([][]float64, len(vars))
	for i, v := range vars {
		_, flat := randomTensor(rng, v.Shape().Dimensions...)
		for j := range flat {
			flat[j] /= math.Sqrt(float64(d))
		}
		dirFlat[i] = flat
		dirs[i] = tensors.FromFlatDataAndDimensions(append([]float64(nil), flat...), v.Shape().Dimensions...)
	}

	// Hv = ∇(∇L·v): a second Gradient through im2col's and the pooling's Slices, i.e. through Pad.
	hvpExec, err := model.NewExec(be, store, func(scope *model.Scope, inputs []*Node) []*Node {
		images, labels, dir := inputs[0], inputs[1], inputs[2:]
		loss := Loss(SimpleCNN(scope, images), labels)
		var params []*Node
		for _, v := range paramVars(scope.Store()) {
			params = append(params, v.NodeValue(images.Graph()))
		}
		grads := Gradient(loss, params...)
		dot := ReduceAllSum(Mul(grads[0], dir[0]))
		for i := 1; i < len(grads); i++ {
			dot = Add(dot, ReduceAllSum(Mul(grads[i], dir[i])))
		}
		return Gradient(dot, params...)
	})
	if err != nil {
		t.Fatal(err)
	}
	args := append([]any{images, labels}, anySlice(dirs)...)
	hvOut, err := hvpExec.Exec(args...)
	if err != nil {
		t.Fatalf("Hessian-vector product through the CNN: %v", err)
	}

	// Central differences of the gradient along v: (∇L(θ+εv) − ∇L(θ−εv)) / 2ε.
	const eps = 1e-4
	bases := make([][]float64, len(vars))
	for i, v := range vars {
		bases[i] = flat64(v.MustValue())
	}
	gradAt := func(sign float64) [][]float64 {
		for i, v := range vars {
			p := make([]float64, len(bases[i]))
			for j := range p {
				p[j] = bases[i][j] + sign*eps*dirFlat[i][j]
			}
			if err := v.SetValue(tensors.FromFlatDataAndDimensions(p, v.Shape().Dimensions...)); err != nil {
				t.Fatal(err)
			}
		}
		outs := gradExec.MustExec(images, labels)
		res := make([][]float64, len(vars))
		for i := range vars {
			res[i] = flat64(outs[1+i])
		}
		return res
	}
	up, down := gradAt(+1), gradAt(-1)
	var sumSqDiff, sumSqFD float64
	for i := range vars {
		hv := flat64(hvOut[i])
		var layerDiff, layerFD float64
		for j := range hv {
			fd := (up[i][j] - down[i][j]) / (2 * eps)
			layerDiff += (hv[j] - fd) * (hv[j] - fd)
			layerFD += fd * fd
		}
		sumSqDiff += layerDiff
		sumSqFD += layerFD
		t.Logf("%-14s ‖Hv−fd‖/‖fd‖ = %.2e (‖fd‖ = %.3g)", vars[i].Path(), math.Sqrt(layerDiff/layerFD), math.Sqrt(layerFD))
	}
	rel := math.Sqrt(sumSqDiff / sumSqFD)
	t.Logf("HVP vs central differences of the gradient (float64, batch 8, ε=%g): ‖Hv−fd‖/‖fd‖ = %.2e", eps, rel)
	if rel > 1e-8 {
		t.Errorf("Hessian-vector product differs from finite differences: relative error %.2e", rel)
	}
}

func anySlice(ts []*tensors.Tensor) []any {
	res := make([]any, len(ts))
	for i, t := range ts {
		res[i] = t
	}
	return res
}

// numTrainable returns the number of scalars in the trainable variables of store (the store's
// NumParameters also counts its random-number state).
func numTrainable(store *model.Store) int {
	n := 0
	for _, v := range paramVars(store) {
		n += v.Shape().Size()
	}
	return n
}

// referenceCNN is the seed paper's CNN written with GoMLX's own Convolve and MaxPool (forward
// only: the pure-Go backend cannot differentiate MaxPool) on NHWC data, reading SimpleCNN's
// variables from store: the definition SimpleCNN's layout tricks must reproduce.
func referenceCNN(store *model.Store, images *Node) *Node {
	g := images.Graph()
	get := func(path string) *Node { return store.GetVariable(path).NodeValue(g) }
	conv := func(x *Node, layer string) *Node {
		k := TransposeAllAxes(get("/"+layer+"/weights"), 1, 2, 3, 0) // [out,3,3,in] → HWIO
		y := Convolve(x, k).PadSame().Done()
		y = Add(y, Reshape(get("/"+layer+"/biases"), 1, 1, 1, k.Shape().Dimensions[3]))
		return MaxPool(Max(y, ZerosLike(y))).Window(2).Done()
	}
	dense := func(x *Node, layer string) *Node {
		w := get("/" + layer + "/weights") // [out, in]
		return Add(MatMul(x, Transpose(w, 0, 1)), InsertAxes(get("/"+layer+"/biases"), 0))
	}
	x := conv(conv(images, "conv1"), "conv2") // [B, 7, 7, 32]
	b := x.Shape().Dimensions[0]
	x = Reshape(TransposeAllAxes(x, 0, 3, 1, 2), b, 32*7*7) // PyTorch's (c, h, w) flattening
	x = dense(x, "fc1")
	return dense(Max(x, ZerosLike(x)), "fc2")
}

func TestSimpleCNNMatchesReference(t *testing.T) {
	be := backend.MustDefault()
	images, _ := testImages(t, 16, dtypes.Float64)
	store := NewStore(21)
	got := flat64(model.MustExecOnce(be, store, SimpleCNN, images))
	want := flat64(model.MustExecOnce(be, store, func(scope *model.Scope, images *Node) *Node {
		return referenceCNN(scope.Store(), images)
	}, images))
	diff, scale := maxAbsDiff(got, want)
	t.Logf("SimpleCNN vs Convolve/MaxPool reference: max |Δlogit| %.2e (max |logit| %.3g)", diff, scale)
	if diff > 1e-12*max(1, scale) {
		t.Errorf("SimpleCNN's logits differ from the reference by %.3g", diff)
	}
}

// TestNoIdentityTransposeInGradients checks that the package's DotGeneral gradient leaves no
// Transpose that keeps every axis in place (a full element-by-element copy on the go backend) on
// the way from the parameters to their gradients.
func TestNoIdentityTransposeInGradients(t *testing.T) {
	be := backend.MustDefault()
	images, labels := testImages(t, 4, dtypes.Float32)
	var built, used int
	_, err := model.CallOnceN(be, NewStore(1), func(scope *model.Scope, images, labels *Node) []*Node {
		loss := Loss(SimpleCNN(scope, images), labels)
		var params []*Node
		for _, v := range paramVars(scope.Store()) {
			params = append(params, v.NodeValue(images.Graph()))
		}
		grads := Gradient(loss, params...)
		reachable := map[*Node]bool{}
		var visit func(n *Node)
		visit = func(n *Node) {
			if !reachable[n] {
				reachable[n] = true
				for _, in := range n.Inputs() {
					visit(in)
				}
			}
		}
		for _, gr := range grads {
			visit(gr)
		}
		for _, n := range images.Graph().Nodes() {
			if n.Type() == NodeTypeTranspose && autodiff.SkipIdentityTranspose(n) != n {
				built++
				if reachable[n] {
					used++
				}
			}
		}
		return grads
	}, images, labels)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GoMLX built %d identity transposes; %d are used", built, used)
	if built == 0 {
		t.Fatal("GoMLX built no identity Transpose: this test no longer shows anything")
	}
	if used != 0 {
		t.Errorf("%d identity transposes are still computed", used)
	}
}

// TestConvPool checks ConvPool, in both layouts, against conv3x3 + bias followed by maxPool2
// (each tested against GoMLX's own ops): values and the gradients with respect to x and the kernel.
func TestConvPool(t *testing.T) {
	be := backend.MustDefault()
	rng := rand.New(rand.NewPCG(12, 13))
	const b, h, w, c, cout = 2, 6, 8, 3, 5
	x, _ := randomTensor(rng, b, h, w, c)        // NHWC
	k, _ := randomTensor(rng, cout, 9*c+1)       // [Cout, 9·C+1], bias last
	v, _ := randomTensor(rng, cout, b, h/2, w/2) // weighting of the pooled outputs
	for _, chAxis := range []int{0, 3} {
		outs := MustExecOnceN(be, func(x, k, v *Node) []*Node {
			// Reference on NHWC: kernel [Cout, 3, 3, C] → HWIO, bias added, pooled, then channels-first.
			kw := Slice(k, AxisRange(), AxisRange(0, 9*c))
			hwio := TransposeAllAxes(Reshape(kw, cout, 3, 3, c), 1, 2, 3, 0)
			bias := Reshape(Slice(k, AxisRange(), AxisRange(9*c)), 1, 1, 1, cout)
			ref := TransposeAllAxes(maxPool2(Add(conv3x3(x, hwio), bias)), 3, 0, 1, 2)
			in := x
			if chAxis == 0 {
				in = TransposeAllAxes(x, 3, 0, 1, 2)
			}
			got := ConvPool(in, chAxis, k)
			res := []*Node{got, ref}
			res = append(res, Gradient(ReduceAllSum(Mul(got, v)), x, k)...)
			return append(res, Gradient(ReduceAllSum(Mul(ref, v)), x, k)...)
		}, x, k, v)
		for i, name := range []string{"output", "d/dx", "d/dkernel"} {
			a, ref := outs[0], outs[1]
			if i > 0 {
				a, ref = outs[1+i], outs[3+i]
			}
			diff, scale := maxAbsDiff(flat64(a), flat64(ref))
			if diff > 1e-12*max(1, scale) {
				t.Errorf("chAxis %d, %s: ConvPool differs from conv3x3+maxPool2 by %.3g (scale %.3g)", chAxis, name, diff, scale)
			}
		}
	}
}
