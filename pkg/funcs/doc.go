// Package funcs provides test functions for the optimizers: Rosenbrock, Rastrigin, Beale and
// convex quadratics as GoMLX graph functions whose gradients come from autodiff, each with its
// known minimizer, plus the Moré–Garbow–Hillstrom problems that gonum ships, evaluated on the
// host.
//
// A Func's Graph maps x of shape [Dim] to a scalar; Func.Evaluator compiles f and ∇f once and
// evaluates them from host slices in float64. Evaluator and Problem both have the method
//
//	Eval(x, grad []float64) (float64, error)
//
// that the deterministic optimizers take as their objective.
//
// # References
//
//   - pangbo: 基于 L-BFGS 方法的神经网络训练 (Training neural networks with the L-BFGS method),
//     2024 — "the seed paper": Rosenbrock and Rastrigin (its Figures 1–2).
//   - Moré, J.J., Garbow, B.S., Hillstrom, K.E.: Testing unconstrained optimization software.
//     ACM Trans. Math. Softw. 7(1), 17–41 (1981).
//   - Rosenbrock, H.H.: An automatic method for finding the greatest or least value of a
//     function. Comput. J. 3(3), 175–184 (1960).
//   - Rastrigin, L.A.: Systems of extremal control. Nauka, Moscow (1974).
package funcs
