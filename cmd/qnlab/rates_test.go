package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// indepRates is an independent implementation of the rates methods for the -matrix test: plain
// slices, the inverse form H = G⁻¹ with the textbook inverse updates (Nocedal & Wright 2006
// eqs. 6.17, 6.15 and 6.25 with s = u, y = Au), A⁻¹ by Gauss–Jordan elimination, L and the
// square roots of G by the cyclic Jacobi eigenvalue method. It returns λ_0, …, λ_iters.
func indepRates(a, b, x0 []float64, n int, method, update string, seed uint64, iters int) []float64 {
	at := func(m []float64, i, j int) float64 { return m[i*n+j] }
	mulVec := func(m, v []float64) []float64 {
		out := make([]float64, n)
		for i := range n {
			for j := range n {
				out[i] += at(m, i, j) * v[j]
			}
		}
		return out
	}
	dot := func(u, v []float64) float64 {
		s := 0.0
		for i := range u {
			s += u[i] * v[i]
		}
		return s
	}
	ainv := gaussJordanInverse(a, n)
	evA, _ := jacobiEigen(a, n)
	L := evA[0]
	for _, e := range evA {
		L = math.Max(L, e)
	}
	h := make([]float64, n*n)
	for i := range n {
		h[i*n+i] = 1 / L
	}
	x := append([]float64(nil), x0...)
	rng := rand.New(rand.NewPCG(seed, 0xda3e39cb94b95bdb))
	var lambdas []float64
	for k := 0; ; k++ {
		g := mulVec(a, x)
		for i := range g {
			g[i] -= b[i]
		}
		lambdas = append(lambdas, dot(g, mulVec(ainv, g)))
		if k == iters {
			return lambdas
		}
		hg := mulVec(h, g)
		for i := range x {
			x[i] -= hg[i]
		}
		var u []float64
		switch method {
		case "classical":
			u = make([]float64, n)
			for i := range u {
				u[i] = -hg[i]
			}
		case "greedy", "random":
			// G^{±1/2} = V·Λ^{∓1/2}·Vᵀ from H = VΛVᵀ.
			ev, v := jacobiEigen(h, n)
			pow := func(p float64) []float64 {
				m := make([]float64, n*n)
				for i := range n {
					for j := range n {
						for l := range n {
							m[i*n+j] += v[i*n+l] * math.Pow(ev[l], p) * v[j*n+l]
						}
					}
				}
				return m
			}
			gHalf, gMinusHalf := pow(-0.5), pow(0.5)
			var e []float64
			if method == "greedy" {
				best, bestM := 0, math.Inf(-1)
				for i := range n {
					col := make([]float64, n)
					for r := range n {
						col[r] = at(gHalf, r, i)
					}
					if m := dot(col, mulVec(ainv, col)); m > bestM {
						best, bestM = i, m
					}
				}
				e = make([]float64, n)
				e[best] = 1
			} else {
				e = make([]float64, n)
				for i := range e {
					e[i] = rng.NormFloat64()
				}
			}
			u = mulVec(gMinusHalf, e)
		}
		y := mulVec(a, u)
		hy := mulVec(h, y)
		yu, yhy := dot(y, u), dot(y, hy)
		switch update {
		case "bfgs": // H₊ = (I − ρuyᵀ)H(I − ρyuᵀ) + ρuuᵀ, expanded
			rho := 1 / yu
			for i := range n {
				for j := range n {
					h[i*n+j] += -rho*(u[i]*hy[j]+hy[i]*u[j]) + (rho*rho*yhy+rho)*u[i]*u[j]
				}
			}
		case "dfp": // H₊ = H − HyyᵀH/(yᵀHy) + uuᵀ/(yᵀu)
			for i := range n {
				for j := range n {
					h[i*n+j] += -hy[i]*hy[j]/yhy + u[i]*u[j]/yu
				}
			}
		case "sr1": // H₊ = H + (u − Hy)(u − Hy)ᵀ/((u − Hy)ᵀy)
			r := make([]float64, n)
			for i := range r {
				r[i] = u[i] - hy[i]
			}
			if d := dot(r, y); math.Abs(d) > 1e-8*math.Sqrt(dot(r, r)*dot(y, y)) {
				for i := range n {
					for j := range n {
						h[i*n+j] += r[i] * r[j] / d
					}
				}
			}
		}
	}
}

