package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unsafe"

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
		return badInput("-iters %d: must be ≥ 0 (0: 4n + 40)", *iters)
	}
	if *out != "" {
		if err := checkWritable("-out", *out); err != nil {
			return err
		}
	}
	// memory refuses a dimension whose run this machine cannot hold, before anything n×n exists.
	memory := func(what string, n int) error {
		if *iters > 0 {
			what += fmt.Sprintf(" with -iters %d", *iters)
		}
		return checkMemory(what, ratesMemory(n, *iters))
	}
	var q *qn.Quadratic
	if *matrix != "" {
		for _, name := range []string{"n", "mu", "L", "spectrum"} {
			if set[name] {
				return badInput("-%s does not apply with -matrix (n, μ and L come from A)", name)
			}
		}
		check := func(n int) error { return memory(fmt.Sprintf("-matrix %s (%d×%d)", *matrix, n, n), n) }
		if q, err = readQuadratic(*matrix, *bFile, check); err != nil {
			return err
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
		if err := checkGenerated(*n, *mu, *L); err != nil {
			return err
		}
		if err := memory(fmt.Sprintf("-n %d", *n), *n); err != nil {
			return err
		}
		if q, err = qn.Generate(*n, *mu, *L, sp, *seed); err != nil {
			return badInput("-mu %s -L %s: L/μ = %.3g is too large for a generated quadratic of dimension %d in float64: %w",
				flagNum(*mu), flagNum(*L), *L / *mu, *n, err)
		}
		if *bFile != "" {
			b, err := readVector(*bFile, *n)
			if err != nil {
				return usageError{err}
			}
			if q, err = q.WithB(b); err != nil {
				return badInput("-b %s: %w", *bFile, err)
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
	x0 := s.X0
	if x0 == nil {
		x0 = mat.NewVecDense(q.Dim(), nil)
	}
	if lam := q.Lambda(x0); math.IsInf(lam, 0) || math.IsNaN(lam) {
		// A generated quadratic without -b and -x0 has λ_0 = bᵀA⁻¹b ≤ ‖b‖²/μ, b ~ N(0, I),
		// μ ≥ minEig: finite.
		var from []string
		for _, name := range []string{"matrix", "b", "x0"} {
			if set[name] {
				from = append(from, "-"+name)
			}
		}
		return badInput("λ_0 = ∇f(x_0)ᵀA⁻¹∇f(x_0) = %g overflows float64; rescale %s", lam, strings.Join(from, ", "))
	}
	recs, runErr := qn.Run(q, s)
	if len(recs) == 0 {
		return fmt.Errorf("run failed: %w", runErr)
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
	if runErr != nil { // the rows up to the failure are written
		return fmt.Errorf("run failed (the CSV holds k = 0…%d): %w", len(recs)-1, runErr)
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
// check is called with n, the length of A's first row, before the other rows are read; its
// error is returned as it is, any other as a usageError.
func readQuadratic(aFile, bFile string, check func(n int) error) (*qn.Quadratic, error) {
	var checkErr error
	rows, err := readCSV(aFile, func(row []float64) bool {
		checkErr = check(len(row))
		return checkErr == nil
	})
	if checkErr != nil {
		return nil, checkErr
	}
	if err != nil {
		return nil, usageError{err}
	}
	n := len(rows)
	if n == 0 {
		return nil, badInput("%s: no rows", aFile)
	}
	a := mat.NewDense(n, n, nil)
	for i, row := range rows {
		if len(row) != n {
			return nil, badInput("%s: row %d has %d values, want %d (A must be square)", aFile, i+1, len(row), n)
		}
		a.SetRow(i, row)
	}
	var b *mat.VecDense
	if bFile != "" {
		if b, err = readVector(bFile, n); err != nil {
			return nil, usageError{err}
		}
	} else {
		b = mat.NewVecDense(n, nil)
		for i := range n {
			b.SetVec(i, 1)
		}
	}
	q, err := qn.NewQuadratic(a, b)
	if err != nil {
		return nil, badInput("%s: %w", aFile, err)
	}
	if mu, L := q.Mu(), q.L(); mu < minEig || L > maxEig || L/mu >= maxKappa {
		return nil, badInput("%s: A's eigenvalues span [%.3g, %.3g]; they must lie between %g and %g, with L/μ < %.2g",
			aFile, mu, L, minEig, maxEig, maxKappa)
	}
	return q, nil
}

// readVector reads n numbers from a CSV file: one row, one column, or any layout.
func readVector(path string, n int) (*mat.VecDense, error) {
	rows, err := readCSV(path, nil)
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
// are skipped. Errors name the file, line and field. If first is not nil, it is called with
// the first row, and reading stops (with no error) if it returns false.
func readCSV(path string, first func(row []float64) bool) ([][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	need, err := csvMemory(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkMemory("reading "+path, need); err != nil {
		return nil, err
	}
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
		if len(rows) == 0 && first != nil && !first(row) {
			return nil, nil
		}
		rows = append(rows, row)
	}
}

// csvMemory bounds readCSV's peak memory for the file f and rewinds it: its longest line
// costs up to 45 bytes a byte while it is parsed (csv.Reader's buffers, a string and a float64
// a field; measured: 2.07 GB peak RSS for one line of 50 MB, "0,0,…"), the rows kept 8 bytes
// a value, at most 4 a byte of the file (a value and its comma take at least 2).
func csvMemory(f *os.File) (float64, error) {
	var size, line, longest int
	buf := make([]byte, 1<<16)
	for {
		n, err := f.Read(buf)
		for chunk := buf[:n]; len(chunk) > 0; {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				line += len(chunk)
				break
			}
			longest, line = max(longest, line+i), 0
			chunk = chunk[i+1:]
		}
		size += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	longest = max(longest, line)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return 50e6 + 45*float64(longest) + 4*float64(size), nil
}

// minEig and maxEig bound -mu and -L, and A's eigenvalues with -matrix: beyond them the
// updates' products (uᵀAu ~ L², G's entries times A's) underflow or overflow; at μ = L =
// 1e-300 random SR1 fails at step 21, at μ = 1e290, L = 1e300 DFP at step 1 (measured, n = 6).
const minEig, maxEig = 1e-150, 1e150

// maxKappa is 1/ε for float64: A = QDQᵀ is formed with errors ≈ ε·L, which swamp μ once
// L/μ ≥ 1/ε (measured: Generate fails at L/μ = 1e16 for n = 4 and 6; 1e15 passed up to n = 30).
const maxKappa float64 = 1 << 52

// checkGenerated validates -n, -mu and -L of a generated quadratic; errors name the flags.
func checkGenerated(n int, mu, L float64) error {
	switch {
	case n < 1:
		return badInput("-n %d: must be ≥ 1", n)
	case !(mu > 0) || math.IsInf(mu, 0):
		return badInput("-mu %s: must be finite and > 0", flagNum(mu))
	case !(L > 0) || math.IsInf(L, 0):
		return badInput("-L %s: must be finite and > 0", flagNum(L))
	case mu > L:
		return badInput("-mu %s is larger than -L %s: want μ ≤ L", flagNum(mu), flagNum(L))
	case math.IsInf(L/mu, 0):
		return badInput("-mu %s -L %s: the condition number L/μ ≈ 1e%.0f overflows float64",
			flagNum(mu), flagNum(L), math.Log10(L)-math.Log10(mu))
	case L/mu >= maxKappa:
		return badInput("-mu %s -L %s: the condition number L/μ = %.3g is too large: float64 needs L/μ < 1/ε ≈ %.2g",
			flagNum(mu), flagNum(L), L/mu, maxKappa)
	case mu < minEig || L > maxEig:
		v, name := mu, "-mu"
		if L > maxEig {
			v, name = L, "-L"
		}
		return badInput("%s %s: must be between %g and %g (a product of two eigenvalues must stay within float64's range)",
			name, flagNum(v), minEig, maxEig)
	}
	return nil
}

// ratesMemory estimates rates' peak memory in bytes for dimension n and iters steps (0: 4n +
// 40): about 20 n×n float64 matrices (A, its eigenvectors, Cholesky factor and inverse, G and
// the work of its factorisations) and a Record per step. Fitted to peak RSS (/usr/bin/time,
// -mu 1 -L 10, 2026-12-02), 12 MB base subtracted, then ×1.5:
//
//	-iters 2:  n 200: 16–18 MB, 500: 40–52 MB, 1000: 112–157 MB (classical–greedy sr1),
//	           2000: 543 MB (greedy); -matrix of n 1000: 142 MB
//	-iters 20: n 1000: 170–171 MB                                    → 133–160 B·n²
func ratesMemory(n, iters int) float64 {
	d, k := float64(n), float64(iters)
	if iters == 0 {
		k = 4*d + 40 // qn.Settings.Iters's default
	}
	return 50e6 + 1.5*160*d*d + 2*k*float64(unsafe.Sizeof(qn.Record{}))
}
