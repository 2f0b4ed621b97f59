package runs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gofrs/flock"
)

// Names of the files in a run directory.
const (
	SpecFile       = "run.json"
	MetricsFile    = "metrics.csv"
	CheckpointDir  = "checkpoint"
	LockFile       = "run.lock"
	unreadableDir  = "unreadable"
	stagingDirName = ".staging"
)

// Mode says what Open does with a directory that already holds a run.
type Mode int

const (
	// New refuses a directory that holds a run (ErrHoldsRun) and touches nothing in it.
	New Mode = iota
	// Replace deletes the run the directory holds (its run.json, metrics.csv and checkpoints;
	// nothing else) and starts a new one: qnlab's -force.
	Replace
	// Resume requires a run (ErrNoRun otherwise): qnlab's -resume.
	Resume
)

// Errors of Open, to be told apart with errors.Is. Each is wrapped with the directory's path.
var (
	// ErrHoldsRun: Mode New on a directory that holds a run.
	ErrHoldsRun = errors.New("holds a run")
	// ErrNoRun: Mode Resume on a directory without run.json.
	ErrNoRun = errors.New("holds no run to resume")
	// ErrInUse: another live process holds the directory's lock.
	ErrInUse = errors.New("is in use by another process")
)

// Dir is a run directory opened (and locked) by this process. Close releases the lock.
type Dir struct {
	// Path is the directory.
	Path string
	lock *flock.Flock
}

// Open creates or opens the run directory path and takes its lock, then applies mode. A
// directory holds a run if it has run.json, metrics.csv or checkpoint/ (the last two: runs
// written before run.json existed). A refused Open changes nothing in an existing directory.
func Open(path string, mode Mode) (*Dir, error) {
	if path == "" {
		return nil, errors.New("runs: no run directory given")
	}
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("runs: %s is a file, not a directory", path)
	}
	probe := &Dir{Path: path}
	if held, what := probe.holdsRun(); mode == New && held {
		return nil, fmt.Errorf("runs: %s %w (%s)", path, ErrHoldsRun, what) // refused before touching it
	}
	if mode == Resume {
		if _, err := os.Stat(probe.File(SpecFile)); err != nil {
			return nil, fmt.Errorf("runs: %s %w (no %s: was it started by a qnlab older than run directories, or not at all?)", path, ErrNoRun, SpecFile)
		}
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	d := &Dir{Path: path, lock: flock.New(probe.File(LockFile))}
	ok, err := d.lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("runs: cannot lock %s: %w", path, err)
	}
	if !ok {
		owner := ""
		if pid, err := os.ReadFile(d.lock.Path()); err == nil && len(bytes.TrimSpace(pid)) > 0 {
			owner = " (pid " + string(bytes.TrimSpace(pid)) + ")"
		}
		return nil, fmt.Errorf("runs: %s %w%s", path, ErrInUse, owner)
	}
	// Checked again under the lock: another process may have started a run meanwhile.
	held, what := d.holdsRun()
	switch {
	case mode == New && held:
		d.Close()
		return nil, fmt.Errorf("runs: %s %w (%s)", path, ErrHoldsRun, what)
	case mode == Replace && held:
		for _, name := range []string{SpecFile, MetricsFile, CheckpointDir} {
			if err := os.RemoveAll(d.File(name)); err != nil {
				d.Close()
				return nil, fmt.Errorf("runs: replacing the run in %s: %w", path, err)
			}
		}
	}
	// The lock file's content is informational: the lock is the flock, not the content.
	_ = os.WriteFile(d.lock.Path(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	return d, nil
}

// holdsRun reports whether the directory holds a run, and which file says so.
func (d *Dir) holdsRun() (bool, string) {
	for _, name := range []string{SpecFile, MetricsFile, CheckpointDir} {
		if _, err := os.Stat(filepath.Join(d.Path, name)); err == nil {
			return true, name
		}
	}
	return false, ""
}

// Close releases the directory's lock. The lock file stays (removing it would let a third
// process lock a different inode while a second one still holds the old).
func (d *Dir) Close() error {
	if d == nil || d.lock == nil {
		return nil
	}
	return d.lock.Unlock()
}

// File returns the path of name inside the directory.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, name) }

// WriteJSON writes v as indented JSON to name, atomically.
func (d *Dir) WriteJSON(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("runs: %s: %w", d.File(name), err)
	}
	return WriteFileAtomic(d.File(name), append(data, '\n'), 0o644)
}

// ReadJSON reads name into v; unknown fields are an error (a file from another program).
func (d *Dir) ReadJSON(name string, v any) error {
	return ReadJSON(d.File(name), v)
}

// ReadJSON reads the JSON file path into v; unknown fields are an error.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("runs: %s: %w", path, err)
	}
	return nil
}

// WriteFile writes data to name, atomically.
func (d *Dir) WriteFile(name string, data []byte) error {
	return WriteFileAtomic(d.File(name), data, 0o644)
}
