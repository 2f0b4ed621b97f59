package lbfgs

// WithCompact selects the compact form for the benchmarks of the external test package.
func WithCompact(c *OptimizerConfig, on bool) *OptimizerConfig { return c.compact(on) }
