"""Is a difference between two configurations real, and is it large? Tests, Holm, t intervals,
equivalence (TOST), power and effect sizes.

Inputs are per-seed values (one number per run), in the metric's own unit. Paired designs compare
the same seeds. The rules (docs/statistics.md gives them with their reasons):

- the difference test is the paired t-test (Welch's t-test for unpaired samples), Holm-adjusted
  across a family of comparisons; the exact Wilcoxon signed-rank (Mann–Whitney U) p is reported
  beside it as ``p_secondary``. Test, interval, equivalence and power thus rest on one model, and a
  t-test can reach any p from 2 pairs on (the exact Wilcoxon cannot go below 2/2**n: 0.0625 at 5
  pairs, so under Holm no comparison of a 5-seed study could ever be significant);
- the CI on the difference is the paired t interval (Welch's for unpaired samples), which covers at
  its nominal level for normal differences at any n >= 3 (a bootstrap BCa covered ~87.5% at n = 8);
  its level is the verdict's: 1 - alpha for one comparison; in a family of K, one minus the level
  the row's p was held to at its step of Holm's procedure (alpha/K at the first step, up to alpha
  at the last), so an interval excludes zero exactly beside a significant difference (a 95%
  interval could exclude zero beside "underpowered"; a Bonferroni 1 - alpha/K one could hold zero
  beside a difference Holm's later steps reject). The unadjusted 95% bounds are kept beside it
  (``ci95_low``, ``ci95_high``);
- "better"/"worse" needs a small adjusted p *and* |diff| >= ``min_effect``;
- "equivalent" needs its own test: TOST (two one-sided paired t-tests) within ±``margin``, Holm-
  adjusted across the family; a non-significant difference test never says "equal";
- power is the paired-t power at ``power_effect`` with alpha / family size (Holm's strictest step);
  below 0.8, or when the design cannot reach alpha at all (fewer than 2 values on a side), an
  inconclusive result is "underpowered".
- with fewer than 3 values (pairs) there is no CI and no effect size (NaN).

Pure functions over numpy/scipy/statsmodels/pandas; no torch. The modules: intervals.py (t intervals,
TOST), tests.py (the registered difference tests, Holm, exact rows), effects.py (effect sizes),
power.py (power, MDE, seeds needed), verdicts.py (one comparison and its verdict), family.py (Holm
families over looks, Friedman), wording.py (a row in words), published.py (against a published
mean ± SEM), fit.py (power-law fits). This package re-exports their public names.
"""

from __future__ import annotations

from ..thresholds import DEFAULTS
from .difference_tests import DEFAULT_TESTS, PAIRED_TESTS, TESTS, DifferenceTest, holm, min_attainable_p, register_test
from .effects import cliffs_delta, cohens_d, orient, paired_delta, prob_improvement
from .family import FAMILY_KEYS, compare_family, friedman
from .fit import power_law_fit
from .intervals import MIN_N, UNADJUSTED, describe, diff_interval, family_level, t_interval, tost
from .power import TARGET_POWER, min_detectable_effect, seeds_needed, tost_power, tost_seeds_needed
from .published import closest_margin, holm_level, mean_interval, welch_against_published, welch_interval
from .verdicts import VERDICTS, WALL_CLOCK_VERDICT, compare_pair, decide, verdict
from .wording import details, exact_text, level_text, margin_text, or_default, p_text, verdict_label

__all__ = [
    "DEFAULTS", "DEFAULT_TESTS", "FAMILY_KEYS", "MIN_N", "PAIRED_TESTS", "TARGET_POWER", "TESTS", "UNADJUSTED",
    "VERDICTS", "WALL_CLOCK_VERDICT", "DifferenceTest", "cliffs_delta", "closest_margin", "cohens_d", "compare_family",
    "compare_pair", "decide", "describe", "details", "diff_interval", "exact_text", "family_level", "friedman", "holm",
    "holm_level", "level_text", "margin_text", "mean_interval", "min_attainable_p", "min_detectable_effect",
    "or_default", "orient", "p_text", "paired_delta", "power_law_fit", "prob_improvement", "register_test",
    "seeds_needed", "t_interval", "tost", "tost_power", "tost_seeds_needed", "verdict", "verdict_label",
    "welch_against_published", "welch_interval",
]
