package runs

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"qnlab/pkg/models"
)

// Contender is one entry of a race: an optimizer with its settings, written as
// "name[:key=value…]" with the Spec's JSON keys (qnlab mnist's flag names), e.g.
// "adam:lr=0.002:batch=64" or "lbfgs:inner=10:lr=0.05".
type Contender struct {
	Label string
	Spec  Spec
}

// ParseContender reads a contender; an unknown optimizer or key, or a bad value, is a
// *SettingError naming it.
func ParseContender(label string) (Contender, error) {
	parts := strings.Split(label, ":")
	if _, err := LookupOptimizer(parts[0]); err != nil {
		return Contender{}, &SettingError{Key: "opts", Value: label, Problem: fmt.Sprintf("unknown optimizer %q: want %s", parts[0], OptimizerNames())}
	}
	fields := map[string]any{"opt": parts[0]}
	for _, kv := range parts[1:] {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return Contender{}, &SettingError{Key: "opts", Value: label, Problem: fmt.Sprintf("%q is not key=value", kv)}
		}
		switch key {
		case "opt", "seed", "eval-every", "eval-n", "max-steps", "fixed":
			return Contender{}, &SettingError{Key: "opts", Value: label, Problem: fmt.Sprintf("%s is set by the race, not per contender", key)}
		}
		if f, err := strconv.ParseFloat(value, 64); err == nil {
			fields[key] = f
		} else if b, err := strconv.ParseBool(value); err == nil {
			fields[key] = b
		} else {
			fields[key] = value
		}
	}
	data, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var spec Spec
	if err := dec.Decode(&spec); err != nil {
		problem := strings.Replace(strings.TrimPrefix(err.Error(), "json: "), "unknown field", "unknown key", 1)
		return Contender{}, &SettingError{Key: "opts", Value: label, Problem: problem}
	}
	return Contender{Label: label, Spec: spec}, nil
}

// Race trains each contender with each seed until its test accuracy (all 10,000 test images)
// reaches Target, or MaxSeconds of training pass, and reports the time, steps and epochs to the
// target. Seeds run one after the other; within seed s the contenders run in the order
// rotated by s − 1 (A B C, B C A, C A B …), so each contender's runs spread over the race
// and see the same machine load on average. The clock is a run's training time: evaluations
// and checkpoints excluded, the first step's graph compilation included.
//
// Evaluations come at steps growing geometrically from step 50: by 25% while the accuracy
// is more than 2 points below the target, by 5% (at least 10 steps) after, so a crossing is
// timed to within about 5% unless the accuracy jumps the last 2 points between two sparse
// evaluations: each run reports its bracket (the previous evaluation's time) and each result
// the widest bracket of its runs.
type Race struct {
	Contenders []Contender
	Target     float64
	Seeds      int
	// MaxSeconds is the training time after which a run that has not reached the target stops.
	MaxSeconds float64
	// Model is the model of contenders that do not set one ("cnn" if empty).
	Model string
	// DType is the dtype of contenders that do not set one ("float32" if empty).
	DType string
	// EvalN evaluates on the first EvalN test images (0: all 10,000), for a short race.
	EvalN int
	// Validation races on a validation split instead of the test set: training on the first
	// 50,000 training images, evaluating on the last 10,000 (for tuning, see Tune).
	Validation bool
	// Dir, if set, holds the race: race.json (its settings), and per contender and seed a run
	// directory <label>/seed-<s>/ and its result <label>/seed-<s>.json. A directory with a
	// race is refused unless Resume is set; Resume continues the unfinished runs exactly (and
	// starts the race if the directory has none yet).
	Dir    string
	Resume bool
	// CheckpointEvery is the runs' checkpoint interval in steps (with Dir; 0: 200).
	CheckpointEvery int
	Stop            <-chan struct{}
	Progress        bool
	// Report, if not nil, receives each run's state as Options.Report does, with its
	// contender's label and seed.
	Report func(label string, seed uint64, p Progress)
	Log    io.Writer
}

