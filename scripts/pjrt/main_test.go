package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/go-xla/installer"
)

// wheel builds a zip with the given files (name → content).
func wheel(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// fakeIndex serves PyPI's per-release JSON and the wheels it lists: for each package an x86-64
// wheel with the given content and an aarch64 wheel with other bytes.
func fakeIndex(t *testing.T, pkgs map[string][]byte) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for name, x86 := range pkgs {
		arm := append([]byte("arm64:"), x86...)
		base := strings.ReplaceAll(name, "-", "_")
		files := []installer.PipReleaseInfo{}
		for _, w := range []struct {
			file string
			data []byte
		}{
			{base + "-1.0-py3-none-manylinux_2_27_aarch64.whl", arm},
			{base + "-1.0-py3-none-manylinux_2_27_x86_64.whl", x86},
		} {
			data := w.data
			mux.HandleFunc("/files/"+w.file, func(rw http.ResponseWriter, _ *http.Request) { rw.Write(data) })
			files = append(files, installer.PipReleaseInfo{PackageType: "bdist_wheel", Filename: w.file,
				URL: srv.URL + "/files/" + w.file, Digests: map[string]string{"sha256": sum(data)}})
		}
		answer, _ := json.Marshal(map[string]any{"urls": files})
		mux.HandleFunc("/pypi/"+name+"/1.0/json", func(rw http.ResponseWriter, _ *http.Request) { rw.Write(answer) })
	}
	return srv
}

func lockFor(pkgs map[string][]byte, names ...string) []Pin {
	var pins []Pin
	for _, n := range names {
		pins = append(pins, Pin{Name: n, Version: "1.0", Hashes: []string{sum(append([]byte("arm64:"), pkgs[n]...)), sum(pkgs[n])}})
	}
	return pins
}

func testWheels(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"jax-cuda13-pjrt": wheel(t, map[string]string{"jax_plugins/xla_cuda13/xla_cuda_plugin.so": "PLUGIN"}),
		"nvidia-cuda-nvcc": wheel(t, map[string]string{"nvidia/cu13/bin/ptxas": "PTXAS", "nvidia/cu13/include/x.h": "H",
			"nvidia_cuda_nvcc-1.0.dist-info/RECORD": "not copied"}),
		"nvidia-cublas": wheel(t, map[string]string{"nvidia/cu13/lib/libcublas.so.13": "CUBLAS", "nvidia/cu13/lib/libcublasLt.so.13": "CUBLASLT"}),
	}
}

func TestInstallLaysOutLikeGoXLA(t *testing.T) {
	pkgs := testWheels(t)
	srv := fakeIndex(t, pkgs)
	lib := t.TempDir()
	pins := lockFor(pkgs, "jax-cuda13-pjrt", "nvidia-cuda-nvcc", "nvidia-cublas")
	if err := Install(srv.Client(), srv.URL, lib, pins, installer.Quiet); err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(lib, rel)) // follows symlinks
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		return string(b)
	}
	for rel, want := range map[string]string{
		"go-xla/nvidia/pjrt_c_api_cuda_plugin.so": "PLUGIN", // where go-xla searches (…/go-xla/nvidia)
		"go-xla/nvidia/cu13/include/x.h":          "H",
		"go-xla/nvidia/bin/ptxas":                 "PTXAS", // the link go-xla's installer makes
		"libcublas.so.13":                         "CUBLAS",
		"libcublasLt.so.13":                       "CUBLASLT",
	} {
		if got := read(rel); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	if target, err := os.Readlink(filepath.Join(lib, "libcublas.so.13")); err != nil || target != "./go-xla/nvidia/cu13/lib/libcublas.so.13" {
		t.Errorf("libcublas.so.13 -> %q (%v), want the relative link go-xla makes", target, err)
	}
	if _, err := os.Stat(filepath.Join(lib, "go-xla", "nvidia", "nvidia_cuda_nvcc-1.0.dist-info")); err == nil {
		t.Error("wheel metadata outside nvidia/ was extracted")
	}
	// A second install must not replace the first.
	if err := Install(srv.Client(), srv.URL, lib, pins, installer.Quiet); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second install: err = %v, want 'already exists'", err)
	}
}

