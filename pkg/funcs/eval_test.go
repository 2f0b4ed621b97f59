package funcs

import (
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
)

func TestEvaluatorLengthsAndCount(t *testing.T) {
	f, err := Rosenbrock(3)
	e := newEvaluator(t, f, err)
	if n := e.Evals(); n != 0 {
		t.Errorf("Evals() = %d before any Eval", n)
	}
	for _, tc := range []struct {
		x, grad []float64
		want    string
	}{
		{[]float64{1, 1}, make([]float64, 3), "x has length 2"},
		{[]float64{1, 1, 1, 1}, nil, "x has length 4"},
		{nil, nil, "x has length 0"},
		{[]float64{1, 1, 1}, make([]float64, 2), "grad has length 2"},
		{[]float64{1, 1, 1}, []float64{}, "grad has length 0"},
	} {
		if _, err := e.Eval(tc.x, tc.grad); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "funcs: ") {
			t.Errorf("Eval(len %d, len %d) error = %v, want %q", len(tc.x), len(tc.grad), err, tc.want)
		}
	}
	if n := e.Evals(); n != 0 {
		t.Errorf("Evals() = %d after only rejected calls", n)
	}
	// A nil grad gives the value alone; the value is the same as with a gradient.
	x := []float64{0.5, -0.25, 2}
	fx, err := e.Eval(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	fg, _ := evalGrad(t, e, x)
	if fx != fg {
		t.Errorf("f without grad %g, with grad %g", fx, fg)
	}
	if n := e.Evals(); n != 2 {
		t.Errorf("Evals() = %d after 2 evaluations", n)
	}
	if x[0] != 0.5 || x[1] != -0.25 || x[2] != 2 {
		t.Errorf("Eval changed x to %v", x)
	}
}

func TestEvaluatorReturnsNonFiniteAsIs(t *testing.T) {
	f, err := Rastrigin(2)
	e := newEvaluator(t, f, err)
	for _, tc := range []struct {
		x     []float64
		check func(float64) bool
		want  string
	}{
		{[]float64{math.NaN(), 0}, math.IsNaN, "NaN"},
		{[]float64{1e200, 0}, func(v float64) bool { return math.IsInf(v, 1) }, "+Inf"},
	} {
		g := []float64{7, 7}
		fx, err := e.Eval(tc.x, g)
		if err != nil || !tc.check(fx) {
			t.Errorf("Eval(%v) = %g, %v: want %s and no error", tc.x, fx, err, tc.want)
		}
		if g[1] != 0 { // ∂f/∂x_2 at x_2 = 0 is exactly 0: the gradient was written
			t.Errorf("Eval(%v) left grad = %v", tc.x, g)
		}
	}
	if n := e.Evals(); n != 2 {
		t.Errorf("Evals() = %d, want 2: non-finite results count as evaluations", n)
	}
}

func TestEvaluatorBadGraphIsAnError(t *testing.T) {
	// A Graph that panics while building (here: Rosenbrock(2)'s graph given x of length 3)
	// makes Evaluator return an error, not panic.
	f, err := Rosenbrock(2)
	if err != nil {
		t.Fatal(err)
	}
	bad := *f
	bad.Dim = 3
	if e, err := bad.Evaluator(nil); err == nil || !strings.Contains(err.Error(), "shape [2]") {
		t.Errorf("Evaluator for a mismatched Graph = %v, %v: want an error naming the shape", e, err)
	}
	if _, err := (&Func{Name: "empty", Dim: 2}).Evaluator(nil); err == nil {
		t.Errorf("Evaluator for a Func without Graph: want an error")
	}
}

func TestGraphsAreDTypeGeneric(t *testing.T) {
	// Training code builds the same graphs in float32: value and dtype must follow x.
	rosen, err := Rosenbrock(2)
	if err != nil {
		t.Fatal(err)
	}
	rastrigin, err := Rastrigin(2)
	if err != nil {
		t.Fatal(err)
	}
	beale, err := Beale()
	if err != nil {
		t.Fatal(err)
	}
	quad, err := Quadratic(mat.NewSymDense(2, []float64{2, 1, 1, 3}), []float64{1, -1})
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{0.5, -1.5}
	for _, f := range []*Func{rosen, rastrigin, beale, quad} {
		exec, err := graph.NewExec(backend.MustDefault(), f.Graph)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Call(tensors.FromFlatDataAndDimensions(x, 2))
		if err != nil {
			t.Fatalf("%s in float32: %v", f.Name, err)
		}
		if dt := out[0].DType(); dt != dtypes.Float32 || out[0].Shape().Rank() != 0 {
			t.Errorf("%s: float32 x gives %s, want a float32 scalar", f.Name, out[0].Shape())
			continue
		}
		got := float64(tensors.MustCopyFlatData[float32](out[0])[0])
		want := value(t, newEvaluator(t, f, nil))([]float64{0.5, -1.5})
		if relDiff(got, want) > 1e-6 {
			t.Errorf("%s: float32 f = %g, float64 f = %g", f.Name, got, want)
		}
	}
}

func TestEvaluatorConcurrent(t *testing.T) {
	f, err := Beale()
	e := newEvaluator(t, f, err)
	points := [][]float64{{1, 1}, {3, 0.5}, {-2, 1.5}, {0.5, -3}}
	want := make([]float64, len(points))
	for i, x := range points {
		want[i], _ = evalGrad(t, e, x)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := range 4 {
		wg.Go(func() {
			for k := range 10 {
				i := (w + k) % len(points)
				g := make([]float64, 2)
				fx, err := e.Eval(points[i], g)
				if err != nil || fx != want[i] {
					errs <- "concurrent Eval differs"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if n := e.Evals(); n != len(points)+40 {
		t.Errorf("Evals() = %d, want %d", n, len(points)+40)
	}
}

func TestSurface(t *testing.T) {
	f, err := Rosenbrock(2)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.Evaluator(backend.MustDefault())
	if err != nil {
		t.Fatal(err)
	}
	if v := e.Surface()(1, 1); v != 0 {
		t.Errorf("Rosenbrock at (1, 1) = %g, want 0", v)
	}
	if v := e.Surface()(0, 0); v != 1 {
		t.Errorf("Rosenbrock at (0, 0) = %g, want 1", v)
	}
	f3, _ := Rosenbrock(3)
	e3, _ := f3.Evaluator(backend.MustDefault())
	if v := e3.Surface()(0, 0); !math.IsNaN(v) {
		t.Errorf("Surface of a 3-D function = %g, want NaN", v)
	}
}
