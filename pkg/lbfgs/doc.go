// Package lbfgs is qnlab's L-BFGS core: one history, one curvature test, one γ, one direction
// kernel, and the two drivers that use them — Minimize (deterministic, host) and the training
// optimizer (stochastic, a GoMLX graph).
//
// Notation follows Nocedal & Wright (2006), §7.2: s_i = x_{i+1} − x_i, y_i = ∇f_{i+1} − ∇f_i,
// ρ_i = 1/(y_iᵀs_i), V_i = I − ρ_i y_i s_iᵀ. The BFGS update of the inverse Hessian, eq. (7.16)
// (the seed paper's (1)), is
//
//	H_{i+1} = V_iᵀ H_i V_i + ρ_i s_i s_iᵀ,
//
// and applying it to H_0 = γ_k·I with the last m pairs gives eq. (7.19) (the seed paper's (2)):
//
//	H_k = (V_{k-1}ᵀ…V_{k-m}ᵀ) H_0 (V_{k-m}…V_{k-1})
//	    + ρ_{k-m} (V_{k-1}ᵀ…V_{k-m+1}ᵀ) s_{k-m}s_{k-m}ᵀ (V_{k-m+1}…V_{k-1})
//	    + …
//	    + ρ_{k-1} s_{k-1}s_{k-1}ᵀ.
//
// # The core
//
//   - Curvature: the test a pair must pass to be stored (yᵀs > ε, or > ε‖s‖‖y‖), the same on
//     the host and in the graph. DefaultCurvature (relative, 1e-8) is History's and
//     Minimize's; SeedCurvature (absolute, 1e-10) is the seed paper's, the training
//     optimizer's starting point.
//   - History (host) and slotHistory (graph: the training optimizer's, m slots per parameter,
//     shifted without copying) hold the last m accepted pairs; both reject non-finite pairs
//     and those failing the test.
//   - GammaRule and gammaRatio: γ_k = sᵀy/yᵀy of the newest pair (eq. 7.20), or the seed code's
//     slip, the oldest pair's yᵀy (GammaPaper).
//   - TwoLoop: the two-loop recursion (Alg. 7.4) as graph operations over lists of parameter
//     tensors, H_k·g in O(m·d) without forming H_k; Kernel runs it from host slices (float32 or
//     float64), and Kernel.Recursion returns its intermediate vectors for the proof.
//     DenseInverseHessian and DenseUpdates are formula (2) and update (1) with dense matrices:
//     the references the kernel is tested against.
//
// # Minimize (host)
//
// Minimize composes a Direction (gonum's NextDirectioner idea: GradientDescent, LBFGS; Newton,
// conjugate gradients and BFGS plug in the same way) with a LineSearch (Fixed, Armijo, or the
// strong Wolfe search of Alg. 3.5/3.6 with Moré–Thuente's safeguard) as a Method; Settings say
// when to stop. It records every iterate (Result.Iterates) and returns a Status.
//
// # The training optimizer (graph)
//
// Optimizer is the seed paper's L-BFGS as a GoMLX optimizer: a fixed step lr·p on each batch,
// pairs from consecutive steps, the history and counters in store variables (checkpoints carry
// them; ReadCounters reads them). Its direction is a seam (graphDirection) with two
// implementations tested equal: the two-loop recursion (the default, no state of its own) and
// the compact representation of Byrd, Nocedal & Schnabel (it owns the Gram matrices SᵀY, YᵀY).
// Measured on the pure-Go backend the two-loop is faster (the compact form must stack the
// slots, a copy of the whole history), so the compact form is a tested reference, not an option
// (see OptimizerConfig.compact for the numbers).
//
// # References
//
//   - pangbo: 基于 L-BFGS 方法的神经网络训练 (Training neural networks with the L-BFGS method),
//     2024 — "the seed paper": update (1), formula (2), Algorithm 1 and its proof, the MNIST
//     experiments and its PyTorch code (lbfgs.py).
//   - Nocedal, J., Wright, S.J.: Numerical Optimization, 2nd ed. Springer (2006): §3.5
//     (Alg. 3.5, 3.6, eq. 3.60), §6.1 (eq. 6.7), §7.2 (eqs. 7.16–7.20, Alg. 7.4, 7.5).
//   - Byrd, R.H., Nocedal, J., Schnabel, R.B.: Representations of quasi-Newton matrices and
//     their use in limited memory methods. Math. Program. 63, 129–156 (1994).
//   - Moré, J.J., Thuente, D.J.: Line search algorithms with guaranteed sufficient decrease.
//     ACM Trans. Math. Softw. 20(3), 286–307 (1994).
package lbfgs
