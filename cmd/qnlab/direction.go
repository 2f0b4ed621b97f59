package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/gomlx/compute/dtypes"

	"qnlab/pkg/backend"
	"qnlab/pkg/lbfgs"
)

func init() {
	register("direction", "L-BFGS direction d = −H·g from curvature pairs in JSON (two-loop kernel)", runDirection)
}

// directionInput is the -in file: pairs oldest first, every vector the same length.
// Elements are pointers so that a JSON null is an error, not a silent 0.
type directionInput struct {
	S [][]*float64 `json:"s"`
	Y [][]*float64 `json:"y"`
	G []*float64   `json:"g"`
}

type directionOutput struct {
	D        []float64 `json:"d"`
	Gamma    float64   `json:"gamma"`
	Accepted int       `json:"accepted"`
}

func runDirection(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("direction", stderr)
	in := fs.String("in", "", `JSON file {"s": [[…],…], "y": [[…],…], "g": […]}, pairs oldest first ("-": stdin)`)
	out := fs.String("out", "", "write the JSON result here instead of stdout")
	m := fs.Int("m", 0, "history size: keep the newest m accepted pairs (0: all)")
	eps := fs.Float64("eps", lbfgs.DefaultEps, "reject a pair unless yᵀs > eps·‖s‖‖y‖, 0 ≤ eps < 1 (0: the default)")
	dtype := fs.String("dtype", "float64", "kernel precision: float64 or float32")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qnlab direction -in pairs.json [-out d.json] [-m N] [-eps x] [-dtype float64|float32]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" {
		return badInput("-in is required")
	}
	if *m < 0 {
		return badInput("-m %d: must be ≥ 0 (0: all pairs)", *m)
	}
	// By Cauchy–Schwarz yᵀs ≤ ‖s‖‖y‖: eps ≥ 1 would reject every pair.
	if !(*eps >= 0 && *eps < 1) {
		return badInput("-eps %s: must be ≥ 0 and < 1", flagNum(*eps))
	}
	dt, ok := map[string]dtypes.DType{"float64": dtypes.Float64, "float32": dtypes.Float32}[*dtype]
	if !ok {
		return badInput("-dtype %q: want float64 or float32", *dtype)
	}
	if *out != "" {
		if err := checkWritable("-out", *out); err != nil {
			return err
		}
	}
	s, y, g, err := readDirectionInput(*in, *m)
	if err != nil {
		return err
	}
	name := *in
	if name == "-" {
		name = "stdin"
	}
	if dt == dtypes.Float32 {
		if err := fitsFloat32(name, s, y, g); err != nil {
			return err
		}
	}
	size := *m
	if size == 0 {
		size = max(len(s), 1)
	}
	h, err := lbfgs.NewHistory(size, *eps)
	if err != nil {
		return usageError{err}
	}
	var kept []int // input index of each stored pair, oldest first
	for i := range s {
		if err := h.Push(s[i], y[i]); err != nil {
			fmt.Fprintf(stderr, "qnlab direction: pair %d skipped: %v\n", i, err)
			continue
		}
		kept = append(kept, i)
		kept = kept[max(0, len(kept)-size):]
	}
	if dt == dtypes.Float32 {
		if err := pairsFitFloat32(name, h, kept); err != nil {
			return err
		}
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "qnlab direction:", backend.Describe(b))
	k, err := lbfgs.NewKernel(b, dt)
	if err != nil {
		return err
	}
	d, gamma, err := k.Direction(h, g)
	if err != nil {
		return err
	}
	// The inputs, ρ_i and γ fit dt, so a non-finite d means an intermediate of the two-loop
	// recursion (α_i, q, r) overflowed.
	for i, v := range d {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return badInput("%s: d[%d] = %g: the two-loop recursion overflows %s (the scales of g, s and y are too far apart); rescale the input",
				name, i, v, *dtype)
		}
	}
	if math.IsNaN(gamma) || math.IsInf(gamma, 0) {
		return badInput("%s: γ = %g is not finite in %s; rescale the input", name, gamma, *dtype)
	}
	res, err := json.Marshal(directionOutput{D: d, Gamma: gamma, Accepted: h.Len()})
	if err != nil {
		return err
	}
	res = append(res, '\n')
	if *out == "" {
		_, err = stdout.Write(res)
		return err
	}
	return os.WriteFile(*out, res, 0o644)
}

