"""One scenario per report and per comparison. Task-, domain- and class-incremental accuracies answer
different questions (a 2-way choice given the task, a 2-way choice without it, a 10-way choice: chance
is 50%, 50% and 10%), so a report, its published figures and `gr-bench compare` never pool or set
side by side the runs of two scenarios: they refuse, in one line, and name the way out (one study
per scenario: `--scenario`, whose default folder is NAME-SCENARIO)."""

from __future__ import annotations

import pandas as pd

from ..orchestration import StudyError


def one_scenario(runs: pd.DataFrame, what: str) -> str | None:
    """The one scenario of `runs` (runs.csv rows), None when they have no scenario column or no
    rows; a StudyError naming the scenarios when there are several (`what` opens its line)."""
    if not len(runs) or "scenario" not in runs:
        return None
    found = sorted({str(s) for s in runs["scenario"].dropna()})
    if len(found) > 1:
        raise StudyError(f"{what}: runs of {len(found)} scenarios ({', '.join(found)}) are never pooled or "
                         "compared; run one study per scenario (--scenario, default folder NAME-SCENARIO)")
    return found[0] if found else None


__all__ = ["one_scenario"]
