// Package backend chooses the GoMLX compute backend for every qnlab command, test and notebook.
//
// The choice lives here and nowhere else:
//
//   - GOMLX_BACKEND, if set, is used as given (e.g. "xla:cuda" in the CUDA image, which also
//     needs a binary built with -tags xla).
//   - Otherwise qnlab uses the pure-Go backend configured as DefaultConfig.
//
// Why DefaultConfig is "go:parallelism=-1": the pure-Go backend (github.com/gomlx/compute v0.1.2,
// and v0.1.3, whose worker pool is unchanged)
// runs graph ops on a worker pool whose size is bounded by default (2·GOMAXPROCS). An op that
// holds a slot (a parallel matmul) can wait for sub-tasks that need a slot too; with every slot
// held that way the pool deadlocks (seen here in 2 of 7 long runs with the default config and in
// 2 of 2 with parallelism=2). With parallelism=-1 the pool is unbounded: WaitToStart starts a
// goroutine immediately and never waits for a slot, so that wait cycle cannot form; the Go
// scheduler still runs only GOMAXPROCS goroutines at a time. `make soak` checks it on long runs.
//
// qnlab never downloads a backend: GOMLX_NO_AUTO_INSTALL is set to 1 unless the user set it.
//
// # References
//
//   - GoMLX v0.28.2 and github.com/gomlx/compute v0.1.3: the backends and their configuration
//     strings (compute.ConfigEnvVar).
package backend
