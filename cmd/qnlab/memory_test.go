package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"qnlab/pkg/runs"
)

// setMemoryLimit makes checkMemory see a machine of the given size until the test ends.
func setMemoryLimit(t *testing.T, bytes float64) {
	t.Helper()
	old := memoryLimit
	memoryLimit = func() float64 { return bytes }
	t.Cleanup(func() { memoryLimit = old })
}

// requireMachineMemory skips a test that needs the machine's real size when it is unknown.
func requireMachineMemory(t *testing.T) {
	t.Helper()
	if memoryLimit() <= 0 {
		t.Skip("machine memory unknown: checkMemory refuses nothing")
	}
}

func TestCheckMemory(t *testing.T) {
	setMemoryLimit(t, 8<<30)
	if err := checkMemory("-n 10", 7<<30); err != nil {
		t.Errorf("7 GB on an 8 GB machine: %v", err)
	}
	err := checkMemory("-n 100", 9<<30)
	var ue usageError
	if err == nil || !errors.As(err, &ue) || err.Error() != "-n 100 needs about 9.0 GB of memory; this machine has 8.0 GB" {
		t.Errorf("9 GB on an 8 GB machine: %v, want a usageError naming -n 100", err)
	}
	if err := checkMemory("-n 1e30", 1e300); err == nil || !strings.Contains(err.Error(), "e+290 GB") {
		t.Errorf("1e300 bytes: %v, want the size in e-notation", err)
	}
	if err := checkMemory("-n NaN", math.NaN()); err == nil {
		t.Error("a NaN estimate was accepted")
	}
	setMemoryLimit(t, 0)
	if err := checkMemory("-n 100", 1e300); err != nil {
		t.Errorf("unknown machine size: %v, want no refusal", err)
	}
}

// TestMemoryEstimatesCoverMeasurements: each estimate is at least the peak RSS measured for
// it (the numbers in the estimates' comments) and at most 3× it, so that the margins neither
// let a run past the machine nor refuse what it holds.
func TestMemoryEstimatesCoverMeasurements(t *testing.T) {
	const MB = 1 << 20
	for _, c := range []struct {
		name     string
		est, rss float64
	}{
		{"minimize n=1e4 m=10", minimizeMemory(1e4, 10, 12), 30 * MB},
		{"minimize n=1e4 m=200", minimizeMemory(1e4, 200, 202), 1079 * MB},
		{"minimize n=1e4 m=400", minimizeMemory(1e4, 400, 402), 3209 * MB},
		{"minimize n=1e5 m=10", minimizeMemory(1e5, 10, 12), 140 * MB},
		{"minimize n=1e5 m=100", minimizeMemory(1e5, 100, 102), 1229 * MB},
		{"minimize n=1e5 m=200", minimizeMemory(1e5, 200, 202), 3175 * MB},
		{"minimize n=1e6 m=10", minimizeMemory(1e6, 10, 40), 1342 * MB},
		{"minimize n=1e6 m=50", minimizeMemory(1e6, 50, 52), 4835 * MB},
		{"minimize n=4e6 m=10", minimizeMemory(4e6, 10, 12), 4268 * MB},
		{"minimize n=1e6 gd", minimizeMemory(1e6, 0, 40), 492 * MB},
		{"minimize n=4e6 gd", minimizeMemory(4e6, 0, 40), 2207 * MB},
		{"minimize n=100 m=200", minimizeMemory(100, 200, 200), 427 * MB},
		{"minimize n=1000 m=300", minimizeMemory(1000, 300, 300), 1135 * MB},
		{"rates n=500", ratesMemory(500, 2), 52 * MB},
		{"rates n=1000", ratesMemory(1000, 20), 171 * MB},
		{"rates n=2000", ratesMemory(2000, 2), 543 * MB},
		{"direction n=1e5 10 pairs", directionMemory(13477088, 2.1e6, 10), 128 * MB},
		{"direction n=1e6 10 pairs", directionMemory(134764405, 2.1e7, 10), 1539 * MB},
		{"direction n=1 8000 pairs", directionMemory(134177, 16001, 8000), 243 * MB},
		{"bench mgh m=100", mghMemory(100, 1), 726 * MB},
		{"bench mgh m=1000", mghMemory(1000, 1), 2431 * MB},
		{"bench mgh m=1e6", mghMemory(1e6, 1), 3389 * MB},
		{"mnist cnn adam batch 128", mnistMemory(runs.Spec{Model: "cnn", Optimizer: "adam", Batch: 128}), 517 * MB},
		{"mnist cnn adam batch 512", mnistMemory(runs.Spec{Model: "cnn", Optimizer: "adam", Batch: 512}), 709 * MB},
		{"mnist cnn adam fixed 2048", mnistMemory(runs.Spec{Model: "cnn", Optimizer: "adam", Batch: 128, FixedN: 2048}), 1310 * MB},
		{"mnist cnn lbfgs m=100", mnistMemory(runs.Spec{Model: "cnn", Optimizer: "lbfgs", Batch: 128, M: 100}), 876 * MB},
		{"mnist mlp adam batch 4096", mnistMemory(runs.Spec{Model: "mlp", Optimizer: "adam", Batch: 4096}), 246 * MB},
		{"mnist mlp lbfgs m=200", mnistMemory(runs.Spec{Model: "mlp", Optimizer: "lbfgs", Batch: 128, M: 200}), 450 * MB},
	} {
		if r := c.est / c.rss; !(r >= 1 && r <= 3) {
			t.Errorf("%s: estimate %.0f MB is %.2f× the measured %.0f MB, want 1–3×", c.name, c.est/MB, r, c.rss/MB)
		}
	}
}