// readDirectionInput reads and validates the -in file; errors (usageErrors) name the file and
// the problem. m is -m, for the memory estimate.
func readDirectionInput(path string, m int) (s, y [][]float64, g []float64, err error) {
	var data []byte
	if path == "-" {
		path = "stdin"
		// directionMemory is at most 50 MB + 58 bytes a byte (a number per 2 bytes): read no
		// more than the machine could decode.
		r := io.Reader(os.Stdin)
		limit := int64(memoryLimit() / 58)
		if limit > 0 {
			r = io.LimitReader(r, limit+1)
		}
		if data, err = io.ReadAll(r); limit > 0 && int64(len(data)) > limit {
			return nil, nil, nil, badInput("-in -: stdin holds more than the %d bytes this machine's memory can decode", limit)
		}
	} else {
		fi, statErr := os.Stat(path)
		if statErr != nil {
			return nil, nil, nil, usageError{statErr}
		}
		if fi.IsDir() {
			return nil, nil, nil, badInput("-in %s: is a directory", path)
		}
		if err := checkMemory(fmt.Sprintf("-in %s (%d bytes)", path, fi.Size()), 50e6+float64(fi.Size())); err != nil {
			return nil, nil, nil, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, nil, nil, usageError{err}
	}
	// Every JSON array has at most one value more than it has commas.
	numbers := float64(bytes.Count(data, []byte(",")) + bytes.Count(data, []byte("[")))
	if err := checkMemory("-in "+path, directionMemory(len(data), numbers, 0)); err != nil {
		return nil, nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in directionInput
	if err := dec.Decode(&in); err != nil {
		return nil, nil, nil, badInput("%s: malformed JSON: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, nil, badInput("%s: malformed JSON: data after the object", path)
	}
	if len(in.G) == 0 {
		return nil, nil, nil, badInput("%s: g is missing or empty", path)
	}
	if len(in.S) != len(in.Y) {
		return nil, nil, nil, badInput("%s: %d s vectors but %d y vectors", path, len(in.S), len(in.Y))
	}
	pairs := len(in.S)
	if m > 0 {
		pairs = min(pairs, m)
	}
	if err := checkMemory(fmt.Sprintf("-in %s with %d pairs", path, pairs), directionMemory(len(data), numbers, float64(pairs))); err != nil {
		return nil, nil, nil, err
	}
	n := len(in.G)
	if g, err = values(in.G, n, "g"); err != nil {
		return nil, nil, nil, badInput("%s: %w", path, err)
	}
	s, y = make([][]float64, len(in.S)), make([][]float64, len(in.Y))
	for i := range in.S {
		if s[i], err = values(in.S[i], n, fmt.Sprintf("s[%d]", i)); err != nil {
			return nil, nil, nil, badInput("%s: %w", path, err)
		}
		if y[i], err = values(in.Y[i], n, fmt.Sprintf("y[%d]", i)); err != nil {
			return nil, nil, nil, badInput("%s: %w", path, err)
		}
	}
	return s, y, g, nil
}

// directionMemory estimates direction's peak memory in bytes for an input of size bytes with
// at most numbers numbers and pairs pairs in the kernel: per number its JSON decoding (a
// pointer and a float64), the copies in the history and the kernel and the two-loop's
// temporaries; per pair the nodes of the compiled graph. Fitted to peak RSS (/usr/bin/time,
// 2026-12-02), 12 MB base subtracted, then ×1.5:
//
//	n 1e5, 10 pairs (2.1e6 numbers, 13 MB file): 128 MB; 50 pairs: 601 MB
//	n 1e6, 10 pairs (2.1e7 numbers, 135 MB):     1413 MB, float32 1539 MB    → 55–73 B/number
//	n 1000, 1000 pairs: 120 MB; n 1, 2000 pairs: 65 MB, 8000 pairs: 243 MB → 26–29 KB/pair
func directionMemory(size int, numbers, pairs float64) float64 {
	return 50e6 + float64(size) + 1.5*(75*numbers+30e3*pairs)
}

// fitsFloat32 refuses, for -dtype float32, an input value that float32 cannot hold: one
// beyond ±math.MaxFloat32 (it would become ±Inf) or a nonzero one that rounds to 0.
func fitsFloat32(path string, s, y [][]float64, g []float64) error {
	check := func(name string, v []float64) error {
		for i, x := range v {
			switch {
			case math.Abs(x) > math.MaxFloat32:
				return badInput("%s: %s[%d] = %g overflows float32 (|v| > %.4g); rescale the input or use -dtype float64",
					path, name, i, x, math.MaxFloat32)
			case x != 0 && float32(x) == 0:
				return badInput("%s: %s[%d] = %g underflows float32 to 0 (|v| < %.2g); rescale the input or use -dtype float64",
					path, name, i, x, math.SmallestNonzeroFloat32/2)
			}
		}
		return nil
	}
	if err := check("g", g); err != nil {
		return err
	}
	for i := range s {
		if err := check(fmt.Sprintf("s[%d]", i), s[i]); err != nil {
			return err
		}
		if err := check(fmt.Sprintf("y[%d]", i), y[i]); err != nil {
			return err
		}
	}
	return nil
}

// pairsFitFloat32 refuses, for -dtype float32, a stored pair whose yᵀs or yᵀy, or the newest
// pair's γ = yᵀs/yᵀy, leaves [1/MaxFloat32, MaxFloat32]: the kernel computes ρ = 1/yᵀs and γ
// from them, which would become ±Inf, 0 or NaN. kept holds each stored pair's index in the input.
func pairsFitFloat32(path string, h *lbfgs.History, kept []int) error {
	check := func(pair int, name string, v float64) error {
		switch {
		case v > math.MaxFloat32:
			return badInput("%s: pair %d: %s = %.3g overflows float32; rescale the input or use -dtype float64", path, pair, name, v)
		case v < 1/math.MaxFloat32:
			return badInput("%s: pair %d: %s = %.3g underflows float32; rescale the input or use -dtype float64", path, pair, name, v)
		}
		return nil
	}
	pairs := h.Pairs()
	for i, p := range pairs {
		var ys, yy float64
		for j := range p.S {
			ys += p.Y[j] * p.S[j]
			yy += p.Y[j] * p.Y[j]
		}
		if err := check(kept[i], "yᵀs", ys); err != nil {
			return err
		}
		if err := check(kept[i], "yᵀy", yy); err != nil {
			return err
		}
		if i == len(pairs)-1 {
			if err := check(kept[i], "γ = yᵀs/yᵀy", ys/yy); err != nil {
				return err
			}
		}
	}
	return nil
}

// values checks a vector's length against g's and rejects nulls.
func values(v []*float64, n int, name string) ([]float64, error) {
	if len(v) != n {
		return nil, fmt.Errorf("%s has length %d, g has length %d", name, len(v), n)
	}
	out := make([]float64, n)
	for i, p := range v {
		if p == nil {
			return nil, fmt.Errorf("%s[%d] is null", name, i)
		}
		out[i] = *p
	}
	return out, nil
}
