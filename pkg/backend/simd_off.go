//go:build amd64 && !goexperiment.simd

package backend

// SIMDBuild reports whether this binary has the pure-Go backend's vectorised matmul: built with
// GOEXPERIMENT=simd on amd64 (other architectures have no such switch).
const SIMDBuild = false
