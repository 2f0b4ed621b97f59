package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"qnlab/pkg/backend"
	"qnlab/pkg/firstorder"
	"qnlab/pkg/funcs"
	"qnlab/pkg/runs"
)

func init() {
	register("zoo", "run one of the lecture's methods (first-order, Newton, CG, BFGS, L-BFGS) on a test function (trajectory CSV)", runZoo)
}

// zooSymbols names each hyperparameter flag (firstorder.AllParams()) in the lecture's symbols.
var zooSymbols = map[string]string{
	"lr": "η, the learning rate", "momentum": "γ, the momentum", "decay": "γ, the decay of the running averages",
	"beta1": "β1", "beta2": "β2", "eps": "ε",
}

// zooFlagHelp is the help of hyperparameter flag p: its symbol and the methods that read it.
func zooFlagHelp(p string) string {
	var users []string
	for _, m := range firstorder.Methods() {
		if slices.Contains(m.Params(), p) {
			users = append(users, m.String())
		}
	}
	return fmt.Sprintf("%s (read by %s; default: the method's, listed above)", zooSymbols[p], strings.Join(users, ", "))
}

func runZoo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("zoo", stderr)
	name := fs.String("func", "quad3", "test function: "+strings.Join(funcs.Names(), ", "))
	dim := fs.Int("dim", 0, "dimension n (default: the function's own, 2 for beale, 3 for quad3, else 2)")
	method := fs.String("method", "", "method: "+firstorder.MethodNames()+" (first-order, graph optimizers); "+strings.Join(zooSecondMethods, ", ")+" (lbfgs.Minimize with a line search) (required)")
	hyper := map[string]*float64{}
	for _, p := range firstorder.AllParams() {
		hyper[p] = fs.Float64(p, 0, zooFlagHelp(p))
	}
	clip := fs.Float64("clip", 0, "if > 0, rescale the gradient to this norm before the rule (gradient clipping; every first-order method)")
	second := zooSecondFlags(fs)
	iters := fs.Int("iters", 1000, "number of updates (first-order methods); the iteration limit (the others)")
	x0Flag := fs.String("x0", "", `start "v,v,…" (default: the lecture's start on quad3 and beale, else the function's standard start)`)
	out := fs.String("out", "", "write the CSV here (replacing an existing file) instead of stdout")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qnlab zoo -method NAME [-func NAME] [-dim n] [-lr η] [-momentum γ] [-decay γ] [-beta1 β1] [-beta2 β2] [-eps ε]")
		fmt.Fprintln(stderr, `                [-iters N] [-x0 "a,b,…"] [-out traj.csv]`)
		fmt.Fprintln(stderr, "Applies -iters updates of the method to the function from x0 in float64 and writes the trajectory as")
		fmt.Fprintln(stderr, "CSV k,f,x1,…,xn: row k is θ after k updates (row 0 the start) and f = f(θ). Each method reads only")
		fmt.Fprintln(stderr, "its own hyperparameters; their defaults, the lecture's on quad3 and beale, and else the usual ones:")
		for _, m := range firstorder.Methods() {
			q, _ := firstorder.Lecture(m, "quad3")
			b, _ := firstorder.Lecture(m, "beale")
			fmt.Fprintf(stderr, "  %-9s quad3: %s\n", m, zooHyperString(m, q))
			fmt.Fprintf(stderr, "  %-9s beale: %s\n", "", zooHyperString(m, b))
			fmt.Fprintf(stderr, "  %-9s else:  %s\n", "", zooHyperString(m, firstorder.Defaults(m)))
		}
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var names []string
	for _, m := range firstorder.Methods() {
		names = append(names, m.String())
	}
	names = append(names, zooSecondMethods...)
	allMethods := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	if strings.TrimSpace(*method) == "" {
		return badInput("-method is required: want %s", allMethods)
	}
	fn := strings.ToLower(strings.TrimSpace(*name))
	if mname := strings.ToLower(strings.TrimSpace(*method)); slices.Contains(zooSecondMethods, mname) {
		for _, p := range append(firstorder.AllParams(), "clip") {
			if set[p] {
				return badInput("-%s is a first-order hyperparameter; %s does not read it", p, mname)
			}
		}
		if err := second.check(mname, set); err != nil {
			return err
		}
		if !slices.Contains(funcs.Names(), fn) {
			return badInput("-func %q: unknown function: want %s", *name, strings.Join(funcs.Names(), ", "))
		}
		return runZooSecond(mname, fn, *dim, set["dim"], *x0Flag, *iters, *out, second, stdout, stderr)
	}
	m, err := firstorder.ParseMethod(*method)
	if err != nil {
		return badInput("-method %q: want %s", *method, allMethods)
	}
	if err := second.refuse(m.String(), set); err != nil {
		return err
	}
	for _, p := range firstorder.AllParams() {
		if set[p] && !slices.Contains(m.Params(), p) {
			return badInput("-%s is not a hyperparameter of %s (it reads %s)", p, m, strings.Join(m.Params(), ", "))
		}
	}
	if !slices.Contains(funcs.Names(), fn) {
		return badInput("-func %q: unknown function: want %s", *name, strings.Join(funcs.Names(), ", "))
	}
	h, lecture := firstorder.Lecture(m, fn)
	if !lecture {
		h = firstorder.Defaults(m)
	}
	for _, p := range m.Params() {
		if set[p] {
			h, _ = h.Set(p, *hyper[p])
		}
	}
	if problem := firstorder.ParamProblem("clip", *clip); problem != "" {
		return badInput("-clip %s: %s", flagNum(*clip), problem)
	}
	h.Clip = *clip
	if err := zooCheckHyper(m, h); err != nil {
		return err
	}
	if *iters < 0 {
		return badInput("-iters %d: must be ≥ 0", *iters)
	}
	var x0Given []float64
	if *x0Flag != "" {
		if x0Given, err = parseVector(*x0Flag); err != nil {
			return badInput("-x0: %v", err)
		}
	}
	if *out != "" {
		if err := checkWritable("-out", *out); err != nil {
			return err
		}
	}
	n := *dim
	if !set["dim"] {
		n = zooDim(fn)
	}
	if n > 0 {
		if err := checkMemory(fmt.Sprintf("-dim %d with -iters %d", n, *iters), zooMemory(n, *iters, *out != "")); err != nil {
			return err
		}
	}
	f, err := funcs.ByName(fn, n)
	if err != nil {
		return badInput("-dim %d: %s", n, strings.TrimPrefix(err.Error(), "funcs: "))
	}
	x0, where := firstorder.LectureStart(f.Name), "the lecture's start"
	if x0 == nil {
		x0, where = append([]float64(nil), f.Start...), "the standard start"
	}
	if x0Given != nil {
		if len(x0Given) != f.Dim {
			return badInput("-x0 has %d values, %s has dimension %d", len(x0Given), f.Name, f.Dim)
		}
		x0, where = x0Given, "-x0"
	}

	b, err := backend.Default()
	if err != nil {
		return err
	}
	tr, runErr := firstorder.Run(b, f, m, h, x0, *iters)
	if tr == nil {
		return fmt.Errorf("run failed: %w", runErr)
	}
	if tr.Diverged && tr.Updates() == 0 { // bad input: f(x0) or x0 not finite, nothing to run
		return badInput("%s: f(x0) = %g is not finite", where, tr.F[0])
	}
	if err := emitZoo(tr, *out, stdout); err != nil {
		return err
	}
	last := tr.Updates()
	switch {
	case runErr != nil: // the rows up to the failure are written
		return fmt.Errorf("run failed (the CSV holds k = 0…%d): %w", last, runErr)
	case tr.Diverged:
		what := fmt.Sprintf("f = %g", tr.F[last])
		if fl := tr.F[last]; !math.IsNaN(fl) && !math.IsInf(fl, 0) {
			what = "θ"
		}
		return fmt.Errorf("diverged at update %d: %s is not finite (the CSV holds k = 0…%d, the last row not finite); %s",
			last, what, last, zooRemedy(m, h))
	}
	summary := fmt.Sprintf("qnlab zoo: %s on %s (%s): f %.3g → %.3g in %d updates", m, f.Name, zooHyperString(m, h),
		tr.F[0], tr.F[last], last)
	if *out != "" {
		_, err = fmt.Fprintf(stdout, "%s; wrote %s\n", summary, *out)
		return err
	}
	fmt.Fprintf(stderr, "%s; %s\n", summary, backend.Describe(b))
	return nil
}

