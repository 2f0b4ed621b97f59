package backend

import (
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
