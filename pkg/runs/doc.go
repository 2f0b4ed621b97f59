// Package runs keeps training runs safe on disk: a run directory that knows its run, survives
// a kill at any instant, and is used by one process at a time.
//
// A run directory holds
//
//	run.json      the run's specification (written once, at the start; JSON of the caller's type)
//	metrics.csv   the rows so far (rewritten whole after each evaluation)
//	checkpoint/   GoMLX checkpoints (checkpoint-n…-step-….json and .bin, GoMLX's format)
//	run.lock      an advisory lock (flock) held while a process uses the directory
//
// Every file is written to a temporary name in the same directory, synced and renamed into
// place, so a kill leaves the old file or the new one, never a torn one (POSIX rename is
// atomic). GoMLX's checkpoint.Handler writes its files in place (v0.28.2: os.Create of the
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
// POSIX rename(2): "If newpath already exists, it will be atomically replaced".
// GoMLX v0.28.2, ml/model/checkpoint (the file format kept here).
package runs
