// Package runs trains models on MNIST and keeps the runs: what a run is, how it executes, where
// it lives on disk, and how runs are compared.
//
//   - Spec is what a run trains and how — model, optimizer and its hyperparameters, batch, inner
//     steps, fixed sample, seed, evaluation settings, dtype; every setting that decides its
//     numbers. Its JSON keys are qnlab mnist's flag names. Options are how it executes (its
//     directory, checkpoints, resume, Ctrl-C, progress), none of which changes a number.
//   - The optimizer registry (Optimizers, LookupOptimizer) names each optimizer once, with its
//     default learning rate, the Spec keys only it reads and its constructor: qnlab mnist, Train
//     and the notebooks all use it.
//   - Train runs a Spec: GoMLX's Trainer and Loop over a seeded batch stream, an evaluation row
//     (Row: one schema, metrics.csv's columns) every EvalEvery steps, a training clock that
//     pauses around evaluations and checkpoints, a stall watchdog, and Options.Stop for Ctrl-C.
//     Same Spec and seed, same numbers; a resumed run continues bit for bit.
//   - Experiments, Outcomes, tables (TableCells, Ordering, InOrder, Ahead), charts (Chart) and
//     Plan (the seed paper's Figures 3–5, sized by PaperPlans) compare runs; SaveOutcomes and
//     LoadOutcomes carry them from one notebook cell to the next.
//   - Race times contenders (optimizers with settings) to a target test accuracy over seeds, in
//     an order rotated per seed, with a geometric evaluation schedule; Tune picks each family's
//     best configuration by a race on a validation split. Every run of a race with a directory
//     is a run directory, so a stopped race resumes exactly.
//   - GradientNoise, HessianSpectra, PairStudy and StepCost measure the 002 article's claims
//     about curvature on mini-batches (notebook 07).
//
// # Run directories
//
// A run with Options.Dir lives in a directory that holds
//
//	run.json      the Spec (defaults filled in), the versions of qnlab, GoMLX and Go, the backend
//	metrics.csv   the rows so far (rewritten whole after each evaluation)
//	checkpoint/   GoMLX checkpoints (checkpoint-n…-step-….json and .bin, GoMLX's format)
//	run.lock      an advisory lock (flock) held while a process uses the directory
//
// A directory that holds a run is refused unless the run is resumed (its Spec must match, only
// the length may grow) or replaced (Force). Every file is written to a temporary name in the
// same directory, synced and renamed into place, so a kill leaves the old file or the new one,
// never a torn one (POSIX rename is atomic); metrics.csv is written before the checkpoint of the
// same step. GoMLX's checkpoint.Handler writes its files in place (v0.28.2: os.Create of the
// final names, no rename) and loads only the newest checkpoint, so a kill during a save left a
// run that could not resume; Checkpoints wraps it: the handler writes into a staging directory
// and the finished pair is renamed into checkpoint/ (.bin first, then .json: a checkpoint is
// listed only by its .json, so one is visible only when complete); loading tries the newest
// complete checkpoint and falls back to older ones, moving an unreadable one to
// checkpoint/unreadable/ (never deleting it). At least two checkpoints are kept.
//
// The lock is flock(2) on run.lock: the kernel drops it when its process dies, so a lock left
// by a killed run never blocks a resume. A second process is refused with ErrInUse.
//
// # References
//
//   - pangbo: 基于 L-BFGS 方法的神经网络训练 (Training neural networks with the L-BFGS method),
//     2024 — "the seed paper": its MNIST experiments (Figures 3–5) are Plan's.
//   - POSIX rename(2): "If newpath already exists, it will be atomically replaced".
//   - GoMLX v0.28.2: ml/train (Trainer, Loop), ml/model/checkpoint (the file format kept here).
package runs
