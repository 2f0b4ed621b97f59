package lbfgs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"qnlab/pkg/backend"
)

// TestHostDirectionMatchesKernel: the plain-Go two-loop equals the float64 graph kernel on random
// histories (m = 0 … 20, d = 1 … 2000) to 1e-13 relative, γ included.
func TestHostDirectionMatchesKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	k := testKernel(t, dtypes.Float64)
	worst := 0.0
	for _, m := range []int{0, 1, 2, 5, 10, 20} {
		for _, d := range []int{1, 2, 17, 100, 2000} {
			h := &History{M: max(m, 1)}
			if m > 0 {
				h = randomHistory(t, rng, m, d)
			}
			g := randomVector(rng, d)
			want, wantGamma, err := k.Direction(h, g)
			if err != nil {
				t.Fatal(err)
			}
			got, gamma := HostDirection(h, g)
			e := relErr(got, want)
			worst = max(worst, e)
			if e > 1e-13 || math.Abs(gamma-wantGamma) > 1e-13*math.Abs(wantGamma) {
				t.Errorf("m=%d d=%d: relative error %.3g, γ %g vs %g", m, d, e, gamma, wantGamma)
			}
		}
	}
	t.Logf("worst relative difference host vs graph: %.2g", worst)
}

// BenchmarkDirectionPaths times one direction (m = 10) by the graph kernel and by HostDirection,
// alternating within each dimension.
func BenchmarkDirectionPaths(b *testing.B) {
	for _, d := range []int{2, 100, 1000, 10000, 100000, 1000000} {
		h, err := RandomHistory(10, d, 1)
		if err != nil {
			b.Fatal(err)
		}
		g := RandomVector(d, 2)
		k := testKernel(b, dtypes.Float64)
		for _, path := range []string{"graph", "host"} {
			b.Run(fmt.Sprintf("d=%d/%s", d, path), func(b *testing.B) {
				for range b.N {
					if path == "host" {
						HostDirection(h, g)
					} else if _, _, err := k.Direction(h, g); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestMinimizePathsAgree runs L-BFGS on Rosenbrock with the directions on the graph and on the
// host. Along the graph run's whole trajectory (its iterates, the history rebuilt from them),
// HostDirection equals the kernel's direction to 1e-12; both runs take the same first 10
// iterates to 1e-12 and reach the same minimiser. (Whole trajectories agree only until rounding
// differences, 1e-16 in a dot product's summation order, grow through the line search's
// decisions: measured after 14–40 iterations here, as between any two backends.)
func TestMinimizePathsAgree(t *testing.T) {
	k := testKernel(t, dtypes.Float64)
	for _, n := range []int{2, 10, 100} {
		runs := map[backend.Path]Result{}
		for _, p := range []backend.Path{backend.Graph, backend.Host} {
			r, err := Minimize(ObjectiveFunc(rosen), rosenStart(n), Method{Direction: &LBFGS{Path: p, Kernel: k}}, Settings{RecordX: true})
			if err != nil {
				t.Fatal(err)
			}
			if r.DirectionRunsOn != p {
				t.Errorf("n=%d: asked for %v, directions ran on %v", n, p, r.DirectionRunsOn)
			}
			if r.Status != GradientThreshold || relErr(r.X, fill(n, 1)) > 1e-5 {
				t.Errorf("n=%d %v: %v at ‖x − 1‖/‖1‖ = %.3g", n, p, r.Status, relErr(r.X, fill(n, 1)))
			}
			runs[p] = r
		}
		g, h := runs[backend.Graph], runs[backend.Host]
		for i := range min(10, len(g.Iterates), len(h.Iterates)) {
			if e := relErr(h.Iterates[i].X, g.Iterates[i].X); e > 1e-12 {
				t.Errorf("n=%d: iterate %d differs by %.3g between the paths", n, i, e)
			}
		}
		// The graph run's history, rebuilt from its iterates, and the direction at each one.
		hist := &History{}
		worst := 0.0
		grad := func(x []float64) []float64 { gx := make([]float64, n); rosen(x, gx); return gx }
		for i, it := range g.Iterates {
			gi := grad(it.X)
			if i > 0 {
				prev := g.Iterates[i-1].X
				s, y := make([]float64, n), make([]float64, n)
				gp := grad(prev)
				for j := range n {
					s[j], y[j] = it.X[j]-prev[j], gi[j]-gp[j]
				}
				_ = hist.Push(s, y)
			}
			if hist.Len() == 0 {
				continue
			}
			want, _, err := k.Direction(hist, gi)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := HostDirection(hist, gi)
			worst = max(worst, relErr(got, want))
		}
		if worst > 1e-12 {
			t.Errorf("n=%d: along the graph run, host and graph directions differ by up to %.3g", n, worst)
		}
		t.Logf("n=%d: %d/%d iterations (graph/host); directions along the trajectory agree to %.2g", n, g.Iterations, h.Iterations, worst)
	}
}

func fill(n int, v float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = v
	}
	return x
}
