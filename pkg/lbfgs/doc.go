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
// # Stochastic L-BFGS (graph)
//
// Stochastic builds the remedies for pairs taken across two batches (the seed's L-BFGS-1, whose
// y carries two batches' gradient noise): OLBFGS (y on one batch at both points), MultiBatch
// (consecutive batches overlap; y from the shared examples) and SQN (pairs every L steps from
// Hessian-vector products at averaged iterates), on the same slot history and two-loop
// recursion, with optional safeguards: Powell damping, the scale-invariant curvature test, a
// stochastic Armijo search and a momentum average of the gradient. Their steps need the batch
// split into parts (shared with the previous step, with the next, the Hessian batch), which a
// GoMLX loss node does not show: StochasticOptimizer.ModelFn evaluates the parts for the
// trainer, Layout tells the data stream how to cut the examples (runs does both).
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
//   - Schraudolph, N.N., Yu, J., Günter, S.: A stochastic quasi-Newton method for online convex
//     optimization. AISTATS 2007 (oLBFGS).
//   - Berahas, A.S., Nocedal, J., Takáč, M.: A multi-batch L-BFGS method for machine learning.
//     NeurIPS 2016.
//   - Byrd, R.H., Hansen, S.L., Nocedal, J., Singer, Y.: A stochastic quasi-Newton method for
//     large-scale optimization. SIAM J. Optim. 26(2), 1008–1031 (2016) (SQN).
//   - Wang, X., Ma, S., Goldfarb, D., Liu, W.: Stochastic quasi-Newton methods for nonconvex
//     stochastic optimization. SIAM J. Optim. 27(2), 927–956 (2017) (SdLBFGS, damping).
//   - Bollapragada, R., Mudigere, D., Nocedal, J., Shi, H.-J.M., Tang, P.T.P.: A progressive
//     batching L-BFGS method for machine learning. ICML 2018 (stochastic Armijo).
//   - Shi, H.-J.M., Mudigere, D.: PyTorch-LBFGS (github.com/hjmshi/PyTorch-LBFGS), 2018
//     (the scale-invariant curvature test).
//   - 运筹OR帷幄: 为什么深度学习不使用牛顿法或拟牛顿法优化? 在随机梯度环境下, 如何稳定地利用二阶信息提升训练性能?
//     (seed 002, "the article": §4.1–4.6, §9, §12).
package lbfgs
