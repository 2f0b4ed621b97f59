package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// formula2 is an independent, literal implementation of the seed note's formula (2) (Nocedal &
// Wright eq. 7.19) on plain slices: it forms every V_i = I − ρ_i y_i s_iᵀ as a matrix and
// multiplies the products out, applying the same curvature rule yᵀs > eps·‖s‖‖y‖ to choose
// the pairs. It returns −H_k·g, γ and the number of pairs used.
func formula2(s, y [][]float64, g []float64, eps float64) ([]float64, float64, int) {
	n := len(g)
	var S, Y [][]float64
	for i := range s {
		var sy, ss, yy float64
		for j := range n {
			sy += s[i][j] * y[i][j]
			ss += s[i][j] * s[i][j]
			yy += y[i][j] * y[i][j]
		}
		if sy > eps*math.Sqrt(ss)*math.Sqrt(yy) {
			S, Y = append(S, s[i]), append(Y, y[i])
		}
	}
	m := len(S)
	eye := func() [][]float64 {
		a := make([][]float64, n)
		for i := range a {
			a[i] = make([]float64, n)
			a[i][i] = 1
		}
		return a
	}
	matmul := func(a, b [][]float64) [][]float64 {
		c := make([][]float64, n)
		for i := range c {
			c[i] = make([]float64, n)
			for k := range n {
				for j := range n {
					c[i][j] += a[i][k] * b[k][j]
				}
			}
		}
		return c
	}
	transpose := func(a [][]float64) [][]float64 {
		t := eye()
		for i := range n {
			for j := range n {
				t[i][j] = a[j][i]
			}
		}
		return t
	}
	rho := make([]float64, m)
	V := make([][][]float64, m)
	for i := range m {
		var sy float64
		for j := range n {
			sy += S[i][j] * Y[i][j]
		}
		rho[i] = 1 / sy
		V[i] = eye()
		for a := range n {
			for b := range n {
				V[i][a][b] -= rho[i] * Y[i][a] * S[i][b]
			}
		}
	}
	gamma := 1.0
	if m > 0 {
		var yy float64
		for j := range n {
			yy += Y[m-1][j] * Y[m-1][j]
		}
		gamma = 1 / (rho[m-1] * yy)
	}
	// tail(j) = V_j V_{j+1} ⋯ V_{m-1}; tail(m) = I.
	tail := func(j int) [][]float64 {
		p := eye()
		for i := j; i < m; i++ {
			p = matmul(p, V[i])
		}
		return p
	}
	H := make([][]float64, n)
	P0 := tail(0)
	lead := matmul(transpose(P0), P0)
	for a := range n {
		H[a] = make([]float64, n)
		for b := range n {
			H[a][b] = gamma * lead[a][b]
		}
	}
	for j := range m {
		P := tail(j + 1)
		ss := make([][]float64, n)
		for a := range n {
			ss[a] = make([]float64, n)
			for b := range n {
				ss[a][b] = rho[j] * S[j][a] * S[j][b]
			}
		}
		term := matmul(matmul(transpose(P), ss), P)
		for a := range n {
			for b := range n {
				H[a][b] += term[a][b]
			}
		}
	}
	d := make([]float64, n)
	for a := range n {
		for b := range n {
			d[a] -= H[a][b] * g[b]
		}
	}
	return d, gamma, m
}

// runCLI runs qnlab in-process and returns its exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestDirectionMatchesIndependentFormula2: for random valid inputs (varied m, d, scales, some
// pairs without curvature) the command's d agrees with formula2 to 1e-10 relative in float64.
func TestDirectionMatchesIndependentFormula2(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	dir := t.TempDir()
	worst := 0.0
	for c := range 60 {
		n := 1 + rng.IntN(24)
		m := rng.IntN(9)
		scale := math.Pow(10, 4*rng.Float64()-2)
		in := directionFile{G: randVec(rng, n, 1)}
		for range m {
			s := randVec(rng, n, scale)
			y := make([]float64, n)
			for j := range y {
				y[j] = (0.2+3*rng.Float64())*s[j] + 0.3*scale*rng.NormFloat64()/math.Sqrt(float64(n))
			}
			if rng.IntN(6) == 0 { // now and then a pair with negative curvature
				for j := range y {
					y[j] = -y[j]
				}
			}
			in.S, in.Y = append(in.S, s), append(in.Y, y)
		}
		path := filepath.Join(dir, "p.json")
		data, _ := json.Marshal(in)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI("direction", "-in", path)
		if code != 0 {
			t.Fatalf("case %d: exit %d: %s", c, code, stderr)
		}
		var got directionOutput
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("case %d: output %q: %v", c, stdout, err)
		}
		want, gamma, used := formula2(in.S, in.Y, in.G, 1e-8)
		if got.Accepted != used {
			t.Errorf("case %d: accepted %d pairs, formula2 used %d", c, got.Accepted, used)
		}
		e := relErrVec(got.D, want)
		worst = max(worst, e)
		if e > 1e-10 || math.Abs(got.Gamma-gamma) > 1e-10*gamma {
			t.Errorf("case %d (n=%d, m=%d): relative error %.3g, γ %g vs %g", c, n, m, e, got.Gamma, gamma)
		}
	}
	t.Logf("worst relative error vs the independent formula (2): %.2g", worst)
}

