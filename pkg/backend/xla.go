//go:build xla

package backend

// With -tags xla the XLA/PJRT backend (cgo) is compiled in; select it with GOMLX_BACKEND=xla:cuda
// or GOMLX_BACKEND=xla:/abs/path/pjrt_c_api_cuda_plugin.so.

import "github.com/gomlx/go-xla/compute/xla"

// go-xla reads GOMLX_NO_AUTO_INSTALL in its own init, before qnlab can set it, and otherwise
// downloads a PJRT plugin from the internet on first use: qnlab never downloads, so plugins must
// be installed (docker/cuda does) or named by path.
func init() { xla.EnableAutoInstall(false) }
