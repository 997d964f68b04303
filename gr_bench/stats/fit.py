"""How a cost grows: a power law fitted on logarithms, with a t interval on its exponent."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def power_law_fit(x, y, *, confidence=0.95, expected=2.0) -> dict:
    """Fit ``y = c · x^k`` as ``log y = log c + k log x`` (scipy.stats.linregress on natural logs).

    CI of k: ``k ± t_{(1+conf)/2, n-2} · stderr``. ``consistent_with_expected`` is True when
    ``expected`` lies inside it (e.g. quadratic growth of training time with the number of tasks).
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("power_law_fit needs positive x and y (it fits on logarithms)")
    out = dict(exponent=math.nan, ci_low=math.nan, ci_high=math.nan, c=math.nan, r2=math.nan,
               n=len(x), expected=expected, consistent_with_expected=False, reason="")
    if len(np.unique(x)) < 3:
        out["reason"] = f"need at least 3 distinct x values, got {len(np.unique(x))}"
        return out
    res = stats.linregress(np.log(x), np.log(y))
    half = stats.t.ppf((1 + confidence) / 2, len(x) - 2) * res.stderr
    tol = 1e-9 * max(1.0, abs(res.slope))  # an exact fit has a zero-width CI; allow rounding
    out.update(exponent=float(res.slope), ci_low=float(res.slope - half),
               ci_high=float(res.slope + half), c=float(math.exp(res.intercept)),
               r2=float(res.rvalue ** 2),
               consistent_with_expected=bool(res.slope - half - tol <= expected
                                             <= res.slope + half + tol))
    return out
