package runs

import "time"

// watchStalls warns through logf whenever no step has finished for stallAfter: the pure-Go
// backend can deadlock (DESIGN.md), and a long run must never hang silently.
func watchStalls(lastStep <-chan int, done <-chan struct{}, stallAfter time.Duration, logf func(string, ...any)) {
	step, last := 0, time.Now()
	tick := time.NewTicker(min(stallAfter/4, 10*time.Second) + time.Millisecond)
	defer tick.Stop()
	warned := time.Time{}
	for {
		select {
		case <-done:
			return
		case step = <-lastStep:
			last = time.Now()
		case now := <-tick.C:
			if now.Sub(last) >= stallAfter && now.Sub(warned) >= stallAfter {
				logf("qnlab: WARNING: no training step has finished for %s (last finished: step %d); the backend may be deadlocked (DESIGN.md: the pure-Go backend's worker pool) — interrupt and rerun with -resume",
					now.Sub(last).Round(time.Second), step)
				warned = now
			}
		}
	}
}
