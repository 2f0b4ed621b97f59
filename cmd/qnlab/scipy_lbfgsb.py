#!/usr/bin/python3
"""scipy's L-BFGS-B on the chained Rosenbrock function, for `qnlab bench speed`.

Reads one JSON request per line on stdin, {"n": 100, "m": 10, "tol": 1e-6}, and answers each with
one JSON line: {"seconds": wall time of scipy.optimize.minimize alone, "nfev", "nit", "f",
"gnorm": ‖∇f‖∞ at the end, "status", "scipy": version}. The process stays up so that Python's
start-up and scipy's import are paid once, outside the timings; the caller alternates its own
runs with these requests.

The problem is qnlab's: scipy's rosen/rosen_der (Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²) from
(−1.2, 1, −1.2, 1, …); stop at ‖∇f‖∞ ≤ tol only (gtol = tol; ftol = 0 switches L-BFGS-B's
relative-decrease test off), history maxcor = m, no iteration or evaluation bound in reach.
"""
import json
import sys
import time

import numpy as np
import scipy
from scipy.optimize import minimize, rosen, rosen_der


def solve(n, m, tol):
    x0 = np.ones(n)
    x0[0::2] = -1.2
    options = {"maxcor": m, "gtol": tol, "ftol": 0.0, "maxiter": 10**7, "maxfun": 10**7}
    t0 = time.perf_counter()
    res = minimize(rosen, x0, jac=rosen_der, method="L-BFGS-B", options=options)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "nfev": int(res.nfev),
        "nit": int(res.nit),
        "f": float(res.fun),
        "gnorm": float(np.max(np.abs(rosen_der(res.x)))),
        "status": str(res.message),
        "scipy": scipy.__version__,
    }


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            out = solve(int(req["n"]), int(req["m"]), float(req["tol"]))
        except Exception as e:  # reported to the caller, which fails with it
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
