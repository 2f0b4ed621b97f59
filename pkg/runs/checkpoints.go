package runs

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"qnlab/pkg/models"
)

// Keep is how many complete checkpoints Checkpoints keeps: the newest, and one to fall back on.
const Keep = 2

// Checkpoints saves and restores a model.Store in a run directory's checkpoint/, crash-safely,
// in GoMLX's checkpoint format (see the package doc for how).
type Checkpoints struct {
	dir, staging string
	h            *checkpoint.Handler
	// Loaded is the checkpoint the store was restored from ("" if none).
	Loaded string
}

// checkpointName matches GoMLX's checkpoint base names: checkpoint-n<count>-<time>-step-<step>
// or …-initial (ml/model/checkpoint, newCheckpointBaseName).
var checkpointName = regexp.MustCompile(`^checkpoint-n(\d+)-.*?(?:-step-(\d+)|-initial)$`)

type saved struct {
	base        string
	count, step int64
}

// list returns the complete checkpoints in dir (a .json and a .bin), oldest first: by step,
// then by GoMLX's count. Names that are not GoMLX checkpoints are ignored.
func list(dir string) ([]saved, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	var out []saved
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), checkpoint.JsonNameSuffix)
		if e.IsDir() || !ok {
			continue
		}
		m := checkpointName.FindStringSubmatch(base)
		if m == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, base+checkpoint.BinDataSuffix)); err != nil {
			continue
		}
		s := saved{base: base}
		s.count, _ = strconv.ParseInt(m[1], 10, 64)
		if m[2] != "" {
			s.step, _ = strconv.ParseInt(m[2], 10, 64)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b saved) int {
		return cmp.Or(cmp.Compare(a.step, b.step), cmp.Compare(a.count, b.count))
	})
	return out, nil
}

// Checkpoints restores store from the newest readable checkpoint in the directory, if any, and
// returns the handle that saves new ones. An unreadable checkpoint (a torn or corrupt file) is
// moved to checkpoint/unreadable/, logf is told, and the next older one is tried. store must be
// fresh (only its parameters set): restoring creates its variables.
func (d *Dir) Checkpoints(store *model.Store, logf func(format string, a ...any)) (*Checkpoints, error) {
	c := &Checkpoints{dir: d.File(CheckpointDir)}
	c.staging = filepath.Join(c.dir, stagingDirName)
	// Whatever is in staging is a save that did not finish: never a checkpoint.
	if err := os.RemoveAll(c.staging); err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	if err := os.MkdirAll(c.staging, 0o755); err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	all, err := list(c.dir)
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		base := all[i].base
		if err := c.stage(base); err != nil {
			return nil, err
		}
		// Read it whole into a scratch store first: a failure there leaves store untouched.
		_, err := checkpoint.Build(model.NewStore()).Dir(c.staging).Keep(-1).Done()
		if err == nil {
			// Immediate: every variable (the global step too) is in store on return.
			if c.h, err = checkpoint.Build(store).Dir(c.staging).Keep(-1).Immediate().Done(); err != nil {
				return nil, fmt.Errorf("runs: restoring %s: %w", filepath.Join(c.dir, base), err)
			}
			c.Loaded = base
			return c, c.unstage(base)
		}
		if logf != nil {
			logf("checkpoint %s is unreadable (%v); moved to %s, trying an older one", base, oneLine(err), unreadableDir+"/")
		}
		if err := errors.Join(c.unstage(base), c.moveAside(base)); err != nil {
			return nil, err
		}
	}
	if c.h, err = checkpoint.Build(store).Dir(c.staging).Keep(-1).Done(); err != nil {
		return nil, fmt.Errorf("runs: checkpoints in %s: %w", c.dir, err)
	}
	return c, nil
}

