package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memoryLimit returns the bytes this process may use: the smaller of the machine's memory
// (MemTotal in /proc/meminfo) and the cgroup v2 limit (/sys/fs/cgroup/memory.max), or 0 if
// neither can be read. A variable so that tests can set a limit.
var memoryLimit = func() float64 {
	limit := 0.0
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(fields[1], 64); err == nil {
					limit = kb * 1024
				}
			}
		}
		f.Close()
	}
	if data, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if b, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64); err == nil && b > 0 && (limit == 0 || b < limit) {
			limit = b
		}
	}
	return limit
}

// checkMemory refuses a request whose estimated peak memory (need, in bytes; a float64 so that
// absurd sizes cannot overflow) exceeds what this machine has: a bad input (exit 2) that names
// the request, e.g. checkMemory("-dim 1000000000000", need). An unknown machine size refuses
// nothing.
func checkMemory(what string, need float64) error {
	have := memoryLimit()
	if have <= 0 || need <= have {
		return nil
	}
	return badInput("%s needs about %s of memory; this machine has %s", what, gigabytes(need), gigabytes(have))
}

// gigabytes formats bytes as "12.3 GB" (GB = 2³⁰ bytes), or in e-notation when huge.
func gigabytes(b float64) string {
	gb := b / (1 << 30)
	if gb >= 1e6 {
		return fmt.Sprintf("%.2g GB", gb)
	}
	return fmt.Sprintf("%.1f GB", gb)
}

// checkWritable refuses an output path that cannot be written, before a run spends time on a
// result it could not save: a directory, a path in a missing or unwritable directory, or a
// file that cannot be opened for writing. flagName names the flag in the message. It leaves
// an existing file unchanged and creates none.
func checkWritable(flagName, path string) error {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return badInput("%s %s: is a directory", flagName, path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return badInput("%s %s: cannot write: %v", flagName, path, pathErr(err))
		}
		return f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".qnlab-check-*")
	if err != nil {
		return badInput("%s %s: cannot create: %v", flagName, path, pathErr(err))
	}
	f.Close()
	_ = os.Remove(f.Name()) // a probe left behind is harmless
	return nil
}

// pathErr returns the cause of a *fs.PathError ("permission denied"), whose own message names
// a path the user did not give.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// flagNum formats a float flag's value as the user would type it: "Inf", "-Inf", "NaN", 1e-05.
func flagNum(v float64) string {
	return strings.TrimPrefix(strconv.FormatFloat(v, 'g', -1, 64), "+")
}
