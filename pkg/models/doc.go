// Package models holds the MNIST data (LoadMNIST, Batcher), the models trained on it (SimpleCNN,
// MLP) as GoMLX graphs, their loss (Loss, TrainerLoss) and evaluation (Evaluate).
//
// # Graphs for the pure-Go backend
//
// The CNN is built from graph ops that GoMLX's pure-Go backend (github.com/gomlx/compute v0.1.2)
// both runs fast and differentiates twice (Hessian-vector products work through it). What shapes
// it, measured on that backend:
//
//   - MaxPool has no gradient and Convolve is a naive single-threaded loop (BenchmarkConv:
//     im2col fwd+bwd is ~15× faster), so the convolution is im2col in plain ops (Conv3x3,
//     ConvPool) and the pooling a tree of pairwise maxima with the first maximum winning ties
//     (MaxPool2), as PyTorch.
//   - Pad has no gradient and Slice's gradient is a Pad: borders are concatenated zeros, and the
//     package registers a gradient for Pad (RegisterVJPs) so second derivatives pass Slices.
//   - The matrix multiplication (SIMD with GOEXPERIMENT=simd) is fast only for operands laid out
//     [rows, contracted] × [contracted, cols] or [cols, contracted]; any other layout is first
//     transposed, and Transpose and Slice copy element by element (about 4 and 2 ns per element
//     here) while Concatenate and Pad copy whole blocks. GoMLX's gradient of a DotGeneral also
//     ends in a Transpose even when it is the identity; RegisterVJPs drops those.
//   - Where and ConvertDType from bool branch per element: on data such as activations, half the
//     branches mispredict (~4 ns per element). ReLU and the pairwise maximum are therefore
//     arithmetic with constant 0/1 masks (a bool is Bitcast to uint8, then converted).
//
// BenchmarkCNNStep times a training step (batch 128, Adam); scripts/torch/cnn.py is the PyTorch
// reference for the same step.
package models
