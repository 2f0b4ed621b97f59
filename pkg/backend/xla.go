//go:build xla

package backend

// With -tags xla the XLA/PJRT backend (cgo) is compiled in; select it with GOMLX_BACKEND=xla:cuda
// or GOMLX_BACKEND=xla:/abs/path/pjrt_c_api_cuda_plugin.so.
import _ "github.com/gomlx/go-xla/compute/xla"
