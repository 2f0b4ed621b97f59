package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"qnlab/pkg/runs"
)

// TestRaceCommand: a tiny race on the MLP (a tuning grid of two, then the race) prints one JSON
// line per contender, last; the same -out is refused without -resume and read back with it.
func TestRaceCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "race")
	args := []string{"race", "-model", "mlp", "-target", "0.8", "-seeds", "1", "-max-seconds", "20", "-eval-n", "500",
		"-opts", "adam:lr=0.001|0.003:batch=64,mblbfgs:lr=0.2:batch=64", "-out", out}
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout %q: want 2 JSON lines", stdout)
	}
	var res []runs.RaceResult
	for _, l := range lines {
		var r runs.RaceResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		res = append(res, r)
	}
	if !strings.HasPrefix(res[0].Opt, "adam:lr=0.00") || res[1].Opt != "mblbfgs:lr=0.2:batch=64" || res[0].Target != 0.8 || res[0].Seeds != 1 {
		t.Errorf("results %+v", res)
	}
	if !strings.Contains(stderr, "tune adam:lr=0.001|0.003:batch=64: best ") {
		t.Errorf("stderr does not name the tuning's winner: %s", stderr)
	}
	if code, _, stderr := runCLI(args...); code != 2 || !strings.Contains(stderr, "holds a race") {
		t.Errorf("second race into %s: exit %d, %s", out, code, stderr)
	}
	code, again, stderr := runCLI(append(args, "-resume")...)
	if code != 0 || again != stdout {
		t.Errorf("resumed finished race: exit %d, stdout %q (was %q), %s", code, again, stdout, stderr)
	}
}

func TestRaceBadInputExitsTwo(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-opts", "adam,bogus"}, `unknown optimizer "bogus"`},
		{[]string{"-opts", "adam:speed=2"}, `unknown key "speed"`},
		{[]string{"-opts", "adam:seed=2"}, "seed is set by the race"},
		{[]string{"-opts", "mblbfgs:overlap=0.9"}, "overlap 0.9 must be in (0, 0.5]"},
		{[]string{"-target", "1.5"}, "-target 1.5"},
		{[]string{"-seeds", "0"}, "-seeds 0"},
		{[]string{"-max-seconds", "0"}, "-max-seconds 0"},
		{[]string{"-resume"}, "-resume needs -out"},
		{[]string{"-model", "resnet"}, "-model"},
		{[]string{"-dtype", "int8"}, `-dtype "int8": want float32 or float64`},
		{[]string{"-opts", "adam:dtype=bf16"}, "want float32 or float64"},
	} {
		code, _, stderr := runCLI(append([]string{"race"}, c.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || !strings.Contains(stderr, c.want) || len(lines) > 2 {
			t.Errorf("race %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}
