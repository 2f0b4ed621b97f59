package main

import (
	"bufio"
	"fmt"
	"os"
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
