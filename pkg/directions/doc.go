// Package directions holds the search directions of the lecture's second half for
// lbfgs.Minimize, beside gradient descent and L-BFGS (package lbfgs): each is an lbfgs.Direction,
// composed with one of lbfgs's line searches and stopped by Minimize's rules.
//
//   - Newton: the pure step x ← x − H⁻¹∇f with α = 1 (Plain: taken unchecked, so it can climb to
//     a saddle), with the Hessian by autodiff (funcs.Evaluator.Hessian).
//   - Damped: (H + αI)⁻¹∇f, α fixed or adapted in the Levenberg–Marquardt way.
//   - Modified: eigenvalues raised to at least δ, or replaced by |λ| (saddle-free Newton).
//   - CG: nonlinear conjugate gradients with the Fletcher–Reeves, Polak–Ribière (PR+) or
//     Hestenes–Stiefel β, restarted every n iterations; with lbfgs.Exact on a quadratic, linear CG.
//   - BFGS: the full n×n inverse-Hessian approximation, for contrast with L-BFGS.
//
// Gonum's optimize package has Newton, CG and BFGS too; the notebook compares with them, and
// qnlab keeps its own because they plug into Minimize's recorded iterates, its line searches
// and the lecture's variants (pure, damped, modified, saddle-free) gonum does not have.
//
// # References
//
//   - 胡贤良: 神经网络中的优化算法, lecture 3 of 《人工神经网络》, 2023 (seed 001): Newton's method and
//     its flaws, conjugate gradients (Algorithm 8.9), BFGS.
//   - 为什么深度学习不用牛顿法 (seed 002), §5.3: positive-definite modifications of the Hessian.
//   - Nocedal, J., Wright, S.J.: Numerical Optimization, 2nd ed. Springer (2006): §3.3–3.4 (Newton,
//     eq. 3.41), §5.1–5.2 (CG, Alg. 5.4, eqs. 5.41–5.46), §6.1 (BFGS, Alg. 6.1, eqs. 6.17, 6.20),
//     §10.3 (Levenberg–Marquardt).
//   - Dauphin, Y., Pascanu, R., Gulcehre, C., Cho, K., Ganguli, S., Bengio, Y.: Identifying and
//     attacking the saddle point problem in high-dimensional non-convex optimization. NeurIPS
//     (2014).
//   - Fletcher, R.: Practical Methods of Optimization, 2nd ed. Wiley (1987).
package directions