type directionFile struct {
	S [][]float64 `json:"s"`
	Y [][]float64 `json:"y"`
	G []float64   `json:"g"`
}

func randVec(rng *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = scale * rng.NormFloat64()
	}
	return v
}

func relErrVec(a, b []float64) float64 {
	var num, den float64
	for i := range b {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	return math.Sqrt(num / den)
}

func TestDirectionBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ json, want string }{
		"malformed": {`{"s": [[1, 2]`, "malformed JSON"},
		"trailing":  {`{"s":[],"y":[],"g":[1]} {}`, "data after the object"},
		"unknown":   {`{"s":[],"y":[],"g":[1],"h":2}`, "unknown field"},
		"empty g":   {`{"s":[],"y":[],"g":[]}`, "g is missing or empty"},
		"no g":      {`{"s":[[1]],"y":[[1]]}`, "g is missing or empty"},
		"ragged s":  {`{"s":[[1,2],[1]],"y":[[1,2],[1,2]],"g":[1,2]}`, "s[1] has length 1"},
		"ragged y":  {`{"s":[[1,2]],"y":[[1,2,3]],"g":[1,2]}`, "y[0] has length 3"},
		"counts":    {`{"s":[[1,2]],"y":[],"g":[1,2]}`, "1 s vectors but 0 y vectors"},
		"null":      {`{"s":[[1,null]],"y":[[1,2]],"g":[1,2]}`, "s[0][1] is null"},
		"string":    {`{"s":[["a",1]],"y":[[1,2]],"g":[1,2]}`, "malformed JSON"},
	}
	for name, c := range cases {
		path := filepath.Join(dir, "in.json")
		if err := os.WriteFile(path, []byte(c.json), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI("direction", "-in", path)
		if code != 2 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "in.json") {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q naming the file", name, code, stderr, c.want)
		}
		if lines := strings.Count(strings.TrimSpace(lastLine(stderr)), "\n"); lines != 0 {
			t.Errorf("%s: error is not one line", name)
		}
	}
	for _, args := range [][]string{
		{"direction"},
		{"direction", "-in", filepath.Join(dir, "missing.json")},
		{"direction", "-in", filepath.Join(dir, "in.json"), "-dtype", "float16"},
		{"direction", "-nosuchflag"},
	} {
		if code, _, stderr := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d (stderr %q), want 2", args, code, stderr)
		}
	}
}

