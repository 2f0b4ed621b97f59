package runs

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gomlx/compute"
	"gonum.org/v1/gonum/stat"

	"qnlab/pkg/models"
	"qnlab/pkg/precond"
)

// StepSplit is where a training step's time goes, for one contender of PrecondCost.
type StepSplit struct {
	Label string
	// Plain is the median time of a step that neither accumulates statistics nor refreshes;
	// Stats the median of the statistics steps (K-FAC's), 0 if there are none; Refresh the
	// median extra time of a step followed by a refresh of the inverses or roots (over Plain or
	// Stats), 0 if there are none.
	Plain, Stats, Refresh float64
	// StatsEvery and RefreshEvery are the intervals the amortised cost assumes (0: never).
	StatsEvery, RefreshEvery int
	// Amortised is the mean time of a step over the run's schedule:
	// Plain + (Stats − Plain)/StatsEvery + Refresh/RefreshEvery.
	Amortised float64
}

// PrecondCost times steps training steps of each spec (after a first, compiling one), with an
// evaluation of 10 images after each (excluded from the clock) to read every step's time,
// alternating the specs round by round so that all see the same machine load. K-FAC's and
// Shampoo's steps are split by kind — statistics steps (SpecAt), steps followed by a refresh
// (Due), plain ones — measured with statistics every 5 and refreshes every 10 steps, to see
// several of each in a short run; the amortised cost is over the specs' own intervals.
func PrecondCost(b compute.Backend, data *models.MNIST, specs []Spec, steps, rounds int) ([]StepSplit, error) {
	if steps < 20 || rounds < 1 {
		return nil, errors.New("runs: PrecondCost needs steps ≥ 20 (to see refreshes every 10 steps) and rounds ≥ 1")
	}
	every := specs
	specs = slices.Clone(specs)
	for i := range specs {
		switch specs[i].Optimizer {
		case "kfac":
			specs[i].StatsEvery, specs[i].InvEvery = 5, 10
		case "shampoo":
			specs[i].InvEvery = 10
		}
	}
	type kinds struct{ plain, stats, refresh []float64 }
	times := make([]kinds, len(specs))
	opts := make([]precond.Optimizer, len(specs))
	for i, s := range specs {
		entry, err := LookupOptimizer(s.WithDefaults().Optimizer)
		if err != nil {
			return nil, err
		}
		o, err := entry.New(s.WithDefaults())
		if err != nil {
			return nil, err
		}
		opts[i], _ = o.(precond.Optimizer)
	}
	for range rounds {
		for i, spec := range specs {
			s := spec
			s.MaxSteps, s.EvalEvery, s.EvalN, s.Epochs = steps+1, 1, 10, max(s.Epochs, 1)
			res, err := Train(b, data, s, Options{})
			if err != nil {
				return nil, fmt.Errorf("runs: PrecondCost %s: %w", s.Optimizer, err)
			}
			for j := 2; j < len(res.Rows); j++ {
				dt := res.Rows[j].Seconds - res.Rows[j-1].Seconds
				step := res.Rows[j].Step // 1-based: step index step−1 ran, then the refresh if Due(step)
				switch pc := opts[i]; {
				case pc != nil && pc.Due(step):
					times[i].refresh = append(times[i].refresh, dt)
				case pc != nil && pc.SpecAt(step-1) != nil:
					times[i].stats = append(times[i].stats, dt)
				default:
					times[i].plain = append(times[i].plain, dt)
				}
			}
		}
	}
	median := func(x []float64) float64 {
		if len(x) == 0 {
			return 0
		}
		slices.Sort(x)
		return stat.Quantile(0.5, stat.Empirical, x, nil)
	}
	out := make([]StepSplit, len(specs))
	for i, s := range specs {
		sp := StepSplit{Label: s.WithDefaults().Optimizer, Plain: median(times[i].plain), Stats: median(times[i].stats)}
		if r := median(times[i].refresh); r > 0 {
			sp.Refresh = r - sp.Plain
		}
		run := every[i].WithDefaults()
		sp.Amortised = sp.Plain
		switch run.Optimizer {
		case "kfac":
			sp.StatsEvery, sp.RefreshEvery = run.StatsEvery, run.InvEvery
			sp.Amortised += (sp.Stats-sp.Plain)/float64(sp.StatsEvery) + sp.Refresh/float64(sp.RefreshEvery)
		case "shampoo":
			sp.RefreshEvery = run.InvEvery
			sp.Amortised += sp.Refresh / float64(sp.RefreshEvery)
		}
		out[i] = sp
	}
	return out, nil
}
