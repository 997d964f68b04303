"""Which study a command names, and where it is: a study name under --results, a study folder, a
study in a --storage, or a shipped folder's rows (gr-bench report, compare, export and dashboard).
A name that finds nothing is one line (exit code 2) naming the closest studies there are."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import close_hint
from ..input_checks import check_results
from .shipped import is_shipped, load


def study_location(study: str, storage: str | None, results: Path) -> tuple[str, Path, str]:
    """A study name or its folder -> (name, folder, storage URL); exit 2 when there is no such study,
    naming the closest studies there are (study folders under --results, the studies' definitions,
    or the studies in --storage). A shipped folder without --storage: its rows, URL ""."""
    from ..orchestration import StudyError
    from ..storage import check_study_name, default_url, load_study, open_storage

    path = Path(study)
    if storage is None and is_shipped(path):  # shipped rows, no storage: url ""
        return str(load(path)[1].get("study_name") or path.name), path, ""
    if path.is_dir() and (path / "study.db").exists() or "/" in study:
        folder, name = path, path.name
    else:
        check_results(results)
        name, folder = study, Path(results) / study
    check_study_name(name)
    if storage is None and not (folder / "study.db").exists():
        from ..orchestration import study_names

        ran = [d.name for d in folder.parent.iterdir() if (d / "study.db").is_file()] if folder.parent.is_dir() else []
        hint = close_hint(name, ran) or close_hint(name, study_names(listed_only=False))
        raise StudyError(f"no study database at {folder / 'study.db'}{hint or '; pass --storage'}")
    url = storage or default_url(folder)
    store = open_storage(url)
    if load_study(store, name) is None:
        import optuna

        stored = [n for n in optuna.get_all_study_names(store) if ":" not in n]  # not the stages after the first
        raise StudyError(f"no study named {name!r} in that storage{close_hint(name, stored)}")
    return name, folder, url


def dashboard_location(study: str | None, storage: str | None, results: Path) -> tuple[str | None, str]:
    """(study name, storage URL) for gr-bench dashboard: no STUDY, the study database under
    --results written last (or, with --storage, every study in that storage); a study folder without
    a database, the PostgreSQL URL its manifest.json records (without the password, which libpq then
    reads from $PGPASSWORD or ~/.pgpass). A shipped folder holds rows, not a storage: exit 2."""
    from ..orchestration import StudyError
    from ..storage import check_url, without_password

    if study is None:
        if storage is not None:
            check_url(storage)
            return None, storage
        check_results(results)
        found = sorted(Path(results).glob("*/study.db"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise StudyError(f"no study database under {results}/: name a study or its folder, or pass --storage URL")
        study = str(found[-1].parent)
    path = Path(study)
    folder = path if path.is_dir() or "/" in study else Path(results) / study
    if storage is None and not (folder / "study.db").exists():
        try:
            recorded = str(json.loads((folder / "manifest.json").read_text()).get("storage") or "")
        except (OSError, ValueError):
            recorded = ""
        if recorded.startswith("postgresql"):
            storage = without_password(recorded)
        elif is_shipped(folder):
            raise StudyError(f"{folder} holds a shipped study's rows, not its storage: `gr-bench report {folder}` "
                             "rebuilds its report from them")
    name, _, url = study_location(study, storage, results)
    return name, url
