package runs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFileAtomic writes data to path so that a reader, or a process started after a kill at any
// instant, sees either the old file or the new one whole: the data goes to a temporary file in
// the same directory, is synced, and is renamed over path; then the directory is synced.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("runs: writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Chmod(perm), f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("runs: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("runs: writing %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncFile flushes a file's data to disk (before it is renamed into place).
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// syncDir makes a rename in dir durable. Filesystems that cannot sync a directory are ignored.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	defer d.Close()
	// EINVAL: the filesystem cannot sync a directory (the rename is still atomic).
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("runs: %w", err)
	}
	return nil
}
