package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as qnlab itself (for TestChaos's child processes), so that
// no separate build is needed.
func TestMain(m *testing.M) {
	if os.Getenv("QNLAB_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// chaosArgs is a small L-BFGS run (the optimizer with the most state: its history) with 2 inner
// steps per batch and a checkpoint after every step, so that kills often land in a save.
var chaosArgs = []string{"mnist", "-model", "mlp", "-opt", "lbfgs", "-lr", "0.05", "-inner", "2", "-batch", "64",
	"-max-steps", "60", "-eval-every", "5", "-eval-n", "500", "-checkpoint-every", "1", "-seed", "11", "-progress=false"}

// TestChaos kills a training run with SIGKILL and SIGINT at random moments and resumes it each
// time; the finished run's result and every metrics row must equal an uninterrupted run's bit
// for bit (the seconds column and field excepted: wall-clock). Sizes from the environment:
// QNLAB_CHAOS_KILLS (SIGKILLs, default 3), QNLAB_CHAOS_INTS (SIGINTs, default 1),
// QNLAB_CHAOS_SEED (default 1). `make chaos` runs 20 and 5.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in child processes")
	}
	kills, ints := envInt(t, "QNLAB_CHAOS_KILLS", 3), envInt(t, "QNLAB_CHAOS_INTS", 1)
	rng := rand.New(rand.NewPCG(uint64(envInt(t, "QNLAB_CHAOS_SEED", 1)), 7))
	tmp := t.TempDir()

	ref := filepath.Join(tmp, "reference")
	t0 := time.Now()
	code, stdout, stderr := runChild(t, append(chaosArgs, "-out", ref), 0, nil)
	wall := time.Since(t0)
	if code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, stderr)
	}

	// Start-up (data, backend, restoring a checkpoint, compiling) measured as a resume of the
	// finished run: it has nothing left to train.
	t0 = time.Now()
	if code, _, stderr := runChild(t, append(chaosArgs, "-out", ref, "-resume"), 0, nil); code != 0 {
		t.Fatalf("resuming a finished run: exit %d: %s", code, stderr)
	}
	startup := time.Since(t0)

	signals := make([]syscall.Signal, 0, kills+ints)
	for range kills {
		signals = append(signals, syscall.SIGKILL)
	}
	for range ints {
		signals = append(signals, syscall.SIGINT)
	}
	rng.Shuffle(len(signals), func(i, j int) { signals[i], signals[j] = signals[j], signals[i] })

	dir := filepath.Join(tmp, "chaos")
	start := func() []string {
		if _, err := os.Stat(filepath.Join(dir, "run.json")); err == nil {
			return append(chaosArgs, "-out", dir, "-resume")
		}
		return append(chaosArgs, "-out", dir)
	}
	counts := map[string]int{}
	var steps []string
	for _, sig := range signals {
		// One signal in five during start-up, the others after it, at a mean of 1/(n+1) of the
		// training time: the signals land before the run can finish.
		delay := time.Duration(rng.Float64() * float64(startup))
		if rng.IntN(5) > 0 {
			delay = startup + time.Duration(rng.Float64()*2*float64(wall-startup)/float64(len(signals)+1))
		}
		code, _, errText := runChild(t, start(), delay, sig)
		steps = append(steps, fmt.Sprint(newestCheckpoint(t, filepath.Join(dir, "checkpoint"))))
		switch {
		case code == 0:
			counts["finished before its signal"]++
		case sig == syscall.SIGKILL && code == -1:
			counts["SIGKILL"]++
		case sig == syscall.SIGINT && code == 130:
			counts["SIGINT → checkpoint, exit 130"]++
		case sig == syscall.SIGINT && code == -1:
			counts["SIGINT before the handler was installed"]++
		default:
			t.Fatalf("%v after %v: exit %d: %s", sig, delay, code, errText)
		}
	}
	code, got, errText := runChild(t, start(), 0, nil)
	if code != 0 {
		t.Fatalf("final resume: exit %d: %s", code, errText)
	}
	unreadable, _ := os.ReadDir(filepath.Join(dir, "checkpoint", "unreadable"))
	t.Logf("chaos: uninterrupted run %v (start-up %v); %d signals: %v; newest checkpoint after each: steps %s; unreadable checkpoints: %d",
		wall.Round(time.Millisecond), startup.Round(time.Millisecond), len(signals), counts, strings.Join(steps, " "), len(unreadable))
	if len(unreadable) != 0 {
		t.Errorf("%d checkpoints were torn", len(unreadable))
	}

	if a, b := withoutSeconds(t, lastLine(stdout)), withoutSeconds(t, lastLine(got)); a != b {
		t.Errorf("result differs:\nuninterrupted %s\nresumed       %s", a, b)
	}
	rowsA, rowsB := metricsWithoutSeconds(t, ref), metricsWithoutSeconds(t, dir)
	if len(rowsA) != len(rowsB) {
		t.Fatalf("metrics.csv: %d rows uninterrupted, %d after the kills", len(rowsA), len(rowsB))
	}
	for i := range rowsA {
		if rowsA[i] != rowsB[i] {
			t.Errorf("metrics row %d: uninterrupted %s, after the kills %s", i, rowsA[i], rowsB[i])
		}
	}
}

// runChild runs this test binary as qnlab with args; if sig is not nil it is sent after delay
// (unless the process ended first). code is -1 if a signal killed the process.
func runChild(t *testing.T, args []string, delay time.Duration, sig os.Signal) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "QNLAB_TEST_AS_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	if sig != nil {
		select {
		case err = <-done:
		case <-time.After(delay):
			_ = cmd.Process.Signal(sig)
			err = <-done
		}
	} else {
		err = <-done
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// withoutSeconds returns the JSON result line without its wall-clock field.
func withoutSeconds(t *testing.T, line string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("result line %q: %v", line, err)
	}
	delete(m, "seconds")
	out, _ := json.Marshal(m)
	return string(out)
}

// metricsWithoutSeconds returns a run's metrics.csv lines without the seconds column (3rd).
func metricsWithoutSeconds(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Split(line, ",")
		if len(f) != 6 {
			t.Fatalf("%s: line %q", dir, line)
		}
		rows = append(rows, strings.Join(append(f[:2:2], f[3:]...), ","))
	}
	return rows
}

// newestCheckpoint returns the step of the newest checkpoint in dir (-1 if none).
func newestCheckpoint(t *testing.T, dir string) int {
	entries, _ := os.ReadDir(dir)
	newest := -1
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if _, step, found := strings.Cut(name, "-step-"); ok && found {
			if n, err := strconv.Atoi(step); err == nil && n > newest {
				newest = n
			}
		}
	}
	return newest
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatal(fmt.Sprintf("%s=%q: want a count ≥ 0", name, s))
	}
	return n
}
