package funcs

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Plain-Go versions of the functions and their gradients, for the host path of Evaluator: on a
// small problem one graph call costs more than the arithmetic (backend.HostMaxDim). Each is
// the same function as its Func's Graph, gradient by hand; TestHostMatchesGraph holds them to
// the graph and its autodiff gradient at random points.

// hostRosenbrock: f = Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²;
// ∂f/∂x_i gets −400x_i(x_{i+1} − x_i²) − 2(1 − x_i) and ∂f/∂x_{i+1} gets 200(x_{i+1} − x_i²).
func hostRosenbrock(x, grad []float64) float64 {
	if grad != nil {
		clear(grad)
	}
	var f float64
	for i := 0; i+1 < len(x); i++ {
		v := x[i+1] - x[i]*x[i]
		w := 1 - x[i]
		f += 100*v*v + w*w
		if grad != nil {
			grad[i] += -400*x[i]*v - 2*w
			grad[i+1] += 200 * v
		}
	}
	return f
}

// hostRastrigin: f = A·n + Σ x_i² − A cos(2πx_i); ∂f/∂x_i = 2x_i + 2πA sin(2πx_i).
func hostRastrigin(x, grad []float64) float64 {
	f := RastriginA * float64(len(x))
	for i, xi := range x {
		s, c := math.Sincos(2 * math.Pi * xi)
		f += xi*xi - RastriginA*c
		if grad != nil {
			grad[i] = 2*xi + 2*math.Pi*RastriginA*s
		}
	}
	return f
}

// hostBeale: f = Σ_{k=1}^{3} (u(1 − vᵏ) − c_k)², c = (1.5, 2.25, 2.625).
func hostBeale(x, grad []float64) float64 {
	u, v := x[0], x[1]
	var f, gu, gv float64
	vk, dvk := v, 1.0 // vᵏ and d(vᵏ)/dv = k·vᵏ⁻¹
	for k, c := range []float64{1.5, 2.25, 2.625} {
		r := u*(1-vk) - c
		f += r * r
		gu += 2 * r * (1 - vk)
		gv += 2 * r * (-u * dvk)
		dvk = float64(k+2) * vk
		vk *= v
	}
	if grad != nil {
		grad[0], grad[1] = gu, gv
	}
	return f
}

// hostWeightedSquares returns f = Σ w_i x_i², ∂f/∂x_i = 2w_i x_i (quad3; sphere with w = 1).
func hostWeightedSquares(w []float64) func(x, grad []float64) float64 {
	return func(x, grad []float64) float64 {
		var f float64
		for i, xi := range x {
			wi := 1.0
			if w != nil {
				wi = w[i]
			}
			f += wi * xi * xi
			if grad != nil {
				grad[i] = 2 * wi * xi
			}
		}
		return f
	}
}

// hostSaddle: f = x² + y⁴/4 − y²/2, ∇f = (2x, y³ − y).
func hostSaddle(x, grad []float64) float64 {
	u, v := x[0], x[1]
	v2 := v * v
	if grad != nil {
		grad[0], grad[1] = 2*u, v2*v-v
	}
	return u*u + 0.25*v2*v2 - 0.5*v2
}

// sigmoid is σ(z) = 1/(1 + e^{−z}), without overflow for large |z|.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// softplus is log(1 + eᶻ) = max(z, 0) + log1p(e^{−|z|}), as graph.Softplus computes it.
func softplus(z float64) float64 { return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) }

// hostCliff: f = (x² + y²)/2 + h·σ(k(x² − c²)), ∇f = (x(1 + 2hk·σ'), y) with σ' = σ(1 − σ).
func hostCliff(x, grad []float64) float64 {
	u, v := x[0], x[1]
	s := sigmoid(cliffK * (u*u - cliffC*cliffC))
	if grad != nil {
		grad[0] = u * (1 + 2*cliffH*cliffK*s*(1-s))
		grad[1] = v
	}
	return 0.5*(u*u+v*v) + cliffH*s
}

// hostLogistic2 is Logistic2's loss: z_i = w₂σ(w₁x_i) and the mean over the points of
// ½(σ(z) − t)² ("mse") or t·softplus(−z) + (1 − t)·softplus(z) ("ce"), whose derivatives in z
// are (σ(z) − t)σ(z)(1 − σ(z)) and σ(z) − t; ∂z/∂w₂ = σ(w₁x), ∂z/∂w₁ = w₂σ'(w₁x)x.
func hostLogistic2(mse bool) func(w, grad []float64) float64 {
	return func(w, grad []float64) float64 {
		n := float64(len(logistic2X))
		var f, g1, g2 float64
		for i, x := range logistic2X {
			t := logistic2T[i]
			h := sigmoid(w[0] * x)
			z := w[1] * h
			var dz float64
			if mse {
				p := sigmoid(z)
				f += 0.5 * (p - t) * (p - t)
				dz = (p - t) * p * (1 - p)
			} else {
				f += t*softplus(-z) + (1-t)*softplus(z)
				dz = sigmoid(z) - t
			}
			g1 += dz * w[1] * h * (1 - h) * x
			g2 += dz * h
		}
		if grad != nil {
			grad[0], grad[1] = g1/n, g2/n
		}
		return f / n
	}
}

// hostQuadratic: f = ½xᵀAx − bᵀx, ∇f = Ax − b.
func hostQuadratic(A *mat.SymDense, b []float64) func(x, grad []float64) float64 {
	n := len(b)
	return func(x, grad []float64) float64 {
		var axv mat.VecDense
		axv.MulVec(A, mat.NewVecDense(n, x))
		ax := axv.RawVector().Data
		var xAx, bx float64
		for i := range n {
			xAx += x[i] * ax[i]
			bx += b[i] * x[i]
			if grad != nil {
				grad[i] = ax[i] - b[i]
			}
		}
		return 0.5*xAx - bx
	}
}
