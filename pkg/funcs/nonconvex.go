package funcs

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/core/graph"
)

// Non-convex test functions for the course lecture's last part (seed 001, "问题：凸与非凸",
// "高原、鞍点" and "梯度悬崖"): a saddle that pure Newton is attracted to, a cliff that throws a
// plain gradient step far away, and the loss surface of the lecture's Fig. 4.9 network
// y = σ(w₂σ(w₁x)) under squared error and cross-entropy.

// Saddle returns
//
//	f(x, y) = x² + y⁴/4 − y²/2,  ∇f = (2x, y³ − y),  ∇²f = diag(2, 3y² − 1).
//
// Its stationary points are the saddle (0, 0), where ∇²f = diag(2, −1) and f = 0, and the two
// global minimizers (0, ±1), where ∇²f = diag(2, 2) and f = −1/4. Minimizer is (0, 1), Min
// −0.25, Start (0.5, 0.1), the issue's. From Start pure Newton (x ← x − ∇²f⁻¹∇f) goes to the
// saddle: it solves x in one step and maps y ↦ 2y³/(3y² − 1), which sends 0.1 to −2.06e-3,
// 1.75e-8, −9.9e-24 and (in float64) exactly 0, cubically. For |y| < 1/√3 the y-curvature
// 3y² − 1 is negative, and Newton's step along y goes to the stationary point of the local
// model, the maximum of y⁴/4 − y²/2 at y = 0. Gradient descent with step η < 1 instead
// multiplies y by 1 + η(1 − y²) > 1 near y = 0 and leaves the saddle for (0, 1).
func Saddle() *Func {
	return &Func{
		Name: "saddle",
		Dim:  2,
		Graph: func(x *graph.Node) *graph.Node {
			checkShape("saddle", x, 2)
			u := coord(x, 0)
			v2 := graph.Square(coord(x, 1))
			return graph.Add(graph.Square(u), graph.Sub(graph.MulScalar(graph.Square(v2), 0.25), graph.MulScalar(v2, 0.5)))
		},
		Host:      hostSaddle,
		Minimizer: []float64{0, 1},
		Min:       -0.25,
		Start:     []float64{0.5, 0.1},
	}
}

// The cliff's constants: the step height h, its steepness k and the wall's position c.
const (
	cliffH = 250
	cliffK = 4
	cliffC = 2
)

// Cliff returns a quadratic bowl with a smooth, steep wall at |x| = c = 2,
//
//	f(x, y) = (x² + y²)/2 + h·σ(k(x² − c²)),  h = 250, k = 4, σ(u) = 1/(1 + e^{−u}),
//	∇f = (x·(1 + 2hk·σ'(k(x² − c²))), y),  σ' = σ(1 − σ).
//
// The step term is a plateau of height h for |x| > c, a floor for |x| < c and between them a
// wall h = 250 high and about 0.4 wide: a smooth stand-in for the cliff of Goodfellow, Bengio
// & Courville (Deep Learning §8.2.4, Fig. 8.3), which there comes from multiplying large
// weights. The step is taken in x² rather than x so that f is even in x and y and increasing
// in x² and y², which makes (0, 0) its unique global minimizer, exactly: Minimizer (0, 0),
// Min = h·σ(−kc²) = 250/(1 + e¹⁶) ≈ 2.81e-5 (a one-sided step in x would move the minimizer by
// a rounding-sized, only numerically known amount). f is smooth, its autodiff gradient exact,
// and f and ∇f are finite (σ ∈ [0, 1]) wherever x² + y² is, e.g. on [−100, 100]² (tested).
//
// The numbers. Write ∂f/∂x = r(x)·x with r = 1 + 2hk·σ'(k(x² − c²)). On the plateau |x| ≥ 2.5,
// 1 ≤ r ≤ 1 + 2000σ'(9) = 1.25, so ∇f ≈ (x, y) and |∇f(2.5, 0)| = 3.12; on the wall r peaks at
// 1 + hk/2 = 501 at |x| = 2, where ∂f/∂x = ±1002 (321× |∇f(2.5, 0)|), and r ≥ 100 for
// |x| ∈ [1.81, 2.17]. A gradient step with η = 0.1 (on the bowl alone any η < 2 converges, and
// η = 0.1 shrinks x by 0.9 a step on the plateau) taken on the wall moves x by 0.1·r·x: by 100
// at x = 2, and even η = 0.01 moves it by 10. Start is (3, 1) on the plateau: gradient descent
// with η = 0.1 goes x = 3, 2.7, 2.43, then lands on the wall at x₃ = 1.943 (r = 412), and the
// next step throws it to x₄ = −78.2, far across the bowl onto the other plateau. Clipping the
// gradient to norm 1 there limits that step to η = 0.1.
func Cliff() *Func {
	return &Func{
		Name: "cliff",
		Dim:  2,
		Graph: func(x *graph.Node) *graph.Node {
			checkShape("cliff", x, 2)
			u := coord(x, 0)
			bowl := graph.MulScalar(graph.ReduceAllSum(graph.Square(x)), 0.5)
			wall := graph.MulScalar(graph.Logistic(graph.MulScalar(graph.AddScalar(graph.Square(u), -cliffC*cliffC), cliffK)), cliffH)
			return graph.Add(bowl, wall)
		},
		Host:      hostCliff,
		Minimizer: []float64{0, 0},
		Min:       cliffH / (1 + math.Exp(cliffK*cliffC*cliffC)),
		Start:     []float64{3, 1},
	}
}

