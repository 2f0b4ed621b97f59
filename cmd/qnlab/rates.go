package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"qnlab/pkg/qn"
)

func init() {
	register("rates", "explicit superlinear rates of classical/greedy/random BFGS, DFP, SR1 on a quadratic (CSV)", runRates)
}

// ratesHeader is the CSV header; bound is the method's explicit λ-bound (empty where none
// applies), theta is empty on the last row.
const ratesHeader = "k,lambda,sigma,theta,eig_min,eig_max,bound"

func runRates(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rates", stderr)
	method := fs.String("method", "", "direction rule: classical, greedy or random (required)")
	update := fs.String("update", "bfgs", "update: bfgs, dfp or sr1")
	n := fs.Int("n", 0, "dimension of the generated quadratic")
	mu := fs.Float64("mu", 0, "μ of the generated quadratic (smallest eigenvalue)")
	L := fs.Float64("L", 0, "L of the generated quadratic (largest eigenvalue)")
	spectrum := fs.String("spectrum", "uniform", "eigenvalues of the generated quadratic: uniform, loguniform or clusters")
	matrix := fs.String("matrix", "", "CSV file with a dense symmetric positive definite A (one row per line) instead of a generated one")
	bFile := fs.String("b", "", "CSV file with b (default: the generated b, or all ones with -matrix)")
	x0File := fs.String("x0", "", "CSV file with x_0 (default: zero)")
	iters := fs.Int("iters", 0, "number of steps (0: 4n + 40)")
	seed := fs.Uint64("seed", 1, "seed of the generated quadratic and of the random directions")
	out := fs.String("out", "", "write the CSV here instead of stdout")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qnlab rates -method classical|greedy|random [-update bfgs|dfp|sr1] -n N -mu x -L x [-spectrum uniform|loguniform|clusters]")
		fmt.Fprintln(stderr, "                   [-matrix A.csv] [-b b.csv] [-x0 x0.csv] [-iters K] [-seed s] [-out rates.csv]")
		fmt.Fprintln(stderr, "Runs x_{k+1} = x_k − G_k⁻¹∇f(x_k) from G_0 = L·I (with -matrix: μ, L = A's extreme eigenvalues).")
		fmt.Fprintln(stderr, "CSV columns: "+ratesHeader+"; lambda = ∇fᵀA⁻¹∇f, sigma = tr(A⁻¹(G−A)),")
		fmt.Fprintln(stderr, "theta = λ_{k+1}/λ_k (empty on the last row), eig_* = extremes of A^{-1/2}GA^{-1/2},")
		fmt.Fprintln(stderr, "bound = λ_0 × the method's explicit bound on λ_k/λ_0 (empty where none applies, +Inf where it overflows).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *method == "" {
		return badInput("-method is required (classical, greedy or random)")
	}
	rule, err := qn.ParseRule(*method)
	if err != nil {
		return usageError{err}
	}
	upd, err := qn.ParseUpdate(*update)
	if err != nil {
		return usageError{err}
	}
	if *iters < 0 {
		return badInput("-iters=%d must be ≥ 0", *iters)
	}
	var q *qn.Quadratic
	if *matrix != "" {
		for _, name := range []string{"n", "mu", "L", "spectrum"} {
			if set[name] {
				return badInput("-%s does not apply with -matrix (n, μ and L come from A)", name)
			}
		}
		if q, err = readQuadratic(*matrix, *bFile); err != nil {
			return usageError{err}
		}
	} else {
		for _, name := range []string{"n", "mu", "L"} {
			if !set[name] {
				return badInput("-%s is required without -matrix", name)
			}
		}
		sp, err := qn.ParseSpectrum(*spectrum)
		if err != nil {
			return usageError{err}
		}
		if q, err = qn.Generate(*n, *mu, *L, sp, *seed); err != nil {
			return usageError{err}
		}
		if *bFile != "" {
			b, err := readVector(*bFile, *n)
			if err != nil {
				return usageError{err}
			}
			if q, err = q.WithB(b); err != nil {
				return usageError{err}
			}
		}
	}
	s := qn.Settings{Rule: rule, Update: upd, Iters: *iters, Seed: *seed}
	if *x0File != "" {
		x0, err := readVector(*x0File, q.Dim())
		if err != nil {
			return usageError{err}
		}
		s.X0 = x0
	}
	recs, err := qn.Run(q, s)
	if err != nil {
		return err
	}
	w := stdout
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			return usageError{err}
		}
		defer f.Close()
		w = f
	}
	if err := writeRates(w, recs); err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
	}
	last := recs[len(recs)-1]
	fmt.Fprintf(stderr, "qnlab rates: %v %v, n=%d μ=%g L=%g: λ_%d/λ_0 = %.3g, σ_%d = %.3g\n",
		rule, upd, q.Dim(), q.Mu(), q.L(), last.K, last.Lambda/recs[0].Lambda, last.K, last.Sigma)
	return nil
}

// writeRates writes the records as CSV with full float64 precision; NaN is written as empty.
func writeRates(w io.Writer, recs []qn.Record) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, ratesHeader)
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	for _, r := range recs {
		fmt.Fprintf(bw, "%d,%s,%s,%s,%s,%s,%s\n", r.K, num(r.Lambda), num(r.Sigma), num(r.Theta),
			num(r.EigMin), num(r.EigMax), num(r.Bound))
	}
	return bw.Flush()
}

// readQuadratic reads A from a CSV file (one row per line) and b from bFile, or all ones.
func readQuadratic(aFile, bFile string) (*qn.Quadratic, error) {
	rows, err := readCSV(aFile)
	if err != nil {
		return nil, err
	}
	n := len(rows)
	if n == 0 {
		return nil, fmt.Errorf("%s: no rows", aFile)
	}
	a := mat.NewDense(n, n, nil)
	for i, row := range rows {
		if len(row) != n {
			return nil, fmt.Errorf("%s: row %d has %d values, want %d (A must be square)", aFile, i+1, len(row), n)
		}
		a.SetRow(i, row)
	}
	var b *mat.VecDense
	if bFile != "" {
		if b, err = readVector(bFile, n); err != nil {
			return nil, err
		}
	} else {
		b = mat.NewVecDense(n, nil)
		for i := range n {
			b.SetVec(i, 1)
		}
	}
	q, err := qn.NewQuadratic(a, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", aFile, err)
	}
	return q, nil
}

// readVector reads n numbers from a CSV file: one row, one column, or any layout.
func readVector(path string, n int) (*mat.VecDense, error) {
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	var v []float64
	for _, row := range rows {
		v = append(v, row...)
	}
	if len(v) != n {
		return nil, fmt.Errorf("%s: %d values, want n=%d", path, len(v), n)
	}
	return mat.NewVecDense(n, v), nil
}

// readCSV reads a file of comma-separated numbers; blank lines and lines starting with '#'
// are skipped. Errors name the file, line and field.
func readCSV(path string) ([][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.Comment = '#'
	var rows [][]float64
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		row := make([]float64, len(rec))
		for j, field := range rec {
			v, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s:%d: field %d %q is not a finite number", path, line, j+1, field)
			}
			row[j] = v
		}
		rows = append(rows, row)
	}
}
