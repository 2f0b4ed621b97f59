package runs

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Row is one line of a run's metrics: after Step optimizer steps, at Epoch (fractional),
// Seconds of training (evaluation excluded), the loss of the last training batch, and the test
// loss and accuracy.
type Row struct {
	Step                           int
	Epoch, Seconds                 float64
	TrainLoss, TestLoss, TestAccur float64
}

// columns is the row schema: metrics.csv's columns in order, and how each is read from and
// written to a Row. Everything else (Columns, Column, the CSV) is derived from it.
var columns = []struct {
	name string
	get  func(*Row) float64
	set  func(*Row, float64)
}{
	{"step", func(r *Row) float64 { return float64(r.Step) }, func(r *Row, v float64) { r.Step = int(v) }},
	{"epoch", func(r *Row) float64 { return r.Epoch }, func(r *Row, v float64) { r.Epoch = v }},
	{"seconds", func(r *Row) float64 { return r.Seconds }, func(r *Row, v float64) { r.Seconds = v }},
	{"train_loss", func(r *Row) float64 { return r.TrainLoss }, func(r *Row, v float64) { r.TrainLoss = v }},
	{"test_loss", func(r *Row) float64 { return r.TestLoss }, func(r *Row, v float64) { r.TestLoss = v }},
	{"test_accuracy", func(r *Row) float64 { return r.TestAccur }, func(r *Row, v float64) { r.TestAccur = v }},
}

// Columns are the names of metrics.csv's columns, in order: the names Column and Curve accept.
var Columns = func() []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}()

// Column returns the named column of r.
func Column(r Row, name string) (float64, error) {
	for _, c := range columns {
		if c.name == name {
			return c.get(&r), nil
		}
	}
	return 0, fmt.Errorf("runs: unknown column %q: want one of %s", name, strings.Join(Columns, ", "))
}

// RowsCSV is metrics.csv's content: the header and one line per row, numbers in full precision.
func RowsCSV(rows []Row) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(Columns)
	for _, r := range rows {
		rec := make([]string, len(columns))
		for i, c := range columns {
			rec[i] = strconv.FormatFloat(c.get(&r), 'g', -1, 64)
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

// ReadRows reads a metrics.csv and keeps the rows up to step upTo, in step order.
func ReadRows(path string, upTo int) ([]Row, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(recs) == 0 || !slices.Equal(recs[0], Columns) {
		return nil, fmt.Errorf("runs: %s is not a qnlab metrics file (%v)", path, err)
	}
	var rows []Row
	for i, rec := range recs[1:] {
		var r Row
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("runs: %s line %d: %q is not a number", path, i+2, s)
			}
			columns[j].set(&r, v)
		}
		if r.Step <= upTo {
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b Row) int { return a.Step - b.Step })
	return rows, nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