// RaceRun is one contender's run with one seed.
type RaceRun struct {
	Label   string  `json:"opt"`
	Seed    uint64  `json:"seed"`
	Reached bool    `json:"reached"`
	Step    int     `json:"step"`
	Epoch   float64 `json:"epoch"`
	Seconds float64 `json:"seconds"`
	// Bracket is the training time of the evaluation before the crossing (the crossing lies
	// in (Bracket, Seconds]); for a run that did not reach the target, Seconds is its end.
	Bracket  float64 `json:"bracket"`
	Accuracy float64 `json:"accuracy"`
	Rows     []Row   `json:"-"`
}

// RaceResult is one contender over all seeds: the JSON line qnlab race prints. The medians
// count a seed that missed the target as infinitely slow; a median that is infinite is null.
type RaceResult struct {
	Opt           string   `json:"opt"`
	Target        float64  `json:"target"`
	Seeds         int      `json:"seeds"`
	Reached       int      `json:"reached"`
	MedianSeconds *float64 `json:"median_seconds"`
	MedianSteps   *float64 `json:"median_steps"`
	MedianEpochs  *float64 `json:"median_epochs"`
	// Bracket is the widest relative bracket of the runs that reached the target,
	// (Seconds − Bracket)/Seconds: how exactly their crossings are timed.
	Bracket float64   `json:"bracket"`
	Runs    []RaceRun `json:"-"`
}

// raceRecord is race.json.
type raceRecord struct {
	Contenders []string `json:"contenders"`
	Target     float64  `json:"target"`
	Seeds      int      `json:"seeds"`
	MaxSeconds float64  `json:"max_seconds"`
	Model      string   `json:"model"`
	DType      string   `json:"dtype,omitempty"`
	EvalN      int      `json:"eval_n"`
	Validation bool     `json:"validation"`
}

// RaceFile is the race's settings file in Race.Dir.
const RaceFile = "race.json"

func (r Race) record() raceRecord {
	rec := raceRecord{Target: r.Target, Seeds: r.Seeds, MaxSeconds: r.MaxSeconds, Model: cmp.Or(r.Model, "cnn"), EvalN: r.EvalN, Validation: r.Validation}
	if r.DType != "" && r.DType != DTypeFloat32 {
		rec.DType = r.DType // float32 races keep the race.json they always had
	}
	for _, c := range r.Contenders {
		rec.Contenders = append(rec.Contenders, c.Label)
	}
	return rec
}

func (r Race) check(data *models.MNIST) error {
	bad := func(key string, v any, problem string) error {
		return &SettingError{Key: key, Value: v, Problem: problem}
	}
	switch {
	case len(r.Contenders) == 0:
		return bad("opts", "", "no contenders")
	case !(r.Target > 0 && r.Target <= 1):
		return bad("target", r.Target, "must be a test accuracy in (0, 1]")
	case r.Seeds < 1:
		return bad("seeds", r.Seeds, "must be ≥ 1")
	case !(r.MaxSeconds > 0) || math.IsInf(r.MaxSeconds, 0):
		return bad("max-seconds", r.MaxSeconds, "must be finite and > 0")
	case r.EvalN < 0:
		return bad("eval-n", r.EvalN, "must be ≥ 0")
	case r.CheckpointEvery < 0:
		return bad("checkpoint-every", r.CheckpointEvery, "must be ≥ 0")
	}
	seen := map[string]bool{}
	for _, c := range r.Contenders {
		if seen[c.Label] {
			return bad("opts", c.Label, "given twice")
		}
		seen[c.Label] = true
		if err := r.spec(c, 1).Check(data); err != nil {
			var se *SettingError
			if errors.As(err, &se) {
				return bad("opts", c.Label, fmt.Sprintf("%s %v: %s", se.Key, se.Value, se.Problem))
			}
			return err
		}
	}
	return nil
}