// stage links (or copies) a checkpoint's two files into the staging directory, where GoMLX's
// handler loads it; the handler then numbers new checkpoints after it.
func (c *Checkpoints) stage(base string) error {
	for _, suffix := range []string{checkpoint.BinDataSuffix, checkpoint.JsonNameSuffix} {
		src, dst := filepath.Join(c.dir, base+suffix), filepath.Join(c.staging, base+suffix)
		if err := os.Link(src, dst); err != nil {
			data, rerr := os.ReadFile(src)
			if rerr != nil {
				return fmt.Errorf("runs: %w", rerr)
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				return fmt.Errorf("runs: %w", err)
			}
		}
	}
	return nil
}

func (c *Checkpoints) unstage(base string) error {
	for _, suffix := range []string{checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix} {
		if err := os.Remove(filepath.Join(c.staging, base+suffix)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("runs: %w", err)
		}
	}
	return nil
}

// moveAside moves an unreadable checkpoint to checkpoint/unreadable/ (kept for inspection).
func (c *Checkpoints) moveAside(base string) error {
	dst := filepath.Join(c.dir, unreadableDir)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	for _, suffix := range []string{checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix} {
		if err := os.Rename(filepath.Join(c.dir, base+suffix), filepath.Join(dst, base+suffix)); err != nil {
			return fmt.Errorf("runs: %w", err)
		}
	}
	return nil
}

// Save writes a checkpoint of the store: GoMLX's handler writes it into the staging directory,
// then its .bin and .json are synced and renamed into checkpoint/ in that order, and all but the
// newest Keep checkpoints are removed (.json first). A kill at any instant leaves every listed
// checkpoint complete.
func (c *Checkpoints) Save() error {
	if err := c.h.Save(); err != nil {
		return fmt.Errorf("runs: saving a checkpoint: %w", err)
	}
	staged, err := list(c.staging)
	if err != nil {
		return err
	}
	for _, s := range staged {
		for _, suffix := range []string{checkpoint.BinDataSuffix, checkpoint.JsonNameSuffix} {
			src := filepath.Join(c.staging, s.base+suffix)
			if err := syncFile(src); err != nil {
				return fmt.Errorf("runs: saving a checkpoint: %w", err)
			}
			if err := os.Rename(src, filepath.Join(c.dir, s.base+suffix)); err != nil {
				return fmt.Errorf("runs: saving a checkpoint: %w", err)
			}
		}
	}
	if err := syncDir(c.dir); err != nil {
		return err
	}
	return c.prune()
}

// prune removes all but the newest Keep complete checkpoints, and .bin files without a .json
// (a save killed between its two renames).
func (c *Checkpoints) prune() error {
	all, err := list(c.dir)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for i, s := range all {
		if i >= len(all)-Keep {
			keep[s.base] = true
			continue
		}
		for _, suffix := range []string{checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix} {
			if err := os.Remove(filepath.Join(c.dir, s.base+suffix)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("runs: %w", err)
			}
		}
	}
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	for _, e := range entries {
		base, isBin := strings.CutSuffix(e.Name(), checkpoint.BinDataSuffix)
		if isBin && !keep[base] && checkpointName.MatchString(base) {
			if _, err := os.Stat(filepath.Join(c.dir, base+checkpoint.JsonNameSuffix)); os.IsNotExist(err) {
				_ = os.Remove(filepath.Join(c.dir, e.Name()))
			}
		}
	}
	return nil
}

// oneLine keeps the first line of an error (GoMLX's wrapped errors can carry stack traces).
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// LoadStore returns a new store holding the newest readable checkpoint of the run in dir (its
// trained variables and the optimizer's state), e.g. to measure a trained model.
func LoadStore(dir string) (*model.Store, error) {
	d, err := Open(dir, Resume)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var spec Spec
	var rec record
	if err := d.ReadJSON(SpecFile, &rec); err == nil {
		spec = rec.Spec
	}
	store := models.NewStore(int64(spec.Seed))
	c, err := d.Checkpoints(store, nil)
	if err != nil {
		return nil, err
	}
	if c.Loaded == "" {
		return nil, fmt.Errorf("runs: %s has no checkpoint", dir)
	}
	return store, nil
}
