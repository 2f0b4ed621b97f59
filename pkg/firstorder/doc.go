// Package firstorder holds the course lecture's first-order methods (seed 001, §1–§2) as GoMLX
// optimizers, so that one implementation runs on the test functions (Run, in float64) and trains
// the MNIST networks (the runs registry, qnlab mnist -opt).
//
// # The rules
//
// g = ∇f(θ); t = 1, 2, … counts updates; every state starts at 0 (New):
//
//	gd        θ ← θ − η·g
//	momentum  v ← γ·v + η·g;  θ ← θ − v
//	nesterov  v ← γ·v + η·∇f(θ − γ·v);  θ ← θ − v
//	adagrad   G ← G + g⊙g;  θ ← θ − η·g/√(G + ε)
//	adadelta  E_g ← γ·E_g + (1−γ)·g²;  Δ ← −√(E_Δ + ε)/√(E_g + ε) ⊙ g;  E_Δ ← γ·E_Δ + (1−γ)·Δ²;  θ ← θ + Δ
//	rmsprop   E_g ← γ·E_g + (1−γ)·g²;  θ ← θ − η·g/√(E_g + ε)
//	adam      m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  m̂ = m/(1−β1ᵗ);  v̂ = v/(1−β2ᵗ);  θ ← θ − η·m̂/(√v̂ + ε)
//	adamax    m as in adam;  u ← max(β2·u, |g|);  θ ← θ − η/(1−β1ᵗ)·m/u
//	nadam     m, v, m̂, v̂ as in adam;  θ ← θ − η/(√v̂ + ε)·(β1·m̂ + (1−β1)·g/(1−β1ᵗ))
//
// These are the published forms as Ruder (2016) collects them, which the lecture follows. Where
// the lecture's slides differ — Adam's ε inside the square root, AdaMax bias-corrected with β2ⁿ
// and given an ε — this package computes the rules above. gd and adam are GoMLX's own optimizers
// (checked to compute exactly these rules); the others are written here (see New for why).
// Nesterov's optimizer stores the look-ahead point θ − γv as the parameters (Position recovers θ).
//
// Each method reads only its own hyperparameters (Method.Params); Defaults are for training a
// network, Lecture and LectureStart are the lecture's settings for its two test functions,
// f(x, y, z) = x² + 0.1y² + 2z² (funcs.Quad3) and Beale's function (funcs.Beale; misprinted on
// the slides).
//
// # The linear-regression example
//
// LectureRegression, FitBatch, FitStochastic and FitMiniBatch reproduce the lecture's 18-point
// regression (its Python code and pseudo-code) with the gd optimizer: batch, per-sample and
// mini-batch gradient descent.
//
// # References
//
//   - 胡贤良: 神经网络中的优化算法 (Optimization algorithms in neural networks), lecture 3 of
//     《人工神经网络》, 2023 — "the lecture" (seed 001): the rules, the hyperparameters, the worked
//     examples, the regression code, the exercise.
//   - Ruder, S.: An overview of gradient descent optimization algorithms. arXiv:1609.04747 (2016).
//   - Polyak, B.T.: Some methods of speeding up the convergence of iteration methods. USSR Comput.
//     Math. Math. Phys. 4(5), 1–17 (1964).
//   - Nesterov, Y.: A method for solving the convex programming problem with convergence rate
//     O(1/k²). Dokl. Akad. Nauk SSSR 269, 543–547 (1983).
//   - Sutskever, I., Martens, J., Dahl, G., Hinton, G.: On the importance of initialization and
//     momentum in deep learning. ICML (2013).
//   - Bengio, Y., Boulanger-Lewandowski, N., Pascanu, R.: Advances in optimizing recurrent
//     networks. ICASSP (2013).
//   - Duchi, J., Hazan, E., Singer, Y.: Adaptive subgradient methods for online learning and
//     stochastic optimization. JMLR 12, 2121–2159 (2011).
//   - Zeiler, M.D.: ADADELTA: an adaptive learning rate method. arXiv:1212.5701 (2012).
//   - Tieleman, T., Hinton, G.: Lecture 6.5 — RMSProp. COURSERA: Neural Networks for Machine
//     Learning (2012).
//   - Kingma, D.P., Ba, J.: Adam: a method for stochastic optimization. ICLR (2015).
//   - Dozat, T.: Incorporating Nesterov momentum into Adam. ICLR workshop (2016).
package firstorder
