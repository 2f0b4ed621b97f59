// Command pjrt installs the PJRT CUDA plugin and the NVIDIA libraries it needs at the exact
// versions and sha256 hashes of a pip-style lock file, laid out as go-xla's own installer lays
// them out, so that go-xla v0.4.1 finds and loads them with no download at run time:
//
//	<lib>/go-xla/nvidia/pjrt_c_api_cuda_plugin.so   xla_cuda_plugin.so of the jax-cuda13-pjrt wheel
//	<lib>/go-xla/nvidia/…                           the nvidia/ tree of every nvidia-* wheel
//	<lib>/go-xla/nvidia/bin/ptxas -> <…>/nvidia/cu13/bin/ptxas
//	<lib>/libcublas.so.13, <lib>/libcublasLt.so.13 -> ./go-xla/nvidia/cu13/lib/…
//
//	pjrt -lock docker/cuda/pjrt.lock -lib /usr/local/lib [-index https://pypi.org]
//
// Why not installer.CudaInstall (github.com/gomlx/go-xla/installer): it pins only the plugin's
// version; the nvidia-* libraries come from the newest jax-cuda13-plugin's dependency list, each at
// the highest version its constraint allows on the day of the build. Here every wheel is pinned by
// version and hash. The downloading (with the sha256 check), the wheel selection and the zip
// extraction are go-xla's installer functions; only the pinning and the layout are written here,
// the layout copied from installer.CudaInstall (v0.4.1, installer/cuda.go).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/gomlx/go-xla/installer"
)

// PluginPackage is the wheel that carries the PJRT plugin (xla_cuda_plugin.so).
const PluginPackage = "jax-cuda13-pjrt"

// Pin is one package of the lock file: exact version and the sha256 hashes it may have (one per
// platform's wheel).
type Pin struct {
	Name, Version string
	Hashes        []string
}