// TestMemoryRefusals: requests no machine holds are refused on this machine, and moderate ones
// once the machine is made small; all before anything is allocated or run (no stdout).
func TestMemoryRefusals(t *testing.T) {
	dir := t.TempDir()
	pairs := filepath.Join(dir, "pairs.json")
	if err := os.WriteFile(pairs, []byte(`{"s":[[1,0,0,0]],"y":[[2,0,0,0]],"g":[1,1,1,1]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	a200 := filepath.Join(dir, "A200.csv")
	var sb strings.Builder
	for i := range 200 {
		for j := range 200 {
			if j > 0 {
				sb.WriteByte(',')
			}
			if i == j {
				sb.WriteString("2")
			} else {
				sb.WriteString("0")
			}
		}
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(a200, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	real := []struct {
		args []string
		want string
	}{
		{[]string{"minimize", "-dim", "1000000000000"}, "-dim 1000000000000 with -m 10 and -maxiter 10000 needs about"},
		{[]string{"minimize", "-dim", "4611686018427387904"}, "-dim 4611686018427387904 with -m 10 and -maxiter 10000 needs about"},
		{[]string{"minimize", "-dim", "9223372036854775807", "-m", "9223372036854775807", "-maxiter", "9223372036854775807"}, "needs about"},
		{[]string{"minimize", "-method", "gd", "-dim", "1000000000000"}, "-dim 1000000000000 with -method gd"},
		{[]string{"minimize", "-maxiter", "1000000000000"}, "-maxiter 1000000000000 needs about"},
		{[]string{"minimize", "-m", "100000"}, "-m 100000 and -maxiter 10000 needs about"},
		{[]string{"rates", "-method", "greedy", "-n", "100000", "-mu", "1", "-L", "10"}, "-n 100000 needs about"},
		{[]string{"rates", "-method", "greedy", "-n", "9223372036854775807", "-mu", "1", "-L", "10"}, "needs about"},
		{[]string{"rates", "-method", "greedy", "-n", "4", "-mu", "1", "-L", "10", "-iters", "1000000000000"}, "-n 4 with -iters 1000000000000 needs about"},
		{[]string{"bench", "mgh", "-m", "1000000000000"}, "-m 1000000000000 with -repeats 3 needs about"},
		{[]string{"bench", "mgh", "-repeats", "1000000000000000"}, "-repeats 1000000000000000 needs about"},
	}
	small := []struct {
		args []string
		want string
	}{
		{[]string{"minimize", "-dim", "1000000"}, "-dim 1000000 with -m 10 and -maxiter 10000 needs about 1.9 GB of memory; this machine has 1.0 GB"},
		{[]string{"rates", "-method", "greedy", "-n", "3000", "-mu", "1", "-L", "10"}, "-n 3000 needs about 2.1 GB of memory; this machine has 1.0 GB"},
		{[]string{"rates", "-method", "greedy", "-matrix", a200}, "-matrix " + a200 + " (200×200) needs about"},
		{[]string{"direction", "-in", pairs}, "-in " + pairs + " needs about"},
		{[]string{"bench", "mgh", "-m", "1000"}, "-m 1000 with -repeats 3 needs about"},
	}
	check := func(args []string, want string) {
		t.Helper()
		code, stdout, stderr := runCLI(args...)
		if code != 2 || !strings.Contains(stderr, want) || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, one line with %q, no output", args, code, stdout, stderr, want)
		}
	}
	t.Run("machine", func(t *testing.T) {
		requireMachineMemory(t)
		for _, c := range real {
			check(c.args, c.want)
		}
	})
	t.Run("small", func(t *testing.T) {
		setMemoryLimit(t, 1<<30)
		for _, c := range small[:2] {
			check(c.args, c.want)
		}
		if code, _, stderr := runCLI("minimize", "-dim", "1000", "-maxiter", "3"); code != 0 {
			t.Errorf("minimize -dim 1000 on a 1 GB machine: exit %d: %s", code, stderr)
		}
		setMemoryLimit(t, 50e6+1.5*160*150*150) // below the estimate for n = 200, above n = 150
		check(small[2].args, small[2].want)
		setMemoryLimit(t, 50e6+1000) // holds the file, not its decoding
		check(small[3].args, small[3].want)
		setMemoryLimit(t, 1e9)
		check(small[4].args, small[4].want)
		many := filepath.Join(dir, "many.json") // 2000 pairs in dimension 1
		v := strings.Repeat("[1],", 1999) + "[1]"
		if err := os.WriteFile(many, []byte(`{"s":[`+v+`],"y":[`+v+`],"g":[1]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		setMemoryLimit(t, 52e6) // holds the numbers, not a graph of 2000 pairs (90 MB)
		check([]string{"direction", "-in", many}, "-in "+many+" with 2000 pairs needs about")
		if code, _, stderr := runCLI("direction", "-in", many, "-m", "10"); code != 0 {
			t.Errorf("direction -m 10 on 2000 pairs, 52 MB: exit %d: %s", code, stderr)
		}
		setMemoryLimit(t, 50e6+45*399) // below the bound for A200.csv's lines of 399 bytes
		check([]string{"rates", "-method", "greedy", "-matrix", a200}, "reading "+a200+" needs about")
	})
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "exists.csv")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "new.csv"), ""},
		{file, ""},
		{dir, "-out " + dir + ": is a directory"},
		{filepath.Join(dir, "missing", "d.json"), "cannot create: no such file or directory"},
		{filepath.Join(file, "d.json"), "cannot create: not a directory"},
	} {
		err := checkWritable("-out", c.path)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("checkWritable(%q) = %v, want %q", c.path, err, c.want)
		}
	}
	if data, err := os.ReadFile(file); err != nil || string(data) != "keep" {
		t.Errorf("an existing file was changed: %q, %v", data, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("checkWritable left files behind: %v", entries)
	}
}

func TestFlagNum(t *testing.T) {
	for v, want := range map[float64]string{math.Inf(1): "Inf", math.Inf(-1): "-Inf", math.NaN(): "NaN", 1e-300: "1e-300", 0.5: "0.5"} {
		if got := flagNum(v); got != want {
			t.Errorf("flagNum(%g) = %q, want %q", v, got, want)
		}
	}
}
