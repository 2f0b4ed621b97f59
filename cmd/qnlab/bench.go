package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"qnlab/pkg/backend"
	"qnlab/pkg/compare"
)

func init() {
	register("bench", "benchmarks: mgh (qnlab L-BFGS vs gonum's on the Moré–Garbow–Hillstrom set)", runBench)
}

// benchmarks are bench's subcommands: each parses its own flags, given after its name.
var benchmarks = map[string]command{
	"mgh": {"qnlab L-BFGS (strong Wolfe) vs gonum optimize.LBFGS on the Moré–Garbow–Hillstrom problems", runBenchMGH},
}

// runBench runs `qnlab bench NAME [flags]`.
func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		benchUsage(stderr)
		return badInput("which benchmark? want one of: %s", strings.Join(benchNames(), ", "))
	}
	name, rest := args[0], args[1:]
	switch {
	case name == "-h" || name == "-help" || name == "--help" || name == "help":
		benchUsage(stderr)
		return nil
	case strings.HasPrefix(name, "-"):
		for i, a := range args {
			if _, ok := benchmarks[a]; ok {
				fixed := append(append([]string{a}, args[:i]...), args[i+1:]...)
				return badInput("flags go after the benchmark's name: qnlab bench %s", strings.Join(fixed, " "))
			}
		}
		return badInput("flag %s before the benchmark's name: flags go after it (qnlab bench NAME [flags], NAME one of: %s)",
			name, strings.Join(benchNames(), ", "))
	}
	b, ok := benchmarks[name]
	if !ok {
		return badInput("unknown benchmark %q; want one of: %s", name, strings.Join(benchNames(), ", "))
	}
	return b.run(rest, stdout, stderr)
}

func benchNames() []string {
	names := make([]string, 0, len(benchmarks))
	for n := range benchmarks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func benchUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: qnlab bench NAME [flags]   (qnlab bench NAME -h for its flags)")
	for _, n := range benchNames() {
		fmt.Fprintf(w, "  %-6s %s\n", n, benchmarks[n].summary)
	}
}

func runBenchMGH(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench mgh", stderr)
	method := fs.String("method", "lbfgs", "the pair compared: lbfgs, bfgs, cg-fr, cg-pr or cg-hs (qnlab's against gonum's)")
	m := fs.Int("m", 10, "L-BFGS history size (both implementations)")
	tol := fs.Float64("tol", 1e-6, "stop at ‖∇f‖∞ ≤ tol (both)")
	repeats := fs.Int("repeats", 3, "timed runs per problem (median reported)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qnlab bench mgh [-method lbfgs|bfgs|cg-fr|cg-pr|cg-hs] [-m N] [-tol x] [-repeats N]")
		fmt.Fprintln(stderr, "Runs qnlab's and gonum's implementation of the method on every problem to the same ‖∇f‖∞ test and prints a table.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case !slices.Contains([]string{"lbfgs", "bfgs", "cg-fr", "cg-pr", "cg-hs"}, *method):
		return badInput("-method %q: want lbfgs, bfgs, cg-fr, cg-pr or cg-hs", *method)
	case *m < 1:
		return badInput("-m %d: must be ≥ 1", *m)
	case !(*tol > 0) || math.IsInf(*tol, 0):
		return badInput("-tol %s: must be finite and > 0", flagNum(*tol))
	case *repeats < 1:
		return badInput("-repeats %d: must be ≥ 1", *repeats)
	}
	if err := checkMemory(fmt.Sprintf("-m %d with -repeats %d", *m, *repeats), mghMemory(*m, *repeats)); err != nil {
		return err
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "qnlab %s (strong Wolfe) vs gonum's (More–Thuente), m = %d, to ‖∇f‖∞ ≤ %g; %s\n", *method, *m, *tol, backend.Describe(b))
	rows, err := compare.MGH(compare.MGHSettings{Method: *method, M: *m, GradTol: *tol, Repeats: *repeats})
	if err != nil {
		return err
	}
	return compare.WriteMGHTable(stdout, rows)
}

// mghMemory estimates bench mgh's peak memory in bytes. qnlab's side (histories and the
// kernel's compiled graphs) grows with m only up to the runs' iteration counts (at most ~800
// here, even at -tol 1e-300), so it is capped; gonum's LBFGS allocates its m slots up front,
// 2 vectors of the largest dimension (100) each; the timer keeps one duration per repeat.
// Fitted to peak RSS (/usr/bin/time, -repeats 1, 2026-12-02), then ×1.5:
//
//	m 10: 35 MB, 100: 726 MB, 300: 1215 MB, 1000: 1319 MB (2431 MB at -tol 1e-300)
//	m 1e5: 1544 MB, 1e6: 3389 MB                           → gonum 2.1–2.2 KB per slot
func mghMemory(m, repeats int) float64 {
	k := float64(m)
	return 50e6 + 1.5*(min(7.5e6*k, 2.4e9)+2.2e3*k) + 8*float64(repeats)
}
