// Package qn measures the explicit superlinear rates of quasi-Newton methods on quadratics
//
//	f(x) = ½xᵀAx − bᵀx,   μI ⪯ A ⪯ LI,   μ > 0,
//
// with unit steps x_{k+1} = x_k − G_k⁻¹∇f(x_k), G_0 = L·I, and one update of G_k per step
// along a direction u_k chosen by a Rule (classical, greedy, random) with a Broyden-class
// Update (BFGS, DFP, SR1). Notation (Rodomanov & Nesterov 2021, 2022; Lin, Ye & Zhang 2022):
//
//	λ(x)    = ∇f(x)ᵀA⁻¹∇f(x) = ‖x − x*‖²_A   (the square of the papers' λ_f)
//	σ_A(G)  = tr(A⁻¹(G − A))
//	θ_k     = λ_{k+1}/λ_k
//
// Facts checked by the tests and used by the bounds (proofs in notebook 03):
//
//   - Every update keeps A ⪯ G ⪯ (L/μ)·A once G_0 = L·I (Rodomanov & Nesterov 2021 for BFGS
//     and DFP; SR1 keeps 0 ⪯ G₊ − A ⪯ G − A).
//   - Hence θ_k ≤ (1 − μ/L)² (linear phase) and θ_k ≤ σ_k for every rule.
//   - One update changes σ by exactly 1 − uᵀGA⁻¹Gu/uᵀGu (BFGS), 1 − uᵀGu/uᵀAu (DFP),
//     −uᵀRA⁻¹Ru/uᵀRu with R = G − A (SR1).
//   - Classical BFGS: θ_k ≤ σ_k − σ_{k+1}, so λ_k ≤ (σ_0/k)^k λ_0 ≤ (nL/(kμ))^k λ_0.
//   - Greedy BFGS: σ_{k+1} ≤ (1 − 1/n)σ_k, so λ_k ≤ (1 − 1/n)^{k(k−1)/2}(nL/μ)^k λ_0.
//   - Greedy DFP and SR1 with the same rule: σ_{k+1} ≤ (1 − μ/(nL))σ_k, so
//     λ_k ≤ (1 − μ/(nL))^{k(k−1)/2}(nL/μ)^k λ_0 (the condition-dependent rate of RN 2021).
//   - Random BFGS: E[σ_{k+1} | G_k] = (1 − 1/n)σ_k; random DFP and SR1:
//     E[σ_{k+1} | G_k] ≤ (1 − μ/(nL))σ_k. No λ-bound is reported for random rules (the
//     papers' are in probability).
//
// The package stands alone (gonum, float64): Generate and NewQuadratic make the problems,
// Run runs a method and records λ, σ, θ and the eigenvalues of A^{-1/2}G_kA^{-1/2} per step,
// Check and Grid measure runs against the facts above, LogBound and the curves give the bounds.
//
// # References
//
//   - "BFGS的显式收敛率" (Explicit convergence rates of BFGS), a blog note (undated) — the seed
//     note this package and notebook 03 follow.
//   - Rodomanov, A., Nesterov, Yu.: Greedy quasi-Newton methods with explicit superlinear
//     convergence. SIAM J. Optim. 31(1), 785–811 (2021).
//   - Rodomanov, A., Nesterov, Yu.: Rates of superlinear convergence for classical quasi-Newton
//     methods. Math. Program. 194, 159–190 (2022).
//   - Lin, D., Ye, H., Zhang, Z.: Explicit convergence rates of greedy and random quasi-Newton
//     methods. J. Mach. Learn. Res. 23(162), 1–40 (2022).
//   - Nocedal, J., Wright, S.J.: Numerical Optimization, 2nd ed. Springer (2006), §6.2 (SR1 and
//     its skipping rule, eq. 6.26).
package qn
