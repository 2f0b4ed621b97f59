package nb

import (
	"fmt"
	"html"
	"math"
	"sync"

	"github.com/janpfeifer/gonb/gonbui"

	"qnlab/pkg/runs"
)

// ProgressLine returns an Options.Report that shows one line in the cell's output — title,
// step of total, training loss, last test accuracy, training seconds — updated in place (a GoNB
// HTML display with an id, so the rendered page keeps the final state, not every update).
func ProgressLine(title string) func(runs.Progress) {
	id := gonbui.UniqueId()
	return func(p runs.Progress) { gonbui.UpdateHTML(id, progressHTML(title, p)) }
}

// ExperimentProgress returns a runs.RunExperiments report: one in-place line per experiment.
func ExperimentProgress() func(name string, p runs.Progress) {
	return keyedProgress()
}

// RaceProgress returns a Race.Report: one in-place line per contender and seed.
func RaceProgress() func(label string, seed uint64, p runs.Progress) {
	show := keyedProgress()
	return func(label string, seed uint64, p runs.Progress) { show(fmt.Sprintf("%s, seed %d", label, seed), p) }
}

// keyedProgress shows one ProgressLine per key, created on the key's first report.
func keyedProgress() func(key string, p runs.Progress) {
	var mu sync.Mutex
	lines := map[string]func(runs.Progress){}
	return func(key string, p runs.Progress) {
		mu.Lock()
		line, ok := lines[key]
		if !ok {
			line = ProgressLine(key)
			lines[key] = line
		}
		mu.Unlock()
		line(p)
	}
}

// progressHTML is one progress line.
func progressHTML(title string, p runs.Progress) string {
	state := "running"
	if p.Done {
		state = "done"
	}
	acc := ""
	if !math.IsNaN(p.Accuracy) {
		acc = fmt.Sprintf(" · test accuracy %.2f%%", 100*p.Accuracy)
	}
	loss := ""
	if !math.IsNaN(p.Loss) {
		loss = fmt.Sprintf(" · loss %.4g", p.Loss)
	}
	return fmt.Sprintf(`<div style="font: 12px/1.5 monospace; color: #555">%s: step %d of %d%s%s · %.1f s · %s</div>`,
		html.EscapeString(title), p.Step, p.Total, loss, acc, p.Seconds, state)
}