// zooDim is the dimension of the test function fn when -dim is not given: its only one for
// beale (2) and quad3 (3), else 2.
func zooDim(fn string) int {
	if fn == "quad3" {
		return 3
	}
	return 2
}

// zooCheckHyper validates the hyperparameters m reads (firstorder.ParamProblem), as a bad input
// that names the first bad flag.
func zooCheckHyper(m firstorder.Method, h firstorder.Hyper) error {
	for _, p := range m.Params() {
		v, _ := h.Get(p)
		if problem := firstorder.ParamProblem(p, v); problem != "" {
			return badInput("-%s %s: %s: %s %s %s", p, flagNum(v), m, p, flagNum(v), problem)
		}
	}
	return nil
}

// zooHyperString lists the hyperparameters m reads as "lr=0.1, beta1=0.9, …".
func zooHyperString(m firstorder.Method, h firstorder.Hyper) string {
	parts := make([]string, 0, len(m.Params())+1)
	for _, p := range m.Params() {
		v, _ := h.Get(p)
		parts = append(parts, fmt.Sprintf("%s=%g", p, v))
	}
	if h.Clip > 0 {
		parts = append(parts, fmt.Sprintf("clip=%g", h.Clip))
	}
	return strings.Join(parts, ", ")
}

// zooRemedy suggests the flag that shrinks m's steps: -lr, or for adadelta, which has no η and
// whose first steps scale as √ε, -eps.
func zooRemedy(m firstorder.Method, h firstorder.Hyper) string {
	if slices.Contains(m.Params(), "lr") {
		return fmt.Sprintf("try a smaller -lr than %g", h.LR)
	}
	return fmt.Sprintf("try a smaller -eps than %g", h.Eps)
}

