package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{[]string{"-linesearch", "wolfe"}, "-linesearch"},
		{[]string{"-inner", "0"}, "-inner"},
		{[]string{"-lr", "-1"}, "learning rate"},
		{[]string{"-mnist", dir}, dir},
		{[]string{"-resume"}, "resume"},
	} {
		code, _, stderr := runCLI(append([]string{"mnist", "-progress=false"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, stderr, c.want)
		}
	}
}