// Logistic2's data set: inputs x_i and labels t_i. At x = 1 three of four labels are 1, at
// x = −1 two of three.
var (
	logistic2X = []float64{1, 1, 1, 1, -1, -1, -1}
	logistic2T = []float64{1, 1, 1, 0, 1, 1, 0}
)

// Logistic2 returns the loss over the weights w = (w₁, w₂) of the lecture's Fig. 4.9 network
// ŷ = σ(w₂·σ(w₁x)) on the seven points
//
//	x: 1  1  1  1  −1  −1  −1
//	t: 1  1  1  0   1   1   0
//
// for loss "mse", the mean squared error ½·mean((ŷ_i − t_i)²), or "ce", the mean binary
// cross-entropy −mean(t_i log ŷ_i + (1 − t_i) log(1 − ŷ_i)), computed from the logit
// z_i = w₂σ(w₁x_i) as mean(t_i·softplus(−z_i) + (1 − t_i)·softplus(z_i)) (log σ(z) =
// −softplus(−z)) with graph.Softplus, max(z, 0) + log1p(e^{−|z|}), which never exponentiates a
// positive number: finite, with the exact gradient σ(z) (also ½ at z = 0), for every finite z
// (|z| ≤ |w₂|). Any other loss is an error.
//
// The minimizer, in closed form. The data are not separable: each x carries both labels, so
// for both losses the best prediction at x is the label mean p (¾ at x = 1, ⅔ at x = −1), and
// the infimum is attained if the network can output exactly those. Since σ(w₁) + σ(−w₁) = 1,
// its logits at x = ±1 are z₊ = w₂s and z₋ = w₂(1 − s) with s = σ(w₁): every pair of nonzero
// logits of the same sign, each from exactly one w. z₊ = logit ¾ = ln 3 and z₋ = logit ⅔ = ln 2
// give w₂* = ln 6 and σ(w₁*) = ln 3/ln 6, w₁* = ln(ln 3/ln 2). So both losses have the unique
// global minimizer w* = (0.460560748198363, 1.791759469228055), with Min = ½·mean p(1 − p) =
// 17/168 for "mse" and the mean label entropy 6·ln 2/7 for "ce". Start is (4, −6), on the
// squared error's plateau.
//
// What the surfaces look like (measured, and checked by the tests): on an 81×81 grid over
// [−10, 10]² (step 0.25) the squared error has |∇f| < 1e-3 at 22.7% of the points, its
// plateaus, where the output or the hidden unit saturates (at w₂ ≪ 0 every ŷ ≈ 0 and
// f ≈ ½·5/7); the cross-entropy at none, since where ŷ saturates on the wrong side it grows
// linearly in |w₂|. At Start |∇f| = 2.6e-3 for "mse" and 0.42 for "ce", and gradient descent
// with η = 1 needs 8,372 steps to |∇f| < 1e-6 on the squared error and 918 on the
// cross-entropy. Neither is convex: the Hessian (central differences of the gradient) has
// smallest eigenvalue −0.057 at (0, −6) for "mse" and −0.047 at (−2, 4) for "ce"; at w* it is
// positive definite for both, with smallest eigenvalues 0.0067 ("mse") and 0.030 ("ce").
func Logistic2(loss string) (*Func, error) {
	var name string
	var perPoint func(z, t *graph.Node) *graph.Node
	switch loss {
	case "mse":
		name = "logistic2-mse"
		perPoint = func(z, t *graph.Node) *graph.Node {
			return graph.MulScalar(graph.Square(graph.Sub(graph.Logistic(z), t)), 0.5)
		}
	case "ce":
		name = "logistic2-ce"
		perPoint = func(z, t *graph.Node) *graph.Node {
			return graph.Add(graph.Mul(t, graph.Softplus(graph.Neg(z))), graph.Mul(graph.OneMinus(t), graph.Softplus(z)))
		}
	default:
		return nil, fmt.Errorf("funcs: logistic2: unknown loss %q, want \"mse\" or \"ce\"", loss)
	}
	ln2, ln3 := math.Log(2), math.Log(3)
	minimum := 17.0 / 168
	if loss == "ce" {
		minimum = 6 * ln2 / 7
	}
	return &Func{
		Name: name,
		Dim:  2,
		Graph: func(w *graph.Node) *graph.Node {
			checkShape(name, w, 2)
			g := w.Graph()
			w1 := coord(w, 0)
			w2 := coord(w, 1)
			x := graph.Const(g, castTo(logistic2X, w))
			t := graph.Const(g, castTo(logistic2T, w))
			z := graph.Mul(w2, graph.Logistic(graph.Mul(w1, x)))
			return graph.ReduceAllMean(perPoint(z, t))
		},
		Host:      hostLogistic2(loss == "mse"),
		Minimizer: []float64{math.Log(ln3 / ln2), math.Log(6)},
		Min:       minimum,
		Start:     []float64{4, -6},
	}, nil
}
