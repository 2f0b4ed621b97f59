package runs

import (
	"path/filepath"
	"runtime"
	"runtime/debug"
)

// record is run.json: the Spec (defaults filled in) and where the run started.
type record struct {
	Spec Spec `json:"spec"`
	// Versions of qnlab (with its VCS revision if the build recorded one), GoMLX, its compute
	// backends and Go.
	Versions map[string]string `json:"versions"`
	// Backend is the GoMLX backend configuration (backend.Config()).
	Backend string `json:"backend"`
	// Created is the start time, RFC 3339, UTC.
	Created string `json:"created"`
}

// ReadSpec returns the Spec of the run in directory dir (its run.json), defaults filled in: a
// run.json written before a key existed reads as that key's default.
func ReadSpec(dir string) (Spec, error) {
	var r record
	if err := ReadJSON(filepath.Join(dir, SpecFile), &r); err != nil {
		return Spec{}, err
	}
	return r.Spec.WithDefaults(), nil
}

// versions reads the versions of qnlab, GoMLX, compute and Go from the binary's build
// information.
func versions() map[string]string {
	v := map[string]string{"go": runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v["qnlab"] = info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			v["qnlab."+s.Key] = s.Value
		}
	}
	for _, d := range info.Deps {
		switch d.Path {
		case "github.com/gomlx/gomlx", "github.com/gomlx/compute":
			v[d.Path] = d.Version
		}
	}
	return v
}
