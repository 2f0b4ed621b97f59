package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfiled: QNLAB_CPUPROFILE writes a profile and keeps the command's exit code; an existing
// or uncreatable file is refused with exit 2, naming the variable, before the command runs.
func TestProfiled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cpu.prof")
	var stderr bytes.Buffer
	if code := profiled(path, &stderr, func() int { return 3 }); code != 3 || stderr.Len() != 0 {
		t.Fatalf("exit %d, stderr %q; want 3 and nothing", code, stderr.String())
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("profile %s: %v (size %v)", path, err, st)
	}
	for _, bad := range []string{path, filepath.Join(dir, "missing", "cpu.prof")} {
		stderr.Reset()
		ran := false
		code := profiled(bad, &stderr, func() int { ran = true; return 0 })
		if msg := stderr.String(); code != 2 || ran || !strings.HasPrefix(msg, "qnlab: QNLAB_CPUPROFILE="+bad+": ") || strings.Count(msg, "\n") != 1 {
			t.Errorf("%s: exit %d, ran %v, stderr %q; want 2, not run, one line naming the variable", bad, code, ran, msg)
		}
	}
	if code := profiled("", &stderr, func() int { return 0 }); code != 0 {
		t.Errorf("no profile: exit %d", code)
	}
}
