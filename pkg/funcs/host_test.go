package funcs

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/backend"
)

// TestHostMatchesGraph: every function's plain-Go version equals its graph and autodiff
// gradient to 1e-13 (relative to max(1, |value|)) at random points of [−3, 3]ⁿ, and Auto picks
// it on small problems.
func TestHostMatchesGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var fs []*Func
	for _, name := range Names() {
		dims := map[string][]int{"rosenbrock": {2, 7, 100}, "rastrigin": {1, 5, 100}, "sphere": {1, 2, 30}}[name]
		if dims == nil {
			f, err := ByName(name, 2)
			if err != nil {
				f, err = ByName(name, 3)
			}
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, f)
			continue
		}
		for _, n := range dims {
			f, err := ByName(name, n)
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, f)
		}
	}
	A := mat.NewSymDense(4, []float64{4, 1, 0, 0.5, 1, 3, 0.2, 0, 0, 0.2, 2, 0.1, 0.5, 0, 0.1, 1})
	q, err := Quadratic(A, []float64{1, -2, 0.5, 3})
	if err != nil {
		t.Fatal(err)
	}
	fs = append(fs, q)
	worst := 0.0
	for _, f := range fs {
		if f.Host == nil {
			t.Errorf("%s has no host version", f.Name)
			continue
		}
		graphEval := newEvaluator(t, f, nil)
		hostEval, err := f.Evaluator(backend.MustDefault())
		if err != nil {
			t.Fatal(err)
		}
		if hostEval.RunsOn() != backend.Host {
			t.Errorf("%s/%d: Auto chose %v, want host", f.Name, f.Dim, hostEval.RunsOn())
		}
		for range 20 {
			x := uniform(rng, f.Dim, -3, 3)
			fg, gg := evalGrad(t, graphEval, x)
			fh, gh := evalGrad(t, hostEval, x)
			fOnly, err := hostEval.Eval(x, nil)
			if err != nil || fOnly != fh {
				t.Errorf("%s/%d: value-only host eval %g (%v), with gradient %g", f.Name, f.Dim, fOnly, err, fh)
			}
			d := max(relDiff(fh, fg), maxRelDiff(gh, gg))
			worst = max(worst, d)
			if d > 1e-13 {
				t.Errorf("%s/%d at %v: host f = %.17g ∇f = %v, graph f = %.17g ∇f = %v", f.Name, f.Dim, x, fh, gh, fg, gg)
			}
		}
	}
	t.Logf("worst relative difference host vs graph: %.2g over %d functions", worst, len(fs))
}

func TestSetPath(t *testing.T) {
	f, _ := Rosenbrock(3)
	e, err := f.Evaluator(backend.MustDefault())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []backend.Path{backend.Graph, backend.Host} {
		if err := e.SetPath(p); err != nil || e.RunsOn() != p {
			t.Errorf("SetPath(%v): %v, path %v", p, err, e.RunsOn())
		}
	}
	noHost := &Func{Name: "nohost", Dim: 3, Graph: f.Graph}
	e2, err := noHost.Evaluator(backend.MustDefault())
	if err != nil {
		t.Fatal(err)
	}
	if e2.RunsOn() != backend.Graph {
		t.Errorf("a Func without Host: Auto chose %v, want graph", e2.RunsOn())
	}
	if err := e2.SetPath(backend.Host); err == nil {
		t.Error("SetPath(Host) on a Func without Host: no error")
	}
}

// BenchmarkEvalPaths times one Rosenbrock value and gradient on the graph and on the host,
// alternating within each dimension.
func BenchmarkEvalPaths(b *testing.B) {
	for _, n := range []int{2, 100, 1000, 10000, 100000, 1000000} {
		f, err := Rosenbrock(n)
		if err != nil {
			b.Fatal(err)
		}
		e, err := f.Evaluator(backend.MustDefault())
		if err != nil {
			b.Fatal(err)
		}
		x, g := f.Start, make([]float64, n)
		for _, p := range []backend.Path{backend.Graph, backend.Host} {
			b.Run(fmt.Sprintf("n=%d/%v", n, p), func(b *testing.B) {
				if err := e.SetPath(p); err != nil {
					b.Fatal(err)
				}
				for range b.N {
					if _, err := e.Eval(x, g); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