var (
	pinRE  = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+-]*)\s*(?:;.*)?$`)
	hashRE = regexp.MustCompile(`^--hash=sha256:([0-9a-f]{64})$`)
)

// ParseLock reads a pip requirements file in the form `pip-compile --generate-hashes` writes
// (name==version, then one --hash=sha256:… per wheel; backslash continuations; # comments).
// Every package must be pinned with == and carry at least one hash.
func ParseLock(r io.Reader) ([]Pin, error) {
	var (
		pins    []Pin
		logical strings.Builder
		lineNo  int
		start   int
	)
	flush := func() error {
		text := strings.TrimSpace(logical.String())
		logical.Reset()
		if text == "" {
			return nil
		}
		fields := strings.Fields(text)
		// The requirement is everything up to the first option (environment markers included).
		i := slices.IndexFunc(fields, func(f string) bool { return strings.HasPrefix(f, "--") })
		if i < 0 {
			i = len(fields)
		}
		m := pinRE.FindStringSubmatch(strings.Join(fields[:i], " "))
		if m == nil {
			return fmt.Errorf("line %d: %q is not an exact pin name==version", start, strings.Join(fields[:i], " "))
		}
		p := Pin{Name: strings.ToLower(m[1]), Version: m[2]}
		for _, f := range fields[i:] {
			h := hashRE.FindStringSubmatch(f)
			if h == nil {
				return fmt.Errorf("line %d: %s: option %q is not --hash=sha256:<64 hex digits>", start, p.Name, f)
			}
			p.Hashes = append(p.Hashes, h[1])
		}
		if len(p.Hashes) == 0 {
			return fmt.Errorf("line %d: %s==%s has no --hash=sha256:…", start, p.Name, p.Version)
		}
		if slices.ContainsFunc(pins, func(q Pin) bool { return q.Name == p.Name }) {
			return fmt.Errorf("line %d: %s is pinned twice", start, p.Name)
		}
		pins = append(pins, p)
		return nil
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" && logical.Len() == 0 {
			continue
		}
		if logical.Len() == 0 {
			start = lineNo
		}
		cont := strings.HasSuffix(strings.TrimRight(line, " \t"), `\`)
		logical.WriteString(strings.TrimSuffix(strings.TrimRight(line, " \t"), `\`))
		logical.WriteByte(' ')
		if !cont {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return pins, nil
}

// versionFiles is the part of PyPI's JSON API answer for one release
// (GET <index>/pypi/<name>/<version>/json) that is used here.
type versionFiles struct {
	URLs []installer.PipReleaseInfo `json:"urls"`
}

// Wheel finds the Linux x86-64 wheel of p on the index whose sha256 is one of p's pinned hashes.
func Wheel(client *http.Client, index string, p Pin) (*installer.PipReleaseInfo, error) {
	url := strings.TrimRight(index, "/") + "/pypi/" + p.Name + "/" + p.Version + "/json"
	resp, err := client.Get(url)
	if err != nil {
		return nil, fmt.Errorf("%s==%s: %w", p.Name, p.Version, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s==%s: %s answered %s", p.Name, p.Version, url, resp.Status)
	}
	var files versionFiles
	if err := json.NewDecoder(resp.Body).Decode(&files); err != nil {
		return nil, fmt.Errorf("%s==%s: reading %s: %w", p.Name, p.Version, url, err)
	}
	var candidates []installer.PipReleaseInfo
	for _, f := range files.URLs {
		if f.PackageType == "bdist_wheel" && slices.Contains(p.Hashes, f.Digests["sha256"]) {
			candidates = append(candidates, f)
		}
	}
	w, err := installer.PipSelectRelease(candidates, installer.PipPackageLinuxAMD64(), true)
	if err != nil {
		return nil, fmt.Errorf("%s==%s: no Linux x86-64 wheel with a pinned sha256 among the %d files of %s", p.Name, p.Version, len(files.URLs), url)
	}
	return w, nil
}

// Install downloads every pinned wheel from the index and lays the plugin and the libraries out
// under lib as go-xla's installer.CudaInstall does (see the package comment). It refuses to
// replace an existing <lib>/go-xla/nvidia.
func Install(client *http.Client, index, lib string, pins []Pin, verbosity installer.VerbosityLevel) (err error) {
	if !slices.ContainsFunc(pins, func(p Pin) bool { return p.Name == PluginPackage }) {
		return fmt.Errorf("the lock pins no %s (the wheel with the PJRT plugin)", PluginPackage)
	}
	nvidia := filepath.Join(lib, "go-xla", "nvidia")
	if _, err := os.Lstat(nvidia); err == nil {
		return fmt.Errorf("%s already exists: remove it first", nvidia)
	}
	tmp := nvidia + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, p := range pins {
		w, err := Wheel(client, index, p)
		if err != nil {
			return err
		}
		file, _, err := installer.DownloadURLToTemp(w.URL, w.Filename, w.Digests["sha256"], false, verbosity)
		if err != nil {
			return fmt.Errorf("%s==%s: %w", p.Name, p.Version, err)
		}
		if p.Name == PluginPackage {
			err = installer.ExtractFileFromZip(file, "xla_cuda_plugin.so", filepath.Join(tmp, installer.NVIDIAPJRTPluginFileName))
		} else {
			err = installer.ExtractDirFromZip(file, "nvidia", tmp)
		}
		os.Remove(file)
		if err != nil {
			return fmt.Errorf("%s==%s: extracting %s: %w", p.Name, p.Version, w.Filename, err)
		}
		fmt.Printf("pjrt: %s==%s (%s, sha256 %s…)\n", p.Name, p.Version, w.Filename, w.Digests["sha256"][:12])
	}
	// ptxas, which XLA runs to compile its kernels, is looked up in <nvidia>/bin.
	ptxas := filepath.Join(nvidia, "cu13", "bin", "ptxas")
	if _, err := os.Stat(filepath.Join(tmp, "cu13", "bin", "ptxas")); err != nil {
		return fmt.Errorf("no cu13/bin/ptxas in the nvidia-* wheels (nvidia-cuda-nvcc ships it): %w", err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "bin"), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(ptxas, filepath.Join(tmp, "bin", "ptxas")); err != nil {
		return err
	}
	if err := os.Rename(tmp, nvidia); err != nil {
		return err
	}
	// cuBLAS is loaded by name from the library path; go-xla links it next to go-xla/.
	for _, name := range []string{"libcublasLt.so.13", "libcublas.so.13"} {
		if _, err := os.Stat(filepath.Join(nvidia, "cu13", "lib", name)); err != nil {
			return fmt.Errorf("no cu13/lib/%s in the nvidia-* wheels (nvidia-cublas ships it): %w", name, err)
		}
		link := filepath.Join(lib, name)
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Symlink("./go-xla/nvidia/cu13/lib/"+name, link); err != nil {
			return err
		}
	}
	fmt.Printf("pjrt: installed %s and %d NVIDIA packages under %s\n", PluginPackage, len(pins)-1, nvidia)
	return nil
}

func main() {
	fs := flag.NewFlagSet("pjrt", flag.ContinueOnError)
	lockFile := fs.String("lock", "", "pip-style lock file: name==version with --hash=sha256:… per package")
	lib := fs.String("lib", "/usr/local/lib", "library directory: the plugin goes to <lib>/go-xla/nvidia")
	index := fs.String("index", "https://pypi.org", "package index serving PyPI's JSON API")
	quiet := fs.Bool("quiet", false, "no download progress")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *lockFile == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "pjrt: -lock FILE is required (and no positional arguments)")
		os.Exit(2)
	}
	f, err := os.Open(*lockFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pjrt: -lock: %v\n", err)
		os.Exit(2)
	}
	pins, err := ParseLock(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pjrt: -lock %s: %v\n", *lockFile, err)
		os.Exit(2)
	}
	verbosity := installer.Normal
	if *quiet {
		verbosity = installer.Quiet
	}
	if err := Install(http.DefaultClient, *index, *lib, pins, verbosity); err != nil {
		fmt.Fprintf(os.Stderr, "pjrt: %v\n", err)
		os.Exit(1)
	}
}
