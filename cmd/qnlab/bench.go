package main

import (
	"fmt"
	"io"

	"qnlab/pkg/backend"
	"qnlab/pkg/compare"
)

func init() {
	register("bench", "benchmarks: mgh (qnlab L-BFGS vs gonum's on the Moré–Garbow–Hillstrom set)", runBench)
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	m := fs.Int("m", 10, "L-BFGS history size (both implementations)")
	tol := fs.Float64("tol", 1e-6, "stop at ‖∇f‖∞ ≤ tol (both)")
	repeats := fs.Int("repeats", 3, "timed runs per problem (median reported)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qnlab bench [flags] mgh")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		return badInput("which benchmark? (mgh)")
	}
	which, rest := args[len(args)-1], args[:len(args)-1]
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if *m < 1 || !(*tol > 0) || *repeats < 1 {
		return badInput("-m, -tol and -repeats must be positive")
	}
	switch which {
	case "mgh":
		b, err := backend.Default()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "qnlab L-BFGS (strong Wolfe) vs gonum optimize.LBFGS (More–Thuente), m = %d, to ‖∇f‖∞ ≤ %g; %s\n", *m, *tol, backend.Describe(b))
		rows, err := compare.MGH(compare.MGHSettings{M: *m, GradTol: *tol, Repeats: *repeats})
		if err != nil {
			return err
		}
		return compare.WriteMGHTable(stdout, rows)
	default:
		return badInput("unknown benchmark %q (want mgh)", which)
	}
}