// spec is contender c's Spec for seed s: the whole test set, evaluations by the race's
// schedule, epochs enough for MaxSeconds (100 unless the contender sets them).
func (r Race) spec(c Contender, seed uint64) Spec {
	s := c.Spec
	s.Model = cmp.Or(s.Model, r.Model, "cnn")
	s.DType = cmp.Or(s.DType, r.DType, DTypeFloat32)
	s.Seed, s.EvalN, s.EvalEvery, s.MaxSteps = seed, r.EvalN, 0, 0
	s.Epochs = cmp.Or(s.Epochs, 100)
	return s
}

// raceEvalAt is the race's evaluation schedule (see Race).
func raceEvalAt(target float64) func(step int, rows []Row) bool {
	return func(step int, rows []Row) bool {
		last := rows[len(rows)-1]
		if last.Step == 0 {
			return step >= 50
		}
		q := 0.25
		if last.TestAccur >= target-0.02 {
			q = 0.05
		}
		return step >= max(last.Step+10, int(math.Ceil(float64(last.Step)*(1+q))))
	}
}

// ValidationN is the size of the validation split: the last ValidationN training images.
const ValidationN = 10000

// ValidationSplit returns data with the last ValidationN training images as its test set and
// the others as its training set.
func ValidationSplit(data *models.MNIST) *models.MNIST {
	n := data.Train.N - ValidationN
	return &models.MNIST{Train: data.Train.Head(n), Test: data.Train.Slice(n, data.Train.N)}
}

// dirName is a contender's directory name: its label with ':' as '_'.
func dirName(label string) string { return strings.ReplaceAll(label, ":", "_") }

// RunRace runs the race on backend b. It returns the results so far with ErrInterrupted if
// Stop closed (the current run checkpointed: continue with Resume).
func RunRace(b compute.Backend, data *models.MNIST, r Race) ([]RaceResult, error) {
	if r.Validation {
		if data.Train.N <= ValidationN {
			return nil, &SettingError{Key: "validation", Value: true, Problem: fmt.Sprintf("the training set has %d images, not more than %d", data.Train.N, ValidationN)}
		}
		data = ValidationSplit(data)
	}
	if err := r.check(data); err != nil {
		return nil, err
	}
	if r.Dir != "" {
		if err := r.openDir(); err != nil {
			return nil, err
		}
	}
	runs := map[string][]RaceRun{}
	n := len(r.Contenders)
	for s := 1; s <= r.Seeds; s++ {
		for i := range n {
			c := r.Contenders[(i+s-1)%n]
			run, err := r.runOne(b, data, c, uint64(s))
			if err != nil {
				return r.results(runs), err
			}
			runs[c.Label] = append(runs[c.Label], run)
		}
	}
	return r.results(runs), nil
}

// openDir creates the race directory and race.json, or checks race.json on Resume.
func (r Race) openDir() error {
	path := filepath.Join(r.Dir, RaceFile)
	rec := r.record()
	data, err := os.ReadFile(path)
	switch {
	case err == nil && !r.Resume:
		return &SettingError{Key: "out", Value: r.Dir, Problem: "holds a race: continue it with -resume, or choose another directory"}
	case err == nil:
		var old raceRecord
		if err := json.Unmarshal(data, &old); err != nil {
			return &SettingError{Key: "out", Value: r.Dir, Problem: fmt.Sprintf("cannot resume: %s: %v", path, err)}
		}
		if !slices.Equal(old.Contenders, rec.Contenders) || old.Target != rec.Target || old.Seeds != rec.Seeds ||
			old.MaxSeconds != rec.MaxSeconds || old.Model != rec.Model || old.DType != rec.DType || old.EvalN != rec.EvalN || old.Validation != rec.Validation {
			return &SettingError{Key: "out", Value: r.Dir, Problem: fmt.Sprintf(
				"the race there has other settings (%+v); -resume keeps a race's settings", old)}
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return &SettingError{Key: "out", Value: r.Dir, Problem: err.Error()}
	}
	// A new race (with Resume too: a race stopped in its tuning has no race.json yet).
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return &SettingError{Key: "out", Value: r.Dir, Problem: err.Error()}
	}
	out, _ := json.MarshalIndent(rec, "", "  ")
	if err := WriteFileAtomic(path, append(out, '\n'), 0o644); err != nil {
		return &SettingError{Key: "out", Value: r.Dir, Problem: err.Error()}
	}
	return nil
}

