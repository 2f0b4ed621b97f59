// Package lbfgs implements limited-memory BFGS: the curvature history, the two-loop recursion
// as a GoMLX graph function, and the dense inverse-Hessian formula it must equal.
//
// Notation follows Nocedal & Wright, Numerical Optimization, 2nd ed. (2006), §7.2:
// s_i = x_{i+1} − x_i, y_i = ∇f_{i+1} − ∇f_i, ρ_i = 1/(y_iᵀs_i), V_i = I − ρ_i y_i s_iᵀ.
// The BFGS update of the inverse Hessian, eq. (7.16) (the seed note's (1)), is
//
//	H_{i+1} = V_iᵀ H_i V_i + ρ_i s_i s_iᵀ,
//
// and applying it to H_0 with the last m pairs gives eq. (7.19) (the seed note's (2)):
//
//	H_k = (V_{k-1}ᵀ…V_{k-m}ᵀ) H_0 (V_{k-m}…V_{k-1})
//	    + ρ_{k-m} (V_{k-1}ᵀ…V_{k-m+1}ᵀ) s_{k-m}s_{k-m}ᵀ (V_{k-m+1}…V_{k-1})
//	    + …
//	    + ρ_{k-1} s_{k-1}s_{k-1}ᵀ.
//
// The two-loop recursion (Alg. 7.4) returns H_k·g in O(m·d) without forming H_k. TwoLoop builds
// it as graph operations over a list of parameter tensors, so the same code runs on the pure-Go
// backend and on XLA; Kernel runs it from host slices; DenseInverseHessian is formula (2) with
// dense matrices, the reference it is tested against.
package lbfgs