func TestInstallRefusesUnpinnedBytes(t *testing.T) {
	pkgs := testWheels(t)
	srv := fakeIndex(t, pkgs)
	pins := lockFor(pkgs, "jax-cuda13-pjrt", "nvidia-cuda-nvcc", "nvidia-cublas")
	pins[2].Hashes = []string{strings.Repeat("0", 64)} // the index's cublas wheel is not the pinned one
	lib := t.TempDir()
	err := Install(srv.Client(), srv.URL, lib, pins, installer.Quiet)
	if err == nil || !strings.Contains(err.Error(), "nvidia-cublas==1.0") || !strings.Contains(err.Error(), "pinned sha256") {
		t.Fatalf("err = %v, want one naming nvidia-cublas==1.0 and the pinned hash", err)
	}
	if _, err := os.Stat(filepath.Join(lib, "go-xla", "nvidia")); err == nil {
		t.Error("a failed install left go-xla/nvidia behind (go-xla would load a half install)")
	}

	// Only the arm64 wheel's hash pinned: no x86-64 wheel qualifies.
	pins = lockFor(pkgs, "jax-cuda13-pjrt")
	pins[0].Hashes = pins[0].Hashes[:1]
	if err := Install(srv.Client(), srv.URL, t.TempDir(), pins, installer.Quiet); err == nil {
		t.Fatal("installed although only the aarch64 wheel's hash was pinned")
	}
	if err := Install(srv.Client(), srv.URL, t.TempDir(), lockFor(pkgs, "nvidia-cublas"), installer.Quiet); err == nil || !strings.Contains(err.Error(), PluginPackage) {
		t.Fatalf("lock without the plugin: err = %v", err)
	}
}

func TestParseLock(t *testing.T) {
	h1, h2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	good := fmt.Sprintf("# comment\njax-cuda13-pjrt==0.11.0 \\\n    --hash=sha256:%s \\\n    --hash=sha256:%s\n    # via x\nnvidia-nvvm==13.3.73 ; sys_platform == 'linux' \\\n    --hash=sha256:%s\n", h1, h2, h1)
	pins, err := ParseLock(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(pins) != 2 || pins[0].Name != "jax-cuda13-pjrt" || pins[0].Version != "0.11.0" || len(pins[0].Hashes) != 2 ||
		pins[1].Name != "nvidia-nvvm" || pins[1].Version != "13.3.73" || pins[1].Hashes[0] != h1 {
		t.Fatalf("parsed %+v", pins)
	}
	for name, bad := range map[string]string{
		"range":     "jax-cuda13-pjrt>=0.11 --hash=sha256:" + h1,
		"no hash":   "jax-cuda13-pjrt==0.11.0",
		"md5":       "jax-cuda13-pjrt==0.11.0 --hash=md5:abc",
		"twice":     "a==1 --hash=sha256:" + h1 + "\na==2 --hash=sha256:" + h2,
		"short sha": "a==1 --hash=sha256:abc",
	} {
		if _, err := ParseLock(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: %q parsed without error", name, bad)
		}
	}
}

// The image's lock: the plugin wheel and exactly the with-cuda extra of jax-cuda13-plugin
// (jax_plugins/cuda/plugin_setup.py, CUDA 13), each pinned with hashes.
func TestImageLock(t *testing.T) {
	f, err := os.Open("../../docker/cuda/pjrt.lock")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pins, err := ParseLock(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{PluginPackage, "nvidia-cublas", "nvidia-cuda-cupti", "nvidia-cuda-nvcc", "nvidia-cuda-runtime",
		"nvidia-cudnn-cu13", "nvidia-cufft", "nvidia-cusolver", "nvidia-cusparse", "nvidia-nccl-cu13",
		"nvidia-nvjitlink", "nvidia-cuda-nvrtc", "nvidia-nvshmem-cu13", "nvidia-nvvm"}
	var got []string
	for _, p := range pins {
		got = append(got, p.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("lock pins\n  %v\nwant\n  %v", got, want)
	}
}