// runOne runs (or, in a resumed race, finishes or reads) contender c with seed s.
func (r Race) runOne(b compute.Backend, data *models.MNIST, c Contender, s uint64) (RaceRun, error) {
	spec := r.spec(c, s)
	opts := Options{EvalAt: raceEvalAt(r.Target), Until: func(row Row) bool { return row.TestAccur >= r.Target },
		Stop: r.Stop, Progress: r.Progress, Log: r.Log, TimeLimit: time.Duration(r.MaxSeconds * float64(time.Second))}
	if r.Report != nil {
		opts.Report = func(p Progress) { r.Report(c.Label, s, p) }
	}
	var resultPath string
	if r.Dir != "" {
		base := filepath.Join(r.Dir, dirName(c.Label), fmt.Sprintf("seed-%d", s))
		resultPath = base + ".json"
		if done, err := readRaceRun(resultPath); err == nil {
			return done, nil
		}
		opts.Dir, opts.CheckpointEvery = base, cmp.Or(r.CheckpointEvery, 200)
		if _, err := os.Stat(filepath.Join(base, SpecFile)); err == nil {
			opts.Resume = true
			rows, err := ReadRows(filepath.Join(base, MetricsFile), math.MaxInt)
			if err == nil && len(rows) > 0 {
				if run, ok := r.crossing(c.Label, s, rows); ok { // reached before the race was stopped
					return run, writeRaceRun(resultPath, run)
				}
				left := r.MaxSeconds - rows[len(rows)-1].Seconds
				if left <= 0 {
					run, _ := r.crossing(c.Label, s, rows)
					return run, writeRaceRun(resultPath, run)
				}
				opts.TimeLimit = time.Duration(left * float64(time.Second))
			}
		}
	}
	if r.Log != nil {
		fmt.Fprintf(r.Log, "race: %s, seed %d\n", c.Label, s)
	}
	res, err := Train(b, data, spec, opts)
	if err != nil {
		var div *DivergedError
		if !errors.As(err, &div) || res == nil {
			return RaceRun{}, err
		}
		if r.Log != nil {
			fmt.Fprintf(r.Log, "race: %s, seed %d: %v (counted as not reaching the target)\n", c.Label, s, err)
		}
	}
	run, _ := r.crossing(c.Label, s, res.Rows)
	if resultPath != "" {
		return run, writeRaceRun(resultPath, run)
	}
	return run, nil
}

// crossing reads a run's result from its rows: the first row at or above the target, or the
// last row.
func (r Race) crossing(label string, seed uint64, rows []Row) (RaceRun, bool) {
	run := RaceRun{Label: label, Seed: seed, Rows: rows}
	for i, row := range rows {
		if row.Step > 0 && row.TestAccur >= r.Target {
			run.Reached, run.Step, run.Epoch, run.Seconds, run.Accuracy = true, row.Step, row.Epoch, row.Seconds, row.TestAccur
			run.Bracket = rows[i-1].Seconds
			return run, true
		}
	}
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		run.Step, run.Epoch, run.Seconds, run.Accuracy = last.Step, last.Epoch, last.Seconds, last.TestAccur
	}
	return run, false
}

func readRaceRun(path string) (RaceRun, error) {
	var run RaceRun
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &run)
	}
	return run, err
}

func writeRaceRun(path string, run RaceRun) error {
	data, _ := json.Marshal(run)
	return WriteFileAtomic(path, append(data, '\n'), 0o644)
}

