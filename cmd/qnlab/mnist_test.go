package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"qnlab/pkg/runs"
)

func TestMNISTCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI("mnist", "-model", "mlp", "-opt", "lbfgs", "-lr", "0.05", "-inner", "2", "-max-steps", "20",
		"-eval-every", "10", "-eval-n", "500", "-out", out, "-progress=false", "-seed", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res mnistOutput
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	if res.Opt != "lbfgs" || res.Steps != 20 || !(res.TestAccuracy > 0.5) || !(res.Seconds > 0) {
		t.Errorf("result %+v", res)
	}
	data, err := os.ReadFile(filepath.Join(out, "metrics.csv"))
	if err != nil || strings.Count(string(data), "\n") != 4 { // header + steps 0, 10, 20
		t.Errorf("metrics.csv: %q, %v", data, err)
	}
	if !strings.Contains(stderr, "backend") {
		t.Errorf("stderr does not say which backend: %q", stderr)
	}
}

func TestMNISTBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-opt", "bfgs"}, "unknown optimizer"},
		{[]string{"-model", "resnet"}, "unknown model"},
		{[]string{"-gamma", "oldest"}, "γ rule"},
		{[]string{"-dtype", "float16"}, "-dtype float16: want float32 or float64"},
		{[]string{"-linesearch", "wolfe"}, "-linesearch"},
		{[]string{"-inner", "0"}, "-inner"},
		{[]string{"-lr", "-1"}, "learning rate"},
		{[]string{"-mnist", dir}, dir},
		{[]string{"-resume"}, "resume"},
		{[]string{"-opt", "adam", "-momentum", "0.9"}, "-momentum applies to -opt momentum, not to -opt adam"},
		{[]string{"-opt", "nesterov", "-momentum", "1"}, "-momentum 1: must be in [0, 1)"},
		{[]string{"-opt", "adadelta", "-lr", "0.1"}, "adadelta has no learning rate"},
		{[]string{"-opt", "rmsprop", "-eps", "-1e-8"}, "-eps -1e-08: must be finite and ≥ 0"},
		{[]string{"-opt", "sgd", "-beta2", "0.9"}, "-beta2 applies to -opt adam, not to -opt sgd"},
		{[]string{"-opt", "lbfgs", "-clip", "1"}, "-clip applies to -opt sgd, not to -opt lbfgs"},
		{[]string{"-opt", "adam", "-clip", "-1"}, "-clip -1: must be finite and ≥ 0"},
		{[]string{"-opt", "mblbfgs", "-overlap", "0.7"}, "-overlap 0.7: overlap 0.7 must be in (0, 0.5]"},
		{[]string{"-opt", "olbfgs", "-inner", "2"}, "-inner 2: olbfgs takes one step per batch"},
		{[]string{"-opt", "adam", "-every", "3"}, "-every applies to -opt sqn, not to -opt adam"},
		{[]string{"-opt", "sqn", "-armijo", "-1"}, "-armijo -1"},
		{[]string{"-opt", "kfac", "-lambda", "-1"}, "-lambda -1: damping -1 must be finite and > 0"},
		{[]string{"-opt", "kfac", "-fisher", "true"}, "-fisher true: unknown Fisher estimator"},
		{[]string{"-opt", "kfac", "-stats-decay", "1"}, "-stats-decay 1: statistics decay 1 must be in [0, 1)"},
		{[]string{"-opt", "kfac", "-inv-every", "-3"}, "-inv-every -3: refresh interval -3 must be ≥ 1"},
		{[]string{"-opt", "shampoo", "-graft", "adagrad"}, "-graft adagrad: unknown grafting"},
		{[]string{"-opt", "shampoo", "-block", "-1"}, "-block -1: block size -1 must be ≥ 1"},
		{[]string{"-opt", "shampoo", "-lambda", "0.1"}, "-lambda applies to -opt kfac, not to -opt shampoo"},
		{[]string{"-opt", "adam", "-graft", "sgd"}, "-graft applies to -opt shampoo, not to -opt adam"},
	} {
		code, _, stderr := runCLI(append([]string{"mnist", "-progress=false"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, stderr, c.want)
		}
	}
}

