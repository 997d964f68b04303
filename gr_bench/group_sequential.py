"""Group-sequential boundaries: how much alpha each look at accumulating seeds may spend.

A study that adds seeds in blocks and looks after each block tests the same hypothesis several
times; testing every look at alpha would inflate the false-positive rate. A Lan–DeMets spending
function alpha(t) says how much of alpha may be spent by information fraction t = n / cap (n the
seeds so far, cap the most the study will run); the boundary c_k of look k is the z such that the
probability, under the null, of crossing at look k and at no earlier look equals
alpha(t_k) - alpha(t_{k-1}). Looks need not be planned in advance: each boundary depends only on
the looks so far (Lan & DeMets 1983).

Spending functions (two-sided alpha, or one-sided for ``sides=1``):
- "pocock": alpha · ln(1 + (e - 1) t) (Lan–DeMets' Pocock type): nearly the same nominal level
  at every look, each above the Bonferroni split alpha / K, so a true effect stops earlier;
- "obf": 2 - 2 Φ(z_{1-a/2} / sqrt(t)) per side, a = alpha / 2 on each side of a two-sided test
  (Lan–DeMets' O'Brien–Fleming type): almost nothing at early looks, nearly alpha at the last;
- "bonferroni": alpha / K at each of K planned looks (no integration; conservative): the split
  gr-bench used before, kept so that studies shipped with it read back with their own levels.

Crossing probabilities come from the joint normal law of the look statistics (Z_k = S_k / sqrt(t_k),
S a Brownian motion in information time, Armitage, McPherson & Rowe 1969), integrated numerically
on a grid (the method of Jennison & Turnbull 2000, ch. 19); tests/test_group_sequential.py checks
the boundaries against published values (Pocock's and O'Brien–Fleming's constants, Lan–DeMets
O'Brien–Fleming boundaries).

Seeds give t statistics with few degrees of freedom, not z: a look compares its t-test's p-value
with the boundary's nominal level 2(1 - Φ(c_k)) (one-sided: 1 - Φ(c_k)), the usual way to apply
a boundary to t-tests (Jennison & Turnbull 2000, §3.8); tests/test_group_sequential.py simulates
the whole procedure with paired t-tests and checks its family-wise error.

Several comparisons (a Holm family) share alpha by Holm's rule extended to group-sequential tests
(Maurer & Bretz 2013): each open hypothesis gets alpha / (open hypotheses) and its own boundary at
that level; one rejected at any look passes its share on, and the others' boundaries are
recomputed at the larger share, past looks included. With one look this is Holm's procedure.

Pure functions over numpy and scipy; no torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize
from scipy import stats as st

SPENDING = ("pocock", "obf", "bonferroni")
DEFAULT_SPENDING = "pocock"
_GRID = 801  # grid points across a continuation interval (enough for 4 decimals of a boundary)


@dataclass(frozen=True)
class Design:
    """A sequential study's looks as its analysis needs them: the seeds included at each look
    (cumulative, in the order they were added), the cap (the most seeds a configuration may run:
    information fraction n / cap) and the spending function. ``planned``: the planned number of
    looks (only "bonferroni" uses it)."""

    seeds: tuple[frozenset, ...]
    cap: int
    spending: str = "pocock"
    planned: int | None = None

    @classmethod
    def from_plan(cls, plan: Mapping, seed_order: Sequence[int]) -> Design:
        """The design of a stored --sequential plan (study.sequential.make_plan): the first
        ``seeds_at[k]`` seeds of ``seed_order`` at look k. A plan stored before the spending
        function was recorded split alpha evenly over its looks: "bonferroni"."""
        order = list(seed_order)
        return cls(seeds=tuple(frozenset(order[:n]) for n in plan["seeds_at"]), cap=int(plan["cap"]),
                   spending=plan.get("spending", "bonferroni"), planned=int(plan["looks"]))


def spent(t: float, alpha: float, spending: str, sides: int = 2) -> float:
    """Cumulative alpha a spending function allows by information fraction t (0 < t <= 1): for a
    two-sided test, the one-sided function at alpha / 2 on each side (Lan–DeMets, as gsDesign and
    ldbounds compute symmetric boundaries)."""
    t = min(max(t, 0.0), 1.0)
    if t == 0:
        return 0.0
    side = alpha / sides
    if spending == "pocock":
        return sides * side * math.log(1.0 + (math.e - 1.0) * t)
    if spending == "obf":
        return sides * (2.0 - 2.0 * st.norm.cdf(st.norm.ppf(1.0 - side / 2.0) / math.sqrt(t)))
    raise ValueError(f"unknown spending function {spending!r}; one of {', '.join(SPENDING)}")


def _crossing(c: float, t: float, grid: np.ndarray, dens: np.ndarray, weights: np.ndarray, t_prev: float,
              sides: int) -> float:
    """P(cross at this look, not before): the surviving density of S at the previous look (on
    ``grid``, with quadrature ``weights``) times the chance that S_t leaves (-c sqrt t, c sqrt t)
    (or exceeds c sqrt t, one-sided)."""
    sd = math.sqrt(t - t_prev)
    edge = c * math.sqrt(t)
    up = st.norm.sf((edge - grid) / sd)
    down = st.norm.cdf((-edge - grid) / sd) if sides == 2 else 0.0
    return float(np.sum(weights * dens * (up + down)))


def _miss(c: float, t: float, grid: np.ndarray, dens: np.ndarray, weights: np.ndarray, t_prev: float,
          sides: int, target: float) -> float:
    """How far boundary c's crossing probability at this look is from the look's share."""
    return _crossing(c, t, grid, dens, weights, t_prev, sides) - target


def _advance(c: float, t: float, grid: np.ndarray, dens: np.ndarray, weights: np.ndarray, t_prev: float,
             sides: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The density of S at this look on the paths that have not crossed yet (a new grid over the
    continuation interval, Simpson weights)."""
    edge = c * math.sqrt(t)
    low = -edge if sides == 2 else -edge - 8.0 * math.sqrt(t)  # one-sided: the lower tail is open
    new = np.linspace(low, edge, _GRID)
    h = new[1] - new[0]
    w = np.full(_GRID, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    w *= h / 3.0
    sd = math.sqrt(t - t_prev)
    kernel = st.norm.pdf((new[:, None] - grid[None, :]) / sd) / sd
    return new, kernel @ (weights * dens), w


def crossing_probability(bounds: Sequence[float], fractions: Sequence[float], sides: int = 2) -> float:
    """P(some |Z_k| >= c_k) under the null (``sides=1``: some Z_k >= c_k) for given boundaries:
    the check of a boundary against its total alpha."""
    total, t_prev = 0.0, 0.0
    grid, dens, weights = np.zeros(1), np.ones(1), np.ones(1)
    for c, t in zip(bounds, fractions):
        total += _crossing(c, t, grid, dens, weights, t_prev, sides)
        grid, dens, weights = _advance(c, t, grid, dens, weights, t_prev, sides)
        t_prev = t
    return total


@lru_cache(maxsize=4096)
def boundaries(fractions: tuple[float, ...], alpha: float, spending: str = DEFAULT_SPENDING,
               sides: int = 2, planned: int | None = None) -> tuple[float, ...]:
    """The z boundary of each look at the given information fractions (increasing, in (0, 1]).

    ``sides=2``: reject when |Z_k| >= c_k, total two-sided alpha; ``sides=1``: reject when
    Z_k >= c_k, total one-sided alpha. "bonferroni" gives alpha / K at each look, K the
    ``planned`` looks (default: the looks given)."""
    if not fractions or any(b <= a for a, b in zip(fractions, fractions[1:])) or fractions[0] <= 0:
        raise ValueError(f"information fractions must increase from above 0: {fractions}")
    fractions = tuple(min(1.0, f) for f in fractions)
    if spending == "bonferroni":
        level = alpha / (planned or len(fractions))
        return tuple(float(st.norm.isf(level / sides)) for _ in fractions)
    out: list[float] = []
    t_prev, before = 0.0, 0.0
    grid, dens, weights = np.zeros(1), np.ones(1), np.ones(1)  # S_0 = 0 with probability 1
    for t in fractions:
        target = spent(t, alpha, spending, sides) - before
        if target <= 1e-15:  # nothing to spend here: an unreachable boundary
            c = 40.0
        else:
            c = optimize.brentq(_miss, 0.0, 40.0, args=(t, grid, dens, weights, t_prev, sides, target), xtol=1e-7)
        out.append(float(c))
        before += _crossing(c, t, grid, dens, weights, t_prev, sides)
        grid, dens, weights = _advance(c, t, grid, dens, weights, t_prev, sides)
        t_prev = t
    return tuple(out)


def nominal_levels(fractions: Sequence[float], alpha: float, spending: str = DEFAULT_SPENDING,
                   sides: int = 2, planned: int | None = None) -> list[float]:
    """Each look's nominal p-level: a look rejects when its p-value is below it (two-sided p for
    ``sides=2``, one-sided for 1). One look at fraction 1 gives alpha itself."""
    bounds = boundaries(tuple(float(f) for f in fractions), float(alpha), spending, sides, planned)
    return [float(sides * st.norm.sf(c)) for c in bounds]


_DRAWS = 200_000  # Monte Carlo draws of the t statistics' null law (levels to about ±0.0005)
_DRAWS_SEED = 20_260_501  # fixed: the same seed counts always give the same levels


@lru_cache(maxsize=16)
def _null_pvalues(ns: tuple[int, ...], sides: int) -> np.ndarray:
    """The paired t-tests' p-values at looks of ``ns`` pairs on ``_DRAWS`` sequences of standard
    normal differences (fixed seed): the null law t_levels calibrates to, one column per look. It
    depends on the seed counts alone, so every share of alpha and every spending function reuses it
    (a Holm family asks for its levels at many shares)."""
    rng = np.random.default_rng(_DRAWS_SEED)
    x = rng.standard_normal((_DRAWS, ns[-1]))
    total, squares = np.cumsum(x, axis=1), np.cumsum(x * x, axis=1)
    out = np.empty((_DRAWS, len(ns)))
    for j, n in enumerate(ns):
        mean = total[:, n - 1] / n
        sd = np.sqrt(np.maximum(squares[:, n - 1] - n * mean * mean, 1e-300) / (n - 1))
        t = mean / (sd / math.sqrt(n))
        out[:, j] = 2.0 * st.t.sf(np.abs(t), n - 1) if sides == 2 else st.t.sf(t, n - 1)
    return out


@lru_cache(maxsize=4096)
def t_levels(ns: tuple[int, ...], cap: int, alpha: float, spending: str = DEFAULT_SPENDING, sides: int = 2,
             planned: int | None = None) -> tuple[float, ...]:
    """Nominal p-levels of paired t-tests at looks with ``ns`` pairs (increasing, at most ``cap``):
    the same alpha spent per look as :func:`boundaries` at fractions n / cap, but calibrated to the
    joint null law of the t statistics themselves.

    Why: at a few seeds, t statistics of successive looks are less correlated than z statistics
    (each look estimates its own variance), so z boundaries turned into nominal p-levels let the
    family-wise error creep above alpha (simulated with paired t-tests, 5 seeds a block, cap 20:
    0.054 for Pocock-type spending and 0.050 for O'Brien–Fleming-type at alpha 0.05, one
    comparison). Under the null the law of the paired t statistics of normal differences depends
    on the seed counts only (not on the sd), so it is drawn once: ``_DRAWS`` sequences of standard
    normal differences with a fixed seed; each look's level is the quantile of the surviving draws'
    p-values that spends exactly that look's share. "bonferroni" needs no calibration (a union
    bound): alpha / planned looks at each."""
    if not ns or any(b <= a for a, b in zip(ns, ns[1:])) or ns[0] < 2:
        raise ValueError(f"seed counts must increase from 2: {ns}")
    if spending == "bonferroni":
        return tuple(alpha / (planned or len(ns)) for _ in ns)
    if len(ns) == 1:  # one look: its share, exactly (no draws needed)
        return (spent(min(1.0, ns[0] / cap), alpha, spending, sides),)
    null = _null_pvalues(ns, sides)
    alive = np.ones(_DRAWS, dtype=bool)
    levels: list[float] = []
    before = 0.0
    for j, n in enumerate(ns):
        p = null[:, j]
        goal = spent(min(1.0, n / cap), alpha, spending, sides)
        if not levels:  # the first look: p is uniform under the null, its level is its share exactly
            levels.append(goal)
            newly = alive & (p < goal)
            before += newly.sum() / _DRAWS
            alive &= ~newly
            continue
        k = int(round((goal - before) * _DRAWS))  # draws to reject here: the look's share
        if k <= 0:
            levels.append(0.0)
            continue
        candidates = np.sort(p[alive])
        level = float(candidates[min(k, len(candidates)) - 1]) * (1 + 1e-12)  # p <= the k-th smallest
        levels.append(level)
        newly = alive & (p < level)
        before += newly.sum() / _DRAWS
        alive &= ~newly
    return tuple(levels)


def holm_sequential(looks: Mapping, caps: Mapping | int, alpha: float, spending: str = DEFAULT_SPENDING,
                    sides: int = 2, planned: int | None = None) -> dict:
    """Holm's rule over group-sequential paired t-tests (Maurer & Bretz 2013, equal weights).

    ``looks``: hypothesis -> its looks as (pairs n, p-value), in increasing n; ``caps``: the cap
    of each hypothesis (or one for all). Every open hypothesis gets alpha / (number open) and its
    own levels at that share (:func:`t_levels`); a hypothesis is rejected at the first look whose p
    is below that look's level; each rejection re-shares alpha among the rest, which are tested
    again, past looks included, until nothing more is rejected. With one look at n = cap this is
    Holm's step-down procedure. Returns hypothesis -> the index of the look it is rejected at, or
    None."""
    return {h: at for h, (at, _) in holm_sequential_shares(looks, caps, alpha, spending, sides, planned).items()}


def holm_sequential_shares(looks: Mapping, caps: Mapping | int, alpha: float, spending: str = DEFAULT_SPENDING,
                           sides: int = 2, planned: int | None = None) -> dict:
    """holm_sequential() with the share of alpha each hypothesis was last held to: hypothesis ->
    (look index it is rejected at or None, share). A rejected one's share is that of the round that
    rejected it (alpha/m in the first, more once others are rejected); one never rejected has the
    last round's share, the most lenient it was tested at. Its looks' levels at that share
    (:func:`t_levels`) are the levels its p was held to, so an interval at one minus its look's
    level excludes zero exactly when it was rejected there."""
    open_ = {h for h, seq in looks.items() if seq}
    out: dict = {h: (None, alpha / max(1, len(open_))) for h in looks}
    while open_:
        share = alpha / len(open_)
        newly = {}
        for h in open_:
            seq = looks[h]
            cap = caps[h] if isinstance(caps, Mapping) else caps
            levels = t_levels(tuple(n for n, _ in seq), int(cap), share, spending, sides, planned)
            at = next((k for k, ((_, p), level) in enumerate(zip(seq, levels)) if p < level), None)
            out[h] = (at, share)
            if at is not None:
                newly[h] = at
        if not newly:
            break
        open_ -= set(newly)
    return out


def describe_boundary(spending: str) -> str:
    """How a report names the boundary."""
    return {"pocock": "Lan–DeMets Pocock-type alpha spending",
            "obf": "Lan–DeMets O'Brien–Fleming-type alpha spending",
            "bonferroni": "alpha split evenly over the planned looks (Bonferroni)"}[spending]
