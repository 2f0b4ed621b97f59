package firstorder

import (
	"fmt"
	"math"
	"strings"

	"qnlab/internal/enum"
)

// Method is one of the lecture's first-order update rules.
type Method int

// The methods, in the lecture's order (seed 001, §1–§2; Ruder 2016, §4).
const (
	GD Method = iota + 1
	Momentum
	Nesterov
	Adagrad
	Adadelta
	RMSProp
	Adam
	AdaMax
	Nadam
)

var methodNames = enum.Names[Method]{GD: "gd", Momentum: "momentum", Nesterov: "nesterov", Adagrad: "adagrad",
	Adadelta: "adadelta", RMSProp: "rmsprop", Adam: "adam", AdaMax: "adamax", Nadam: "nadam"}

// String returns the method's name as -method and -opt take it ("gd", "momentum", …).
func (m Method) String() string { return methodNames.String(m, "Method") }

// ParseMethod returns the method called name.
func ParseMethod(name string) (Method, error) {
	return methodNames.Parse("firstorder", "method", strings.ToLower(strings.TrimSpace(name)))
}

// Methods returns every method, in the lecture's order.
func Methods() []Method {
	out := make([]Method, 0, len(methodNames)-1)
	for m := GD; m <= Nadam; m++ {
		out = append(out, m)
	}
	return out
}

// MethodNames lists the names as "gd, momentum, … or nadam".
func MethodNames() string { return methodNames.List() }

// Hyper holds the hyperparameters of every method; each method reads only its own (Params).
// The names are qnlab's flag names.
type Hyper struct {
	// LR is η, the learning rate (all but adadelta, which has none).
	LR float64 `json:"lr"`
	// Momentum is γ of momentum and nesterov.
	Momentum float64 `json:"momentum"`
	// Decay is γ of adadelta and rmsprop: the decay of their running averages.
	Decay float64 `json:"decay"`
	// Beta1, Beta2 are β1, β2 of adam, adamax and nadam.
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Eps is ε of adagrad, adadelta, rmsprop, adam and nadam.
	Eps float64 `json:"eps"`
	// Clip, if > 0, rescales the gradient to global norm ≤ Clip before any method's rule
	// (gradient clipping, Pascanu, Mikolov & Bengio 2013; the lecture's 梯度截断 for cliffs). It is
	// not among a method's Params: every method takes it, and 0 (no clipping) changes nothing.
	Clip float64 `json:"clip"`
}

// Params lists the hyperparameters (flag names) m reads, in Hyper's order.
func (m Method) Params() []string {
	switch m {
	case GD:
		return []string{"lr"}
	case Momentum, Nesterov:
		return []string{"lr", "momentum"}
	case Adagrad:
		return []string{"lr", "eps"}
	case Adadelta:
		return []string{"decay", "eps"}
	case RMSProp:
		return []string{"lr", "decay", "eps"}
	case Adam, Nadam:
		return []string{"lr", "beta1", "beta2", "eps"}
	case AdaMax:
		return []string{"lr", "beta1", "beta2"}
	}
	return nil
}

// AllParams lists every hyperparameter name, in Hyper's order.
func AllParams() []string { return []string{"lr", "momentum", "decay", "beta1", "beta2", "eps"} }

// Get returns the hyperparameter called name (a flag name); ok is false for an unknown name.
func (h Hyper) Get(name string) (v float64, ok bool) {
	if p := h.field(name); p != nil {
		return *p, true
	}
	return 0, false
}

// Set sets the hyperparameter called name and returns h; an unknown name is an error.
func (h Hyper) Set(name string, v float64) (Hyper, error) {
	p := h.field(name)
	if p == nil {
		return h, fmt.Errorf("firstorder: unknown hyperparameter %q (want %s)", name, strings.Join(AllParams(), ", "))
	}
	*p = v
	return h, nil
}

func (h *Hyper) field(name string) *float64 {
	switch name {
	case "lr":
		return &h.LR
	case "momentum":
		return &h.Momentum
	case "decay":
		return &h.Decay
	case "beta1":
		return &h.Beta1
	case "beta2":
		return &h.Beta2
	case "eps":
		return &h.Eps
	case "clip":
		return &h.Clip
	}
	return nil
}

// WithDefaults returns h with each hyperparameter m reads that is 0 replaced by Defaults(m)'s.
func (h Hyper) WithDefaults(m Method) Hyper {
	d := Defaults(m)
	for _, name := range m.Params() {
		if v, _ := h.Get(name); v == 0 {
			dv, _ := d.Get(name)
			h, _ = h.Set(name, dv)
		}
	}
	return h
}

// Only returns h with the hyperparameters m does not read set to 0 (Clip is kept).
func (h Hyper) Only(m Method) Hyper {
	out := Hyper{Clip: h.Clip}
	for _, name := range m.Params() {
		v, _ := h.Get(name)
		out, _ = out.Set(name, v)
	}
	return out
}

