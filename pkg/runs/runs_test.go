package runs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	for _, content := range []string{"one", "two, longer", ""} {
		if err := WriteFileAtomic(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o644); err == nil {
		t.Error("writing into a missing directory: no error")
	}
}

func TestOpenModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run")
	if _, err := Open(path, Resume); !errors.Is(err, ErrNoRun) {
		t.Fatalf("Resume on a missing directory: %v, want ErrNoRun", err)
	}
	d, err := Open(path, New)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, New); !errors.Is(err, ErrInUse) {
		t.Errorf("second Open while locked: %v, want ErrInUse", err)
	}
	if err := d.WriteJSON(SpecFile, map[string]int{"seed": 3}); err != nil {
		t.Fatal(err)
	}
	d.Close()

	// New on a directory that holds a run: refused, nothing touched.
	before := listing(t, path)
	if _, err := Open(path, New); !errors.Is(err, ErrHoldsRun) || !strings.Contains(err.Error(), path) {
		t.Errorf("New on a run: %v, want ErrHoldsRun naming %s", err, path)
	}
	if after := listing(t, path); after != before {
		t.Errorf("refused Open changed the directory: %s → %s", before, after)
	}

	d, err = Open(path, Resume)
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	var spec map[string]int
	if err := d.ReadJSON(SpecFile, &spec); err != nil || spec["seed"] != 3 {
		t.Errorf("run.json: %v, %v", spec, err)
	}
	d.Close()

	if err := os.WriteFile(filepath.Join(path, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = Open(path, Replace)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := os.Stat(filepath.Join(path, SpecFile)); !os.IsNotExist(err) {
		t.Errorf("Replace kept run.json: %v", err)
	}
	if _, err := os.Stat(filepath.Join(path, "notes.txt")); err != nil {
		t.Errorf("Replace removed a file that is not the run's: %v", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Open(file, New); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Open on a file: %v", err)
	}
}

// TestStaleLock: a process killed while holding the lock does not block the directory.
func TestStaleLock(t *testing.T) {
	if os.Getenv("QNLAB_RUNS_LOCK_CHILD") != "" {
		d, err := Open(os.Getenv("QNLAB_RUNS_LOCK_CHILD"), New)
		if err != nil {
			os.Exit(3)
		}
		_ = d
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestStaleLock$")
	cmd.Env = append(os.Environ(), "QNLAB_RUNS_LOCK_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("child: %q, %v", buf, err)
	}
	if _, err := Open(path, New); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "pid") {
		t.Errorf("while the child holds it: %v, want ErrInUse naming its pid", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	d, err := Open(path, New)
	if err != nil {
		t.Fatalf("after the child was killed: %v", err)
	}
	d.Close()
}

func listing(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			names = append(names, p+":"+info.ModTime().String())
		}
		return nil
	})
	return strings.Join(names, ",")
}

// storeAt returns a fresh store with a variable x = [v, v] and the global step at step.
func storeAt(v float32, step int64) *model.Store {
	s := model.NewStore()
	s.RootScope().VariableWithValue("x", []float32{v, v})
	optimizer.GetGlobalStepVar(s).MustSetValue(tensors.FromValue(step))
	return s
}

func TestCheckpointsSaveRestoreFallback(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "run"), New)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	store := storeAt(0, 0)
	c, err := d.Checkpoints(store, nil)
	if err != nil || c.Loaded != "" {
		t.Fatalf("empty directory: loaded %q, %v", c.Loaded, err)
	}
	for step := int64(1); step <= 4; step++ {
		store.RootScope().GetVariable("x").MustSetValue(tensors.FromValue([]float32{float32(step), float32(step)}))
		optimizer.GetGlobalStepVar(store).MustSetValue(tensors.FromValue(step))
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	all, err := list(d.File(CheckpointDir))
	if err != nil || len(all) != Keep || all[0].step != 3 || all[1].step != 4 {
		t.Fatalf("kept %+v, %v; want steps 3 and 4", all, err)
	}
	staged, _ := os.ReadDir(filepath.Join(d.File(CheckpointDir), stagingDirName))
	if len(staged) != 0 {
		t.Errorf("staging not empty after Save: %v", staged)
	}

	restore := func() (*model.Store, *Checkpoints, []string) {
		t.Helper()
		s := model.NewStore()
		var logs []string
		c, err := d.Checkpoints(s, func(f string, a ...any) { logs = append(logs, f) })
		if err != nil {
			t.Fatal(err)
		}
		return s, c, logs
	}
	s, c2, logs := restore()
	if got := optimizer.GetGlobalStep(s); got != 4 || len(logs) != 0 {
		t.Errorf("restored step %d (logs %v), want 4", got, logs)
	}
	if x := tensors.MustCopyFlatData[float32](s.GetVariable("/x").MustValue()); x[0] != 4 {
		t.Errorf("restored x = %v, want [4 4]", x)
	}

	// A torn newest checkpoint (a kill while GoMLX wrote it in place, as before this package)
	// and a half-saved one in staging: restore falls back to step 3 and keeps the torn files.
	bin := filepath.Join(d.File(CheckpointDir), all[1].base+".bin")
	data, _ := os.ReadFile(bin)
	if err := os.WriteFile(bin, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.File(CheckpointDir), stagingDirName, "checkpoint-n0000009-x-step-00000009.json"), nil, 0o644)
	s, c2, logs = restore()
	if got := optimizer.GetGlobalStep(s); got != 3 || len(logs) != 1 {
		t.Errorf("after tearing step 4: restored step %d, logs %v; want step 3 and one warning", got, logs)
	}
	if _, err := os.Stat(filepath.Join(d.File(CheckpointDir), unreadableDir, all[1].base+".bin")); err != nil {
		t.Errorf("the unreadable checkpoint was not kept: %v", err)
	}
	// The restored handler numbers its next checkpoint after the one it loaded.
	optimizer.GetGlobalStepVar(s).MustSetValue(tensors.FromValue(int64(5)))
	if err := c2.Save(); err != nil {
		t.Fatal(err)
	}
	all, _ = list(d.File(CheckpointDir))
	if len(all) != 2 || all[1].step != 5 || all[1].count <= all[0].count {
		t.Errorf("after saving step 5: %+v", all)
	}
	// An orphan .bin (a kill between the two renames) is not a checkpoint and is pruned.
	orphan := filepath.Join(d.File(CheckpointDir), "checkpoint-n0000042-20260101-000000-step-00000042.bin")
	os.WriteFile(orphan, []byte("x"), 0o644)
	if got, _ := list(d.File(CheckpointDir)); len(got) != 2 {
		t.Errorf("orphan .bin listed as a checkpoint: %+v", got)
	}
	optimizer.GetGlobalStepVar(s).MustSetValue(tensors.FromValue(int64(6)))
	if err := c2.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan .bin not pruned: %v", err)
	}
}
