package backend

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

func TestConfigDefaultsToGo(t *testing.T) {
	t.Setenv(EnvVar, "")
	if got := Config(); got != DefaultConfig {
		t.Fatalf("Config() = %q with %s empty, want %q", got, EnvVar, DefaultConfig)
	}
	t.Setenv(EnvVar, "go:ops_sequential")
	if got := Config(); got != "go:ops_sequential" {
		t.Fatalf("Config() = %q, want the environment's value", got)
	}
}

func TestNewDefaultIsPureGo(t *testing.T) {
	b, err := NewWithConfig(DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if !strings.Contains(b.Description(), "parallelism=-1") {
		t.Fatalf("default backend %q is not the unbounded-pool Go backend", b.Description())
	}
}

func TestUnknownBackendIsAClearError(t *testing.T) {
	_, err := NewWithConfig("nosuch:thing")
	if err == nil || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Fatalf("want an error naming the backend, got %v", err)
	}
}

// TestSlowBuildWarning: a binary built without GOEXPERIMENT=simd on amd64 says so once on
// stderr, however many backends it creates; a SIMD build says nothing.
func TestSlowBuildWarning(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("GOEXPERIMENT=simd matters on amd64 only")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	for _, exp := range []string{"", "simd"} {
		cmd := exec.Command(goCmd, "run", "./testdata/twobackends")
		cmd.Env = append(os.Environ(), "GOEXPERIMENT="+exp, "GOMLX_BACKEND=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("GOEXPERIMENT=%q: %v: %s", exp, err, stderr.String())
		}
		n := strings.Count(stderr.String(), "built without GOEXPERIMENT=simd")
		if want := map[string]int{"": 1, "simd": 0}[exp]; n != want {
			t.Errorf("GOEXPERIMENT=%q: the warning appears %d times, want %d: %q", exp, n, want, stderr.String())
		}
	}
}
