package nb

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"os"
)

// Memo returns compute's result, computed once per kernel session: GoNB runs every cell as a new
// process, so a value several cells read (notebook 03's grid of runs) would be recomputed by
// each. In a notebook (GONB_TMP_DIR set) the first call saves the value with encoding/gob in
// Saved(name) and later calls, in later cells, read it back; restarting the kernel starts a new
// session and recomputes. Outside a notebook it just calls compute.
func Memo[T any](name string, compute func() T) T {
	if os.Getenv("GONB_TMP_DIR") == "" {
		return compute()
	}
	path := Saved(name)
	if data, err := os.ReadFile(path); err == nil {
		var v T
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&v); err == nil {
			return v
		}
	}
	v := compute()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		panic(fmt.Errorf("nb: Memo %s: %w", name, err))
	}
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err == nil {
		_ = os.Rename(tmp, path)
	}
	return v
}
