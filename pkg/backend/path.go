package backend

import (
	"fmt"

	"qnlab/internal/enum"
)

// Path is where a small numerical computation runs: as a graph on the backend, or in plain Go
// on the host. L-BFGS directions (lbfgs.LBFGS) and test functions (funcs.Evaluator) have both;
// the graph is the reference and the path for accelerators, the host path is tested equal to it.
type Path int

const (
	// Auto runs on the host up to HostMaxDim numbers and as a graph above.
	Auto Path = iota
	// Graph runs as a compiled graph on the backend.
	Graph
	// Host runs in plain Go, in float64.
	Host
)

var pathNames = enum.Names[Path]{Auto: "auto", Graph: "graph", Host: "host"}

func (p Path) String() string { return pathNames.String(p, "Path") }

// MarshalText writes the path's name.
func (p Path) MarshalText() ([]byte, error) {
	if !pathNames.Valid(p) {
		return nil, fmt.Errorf("backend: unknown path %d", int(p))
	}
	return []byte(p.String()), nil
}

// ParsePath reads "auto", "graph" or "host".
func ParsePath(s string) (Path, error) { return pathNames.Parse("backend", "path", s) }

// HostMaxDim is the largest problem size n at which Auto chooses the host. On the development
// machine (2 cores, pure-Go backend, GOEXPERIMENT=simd; BenchmarkDirectionPaths in pkg/lbfgs,
// BenchmarkEvalPaths in pkg/funcs, 2026-12-07) the host was faster at every size measured,
// n = 2 … 10⁶: an L-BFGS direction (m = 10) 0.74 µs against 0.50 ms at n = 2 and 50 ms against
// 172 ms at n = 10⁶, Rosenbrock's value and gradient 31 ns against 94 µs and 3.5 ms against
// 19.7 ms; a graph call costs ~0.1–0.5 ms before any arithmetic. Above 2²⁰ (unmeasured), and
// on accelerators, the graph is the path.
const HostMaxDim = 1 << 20

// Resolve returns the path to take for a problem of n numbers: p itself unless p is Auto.
func (p Path) Resolve(n int) Path {
	if p != Auto {
		return p
	}
	if n <= HostMaxDim {
		return Host
	}
	return Graph
}
