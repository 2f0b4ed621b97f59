// Package compare compares qnlab's optimisers with established implementations, for
// `qnlab bench` and the notebooks.
//
// # References
//
//   - Moré, J.J., Garbow, B.S., Hillstrom, K.E.: Testing unconstrained optimization software.
//     ACM Trans. Math. Softw. 7(1), 17–41 (1981).
//   - gonum.org/v1/gonum v0.17.0: optimize.LBFGS with its More–Thuente line search.
package compare