// TestDirectionFlagsAndRangesExitTwo: bad flags, outputs and values that float32 (or float64)
// cannot hold exit 2 with one line naming the flag, or the file and the element; the output
// file is checked before the run.
func TestDirectionFlagsAndRangesExitTwo(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	good := `{"s":[[1,0],[0,1]],"y":[[2,0],[0,4]],"g":[2,4]}`
	for _, c := range []struct {
		json string
		args []string
		want string
	}{
		{good, []string{"-m", "-1"}, "-m -1: must be ≥ 0"},
		{good, []string{"-eps", "NaN"}, "-eps NaN: must be ≥ 0 and < 1"},
		{good, []string{"-eps", "Inf"}, "-eps Inf: must be ≥ 0 and < 1"},
		{good, []string{"-eps", "-1e-8"}, "-eps -1e-08: must be ≥ 0 and < 1"},
		{good, []string{"-eps", "1"}, "-eps 1: must be ≥ 0 and < 1"},
		{good, []string{"-m", "x"}, "-m"},
		{good, []string{"-out", filepath.Join(dir, "missing", "d.json")}, "-out " + filepath.Join(dir, "missing", "d.json") + ": cannot create: no such file or directory"},
		{good, []string{"-out", dir}, "-out " + dir + ": is a directory"},
		{good, []string{"-in", dir}, "-in " + dir + ": is a directory"},
		{`{"s":[[1,2,3,1e39]],"y":[[1,2,3,4]],"g":[1,2,3,4]}`, []string{"-dtype", "float32"}, "in.json: s[0][3] = 1e+39 overflows float32"},
		{`{"s":[[1,2,3,4]],"y":[[1,2,3,-4e38]],"g":[1,2,3,4]}`, []string{"-dtype", "float32"}, "in.json: y[0][3] = -4e+38 overflows float32"},
		{`{"s":[[1,2]],"y":[[1,2]],"g":[1e300,2]}`, []string{"-dtype", "float32"}, "in.json: g[0] = 1e+300 overflows float32"},
		{`{"s":[[1,2,3,1e-50]],"y":[[1,2,3,4]],"g":[1,2,3,4]}`, []string{"-dtype", "float32"}, "in.json: s[0][3] = 1e-50 underflows float32 to 0"},
		{`{"s":[[1,2]],"y":[[1,2]],"g":[-1e-46,2]}`, []string{"-dtype", "float32"}, "in.json: g[0] = -1e-46 underflows float32 to 0"},
		{`{"s":[[1e-20,1e-20]],"y":[[1e-20,1e-20]],"g":[1,2]}`, []string{"-dtype", "float32"}, "in.json: pair 0: yᵀs = 2e-40 underflows float32"},
		{`{"s":[[1,1],[1e20,1e20]],"y":[[1,2],[1e20,1e20]],"g":[1,2]}`, []string{"-dtype", "float32"}, "in.json: pair 1: yᵀs = 2e+40 overflows float32"},
		{`{"s":[[-2.5625e25]],"y":[[-2.5625e-18]],"g":[3e-23]}`, []string{"-dtype", "float32"}, "in.json: pair 0: γ = yᵀs/yᵀy = 1e+43 overflows float32"},
		{`{"s":[[1,1]],"y":[[1,1]],"g":[3e38,3e38]}`, []string{"-dtype", "float32"}, "in.json: d[0] = NaN: the two-loop recursion overflows float32"},
		{`{"s":[[1,1]],"y":[[1,1]],"g":[1e308,1e308]}`, nil, "in.json: d[0] = NaN: the two-loop recursion overflows float64"},
	} {
		if err := os.WriteFile(in, []byte(c.json), 0o644); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"direction", "-in", in}, c.args...)
		code, stdout, stderr := runCLI(args...)
		if code != 2 || !strings.Contains(lastLine(stderr), c.want) || stdout != "" || messages(stderr, "qnlab direction: ") > 2 {
			t.Errorf("%q on %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, c.json, code, stdout, stderr, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("refused runs left files: %v", entries)
	}
	// Accepted: -m beyond the pairs allocates nothing; -eps 0 means the default; float32 runs.
	if err := os.WriteFile(in, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-m", "1000000000000"}, {"-eps", "0"}, {"-dtype", "float32"}, {"-dtype", "float32", "-m", "1"}} {
		code, stdout, stderr := runCLI(append([]string{"direction", "-in", in}, args...)...)
		var out directionOutput
		if err := json.Unmarshal([]byte(stdout), &out); code != 0 || err != nil || len(out.D) != 2 {
			t.Errorf("%q: exit %d, stdout %q (%v), stderr %q", args, code, stdout, err, stderr)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// FuzzDirectionInput: any input file, in float64 or float32 (chosen by the fuzzer) and with
// -m 0…3, gives exit 0 with finite JSON or exit 2 with a one-line message naming the file;
// never exit 1 and never a panic.
func FuzzDirectionInput(f *testing.F) {
	for _, seed := range []string{
		`{"s":[[1,0],[0,1]],"y":[[2,0],[0,4]],"g":[2,4]}`,
		`{"s":[[1e308,1]],"y":[[1e308,1]],"g":[1,1]}`,
		`{"s":[[0,0]],"y":[[0,0]],"g":[0,0]}`,
		`{"s":[[1]],"y":[[-1]],"g":[1e-320]}`,
		`{"s":[[1,2,3,1e39]],"y":[[1,2,3,4]],"g":[1,2,3,4]}`,
		`{"s":[[1,2,3,1e-50]],"y":[[1,2,3,4]],"g":[1,2,3,4]}`,
		`{"s":[[1e-20,1e-20]],"y":[[1e-20,1e-20]],"g":[1,2]}`,
		`{"s":[[1,1]],"y":[[1,1]],"g":[3e38,3e38]}`,
		`{"s":[[1,1]],"y":[[1,1]],"g":[1e308,1e308]}`,
		`{"s":[[-2.5625e25]],"y":[[-2.5625e-18]],"g":[3e-23]}`,
	} {
		f.Add([]byte(seed), byte(0))
		f.Add([]byte(seed), byte(1))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, opts byte) {
		path := filepath.Join(dir, "f.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		dtype := []string{"float64", "float32"}[opts&1]
		args := []string{"direction", "-in", path, "-dtype", dtype, "-m", strconv.Itoa(int(opts>>1) % 4)}
		code, stdout, stderr := runCLI(args...)
		switch code {
		case 0:
			var out directionOutput
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("%v: exit 0 but output %q: %v", args, stdout, err)
			}
		case 2:
			msg := lastLine(stderr)
			if !strings.HasPrefix(msg, "qnlab direction: ") || !strings.Contains(msg, "f.json") {
				t.Fatalf("%v: exit 2 with message %q, want one line naming the file", args, msg)
			}
		default:
			t.Fatalf("%v: exit %d (want 0 or 2): %s", args, code, stderr)
		}
	})
}
