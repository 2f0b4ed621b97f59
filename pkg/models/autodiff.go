package models

// The models are differentiated twice (Hessian-vector products) and trained through im2col
// Slices: both need internal/autodiff's gradient adjustments, registered by its init.
import _ "qnlab/internal/autodiff"
