package runs

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"time"

	"qnlab/pkg/lbfgs"
)

// savedOutcome is an Outcome as SaveOutcomes writes it (no store, no log writer, the error as text).
type savedOutcome struct {
	Name, Backend, Err                  string
	Spec                                Spec
	Rows                                []Row
	Steps, SkippedPairs, NonFiniteSteps int
	Wall                                time.Duration
	Started                             bool
}

// SaveOutcomes writes outs (names, specifications, rows, errors as text, counters; not the
// trained variables) to path, for LoadOutcomes: a notebook runs experiments in one cell and
// plots them in the next ones, which are separate programs. The file is written atomically.
func SaveOutcomes(path string, outs []Outcome) error {
	saved := make([]savedOutcome, len(outs))
	for i, o := range outs {
		s := savedOutcome{Name: o.Name, Spec: o.Spec, Steps: o.Steps, SkippedPairs: o.SkippedPairs,
			NonFiniteSteps: o.NonFiniteSteps, Wall: o.Wall, Started: o.Result != nil}
		if o.Err != nil {
			s.Err = o.Err.Error()
		}
		if o.Result != nil {
			s.Spec, s.Rows, s.Backend = o.Result.Spec, o.Result.Rows, o.Result.Backend
		}
		saved[i] = s
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(saved); err != nil {
		return fmt.Errorf("runs: saving outcomes to %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes(), 0o644)
}

// LoadOutcomes reads what SaveOutcomes wrote. The outcomes have no Store.
func LoadOutcomes(path string) ([]Outcome, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("runs: %w (run the experiments first)", err)
	}
	defer f.Close()
	var saved []savedOutcome
	if err := gob.NewDecoder(f).Decode(&saved); err != nil {
		return nil, fmt.Errorf("runs: reading outcomes from %s: %w", path, err)
	}
	outs := make([]Outcome, len(saved))
	for i, s := range saved {
		o := Outcome{Experiment: Experiment{Name: s.Name, Spec: s.Spec}, Steps: s.Steps, SkippedPairs: s.SkippedPairs,
			NonFiniteSteps: s.NonFiniteSteps, Wall: s.Wall}
		if s.Err != "" {
			o.Err = errors.New(s.Err)
		}
		if s.Started {
			o.Result = &Result{Spec: s.Spec, Rows: s.Rows, Backend: s.Backend,
				Counters: lbfgs.Counters{Rejected: s.SkippedPairs, NonFinite: s.NonFiniteSteps}}
			if s.Err == "" {
				o.Result.Steps = s.Steps
			}
		}
		outs[i] = o
	}
	return outs, nil
}
