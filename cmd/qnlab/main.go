// Command qnlab runs qnlab's experiments headless: the same package functions the notebooks call.
//
//	qnlab <command> [flags]
//
// Each command lives in its own file and registers itself in commands (see register).
// Exit codes: 0 success, 1 a run that failed, 2 bad input (flags, files, shapes, values, paths),
// 128+N a run stopped by signal N (130 for Ctrl-C, 143 for SIGTERM) after saving a checkpoint.
//
// QNLAB_CPUPROFILE=FILE writes a CPU profile of the whole command to FILE (go tool pprof), e.g.
// of a training run on the pure-Go backend; an existing FILE is not overwritten.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
)

// command is one subcommand: run parses args with its own FlagSet and does the work.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// register adds a subcommand; called from init in each command's file.
func register(name, summary string, run func(args []string, stdout, stderr io.Writer) error) {
	if _, dup := commands[name]; dup {
		panic("qnlab: command registered twice: " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

// usageError marks bad input: the command exits with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError ends the command with a chosen exit code, e.g. 130 after Ctrl-C (128 + SIGINT).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// badInput wraps a formatted message as a usageError (exit code 2).
func badInput(format string, a ...any) error {
	return usageError{fmt.Errorf(format, a...)}
}

func main() {
	os.Exit(profiled(os.Getenv("QNLAB_CPUPROFILE"), os.Stderr, func() int { return run(os.Args[1:], os.Stdout, os.Stderr) }))
}

// profiled runs fn under a CPU profile written to path (none if path is empty). A path that
// exists or cannot be created is bad input: exit 2 before fn runs.
func profiled(path string, stderr io.Writer, fn func() int) int {
	if path == "" {
		return fn()
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "qnlab: QNLAB_CPUPROFILE=%s: %v\n", path, err)
		return 2
	}
	code := fn()
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		fmt.Fprintf(stderr, "qnlab: QNLAB_CPUPROFILE=%s: %v\n", path, err)
		return max(code, 1)
	}
	return code
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "qnlab: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "qnlab %s: %v\n", args[0], err)
		var ue usageError
		var ee exitError
		switch {
		case errors.As(err, &ue):
			return 2
		case errors.As(err, &ee):
			return ee.code
		}
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: qnlab <command> [flags]   (qnlab <command> -h for its flags)")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}

// newFlagSet returns a FlagSet that reports errors instead of exiting; a parse error becomes a
// usageError (exit code 2).
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("qnlab "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and converts flag errors to usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return badInput("unexpected arguments %q", fs.Args())
	}
	return nil
}