// TestMNISTRunDirectory: issue 9's cases for run directories, each with its exit code and the
// words the message must contain; a refused command changes nothing in the directory.
func TestMNISTRunDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	base := []string{"mnist", "-model", "mlp", "-opt", "lbfgs", "-lr", "0.05", "-max-steps", "4", "-eval-n", "100",
		"-checkpoint-every", "2", "-progress=false", "-seed", "3"}
	if code, _, stderr := runCLI(append(base, "-out", dir)...); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	before := dirState(t, dir)
	unwritable := filepath.Join(t.TempDir(), "file")
	os.WriteFile(unwritable, nil, 0o644)
	held, err := runs.Open(filepath.Join(t.TempDir(), "held"), runs.New)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	resume := []string{"mnist", "-out", dir, "-resume", "-progress=false"}
	for _, c := range []struct {
		args []string
		code int
		want []string
	}{
		{append(base, "-out", dir), 2, []string{"-out " + dir, "holds a run", "-resume", "-force"}},
		{append(resume, "-opt", "adam"), 2, []string{"-opt adam", "-opt lbfgs", "-resume keeps"}},
		{append(resume, "-fixed", "64"), 2, []string{"-fixed 64", "-fixed 0"}},
		{append(resume, "-seed", "4"), 2, []string{"-seed 4", "-seed 3"}},
		{append(resume, "-lr", "0.1"), 2, []string{"-lr 0.1", "-lr 0.05"}},
		{append(resume, "-gamma", "paper"), 2, []string{"-gamma paper", "-gamma newest"}},
		{append(resume, "-model", "cnn"), 2, []string{"-model cnn", "-model mlp"}},
		{append(resume, "-m", "5"), 2, []string{"-m 5", "-m 10"}},
		{append(resume, "-eval-n", "200"), 2, []string{"-eval-n 200", "-eval-n 100"}},
		{append(resume, "-max-steps", "3"), 2, []string{"-max-steps 3", "already at step 4", "only extends"}},
		{append(resume, "-force"), 2, []string{"-force"}},
		{[]string{"mnist", "-out", filepath.Join(t.TempDir(), "none"), "-resume"}, 2, []string{"no run to resume"}},
		{[]string{"mnist", "-out", held.Path}, 2, []string{"-out " + held.Path, "in use", "pid"}},
		{[]string{"mnist", "-out", filepath.Join(unwritable, "run")}, 2, []string{"-out " + filepath.Join(unwritable, "run")}},
		{[]string{"mnist", "-fixed", "60001"}, 2, []string{"-fixed 60001", "60000 images"}},
		{[]string{"mnist", "-batch", "0"}, 2, []string{"-batch 0", "≥ 1"}},
		{[]string{"mnist", "-eval-n", "10001"}, 2, []string{"-eval-n 10001"}},
		{[]string{"mnist", "-lr", "Inf"}, 2, []string{"-lr +Inf", "finite"}},
		{[]string{"mnist", "-opt", "lbfgs", "-m", "100000"}, 2, []string{"needs about", "GB", "this machine has"}},
		{[]string{"mnist", "-max-steps", "-1"}, 2, []string{"-max-steps -1"}},
	} {
		code, _, stderr := runCLI(c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		ok := code == c.code
		for _, w := range c.want {
			ok = ok && strings.Contains(last, w)
		}
		if !ok {
			t.Errorf("%v: exit %d, last line %q; want exit %d with %q", c.args[1:], code, last, c.code, c.want)
		}
	}
	if after := dirState(t, dir); after != before {
		t.Errorf("refused commands changed the run directory:\n%s\n→\n%s", before, after)
	}
	code, stdout, stderr := runCLI(append(resume, "-max-steps", "6")...)
	if code != 0 || !strings.Contains(stdout, `"steps":6`) || !strings.Contains(stdout, `"rejected_pairs":`) {
		t.Errorf("resume to 6 steps: exit %d, %q, %s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(append(base, "-out", dir, "-force", "-max-steps", "2")...); code != 0 {
		t.Errorf("-force: exit %d: %s", code, stderr)
	}
}

// dirState lists the files of a run directory with their sizes and modification times: the
// run's data, not the lock file (its content is the pid of the last process to hold it).
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && info.Name() != runs.LockFile {
			fmt.Fprintf(&b, "%s %d %v\n", p, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}
