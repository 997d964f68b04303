"""report.md's provenance lines: the command, datasets, code, wall and CPU time (manifest.json),
and which code ran which seeds (runs.csv)."""

from __future__ import annotations

import pandas as pd

from ..paired_comparisons import with_code
from ..provenance import code_text
from .frames import ok_rows
from .markdown import duration_text, seed_ranges


def header_text(manifest: dict, runs: pd.DataFrame | None = None) -> str:
    """report.md's first lines: the command, datasets, the code that ran the runs, the study's wall
    time and its runs' CPU seconds (manifest.json: one source for each; runs.csv says which runs
    were reused)."""
    ran = manifest.get("command_as_run")  # shipped under another folder name (shipped.named_for)
    lines = [f"Command: `{manifest.get('command', '')}`" + (f" (run as `{ran}`, shipped under this folder's name)"
                                                            if ran else ""),
             f"Datasets: {', '.join(manifest.get('datasets', []))}"]
    lines.append(code_text(manifest.get("code_versions") or [], manifest.get("git_sha", ""))
                 + (f"; storage `{manifest['storage']}`" if manifest.get("storage") else ""))
    wall, cpu = manifest.get("wall_s"), manifest.get("runs_cpu_s")
    if wall or cpu:
        lines.append("Time: " + "; ".join(
            ([f"{duration_text(wall)} wall, first trial start to last trial end{resumed_text(manifest, runs)}"]
             if wall else [])
            + ([f"{cpu:,.0f} s of CPU summed over its runs" + (
                f" ({manifest['restored_generator_runs']} of them restored a generator trained by another run and "
                "count its CPU too)" if manifest.get("restored_generator_runs") else "")] if cpu else []))
            + (f" (CPU: {', '.join(manifest['cpu_models'])})" if manifest.get("cpu_models") else ""))
    return "  \n".join(lines) + "\n"


def resumed_text(manifest: dict, runs: pd.DataFrame | None = None) -> str:
    """What to add to a study's wall time when it was stopped and resumed (export's retried_trials):
    the wall time then spans the stop, so it is no measure of the study's speed; or when some of its
    runs were reused (runs.csv's ``reused``: --reuse or the run cache), whose wall time is not in it."""
    n = manifest.get("retried_trials") or 0
    text = f", across a stop and resume ({n} trials retried), so not one sitting" if n else ""
    reused, total = reused_runs(runs)
    if reused:
        text += (f", the last sitting's only: {reused} of its {total} runs were reused from earlier ones "
                 "(--reuse or the run cache), whose wall time is not in it")
    return text


def reused_runs(runs: pd.DataFrame | None) -> tuple[int, int]:
    """(reused, all) ok runs: ``reused`` is True, or "True" as read back from a CSV; blank is not."""
    if runs is None or runs.empty or "reused" not in runs:
        return 0, 0 if runs is None else len(runs)
    ok = ok_rows(runs)
    return int(ok["reused"].astype(str).str.lower().eq("true").sum()), len(ok)


def codes_text(runs: pd.DataFrame) -> str:
    """Which code ran which seeds: one commit for the whole study, or each commit with its seeds,
    and the run code (provenance.run_code: the modules a run executes) they ran. A seed's two runs
    pair only when they ran the same run code (comparisons.with_code), so a seed split across two
    is left out of that comparison."""
    if runs.empty or "code_version" not in runs:
        return ""
    several = commits_clause(runs)
    if several:
        return f"The {several}; a comparison pairs two runs of one seed only when they ran the same run code.\n"
    df = with_code(ok_rows(runs))
    commit = str(df["code_version"].fillna("").astype(str).iloc[0]) if len(df) else ""
    return f"Every run ran at one code: commit {commit or 'unknown'}, {_run_codes(df)}.\n"


def commits_clause(runs: pd.DataFrame) -> str:
    """'runs come from 3 commits (a: seeds 0-1; b: seeds 2-9), the same run code c (the modules a
    run executes)' when the ok runs ran at more than one commit, else ""."""
    if runs.empty or "code_version" not in runs:
        return ""
    df = with_code(ok_rows(runs))
    versions = df["code_version"].fillna("").astype(str)
    commits = list(dict.fromkeys(versions))
    if len(commits) < 2:
        return ""
    parts = [f"{c or 'unknown'}: seeds {seed_ranges(sorted(set(df.loc[versions == c, 'seed'].astype(int))))}"
             for c in commits]
    return f"runs come from {len(commits)} commits ({'; '.join(parts)}), {_run_codes(df)}"


def _run_codes(df: pd.DataFrame) -> str:
    """'the same run code c (the modules a run executes)', or the run codes, of with_code's rows."""
    commits = set(df["code_version"].fillna("").astype(str))
    run_codes = sorted({c for c in df["code"] if c and c != "nan" and c not in commits})
    return (f"the same run code {run_codes[0]} (the modules a run executes)" if len(run_codes) == 1
            else f"run codes {', '.join(run_codes)}" if run_codes else "run code unknown")
