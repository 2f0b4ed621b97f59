package runs

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qnlab/pkg/backend"
)

func TestParseContender(t *testing.T) {
	c, err := ParseContender("mblbfgs:lr=0.3:batch=64:damping=true:overlap=0.5:gamma=paper")
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Spec; s.Optimizer != "mblbfgs" || s.LR != 0.3 || s.Batch != 64 || !s.Damping || s.Overlap != 0.5 || s.Gamma.String() != "paper" {
		t.Errorf("parsed %+v", s)
	}
	for _, bad := range []string{"nope", "adam:lr", "adam:speed=3", "adam:batch=1.5", "adam:seed=3", "adam:lr=fast"} {
		_, err := ParseContender(bad)
		var se *SettingError
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v, want a SettingError", bad, err)
		} else {
			t.Log(err)
		}
	}
}

// TestRaceResumesExactly: a race stopped in the middle of its second run and resumed gives, for
// every run, the rows (steps, losses, accuracies) of the uninterrupted race bit for bit, and the
// same crossings.
func TestRaceResumesExactly(t *testing.T) {
	data := loadRealMNIST(t)
	be := backend.MustDefault()
	var contenders []Contender
	for _, label := range []string{"adam:batch=64:lr=0.002", "mblbfgs:batch=64:lr=0.2"} {
		c, err := ParseContender(label)
		if err != nil {
			t.Fatal(err)
		}
		contenders = append(contenders, c)
	}
	race := Race{Contenders: contenders, Target: 0.9, Seeds: 1, MaxSeconds: 120, Model: "mlp", CheckpointEvery: 20}
	full, err := RunRace(be, data, race)
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	race.Dir, race.Stop = filepath.Join(t.TempDir(), "race"), stop
	second := filepath.Join(race.Dir, dirName(contenders[1].Label), "seed-1", MetricsFile)
	// Stop once the second run has written its first evaluation after step 0 (polled).
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if rows, err := ReadRows(second, math.MaxInt); err == nil && len(rows) >= 2 {
				close(stop)
				return
			}
		}
	}()
	if _, err := RunRace(be, data, race); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted race: %v, want ErrInterrupted", err)
	}
	if rows, err := ReadRows(second, math.MaxInt); err != nil || rows[len(rows)-1].Step == 0 || rows[len(rows)-1].Step >= full[1].Runs[0].Step {
		t.Fatalf("the second run was not stopped in its middle: %v, %d rows", err, len(rows))
	} else {
		t.Logf("stopped at step %d of %d", rows[len(rows)-1].Step, full[1].Runs[0].Step)
	}
	if _, err := RunRace(be, data, race); err == nil || !strings.Contains(err.Error(), "holds a race") {
		t.Errorf("a second race into the same directory: %v", err)
	}
	race.Stop, race.Resume, race.Log = nil, true, nil
	resumed, err := RunRace(be, data, race)
	if err != nil {
		t.Fatal(err)
	}
	// Read back from the files too: the first run's result came from its seed-1.json.
	if len(full) != 2 || len(resumed) != 2 {
		t.Fatalf("results: %d and %d, want 2", len(full), len(resumed))
	}
	for i := range full {
		a, b := full[i].Runs[0], resumed[i].Runs[0]
		t.Logf("%s: reached %v at step %d (epoch %.2f, %.1f s, bracket %.1f s); resumed: step %d",
			a.Label, a.Reached, a.Step, a.Epoch, a.Seconds, a.Bracket, b.Step)
		if a.Reached != b.Reached || a.Step != b.Step || math.Float64bits(a.Accuracy) != math.Float64bits(b.Accuracy) {
			t.Errorf("%s: uninterrupted %+v, resumed %+v", a.Label, a, b)
		}
		if b.Rows == nil {
			continue // read from its result file
		}
		rows, err := ReadRows(filepath.Join(race.Dir, dirName(a.Label), "seed-1", MetricsFile), math.MaxInt)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(a.Rows) {
			t.Fatalf("%s: %d rows resumed, %d uninterrupted", a.Label, len(rows), len(a.Rows))
		}
		for j := range rows {
			ra, rb := a.Rows[j], rows[j]
			if ra.Step != rb.Step || math.Float64bits(ra.TestAccur) != math.Float64bits(rb.TestAccur) || math.Abs(ra.TestLoss-rb.TestLoss) > 0 {
				t.Errorf("%s row %d: uninterrupted %+v, resumed %+v", a.Label, j, ra, rb)
			}
		}
	}
	if !full[0].Runs[0].Reached || full[0].MedianSeconds == nil {
		t.Errorf("adam did not reach 90%% on the MLP: %+v", full[0])
	}
}
