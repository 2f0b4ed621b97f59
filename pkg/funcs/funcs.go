package funcs

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
)

// Func is a test function f: ℝ^Dim → ℝ given as a GoMLX graph function, with its known
// global minimizer.
type Func struct {
	// Name identifies the function ("rosenbrock", "rastrigin", "beale", "quad3", "sphere",
	// "quadratic", "saddle", "cliff", "logistic2-mse", "logistic2-ce").
	Name string
	// Dim is the dimension n of x.
	Dim int
	// Graph builds f(x) for x of shape [Dim] in any float dtype and returns a scalar of the
	// same dtype. ∇f comes from graph.Gradient. It panics (GoMLX's convention in graph
	// building) if x does not have shape [Dim].
	Graph func(x *graph.Node) *graph.Node
	// Host, if not nil, is the same function in plain Go: it returns f(x) and writes ∇f(x) into
	// grad (a nil grad asks for f(x) only). Evaluator runs it instead of the graph on small
	// problems (backend.HostMaxDim).
	Host func(x, grad []float64) float64
	// Minimizer is a global minimizer x* and Min = f(x*).
	Minimizer []float64
	Min       float64
	// Start is the standard starting point.
	Start []float64
}

// Rosenbrock returns the chained Rosenbrock function of n ≥ 2 variables,
//
//	f(x) = Σ_{i=1}^{n-1} 100(x_{i+1} − x_i²)² + (1 − x_i)²,
//
// scipy's rosen with a = 1, b = 100 and gonum's functions.ExtendedRosenbrock (Rosenbrock 1960;
// for n = 2 it is problem 1 of Moré, Garbow & Hillstrom 1981, whose problem 21 for n > 2 is
// the different, separable sum over disjoint pairs). x* = (1, …, 1), f* = 0; Start is
// (−1.2, 1, −1.2, 1, …).
func Rosenbrock(n int) (*Func, error) {
	if n < 2 {
		return nil, fmt.Errorf("funcs: rosenbrock needs dimension n ≥ 2, got %d", n)
	}
	start := make([]float64, n)
	for i := range start {
		start[i] = 1
		if i%2 == 0 {
			start[i] = -1.2
		}
	}
	return &Func{
		Name: "rosenbrock",
		Dim:  n,
		Graph: func(x *graph.Node) *graph.Node {
			checkShape("rosenbrock", x, n)
			head := graph.Slice(x, graph.AxisRange(0, n-1)) // x_1 … x_{n-1}
			tail := graph.Slice(x, graph.AxisRange(1, n))   // x_2 … x_n
			valley := graph.MulScalar(graph.Square(graph.Sub(tail, graph.Square(head))), 100)
			return graph.ReduceAllSum(graph.Add(valley, graph.Square(graph.OneMinus(head))))
		},
		Host:      hostRosenbrock,
		Minimizer: fill(n, 1),
		Min:       0,
		Start:     start,
	}, nil
}

// RastriginA is the constant A of the Rastrigin function.
const RastriginA = 10

// Rastrigin returns the Rastrigin function of n ≥ 1 variables,
//
//	f(x) = A·n + Σ_{i=1}^{n} (x_i² − A cos(2πx_i)),  A = 10.
//
// x* = 0, f* = 0. It has a local minimizer near every integer point (about 11ⁿ of them in
// [−5.12, 5.12]ⁿ), so a local method finds the global one only from inside its basin. There is
// no standard start; Start is (2.2, …, 2.2), in the basin of the local minimizer near (2, …, 2).
func Rastrigin(n int) (*Func, error) {
	if n < 1 {
		return nil, fmt.Errorf("funcs: rastrigin needs dimension n ≥ 1, got %d", n)
	}
	return &Func{
		Name: "rastrigin",
		Dim:  n,
		Graph: func(x *graph.Node) *graph.Node {
			checkShape("rastrigin", x, n)
			ripple := graph.MulScalar(graph.Cos(graph.MulScalar(x, 2*math.Pi)), RastriginA)
			return graph.AddScalar(graph.ReduceAllSum(graph.Sub(graph.Square(x), ripple)), RastriginA*float64(n))
		},
		Host:      hostRastrigin,
		Minimizer: make([]float64, n),
		Min:       0,
		Start:     fill(n, 2.2),
	}, nil
}

// Beale returns Beale's function of two variables (problem 5 of Moré, Garbow & Hillstrom 1981),
//
//	f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)².
//
// x* = (3, 0.5), f* = 0; Start is (1, 1). The course lecture's 2-D function (seed 001, "算例展示")
// is this one, misprinted on its slides as (1.5 − xy)² + (2.25 − x + xy²)² + (2.65 − x + xy³)³,
// which is unbounded below (the cube); the lecture starts it at (1.75, 1.9).
func Beale() (*Func, error) {
	return &Func{
		Name: "beale",
		Dim:  2,
		Graph: func(x *graph.Node) *graph.Node {
			checkShape("beale", x, 2)
			u := coord(x, 0)
			v := coord(x, 1)
			var f *graph.Node
			vk := v
			for _, c := range []float64{1.5, 2.25, 2.625} {
				r := graph.Square(graph.AddScalar(graph.Mul(u, graph.OneMinus(vk)), -c)) // (c − u(1 − vᵏ))²
				if f == nil {
					f = r
				} else {
					f = graph.Add(f, r)
				}
				vk = graph.Mul(vk, v)
			}
			return f
		},
		Host:      hostBeale,
		Minimizer: []float64{3, 0.5},
		Min:       0,
		Start:     []float64{1, 1},
	}, nil
}

