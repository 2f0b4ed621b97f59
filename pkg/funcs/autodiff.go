package funcs

// Hessian-vector products differentiate twice, through Slices (Rosenbrock, Beale): that needs
// internal/autodiff's gradient for Pad, registered by its init.
import _ "qnlab/internal/autodiff"
