// Package docker holds the images' Dockerfiles, the shell steps their RUN lines call
// (docker/steps) and this test of what can be checked without a Docker engine: every version
// pinned and agreeing with the rest of the repository, RUN lines that only call steps, a
// non-root user, Jupyter's token left on, a .dockerignore. scripts/docker-check lints the steps
// with shellcheck and runs those that need no Docker.
package docker

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	Line int
	Cmd  string // upper case: FROM, RUN, …
	Args string
}

// parseDockerfile splits a Dockerfile (no heredocs, no parser directives) into instructions.
func parseDockerfile(t *testing.T, path string) []Instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out  []Instruction
		cur  strings.Builder
		from int
	)
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if cur.Len() == 0 {
			from = i + 1
		}
		if strings.Contains(line, "<<") {
			t.Errorf("%s:%d: heredoc: keep RUN lines plain (a step script in docker/steps)", path, i+1)
		}
		cont := strings.HasSuffix(trimmed, `\`)
		cur.WriteString(strings.TrimSuffix(trimmed, `\`))
		cur.WriteByte(' ')
		if !cont {
			cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
			out = append(out, Instruction{Line: from, Cmd: strings.ToUpper(cmd), Args: strings.Join(strings.Fields(args), " ")})
			cur.Reset()
		}
	}
	return out
}

var images = []string{"cpu", "cuda"}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goVersion is the repository's Go version (go.mod's go line).
func goVersion(t *testing.T) string {
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+\.\d+)$`).FindStringSubmatch(readFile(t, "../go.mod"))
	if m == nil {
		t.Fatal("go.mod: no go x.y.z line")
	}
	return m[1]
}

// shellVar returns NAME="value" or NAME=value from a shell script.
func shellVar(t *testing.T, path, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `="?([^"\s]+)"?`).FindStringSubmatch(readFile(t, path))
	if m == nil {
		t.Fatalf("%s: no %s=…", path, name)
	}
	return m[1]
}

func TestBaseImagesPinned(t *testing.T) {
	want := "golang:" + goVersion(t) + "-bookworm"
	for _, img := range images {
		path := filepath.Join(img, "Dockerfile")
		var froms []string
		for _, in := range parseDockerfile(t, path) {
			if in.Cmd == "FROM" {
				froms = append(froms, in.Args)
			}
		}
		// One stage, Go from the base image's tag: the Go of go.mod (and of scripts/setup), the
		// Debian release of the development machines (bookworm), on which the steps are tested.
		if !slices.Equal(froms, []string{want}) {
			t.Errorf("%s: FROM %v, want exactly [%s]", path, froms, want)
		}
	}
	if setup := shellVar(t, "../scripts/setup", "want_go"); !strings.Contains(setup, goVersion(t)) {
		t.Errorf("scripts/setup requires Go %s, go.mod %s", setup, goVersion(t))
	}
}

func TestToolVersionsAgree(t *testing.T) {
	gomod := readFile(t, "../go.mod")
	gonb := shellVar(t, "steps/gonb.sh", "gonb_version")
	if !strings.Contains(gomod, "github.com/janpfeifer/gonb "+gonb+"\n") {
		t.Errorf("steps/gonb.sh installs GoNB %s; go.mod requires another version", gonb)
	}
	for _, name := range []string{"gonb_version", "goimports_version"} {
		if a, b := shellVar(t, "steps/gonb.sh", name), shellVar(t, "../scripts/setup", name); a != b {
			t.Errorf("%s: docker/steps/gonb.sh %s, scripts/setup %s", name, a, b)
		}
	}
	// Every go install/download names an exact version (never @latest).
	exact := regexp.MustCompile(`@(v\d+\.\d+\.\d+|\$[a-z_]+|[0-9a-z.-]+-[0-9]{14}-[0-9a-f]{12})\b`)
	steps, _ := filepath.Glob("steps/*.sh")
	for _, s := range steps {
		for i, line := range strings.Split(readFile(t, s), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			for _, m := range regexp.MustCompile(`\S+@\S+`).FindAllString(line, -1) {
				if !exact.MatchString(m) {
					t.Errorf("%s:%d: %s is not pinned to an exact version", s, i+1, m)
				}
			}
		}
	}
}

