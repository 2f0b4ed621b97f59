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
	eps := fs.Float64("eps", lbfgs.DefaultEps, "reject a pair unless yᵀs > eps·‖s‖‖y‖")
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
	dt, ok := map[string]dtypes.DType{"float64": dtypes.Float64, "float32": dtypes.Float32}[*dtype]
	if !ok {
		return badInput("-dtype %q: want float64 or float32", *dtype)
	}
	s, y, g, err := readDirectionInput(*in)
	if err != nil {
		return usageError{err}
	}
	size := *m
	if size == 0 {
		size = max(len(s), 1)
	}
	h, err := lbfgs.NewHistory(size, *eps)
	if err != nil {
		return usageError{err}
	}
	for i := range s {
		if err := h.Push(s[i], y[i]); err != nil {
			fmt.Fprintf(stderr, "qnlab direction: pair %d skipped: %v\n", i, err)
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
	for i, v := range d {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return badInput("%s: d[%d] = %g: the direction overflows %s; rescale the input", *in, i, v, dt)
		}
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

// readDirectionInput reads and validates the -in file; errors name the file and the problem.
func readDirectionInput(path string) (s, y [][]float64, g []float64, err error) {
	var data []byte
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
		path = "stdin"
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in directionInput
	if err := dec.Decode(&in); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: malformed JSON: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, nil, fmt.Errorf("%s: malformed JSON: data after the object", path)
	}
	if len(in.G) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: g is missing or empty", path)
	}
	if len(in.S) != len(in.Y) {
		return nil, nil, nil, fmt.Errorf("%s: %d s vectors but %d y vectors", path, len(in.S), len(in.Y))
	}
	n := len(in.G)
	if g, err = values(in.G, n, "g"); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	s, y = make([][]float64, len(in.S)), make([][]float64, len(in.Y))
	for i := range in.S {
		if s[i], err = values(in.S[i], n, fmt.Sprintf("s[%d]", i)); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if y[i], err = values(in.Y[i], n, fmt.Sprintf("y[%d]", i)); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return s, y, g, nil
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
