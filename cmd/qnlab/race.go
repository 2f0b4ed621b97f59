package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"qnlab/pkg/backend"
	"qnlab/pkg/models"
	"qnlab/pkg/runs"
)

func init() {
	register("race", "time to a target test accuracy: optimizers × seeds, interleaved, one JSON line per optimizer", runRace)
}

func runRace(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("race", stderr)
	var race runs.Race
	fs.Float64Var(&race.Target, "target", 0.98, "test accuracy to reach (all 10,000 test images)")
	optsFlag := fs.String("opts", "adam,mblbfgs", "contenders, comma-separated: name[:key=value…] with qnlab mnist's flag names, e.g. adam:lr=0.002:batch=64,lbfgs:inner=10:lr=0.05;\n"+
		"values a|b|c make a tuning grid: its configurations race first on a validation split (the last 10,000 training images) and the fastest races")
	tuneSeconds := fs.Float64("tune-seconds", 0, "training seconds per configuration of a tuning grid (0: -max-seconds)")
	tuneSeeds := fs.Int("tune-seeds", 1, "seeds per configuration of a tuning grid")
	fs.IntVar(&race.EvalN, "eval-n", 0, "evaluate on the first N test images (0: all 10,000)")
	fs.BoolVar(&race.Validation, "validation", false, "race on the validation split (train on the first 50,000 training images, evaluate on the last 10,000)")
	fs.IntVar(&race.Seeds, "seeds", 3, "seeds 1…N per contender")
	fs.Float64Var(&race.MaxSeconds, "max-seconds", 600, "training seconds after which a run that has not reached the target stops")
	fs.StringVar(&race.DType, "dtype", "float32", "dtype of contenders that set none: float32 or float64")
	fs.StringVar(&race.Model, "model", "cnn", "model of contenders that set none: "+strings.Join(models.Names(), " or "))
	fs.StringVar(&race.Dir, "out", "", "the race's directory: race.json, a run directory and a result per contender and seed (refused if it holds a race, unless -resume)")
	fs.BoolVar(&race.Resume, "resume", false, "continue the race in -out: finished runs are read, the others resume from their checkpoints")
	fs.IntVar(&race.CheckpointEvery, "checkpoint-every", 200, "checkpoint each run every N steps (with -out)")
	fs.BoolVar(&race.Progress, "progress", false, "show a progress bar per run")
	dataDir := fs.String("mnist", "", "directory with the four MNIST IDX files (default: $"+models.EnvMNIST+" or the GoMNIST module)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qnlab race [flags]   (one JSON line per contender, last on stdout:")
		fmt.Fprintln(stderr, `  {"opt", "target", "seeds", "reached", "median_seconds", "median_steps", "median_epochs"}; a median is null if most seeds missed)`)
		fmt.Fprintln(stderr, "Ctrl-C: the current run checkpoints (with -out) and qnlab exits with 130; continue with -resume.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if race.Resume && race.Dir == "" {
		return badInput("-resume needs -out, the race's directory")
	}
	var families []runs.Family
	for _, label := range strings.Split(*optsFlag, ",") {
		f, err := runs.ParseFamily(strings.TrimSpace(label))
		if err != nil {
			return settingError(err)
		}
		families = append(families, f)
		race.Contenders = append(race.Contenders, f.Grid...)
	}
	if *tuneSeeds < 1 || *tuneSeconds < 0 {
		return badInput("-tune-seeds %d, -tune-seconds %g: want ≥ 1 and ≥ 0", *tuneSeeds, *tuneSeconds)
	}
	if race.Model != "" {
		if _, err := models.ByName(race.Model); err != nil {
			return badInput("-model %q: want %s", race.Model, strings.Join(models.Names(), " or "))
		}
	}
	data, err := loadMNIST(*dataDir)
	if err != nil {
		return err
	}
	if race.DType != runs.DTypeFloat32 && race.DType != runs.DTypeFloat64 {
		return badInput("-dtype %q: want float32 or float64", race.DType)
	}
	for _, c := range race.Contenders {
		spec := c.Spec
		spec.Model = race.Model
		spec.Epochs = 100
		if err := checkMemory("contender "+c.Label, mnistMemory(spec.WithDefaults())); err != nil {
			return err
		}
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	stop, signalled, release := stopOnSignal(stderr)
	defer release()
	race.Stop, race.Log = stop, stderr
	fmt.Fprintln(stderr, "qnlab race:", backend.Describe(b))
	interrupted := func(err error) error {
		where := "nothing saved (no -out)"
		if race.Dir != "" {
			where = fmt.Sprintf("continue with: qnlab race -out %s -resume (and the same flags)", race.Dir)
		}
		return exitError{128 + int(signalled()), fmt.Errorf("%v: %s", signalled(), where)}
	}
	race.Contenders = nil
	tuning := race
	tuning.Seeds = *tuneSeeds
	if *tuneSeconds > 0 {
		tuning.MaxSeconds = *tuneSeconds
	}
	tuned, err := runs.Tune(b, data, families, tuning)
	if err != nil {
		if errors.Is(err, runs.ErrInterrupted) {
			return interrupted(err)
		}
		return settingError(err)
	}
	for _, t := range tuned {
		race.Contenders = append(race.Contenders, t.Best)
		for _, r := range t.Results {
			fmt.Fprintf(stderr, "tune %s: %s reached %d of %d, median %s s\n", t.Family, r.Opt, r.Reached, r.Seeds, orNull(r.MedianSeconds))
		}
		if len(t.Results) > 0 {
			fmt.Fprintf(stderr, "tune %s: best %s\n", t.Family, t.Best.Label)
		}
	}
	results, err := runs.RunRace(b, data, race)
	if err != nil {
		var se *runs.SettingError
		switch {
		case errors.As(err, &se):
			return settingError(err)
		case errors.Is(err, runs.ErrInterrupted):
			return interrupted(err)
		}
		return err
	}
	for _, r := range results {
		for _, run := range r.Runs {
			fmt.Fprintf(stderr, "race: %s seed %d: reached %v at step %d (epoch %.2f), %.1f s (previous evaluation %.1f s), accuracy %.4f\n",
				run.Label, run.Seed, run.Reached, run.Step, run.Epoch, run.Seconds, run.Bracket, run.Accuracy)
		}
	}
	for _, r := range results {
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
			return err
		}
	}
	return nil
}

// orNull formats a median, or "null".
func orNull(x *float64) string {
	if x == nil {
		return "null"
	}
	return fmt.Sprintf("%.1f", *x)
}
