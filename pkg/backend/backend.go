package backend

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the pure-Go backend, always compiled in (no cgo)
)

// EnvVar is the environment variable that overrides the backend (GoMLX's own).
const EnvVar = compute.ConfigEnvVar

// DefaultConfig is the backend configuration used when GOMLX_BACKEND is not set.
const DefaultConfig = "go:parallelism=-1"

// Config returns the backend configuration qnlab will use: $GOMLX_BACKEND if set and
// non-empty, else DefaultConfig.
func Config() string {
	if c := strings.TrimSpace(os.Getenv(EnvVar)); c != "" {
		return c
	}
	return DefaultConfig
}

// New creates a new backend for Config(). Most callers want Default instead.
func New() (compute.Backend, error) {
	return NewWithConfig(Config())
}

// NewWithConfig creates a backend for an explicit configuration such as "go",
// "go:ops_sequential" or "xla:cuda".
func NewWithConfig(config string) (compute.Backend, error) {
	if _, set := os.LookupEnv("GOMLX_NO_AUTO_INSTALL"); !set {
		_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	}
	name, _, _ := strings.Cut(config, ":")
	known := compute.List()
	found := false
	for _, k := range known {
		if k == name {
			found = true
			break
		}
	}
	if !found {
		hint := ""
		if name == "xla" {
			hint = " (the XLA backend is compiled only with -tags xla)"
		}
		return nil, fmt.Errorf("backend: %s=%q names backend %q, which is not compiled into this binary%s; available: %s",
			EnvVar, config, name, hint, strings.Join(known, ", "))
	}
	// The Go backend prints "parallelism set to N" on stdout while parsing its config, which
	// would corrupt commands' JSON output and clutter every notebook cell; Describe tells the
	// same. Discard it.
	stdout := os.Stdout
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stdout = null
		defer null.Close()
	}
	b, err := compute.NewWithConfig(config)
	os.Stdout = stdout
	if err != nil {
		return nil, fmt.Errorf("backend: cannot create %q: %w", config, err)
	}
	if name == "go" && !SIMDBuild {
		slowBuildOnce.Do(func() { fmt.Fprintln(os.Stderr, SlowBuildWarning) })
	}
	return b, nil
}

// SlowBuildWarning is printed once per process that creates the pure-Go backend in a binary
// built without GOEXPERIMENT=simd on amd64. Measured on the development machine (2026-12-07,
// `qnlab bench precond -opts adam -steps 20 -rounds 1`, the two builds alternated 3 times):
// a SimpleCNN Adam step at batch 128 took 157–180 ms without it and 55–71 ms with it.
const SlowBuildWarning = "qnlab: built without GOEXPERIMENT=simd, so the pure-Go backend's matmul runs without AVX2/AVX-512: " +
	"a SimpleCNN training step measured ~2.9× slower (162 vs 56 ms); build with `make qnlab`, or GOEXPERIMENT=simd go build/run"

var slowBuildOnce sync.Once

var (
	defaultOnce    sync.Once
	defaultBackend compute.Backend
	defaultErr     error
)

// Default returns the process-wide backend for Config(), created on first use.
func Default() (compute.Backend, error) {
	defaultOnce.Do(func() { defaultBackend, defaultErr = New() })
	return defaultBackend, defaultErr
}

// Or returns b, or Default() if b is nil: for functions whose backend argument is optional.
func Or(b compute.Backend) (compute.Backend, error) {
	if b != nil {
		return b, nil
	}
	return Default()
}

// MustDefault is Default for notebooks and tests: it panics with the error.
func MustDefault() compute.Backend {
	b, err := Default()
	if err != nil {
		panic(err)
	}
	return b
}

// Describe returns a one-line description of a backend and the configuration that chose it,
// for commands and notebooks to print ("which backend is this running on?").
func Describe(b compute.Backend) string {
	return fmt.Sprintf("backend %s [%s]: %s", b.Name(), Config(), b.Description())
}
