// Package precond holds the Kronecker-factored preconditioners K-FAC and Shampoo as GoMLX
// optimizers, and the matrix functions they need.
//
// Both keep, per layer, small matrices of curvature statistics in non-trainable variables,
// updated in the training graph; every T steps the host recomputes their inverses (K-FAC) or
// inverse fourth roots (Shampoo) with gonum and writes them back (Attach hooks this into GoMLX's
// training loop, before checkpoints, so a resumed run continues exactly). The host is faster here
// than the graph's coupled Newton iteration (InverseRoot, kept and tested as the backend-only
// alternative): see BenchmarkRefresh and host.go. K-FAC needs the layers' inputs and
// pre-activations: the models record them (models.Layer) in graphs built through the optimizer's
// ModelFn.
//
// # References
//
//   - Martens, J., Grosse, R.: Optimizing neural networks with Kronecker-factored approximate
//     curvature. ICML 2015 (K-FAC: the A ⊗ G blocks §3, running averages and sampled targets §5,
//     factored Tikhonov damping §6.3).
//   - Grosse, R., Martens, J.: A Kronecker-factored approximate Fisher matrix for convolution
//     layers. ICML 2016 (KFC: the factors of a convolution over its patches).
//   - Ba, J., Grosse, R., Martens, J.: Distributed second-order optimization using
//     Kronecker-factored approximations. ICLR 2017 (the KL clip of the step).
//   - Kunstner, F., Balles, L., Hennig, P.: Limitations of the empirical Fisher approximation for
//     natural gradient descent. NeurIPS 2019 (why Sampled, not Empirical, is the default).
//   - Gupta, V., Koren, T., Singer, Y.: Shampoo: preconditioned stochastic tensor optimization.
//     ICML 2018.
//   - Shi, H.-J. M., Lee, T.-H., Iwasaki, S., et al.: A distributed data-parallel PyTorch
//     implementation of the Distributed Shampoo optimizer for training neural networks at-scale.
//     arXiv:2309.06497 (2023) (blocking, grafting, the defaults).
//   - Guo, C.-H., Higham, N.J.: A Schur–Newton method for the matrix pth root and its inverse.
//     SIAM J. Matrix Anal. Appl. 28(3), 788–804 (2006) (the coupled Newton iteration).
//   - Anil, R., Gupta, V., Koren, T., Regan, K., Singer, Y.: Scalable second order optimization for
//     deep learning. arXiv:2002.09018 (2020), §4 (its use for Shampoo's inverse roots).
package precond