// gaussJordanInverse inverts the n×n row-major m with partial pivoting.
func gaussJordanInverse(m []float64, n int) []float64 {
	w := 2 * n
	aug := make([]float64, n*w)
	for i := range n {
		copy(aug[i*w:], m[i*n:(i+1)*n])
		aug[i*w+n+i] = 1
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(aug[r*w+c]) > math.Abs(aug[p*w+c]) {
				p = r
			}
		}
		for j := range w {
			aug[c*w+j], aug[p*w+j] = aug[p*w+j], aug[c*w+j]
		}
		piv := aug[c*w+c]
		for j := range w {
			aug[c*w+j] /= piv
		}
		for r := range n {
			if f := aug[r*w+c]; r != c && f != 0 {
				for j := range w {
					aug[r*w+j] -= f * aug[c*w+j]
				}
			}
		}
	}
	inv := make([]float64, n*n)
	for i := range n {
		copy(inv[i*n:(i+1)*n], aug[i*w+n:(i+1)*w])
	}
	return inv
}

// jacobiEigen returns the eigenvalues and eigenvectors (columns of the row-major v) of the
// symmetric n×n m by cyclic Jacobi rotations.
func jacobiEigen(m []float64, n int) ([]float64, []float64) {
	a := append([]float64(nil), m...)
	v := make([]float64, n*n)
	for i := range n {
		v[i*n+i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		off, norm := 0.0, 0.0
		for i := range n {
			for j := range n {
				norm += a[i*n+j] * a[i*n+j]
				if i != j {
					off += a[i*n+j] * a[i*n+j]
				}
			}
		}
		if off <= 1e-30*norm {
			break
		}
		for p := 0; p < n-1; p++ {
			for q := p + 1; q < n; q++ {
				if a[p*n+q] == 0 {
					continue
				}
				theta := (a[q*n+q] - a[p*n+p]) / (2 * a[p*n+q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range n { // columns p, q of a·J
					akp, akq := a[k*n+p], a[k*n+q]
					a[k*n+p], a[k*n+q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := range n { // rows p, q of Jᵀ·a
					apk, aqk := a[p*n+k], a[q*n+k]
					a[p*n+k], a[q*n+k] = c*apk-s*aqk, s*apk+c*aqk
				}
				for k := range n {
					vkp, vkq := v[k*n+p], v[k*n+q]
					v[k*n+p], v[k*n+q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	ev := make([]float64, n)
	for i := range n {
		ev[i] = a[i*n+i]
	}
	return ev, v
}

// ratesProblem writes a random SPD A (eigenvalues log-spaced in [1, κ], eigenvectors by
// Gram–Schmidt of a Gaussian matrix), b and x0 as CSV files and returns them with the paths.
func ratesProblem(t *testing.T, n int, kappa float64, seed uint64) (a, b, x0 []float64, aPath, bPath, x0Path string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	q := make([]float64, n*n) // columns orthonormalised in turn
	for j := range n {
		for i := range n {
			q[i*n+j] = rng.NormFloat64()
		}
		for k := range j {
			d := 0.0
			for i := range n {
				d += q[i*n+j] * q[i*n+k]
			}
			for i := range n {
				q[i*n+j] -= d * q[i*n+k]
			}
		}
		nrm := 0.0
		for i := range n {
			nrm += q[i*n+j] * q[i*n+j]
		}
		for i := range n {
			q[i*n+j] /= math.Sqrt(nrm)
		}
	}
	a = make([]float64, n*n)
	for i := range n {
		for j := i; j < n; j++ {
			s := 0.0
			for l := range n {
				s += q[i*n+l] * math.Pow(kappa, float64(l)/float64(n-1)) * q[j*n+l]
			}
			a[i*n+j], a[j*n+i] = s, s
		}
	}
	b, x0 = make([]float64, n), make([]float64, n)
	for i := range n {
		b[i], x0[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	dir := t.TempDir()
	aPath, bPath, x0Path = filepath.Join(dir, "A.csv"), filepath.Join(dir, "b.csv"), filepath.Join(dir, "x0.csv")
	var sa, sb, sx strings.Builder
	for i := range n {
		for j := range n {
			if j > 0 {
				sa.WriteByte(',')
			}
			sa.WriteString(strconv.FormatFloat(a[i*n+j], 'g', -1, 64))
		}
		sa.WriteByte('\n')
		if i > 0 {
			sb.WriteByte(',') // b as one row
		}
		sb.WriteString(strconv.FormatFloat(b[i], 'g', -1, 64))
		sx.WriteString(strconv.FormatFloat(x0[i], 'g', -1, 64) + "\n") // x0 as one column
	}
	for path, s := range map[string]string{aPath: sa.String(), bPath: sb.String() + "\n", x0Path: sx.String()} {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return a, b, x0, aPath, bPath, x0Path
}

// runRatesCSV runs `qnlab rates args…` in-process and parses its CSV.
func runRatesCSV(t *testing.T, args ...string) (header []string, rows [][]string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"rates"}, args...), &out, &errb); code != 0 {
		t.Fatalf("qnlab rates %v: exit %d: %s", args, code, errb.String())
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("qnlab rates %v: CSV: %v (%d lines)", args, err, len(recs))
	}
	return recs[0], recs[1:]
}

func TestRatesMatrixMatchesIndependent(t *testing.T) {
	const n, kappa, seed, iters = 12, 300.0, 5, 120
	a, b, x0, aPath, bPath, x0Path := ratesProblem(t, n, kappa, 11)
	// Classical SR1 is left out: with unit steps it is unstable on this problem (changing b by
	// 1e-15 relative changes λ_8 by 1e-4 in either implementation), so no two float64
	// implementations agree to 1e-8 past k ≈ 6.
	for _, m := range []struct{ method, update string }{
		{"classical", "bfgs"}, {"greedy", "bfgs"}, {"random", "bfgs"},
		{"classical", "dfp"}, {"greedy", "dfp"}, {"random", "dfp"},
		{"greedy", "sr1"}, {"random", "sr1"},
	} {
		_, rows := runRatesCSV(t, "-method", m.method, "-update", m.update, "-matrix", aPath, "-b", bPath,
			"-x0", x0Path, "-iters", fmt.Sprint(iters), "-seed", fmt.Sprint(seed))
		want := indepRates(a, b, x0, n, m.method, m.update, seed, iters)
		if len(rows) != iters+1 {
			t.Fatalf("%v: %d rows, want %d", m, len(rows), iters+1)
		}
		worst, checked := 0.0, 0
		for k, row := range rows {
			lam, err := strconv.ParseFloat(row[1], 64)
			if err != nil {
				t.Fatalf("%v row %d: %v", m, k, err)
			}
			if lam < 1e-12*want[0] {
				break
			}
			checked++
			e := math.Abs(lam-want[k]) / want[k]
			worst = math.Max(worst, e)
			if e > 1e-8 {
				t.Errorf("%v k=%d: λ_k = %.17g, independent %.17g (relative difference %.2g)", m, k, lam, want[k], e)
				break
			}
		}
		if checked < 5 {
			t.Errorf("%v: only %d steps above 1e-12·λ_0", m, checked)
		}
		t.Logf("%s %s: %d steps compared, max relative difference %.2g", m.method, m.update, checked, worst)
	}
}

func TestRatesCSV(t *testing.T) {
	args := []string{"-n", "8", "-mu", "0.5", "-L", "40", "-spectrum", "clusters", "-iters", "15", "-seed", "3"}
	for _, method := range []string{"classical", "greedy", "random"} {
		header, rows := runRatesCSV(t, append([]string{"-method", method}, args...)...)
		if got := strings.Join(header, ","); got != ratesHeader {
			t.Fatalf("header %q, want %q", got, ratesHeader)
		}
		if len(rows) != 16 {
			t.Fatalf("%s: %d rows, want 16", method, len(rows))
		}
		for k, row := range rows {
			if len(row) != 7 || row[0] != fmt.Sprint(k) {
				t.Fatalf("%s row %d: %q", method, k, row)
			}
			for c := 1; c < 7; c++ {
				empty := (c == 3 && k == 15) || (c == 6 && method == "random")
				if (row[c] == "") != empty {
					t.Errorf("%s row %d: %s = %q (want empty: %v)", method, k, header[c], row[c], empty)
				}
			}
		}
		if rows[0][6] != "" && rows[0][6] != rows[0][1] {
			t.Errorf("%s: bound at k=0 is %s, want λ_0 = %s", method, rows[0][6], rows[0][1])
		}
	}
	// Same seed, same bytes; -out writes what stdout gets; another seed, other numbers.
	var out1, out2, out3, errb bytes.Buffer
	path := filepath.Join(t.TempDir(), "rates.csv")
	run(append([]string{"rates", "-method", "random"}, args...), &out1, &errb)
	run(append([]string{"rates", "-method", "random", "-out", path}, args...), &out2, &errb)
	run(append([]string{"rates", "-method", "random", "-seed", "4"}, args[:len(args)-2]...), &out3, &errb)
	file, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(file, out1.Bytes()) || out2.Len() != 0 {
		t.Errorf("-out file differs from stdout (err %v, stdout %d bytes)", err, out2.Len())
	}
	if bytes.Equal(out1.Bytes(), out3.Bytes()) {
		t.Error("seeds 3 and 4 gave the same CSV")
	}
}

func TestRatesMatrixConstants(t *testing.T) {
	// A = diag(2, 5, 10) written with spaces and a comment: μ = 2, L = 10, b = 1, x0 = 0.
	dir := t.TempDir()
	aPath := filepath.Join(dir, "A.csv")
	if err := os.WriteFile(aPath, []byte("# A\n2, 0, 0\n0, 5, 0\n\n0, 0, 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, rows := runRatesCSV(t, "-method", "greedy", "-matrix", aPath, "-iters", "2")
	// λ_0 = bᵀA⁻¹b = 1/2 + 1/5 + 1/10; G_0 = 10·I, so A^{-1/2}G_0A^{-1/2} has eigenvalues 1 … 5.
	want := map[int]float64{1: 0.8, 4: 1, 5: 5}
	for c, w := range want {
		if v, err := strconv.ParseFloat(rows[0][c], 64); err != nil || math.Abs(v-w) > 1e-14 {
			t.Errorf("row 0 column %d = %s, want %g", c, rows[0][c], w)
		}
	}
}

func TestRatesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", "2,1\n1,2\n")
	gen := []string{"-n", "4", "-mu", "1", "-L", "10"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{gen, "-method is required"},
		{append([]string{"-method", "newton"}, gen...), `unknown method "newton"`},
		{append([]string{"-method", "greedy", "-update", "lbfgs"}, gen...), `unknown update "lbfgs"`},
		{append([]string{"-method", "greedy", "-spectrum", "flat"}, gen...), `unknown spectrum "flat"`},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "1"}, "-L is required without -matrix"},
		{[]string{"-method", "greedy", "-n", "0", "-mu", "1", "-L", "10"}, "-n 0: must be ≥ 1"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "0", "-L", "10"}, "-mu 0: must be finite and > 0"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "20", "-L", "10"}, "-mu 20 is larger than -L 10"},
		{append([]string{"-method", "greedy", "-iters", "-1"}, gen...), "-iters -1: must be ≥ 0"},
		{[]string{"-method", "greedy", "-matrix", good, "-n", "2"}, "-n does not apply with -matrix"},
		{[]string{"-method", "greedy", "-matrix", write("nonsym.csv", "2,1\n0.5,2\n")}, "not symmetric"},
		{[]string{"-method", "greedy", "-matrix", write("indef.csv", "1,2\n2,1\n")}, "not positive definite"},
		{[]string{"-method", "greedy", "-matrix", write("ragged.csv", "1,0\n0\n")}, "row 2 has 1 values, want 2"},
		{[]string{"-method", "greedy", "-matrix", write("text.csv", "1,0\n0,x\n")}, `text.csv:2: field 2 "x" is not a finite number`},
		{[]string{"-method", "greedy", "-matrix", write("nan.csv", "1,0\n0,NaN\n")}, "not a finite number"},
		{[]string{"-method", "greedy", "-matrix", filepath.Join(dir, "missing.csv")}, "no such file"},
		{[]string{"-method", "greedy", "-matrix", good, "-b", write("b3.csv", "1,2,3\n")}, "3 values, want n=2"},
		{append([]string{"-method", "greedy", "-x0", write("x1.csv", "1\n")}, gen...), "1 values, want n=4"},
		{append([]string{"-method", "greedy", "extra"}, gen...), "unexpected arguments"},
		// issue 9: every flag's NaN, Inf, negative, zero, huge and wrong-type values
		{[]string{"-method", "greedy", "-n", "4", "-mu", "1e-300", "-L", "1e300"}, "-mu 1e-300 -L 1e+300: the condition number L/μ ≈ 1e600 overflows float64"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "1e-10", "-L", "1e10"}, "-mu 1e-10 -L 1e+10: the condition number L/μ = 1e+20 is too large"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "1", "-L", "1e16"}, "-mu 1 -L 1e+16: the condition number L/μ = 1e+16 is too large"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "1e-300", "-L", "1e-299"}, "-mu 1e-300: must be between 1e-150 and 1e+150"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "1e200", "-L", "1e201"}, "-L 1e+201: must be between 1e-150 and 1e+150"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "NaN", "-L", "10"}, "-mu NaN: must be finite and > 0"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "Inf", "-L", "10"}, "-mu Inf: must be finite and > 0"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "-1", "-L", "10"}, "-mu -1: must be finite and > 0"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "1", "-L", "NaN"}, "-L NaN: must be finite and > 0"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "1", "-L", "Inf"}, "-L Inf: must be finite and > 0"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "1", "-L", "0"}, "-L 0: must be finite and > 0"},
		{[]string{"-method", "greedy", "-n", "-3", "-mu", "1", "-L", "10"}, "-n -3: must be ≥ 1"},
		{[]string{"-method", "greedy", "-n", "four", "-mu", "1", "-L", "10"}, "-n"},
		{[]string{"-method", "greedy", "-n", "4", "-mu", "x", "-L", "10"}, "-mu"},
		{append([]string{"-method", "greedy", "-seed", "-1"}, gen...), "-seed"},
		{append([]string{"-method", "greedy", "-iters", "1.5"}, gen...), "-iters"},
		{append([]string{"-method", "greedy", "-out", filepath.Join(dir, "missing", "r.csv")}, gen...), "-out " + filepath.Join(dir, "missing", "r.csv") + ": cannot create: no such file or directory"},
		{append([]string{"-method", "greedy", "-out", dir}, gen...), "-out " + dir + ": is a directory"},
		{append([]string{"-method", "greedy", "-b", write("bbig.csv", "1e300,1e300,1e300,1e300\n")}, gen...), "λ_0 = ∇f(x_0)ᵀA⁻¹∇f(x_0) = +Inf overflows float64; rescale -b"},
		{[]string{"-method", "greedy", "-matrix", good, "-x0", write("xbig.csv", "1e300,1e300\n")}, "rescale -matrix, -x0"},
		{[]string{"-method", "greedy", "-matrix", write("inf.csv", "1,0\n0,1e400\n")}, "not a finite number"},
		{[]string{"-method", "greedy", "-matrix", dir}, dir},
		{[]string{"-method", "greedy", "-matrix", write("huge.csv", "3e243,0\n0,3e236\n")}, "huge.csv: A's eigenvalues span [3e+236, 3e+243]; they must lie between 1e-150 and 1e+150"},
		{[]string{"-method", "greedy", "-matrix", write("tiny.csv", "3e-187,0\n0,3e-180\n")}, "tiny.csv: A's eigenvalues span [3e-187, 3e-180]"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"rates"}, c.args...), &out, &errb)
		msg := lastLine(errb.String())
		if code != 2 || !strings.Contains(msg, c.want) || out.Len() != 0 || messages(errb.String(), "qnlab rates: ") != 1 {
			t.Errorf("rates %q: exit %d, stdout %q, stderr %q; want exit 2, one line with %q, no output", c.args, code, out.String(), errb.String(), c.want)
		}
		if !slices.Contains(c.args, "-matrix") && (strings.Contains(msg, "qn: A") || strings.Contains(msg, "singular")) {
			t.Errorf("rates %q: %q blames a matrix the user did not give", c.args, msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Error("a refused -out created its directory")
	}
}