// emitZoo writes the trajectory's CSV to out, atomically and whole, or streams it to stdout if
// out is "".
func emitZoo(tr *firstorder.Trajectory, out string, stdout io.Writer) error {
	if out == "" {
		bw := bufio.NewWriter(stdout)
		if err := writeZoo(bw, tr); err != nil {
			return err
		}
		return bw.Flush()
	}
	// At most 25 bytes a number and 21 for k: one allocation, whose untouched tail costs no
	// memory, instead of the copies of a doubling buffer.
	var buf bytes.Buffer
	if len(tr.X) > 0 {
		buf.Grow(len(tr.F) * (25*(len(tr.X[0])+1) + 21))
	}
	if err := writeZoo(&buf, tr); err != nil {
		return err
	}
	return runs.WriteFileAtomic(out, buf.Bytes(), 0o644)
}

// writeZoo writes the trajectory as CSV k,f,x1,…,xn with round-trip exact numbers.
func writeZoo(w io.Writer, tr *firstorder.Trajectory) error {
	n := 0
	if len(tr.X) > 0 {
		n = len(tr.X[0])
	}
	line := make([]byte, 0, 64)
	line = append(line, "k,f"...)
	for i := range n {
		line = append(line, ",x"...)
		line = strconv.AppendInt(line, int64(i+1), 10)
	}
	line = append(line, '\n')
	if _, err := w.Write(line); err != nil {
		return err
	}
	for k, x := range tr.X {
		line = strconv.AppendInt(line[:0], int64(k), 10)
		line = append(line, ',')
		line = strconv.AppendFloat(line, tr.F[k], 'g', -1, 64)
		for _, v := range x {
			line = append(line, ',')
			line = strconv.AppendFloat(line, v, 'g', -1, 64)
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// zooMemory estimates zoo's peak memory in bytes for dimension n and iters updates, with the
// CSV built in memory (-out, written atomically) or streamed (stdout): the compiled update graph
// and f's evaluator, ≈ 300 bytes a coordinate, plus the trajectory, kept to the end: per row θ
// (8n bytes), its slice header, f and their growth (64 bytes), and with -out the row's text
// (≤ 25 bytes a number, 21 for k), all doubled for the garbage collector's headroom. Peak RSS
// (/usr/bin/time, sphere unless noted, 2026-12-07; TestZooMemoryEstimate checks 1–3×) in MB of
// 10⁶ bytes:
//
//	n = 2,   2e6 updates: adam -out 432, stdout 289
//	n = 2,   5e5 updates: gd, adam, nadam -out 123; adam stdout 83
//	n = 1e3, 3e4 updates: rmsprop -out 1126
//	n = 1e4, 3000 updates: adam -out 1097, gd -out 1090; adam stdout 342
//	n = 1e5, 300 updates: adam -out 1103
//	n = 1e6, 3 updates: adam -out 358; rosenbrock nadam -out 473
func zooMemory(n, iters int, csvInMemory bool) float64 {
	d, rows := float64(n), float64(iters)+1
	perRow := 64 + 8*d
	if csvInMemory {
		perRow += 25*(d+1) + 21
	}
	return 50e6 + 1.5*300*d + 2*rows*perRow
}