// Defaults returns m's hyperparameters for training a network (qnlab mnist): the usual defaults of
// the methods' papers and of PyTorch/Keras, except adam's ε = 1e-7, GoMLX's Adam default, which
// the runs before this package used (their numbers stay bit-identical).
func Defaults(m Method) Hyper {
	switch m {
	case GD:
		return Hyper{LR: 0.01}
	case Momentum, Nesterov:
		return Hyper{LR: 0.01, Momentum: 0.9}
	case Adagrad:
		return Hyper{LR: 0.01, Eps: 1e-10} // PyTorch's
	case Adadelta:
		return Hyper{Decay: 0.95, Eps: 1e-6} // Zeiler 2012, §4
	case RMSProp:
		return Hyper{LR: 0.001, Decay: 0.9, Eps: 1e-8} // Tieleman & Hinton: γ = 0.9
	case Adam:
		return Hyper{LR: 0.001, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}
	case AdaMax:
		return Hyper{LR: 0.002, Beta1: 0.9, Beta2: 0.999} // Kingma & Ba 2015, Alg. 2
	case Nadam:
		return Hyper{LR: 0.002, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} // Dozat 2016
	}
	return Hyper{}
}

// Lecture returns the hyperparameters the lecture (seed 001, "算例展示" after each method) prints
// for its 3-D function (fn "quad3") and its 2-D one (fn "beale"), and false for another function.
// The lecture prints no η for adam: Lecture uses 0.1 on quad3 and 0.01 on beale (qnlab's choice:
// the largest power of ten that reaches f ≤ 1e-8 in the notebook's budget without oscillating
// above the start; notebook 05 shows the measurement). The lecture prints ε = 1e-6 for adamax,
// whose rule has no ε (Kingma & Ba 2015, Alg. 2): it is not used.
func Lecture(m Method, fn string) (Hyper, bool) {
	var two bool // the 2-D function
	switch fn {
	case "quad3":
	case "beale":
		two = true
	default:
		return Hyper{}, false
	}
	pick := func(quad3, beale float64) float64 {
		if two {
			return beale
		}
		return quad3
	}
	switch m {
	case GD:
		return Hyper{LR: pick(0.1, 0.002)}, true
	case Momentum:
		return Hyper{LR: pick(0.01, 0.001), Momentum: 0.9}, true
	case Nesterov:
		return Hyper{LR: pick(0.01, 0.0005), Momentum: 0.9}, true
	case Adagrad:
		return Hyper{LR: 0.5, Eps: 1e-6}, true
	case Adadelta:
		return Hyper{Decay: 0.9, Eps: pick(1e-5, 1e-6)}, true
	case RMSProp:
		return Hyper{LR: 0.01, Decay: 0.9, Eps: 1e-8}, true
	case Adam:
		return Hyper{LR: pick(0.1, 0.01), Beta1: 0.9, Beta2: pick(0.999, 0.97), Eps: 1e-6}, true
	case AdaMax:
		return Hyper{LR: pick(0.1, 0.5), Beta1: 0.9, Beta2: 0.999}, true
	case Nadam:
		return Hyper{LR: 0.3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-6}, true
	}
	return Hyper{}, false
}

// LectureStart returns the lecture's start for its test functions: (−2, −2, −2) on quad3 and
// (1.75, 1.9) on beale; nil for another function.
func LectureStart(fn string) []float64 {
	switch fn {
	case "quad3":
		return []float64{-2, -2, -2}
	case "beale":
		return []float64{1.75, 1.9}
	}
	return nil
}

// Check validates the hyperparameters m reads (ParamProblem); the error names the first bad one by
// its flag name.
func (h Hyper) Check(m Method) error {
	if !methodNames.Valid(m) {
		return fmt.Errorf("firstorder: unknown method %v", m)
	}
	for _, name := range append(m.Params(), "clip") {
		v, _ := h.Get(name)
		if problem := ParamProblem(name, v); problem != "" {
			return fmt.Errorf("firstorder: %s: %s %g %s", m, name, v, problem)
		}
	}
	return nil
}

// ParamProblem says what is wrong with value v of the hyperparameter called name ("" if nothing):
// η must be finite and > 0, ε and the clipping norm finite and ≥ 0, γ and β in [0, 1).
func ParamProblem(name string, v float64) string {
	switch name {
	case "lr":
		if !(v > 0) || math.IsInf(v, 0) {
			return "must be finite and > 0"
		}
	case "eps", "clip":
		if !(v >= 0) || math.IsInf(v, 0) {
			return "must be finite and ≥ 0"
		}
	case "momentum", "decay", "beta1", "beta2":
		if !(v >= 0 && v < 1) {
			return "must be in [0, 1)"
		}
	default:
		return "is not a hyperparameter"
	}
	return ""
}