func TestJupyterPinnedExactly(t *testing.T) {
	var names []string
	for i, line := range strings.Split(readFile(t, "jupyter-requirements.txt"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := regexp.MustCompile(`^([a-z0-9-]+)==(\d+\.\d+\.\d+)$`).FindStringSubmatch(line)
		if m == nil {
			t.Errorf("jupyter-requirements.txt:%d: %q is not name==x.y.z", i+1, line)
			continue
		}
		names = append(names, m[1])
	}
	if !slices.Contains(names, "jupyterlab") || !slices.Contains(names, "nbconvert") {
		t.Errorf("jupyter-requirements.txt pins %v; want jupyterlab and nbconvert", names)
	}
}

var stepRE = regexp.MustCompile(`^(?:[A-Z_]+=\S+ )*/opt/qnlab/steps/([a-z]+\.sh)(?: \S+)*$`)

func TestRunLinesCallSteps(t *testing.T) {
	for _, img := range images {
		path := filepath.Join(img, "Dockerfile")
		ins := parseDockerfile(t, path)
		copied := slices.ContainsFunc(ins, func(in Instruction) bool {
			return in.Cmd == "COPY" && in.Args == "docker/steps/ /opt/qnlab/steps/"
		})
		if !copied {
			t.Errorf("%s: no COPY docker/steps/ /opt/qnlab/steps/", path)
		}
		var ran []string
		for _, in := range ins {
			if in.Cmd != "RUN" {
				continue
			}
			m := stepRE.FindStringSubmatch(in.Args)
			if m == nil {
				t.Errorf("%s:%d: RUN %s: call one step script (docker/steps), so that shellcheck and scripts/docker-check see it", path, in.Line, in.Args)
				continue
			}
			if _, err := os.Stat(filepath.Join("steps", m[1])); err != nil {
				t.Errorf("%s:%d: %v", path, in.Line, err)
			}
			ran = append(ran, m[1])
		}
		want := []string{"apt.sh", "jupyter.sh", "user.sh", "gonb.sh", "mnist.sh", "qnlab.sh", "smoke.sh"}
		if img == "cuda" {
			want = slices.Insert(want, 2, "pjrt.sh")
		}
		if !slices.Equal(ran, want) {
			t.Errorf("%s: steps %v, want %v", path, ran, want)
		}
	}
}

func TestNonRootWithToken(t *testing.T) {
	for _, img := range images {
		path := filepath.Join(img, "Dockerfile")
		ins := parseDockerfile(t, path)
		user, cmd := "root", ""
		userBeforeCopy := false
		for _, in := range ins {
			switch in.Cmd {
			case "USER":
				user = in.Args
			case "CMD", "ENTRYPOINT":
				cmd = in.Args
			case "COPY":
				if strings.HasSuffix(in.Args, " /home/student/qnlab") {
					userBeforeCopy = user == "student" && strings.Contains(in.Args, "--chown=student:student")
				}
			}
			low := strings.ToLower(in.Args)
			for _, bad := range []string{"--allow-root", "token=''", `token=""`, "token= ", "password=''", "disable_check_xsrf"} {
				if strings.Contains(low, bad) {
					t.Errorf("%s:%d: %q: Jupyter must keep its token and not run as root", path, in.Line, bad)
				}
			}
		}
		if user == "root" || user == "0" || strings.HasPrefix(user, "0:") {
			t.Errorf("%s: the image runs as %q", path, user)
		}
		if !userBeforeCopy {
			t.Errorf("%s: the repository is not copied as (and owned by) the unprivileged user", path)
		}
		if !strings.Contains(cmd, `"jupyter", "lab"`) {
			t.Errorf("%s: CMD %s does not start JupyterLab", path, cmd)
		}
	}
}

func TestCUDAImage(t *testing.T) {
	env := map[string]string{}
	var copies []string
	for _, in := range parseDockerfile(t, "cuda/Dockerfile") {
		switch in.Cmd {
		case "ENV":
			for _, kv := range strings.Fields(in.Args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case "COPY":
			copies = append(copies, in.Args)
		}
	}
	for k, v := range map[string]string{"GOMLX_BACKEND": "xla:cuda", "GOFLAGS": "-tags=xla", "CGO_ENABLED": "1",
		"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"} {
		if env[k] != v {
			t.Errorf("cuda/Dockerfile: ENV %s=%q, want %q", k, env[k], v)
		}
	}
	if !slices.ContainsFunc(copies, func(c string) bool { return strings.Contains(c, "docker/cuda/pjrt.lock") }) {
		t.Error("cuda/Dockerfile does not copy docker/cuda/pjrt.lock for steps/pjrt.sh")
	}
}

func TestDockerignore(t *testing.T) {
	lines := strings.Split(readFile(t, "../.dockerignore"), "\n")
	for _, p := range []string{".git", "site", "build", ".jupyter", "node_modules", "**/node_modules", ".scratch", "qnlab"} {
		if !slices.Contains(lines, p) {
			t.Errorf(".dockerignore lacks %q", p)
		}
	}
	// What the images need must not be ignored.
	for _, need := range []string{"docker", "go.mod", "go.sum", "scripts", "notebooks", "cmd", "pkg"} {
		if slices.Contains(lines, need) {
			t.Errorf(".dockerignore ignores %q, which the images build from", need)
		}
	}
}