// Quad3 returns the lecture's 3-D function (seed 001, "算例展示"),
//
//	f(x, y, z) = x² + 0.1y² + 2z²,
//
// a quadratic with curvatures 2, 0.2 and 4 (condition number 20). x* = 0, f* = 0; Start is the
// lecture's (−2, −2, −2).
func Quad3() *Func {
	w := []float64{1, 0.1, 2}
	return &Func{
		Name: "quad3",
		Dim:  3,
		Graph: func(x *graph.Node) *graph.Node {
			checkShape("quad3", x, 3)
			return graph.ReduceAllSum(graph.Mul(graph.Const(x.Graph(), castTo(w, x)), graph.Square(x)))
		},
		Host:      hostWeightedSquares(w),
		Minimizer: make([]float64, 3),
		Min:       0,
		Start:     []float64{-2, -2, -2},
	}
}

// Sphere returns Σθᵢ² in n ≥ 1 variables, the lecture's worked examples 1 (n = 1, θ0 = 1) and 2
// (n = 2, Θ0 = (2, 3)). x* = 0, f* = 0; Start is (1, …, 1) for n = 1 and the lecture's (2, 3, 2,
// 3, …) otherwise.
func Sphere(n int) (*Func, error) {
	if n < 1 {
		return nil, fmt.Errorf("funcs: sphere needs dimension n ≥ 1, got %d", n)
	}
	start := make([]float64, n)
	for i := range start {
		start[i] = 2 + float64(i%2)
	}
	if n == 1 {
		start[0] = 1
	}
	return &Func{
		Name: "sphere",
		Dim:  n,
		Graph: func(x *graph.Node) *graph.Node {
			checkShape("sphere", x, n)
			return graph.ReduceAllSum(graph.Square(x))
		},
		Host:      hostWeightedSquares(nil),
		Minimizer: make([]float64, n),
		Min:       0,
		Start:     start,
	}, nil
}

// castTo returns w as a value of x's float dtype for graph.Const.
func castTo(w []float64, x *graph.Node) any {
	if x.DType() == dtypes.Float32 {
		out := make([]float32, len(w))
		for i, v := range w {
			out[i] = float32(v)
		}
		return out
	}
	return w
}

// byName lists the functions ByName knows, in the order Names reports them.
var byName = []struct {
	name, dims string
	make       func(dim int) (*Func, error)
}{
	{"rosenbrock", "dim ≥ 2", Rosenbrock},
	{"rastrigin", "dim ≥ 1", Rastrigin},
	{"beale", "dim = 2", func(dim int) (*Func, error) {
		if dim != 2 {
			return nil, fmt.Errorf("funcs: beale has dimension 2, got %d", dim)
		}
		return Beale()
	}},
	{"quad3", "dim = 3", func(dim int) (*Func, error) {
		if dim != 3 {
			return nil, fmt.Errorf("funcs: quad3 has dimension 3, got %d", dim)
		}
		return Quad3(), nil
	}},
	{"sphere", "dim ≥ 1", Sphere},
	{"saddle", "dim = 2", func(dim int) (*Func, error) {
		if dim != 2 {
			return nil, fmt.Errorf("funcs: saddle has dimension 2, got %d", dim)
		}
		return Saddle(), nil
	}},
	{"cliff", "dim = 2", func(dim int) (*Func, error) {
		if dim != 2 {
			return nil, fmt.Errorf("funcs: cliff has dimension 2, got %d", dim)
		}
		return Cliff(), nil
	}},
	{"logistic2-mse", "dim = 2", func(dim int) (*Func, error) {
		if dim != 2 {
			return nil, fmt.Errorf("funcs: logistic2-mse has dimension 2, got %d", dim)
		}
		return Logistic2("mse")
	}},
	{"logistic2-ce", "dim = 2", func(dim int) (*Func, error) {
		if dim != 2 {
			return nil, fmt.Errorf("funcs: logistic2-ce has dimension 2, got %d", dim)
		}
		return Logistic2("ce")
	}},
}

// Names returns the names ByName accepts.
func Names() []string {
	names := make([]string, len(byName))
	for i, b := range byName {
		names[i] = b.name
	}
	return names
}

// ByName returns the function called name (case-insensitive) in dimension dim. An unknown name
// or a dimension the function does not have is an error that lists the valid choices.
func ByName(name string, dim int) (*Func, error) {
	var valid []string
	for _, b := range byName {
		valid = append(valid, fmt.Sprintf("%s (%s)", b.name, b.dims))
	}
	for _, b := range byName {
		if strings.EqualFold(strings.TrimSpace(name), b.name) {
			f, err := b.make(dim)
			if err != nil {
				return nil, fmt.Errorf("%w; valid: %s", err, strings.Join(valid, ", "))
			}
			return f, nil
		}
	}
	return nil, fmt.Errorf("funcs: unknown function %q; valid: %s", name, strings.Join(valid, ", "))
}

// coord returns coordinate i of the vector x as a scalar.
func coord(x *graph.Node, i int) *graph.Node { return graph.Reshape(graph.Slice(x, graph.AxisElem(i))) }

// checkShape panics, as GoMLX graph builders do, unless x is a vector of length n.
func checkShape(name string, x *graph.Node, n int) {
	if s := x.Shape(); s.Rank() != 1 || s.Dimensions[0] != n || !s.DType.IsFloat() {
		panic(fmt.Errorf("funcs: %s takes x of shape [%d] and a float dtype, got %s", name, n, s))
	}
}

func fill(n int, v float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = v
	}
	return x
}
