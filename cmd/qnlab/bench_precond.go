package main

import (
	"fmt"
	"io"
	"strings"

	"qnlab/pkg/backend"
	"qnlab/pkg/runs"
)

func init() {
	benchmarks["precond"] = command{"K-FAC's and Shampoo's time per step against Adam's, split into statistics, refreshes and the step", runBenchPrecond}
}

// runBenchPrecond runs `qnlab bench precond`: runs.PrecondCost on the CNN.
func runBenchPrecond(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench precond", stderr)
	opts := fs.String("opts", "adam,kfac,shampoo", "contenders, comma-separated, as qnlab race's -opts (name[:key=value…]); the first is the reference")
	steps := fs.Int("steps", 40, "timed steps per contender and round")
	rounds := fs.Int("rounds", 2, "rounds (the contenders alternate within each)")
	dataDir := fs.String("mnist", "", "directory with the four MNIST IDX files (default: $QNLAB_MNIST or the GoMNIST module)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qnlab bench precond [-opts a,b,…] [-steps N] [-rounds N] [-mnist DIR]")
		fmt.Fprintln(stderr, "Times training steps of each contender, alternating; K-FAC and Shampoo are measured with statistics every 5")
		fmt.Fprintln(stderr, "and refreshes every 10 steps (to see several of each) and their cost amortised over their own intervals.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *steps < 20:
		return badInput("-steps %d: must be ≥ 20 (to see refreshes every 10 steps)", *steps)
	case *rounds < 1:
		return badInput("-rounds %d: must be ≥ 1", *rounds)
	}
	var specs []runs.Spec
	for _, label := range strings.Split(*opts, ",") {
		c, err := runs.ParseContender(strings.TrimSpace(label))
		if err != nil {
			return settingError(err)
		}
		if err := c.Spec.Check(nil); err != nil {
			return settingError(err)
		}
		specs = append(specs, c.Spec)
	}
	data, err := loadMNIST(*dataDir)
	if err != nil {
		return err
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	split, err := runs.PrecondCost(b, data, specs, *steps, *rounds)
	if err != nil {
		return err
	}
	ref := split[0].Amortised
	fmt.Fprintf(stdout, "%-10s %9s %9s %9s %11s %12s %8s\n", "opt", "plain ms", "stats ms", "refresh s", "intervals", "amortised ms", "×"+split[0].Label)
	for _, s := range split {
		intervals := "-"
		switch {
		case s.StatsEvery > 0:
			intervals = fmt.Sprintf("%d/%d", s.StatsEvery, s.RefreshEvery)
		case s.RefreshEvery > 0:
			intervals = fmt.Sprintf("-/%d", s.RefreshEvery)
		}
		fmt.Fprintf(stdout, "%-10s %9.1f %9.1f %9.3f %11s %12.1f %8.2f\n", s.Label, 1000*s.Plain, 1000*s.Stats, s.Refresh, intervals, 1000*s.Amortised, s.Amortised/ref)
	}
	return nil
}