// TestRatesSR1PastConvergence: classical SR1 on n = 3 runs its default 52 steps, past the
// point where G = A to rounding, with finite rows (it used to fail at step 45 with NaN in G).
func TestRatesSR1PastConvergence(t *testing.T) {
	for _, seed := range []string{"1", "2", "3"} {
		for _, method := range []string{"classical", "random"} {
			_, rows := runRatesCSV(t, "-method", method, "-update", "sr1", "-n", "3", "-mu", "1", "-L", "1000", "-seed", seed)
			if len(rows) != 4*3+40+1 && rows[len(rows)-1][1] != "0" {
				t.Errorf("%s seed %s: %d rows, want 53 or an exact λ = 0", method, seed, len(rows))
			}
			for k, row := range rows {
				for c := 1; c < len(row); c++ {
					if v, err := strconv.ParseFloat(row[c], 64); row[c] != "" && (err != nil || math.IsNaN(v) || math.IsInf(v, 0)) {
						t.Fatalf("%s seed %s row %d column %d = %q", method, seed, k, c, row[c])
					}
				}
			}
		}
	}
}

// TestRatesTinyWhitenedBlock: A with off-diagonal entries of 1e-140 makes G_0 − A a block of
// norm 1e-140, on which gonum's eigenvalue-only path panicked; the run completes.
func TestRatesTinyWhitenedBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "A.csv")
	if err := os.WriteFile(path, []byte("1,1e-140\n1e-140,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"classical", "greedy", "random"} {
		_, rows := runRatesCSV(t, "-method", method, "-matrix", path, "-iters", "3")
		if len(rows) < 2 || rows[0][4] != "1" || rows[0][5] != "1" {
			t.Errorf("%s: rows %q, want eigenvalues 1, 1 at k = 0", method, rows)
		}
	}
}