// results sums the runs up per contender, in the contenders' order.
func (r Race) results(runs map[string][]RaceRun) []RaceResult {
	var out []RaceResult
	for _, c := range r.Contenders {
		rs := runs[c.Label]
		if len(rs) == 0 {
			continue
		}
		res := RaceResult{Opt: c.Label, Target: r.Target, Seeds: len(rs), Runs: rs}
		var secs, steps, epochs []float64
		for _, run := range rs {
			if run.Reached {
				res.Reached++
				res.Bracket = max(res.Bracket, (run.Seconds-run.Bracket)/run.Seconds)
				secs, steps, epochs = append(secs, run.Seconds), append(steps, float64(run.Step)), append(epochs, run.Epoch)
			} else {
				inf := math.Inf(1)
				secs, steps, epochs = append(secs, inf), append(steps, inf), append(epochs, inf)
			}
		}
		res.MedianSeconds, res.MedianSteps, res.MedianEpochs = finiteMedian(secs), finiteMedian(steps), finiteMedian(epochs)
		out = append(out, res)
	}
	return out
}

// finiteMedian is the median of xs (the mean of the middle two for an even count), or nil if
// it is infinite.
func finiteMedian(xs []float64) *float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if math.IsInf(m, 0) || math.IsNaN(m) {
		return nil
	}
	return &m
}

// Family is a contender with a tuning grid: "name:key=a|b|c:key2=x|y" is the family of the
// configurations in the product of the alternatives (name:key=a:key2=x, …). A label without
// alternatives is a family of one.
type Family struct {
	Label string
	Grid  []Contender
}

// ParseFamily reads a family (see Family); errors as ParseContender's.
func ParseFamily(label string) (Family, error) {
	parts := strings.Split(label, ":")
	labels := []string{parts[0]}
	for _, kv := range parts[1:] {
		key, values, _ := strings.Cut(kv, "=")
		var next []string
		for _, l := range labels {
			for _, v := range strings.Split(values, "|") {
				next = append(next, l+":"+key+"="+v)
			}
		}
		if !strings.Contains(kv, "=") {
			next = nil
			for _, l := range labels {
				next = append(next, l+":"+kv)
			}
		}
		labels = next
	}
	f := Family{Label: label}
	for _, l := range labels {
		c, err := ParseContender(l)
		if err != nil {
			return Family{}, err
		}
		f.Grid = append(f.Grid, c)
	}
	return f, nil
}

// Tuned is a family's tuning: its best configuration and the tuning race's results.
type Tuned struct {
	Family  string
	Best    Contender
	Results []RaceResult
}

// Tune races every configuration of every family of more than one on the validation split
// (Race.Validation; the race's target, seeds and time cap, its Dir's "tune" subdirectory) and
// returns each family's best: the configuration with the lowest median time to the target, or
// if none reaches it, the highest median final accuracy. Each family's budget is its grid's
// size times the cap: give the families grids of one size for a fair comparison.
func Tune(b compute.Backend, data *models.MNIST, families []Family, r Race) ([]Tuned, error) {
	r.Validation = true
	if r.Dir != "" {
		r.Dir = filepath.Join(r.Dir, "tune")
	}
	r.Contenders = nil
	for _, f := range families {
		if len(f.Grid) > 1 {
			r.Contenders = append(r.Contenders, f.Grid...)
		}
	}
	var results []RaceResult
	if len(r.Contenders) > 0 {
		var err error
		if results, err = RunRace(b, data, r); err != nil {
			return nil, err
		}
	}
	byLabel := map[string]RaceResult{}
	for _, res := range results {
		byLabel[res.Opt] = res
	}
	out := make([]Tuned, len(families))
	for i, f := range families {
		out[i] = Tuned{Family: f.Label, Best: f.Grid[0]}
		if len(f.Grid) == 1 {
			continue
		}
		best := math.Inf(1)
		for _, c := range f.Grid {
			res := byLabel[c.Label]
			out[i].Results = append(out[i].Results, res)
			// Score: seconds to the target, or a very large number less the final accuracy.
			score := 1e12
			if res.MedianSeconds != nil {
				score = *res.MedianSeconds
			} else {
				accs := make([]float64, 0, len(res.Runs))
				for _, run := range res.Runs {
					accs = append(accs, run.Accuracy)
				}
				if m := finiteMedian(accs); m != nil {
					score -= *m
				}
			}
			if score < best {
				best, out[i].Best = score, c
			}
		}
	}
	return out, nil
}
