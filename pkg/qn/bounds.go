package qn

import "math"

// The explicit bounds on λ_k/λ_0 and σ_k/σ_0 for G_0 = L·I, as functions of (n, μ, L, k).
// λ here is the squared A-norm of x − x*: see the package comment for the chain of each proof.

// LogLinearRate returns log of (1 − μ/L)^{2k}, the linear-phase bound on λ_k/λ_0; it holds
// for every rule and update, since each keeps A ⪯ G_k ⪯ (L/μ)A.
func LogLinearRate(mu, L float64, k int) float64 {
	return 2 * float64(k) * math.Log1p(-mu/L)
}

// LogClassicalRate returns log of (nL/(kμ))^k, the classical BFGS bound on λ_k/λ_0
// (Rodomanov & Nesterov 2022 for quadratics, in this package's λ); 0 at k = 0.
func LogClassicalRate(n int, mu, L float64, k int) float64 {
	return LogClassicalSigmaRate(float64(n)*L/mu, k)
}

// LogClassicalSigmaRate returns log of (σ_0/k)^k, the sharper classical BFGS bound on
// λ_k/λ_0 with σ_0 = σ_A(G_0) ≤ nL/μ; 0 at k = 0.
func LogClassicalSigmaRate(sigma0 float64, k int) float64 {
	if k == 0 {
		return 0
	}
	return float64(k) * math.Log(sigma0/float64(k))
}

// LogGreedyRate returns log of c^{k(k−1)/2}(nL/μ)^k, the greedy bound on λ_k/λ_0 for the
// contraction factor c = SigmaFactor of the update (the argument of Rodomanov & Nesterov 2021
// for greedy methods: θ_k ≤ σ_k ≤ c^k σ_0 and σ_0 ≤ nL/μ).
func LogGreedyRate(c float64, n int, mu, L float64, k int) float64 {
	return LogGreedySigmaRate(c, float64(n)*L/mu, k)
}

// LogGreedySigmaRate returns log of c^{k(k−1)/2}σ_0^k, the sharper greedy bound on λ_k/λ_0
// with σ_0 = σ_A(G_0) ≤ nL/μ.
func LogGreedySigmaRate(c, sigma0 float64, k int) float64 {
	kf := float64(k)
	lb := kf * math.Log(sigma0)
	if k >= 2 { // c may be 0 (n = 1): 0^0 = 1 for k ≤ 1
		lb += kf * (kf - 1) / 2 * math.Log(c)
	}
	return lb
}

// SigmaFactor returns the c of σ_{k+1} ≤ c·σ_k (greedy) and E[σ_{k+1} | G_k] ≤ c·σ_k (random)
// for the update with the Greedy and Random rules: 1 − 1/n for BFGS (Lin, Ye & Zhang 2022,
// with equality in expectation), 1 − μ/(nL) for DFP and SR1 (Rodomanov & Nesterov 2021's
// rate; the proof for these rules is in notebook 03).
func SigmaFactor(u Update, n int, mu, L float64) float64 {
	if u == BFGS {
		return 1 - 1/float64(n)
	}
	return 1 - mu/(float64(n)*L)
}

// LogBound returns the log of the method's explicit bound on λ_k/λ_0 and true, or false where
// none is reported: classical BFGS (LogClassicalRate) and greedy BFGS, DFP and SR1
// (LogGreedyRate) have one; random rules have bounds only in expectation or probability, and
// classical DFP and SR1 are not covered here.
func LogBound(r Rule, u Update, n int, mu, L float64, k int) (float64, bool) {
	switch {
	case r == Classical && u == BFGS:
		return LogClassicalRate(n, mu, L, k), true
	case r == Greedy:
		return LogGreedyRate(SigmaFactor(u, n, mu, L), n, mu, L, k), true
	}
	return 0, false
}
