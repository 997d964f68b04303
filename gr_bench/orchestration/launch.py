"""`gr-bench study NAME` from its parsed options to a study ready to run: what was asked
(StudyRequest), the study's Setup with every option checked before any work (checked_setup), its
folder and storage made (open_study), and the runs of shipped folders kept in its run cache
(keep_recorded_runs, for --reuse)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..config import RunConfig
from ..errors import DataError
from ..input_checks import check_data_dir, check_results, check_sizes
from .setup import EVAL_SEED_OFFSET, Setup, as_pairs, check_seeds, default_study_name, make_config
from .spec import StudySpec, spec_fingerprint
from .stages import planned_points


@dataclasses.dataclass(frozen=True)
class StudyRequest:
    """What `gr-bench study NAME` was asked for, once its options are parsed (seeds resolved against
    the study's default count, --workers against the cores); checked_setup checks it and turns it
    into the study's Setup."""

    name: str
    quick: bool = False
    trials: int | None = None  # search budget; None: the study's own
    timeout: float | None = None  # seconds before no new trial starts
    workers: int = 1
    storage: str | None = None  # URL; None: the sqlite file in the study folder
    study_name: str | None = None  # None: study.default_study_name, NAME[-DATASET][-SCENARIO][-quick][-mo][-full]
    results: Path = Path("results")  # parent of the study folder
    dataset: str | None = None
    scenario: str | None = None
    tasks: int | None = None
    seeds: tuple[int, ...] = (0,)
    multi_objective: bool = False
    data_dir: Path | None = None
    sets: tuple[str, ...] = ()  # --set pairs, in order
    dry_run: bool = False  # check and plan only: no dataset load, no folder, no storage
    sequential: int | None = None  # --sequential CAP
    prune: bool = True  # False: --no-prune


def checked_setup(spec: StudySpec, request: StudyRequest) -> Setup:
    """The study's Setup from what was asked, checked before any work (options, seeds, dataset,
    plugins, storage URL); unless a dry run, the dataset is loaded (the Setup names the one actually
    used) and the plugins are checked at its size. Nothing is made: open_study makes the folder and
    the storage."""
    from ..data import DATASET_NAMES, load_dataset
    from ..storage import check_study_name, check_url, default_url
    from ..trainer import check_device

    r = request
    check_results(r.results)  # read-only checks first: nothing is loaded or made before they pass
    check_data_dir(r.data_dir)
    setup = _asked(spec, r)
    cfg = check_sizes(make_config(spec, setup, [], r.seeds[0]))  # validates --scenario/--tasks/--set before any work
    check_device(cfg.device)
    check_seeds(spec, setup)
    if cfg.data.dataset not in DATASET_NAMES:
        raise DataError(f"unknown dataset {cfg.data.dataset!r}; choose one of: {', '.join(DATASET_NAMES)}")
    study_name = check_study_name(r.study_name or default_study_name(spec, setup))  # names the dataset: checked first
    folder = Path(r.results) / study_name
    url = r.storage or default_url(folder)
    # the definition of the study as it runs in this scenario (that scenario's published figures)
    setup = dataclasses.replace(setup, study_name=study_name, storage_url=url, results_dir=str(folder),
                                definition=spec_fingerprint(spec.in_scenario(cfg.data.scenario)))
    configs = [cfg, *_grid_configs(spec, setup)]  # their generators and strategies are checked before any run
    check_url(url)
    if r.dry_run:
        _check_plugins(configs)  # at 784 pixels: the dataset is not loaded
        return setup
    ds = load_dataset(cfg.data.dataset, r.data_dir)
    _check_plugins(configs, input_dim=ds.input_dim, n_outputs=ds.n_classes)
    # every run's number of tasks (each grid point's, where the grid sets it) must divide the classes
    bad = sorted(n for n in {c.data.n_tasks for c in configs} if ds.n_classes % n)
    if bad:  # refused before the study folder or its storage exist
        valid = ", ".join(str(d) for d in range(1, ds.n_classes + 1) if ds.n_classes % d == 0)
        raise DataError(f"n_tasks={bad[0]} must divide {ds.name}'s {ds.n_classes} classes: choose one of {valid}")
    return dataclasses.replace(setup, dataset=ds.name)  # every worker uses, and records, the dataset actually used


def _asked(spec: StudySpec, r: StudyRequest) -> Setup:
    """The Setup as asked, before its name, folder and storage are resolved; --sequential's cap and
    --study-name checked."""
    from ..storage import check_study_name
    from .sequential import block_plan

    if r.sequential is not None:  # the cap against the first block: eval_seeds, or a grid's seeds
        block_plan(r.sequential, spec.eval_seeds if spec.kind == "search" else len(r.seeds))
    setup = Setup(study=r.name, study_name="", storage_url="", results_dir="", quick=r.quick,
                  multi_objective=r.multi_objective, dataset=r.dataset, scenario=r.scenario, n_tasks=r.tasks,
                  seeds=r.seeds, eval_seeds=tuple(EVAL_SEED_OFFSET + i for i in range(spec.eval_seeds)),
                  trials=r.trials or spec.trials, workers=r.workers, timeout=r.timeout,
                  data_dir=str(r.data_dir) if r.data_dir else None, sets=r.sets, sequential=r.sequential,
                  prune=r.prune)
    if r.study_name is not None:
        check_study_name(r.study_name)
    return setup


def _grid_configs(spec: StudySpec, setup: Setup) -> list[RunConfig]:
    """Every grid point's config (none for a search). The seed changes no grid point's config, so
    each point is composed once, with the first seed."""
    if spec.kind != "grid":
        return []
    grid = spec.stored_grid()
    return [make_config(spec, setup, [q for axis, labels in grid.items() for q in as_pairs(labels[point[axis]])],
                        point["seed"])
            for point in planned_points(spec, setup, "search", seeds=setup.seeds[:1])]


def _check_plugins(configs: list[RunConfig], *, input_dim: int = 784, n_outputs: int = 10) -> None:
    """Every config's generator and strategy are known, or plugins that import, follow their protocol
    and pass a smoke check at this input size: else one line and exit code 2, before any training."""
    from ..models import check_generator
    from ..strategies import check_strategy

    for cfg in configs:
        check_generator(cfg, input_dim=input_dim, n_outputs=n_outputs)
        check_strategy(cfg, input_dim=input_dim, n_outputs=n_outputs)


def open_study(setup: Setup) -> None:
    """Make the study folder and open its storage: exit code 2 here when the URL is malformed or
    unreachable."""
    from ..files import writable_dir
    from ..storage import open_storage

    writable_dir(Path(setup.results_dir))
    open_storage(setup.storage_url)


def keep_recorded_runs(setup: Setup, records: list[Path]) -> list[str]:
    """Keep the runs recorded in shipped folders (each one's records.jsonl.gz, export.write_records)
    in the study's run cache; one line per folder."""
    if not records:
        return []
    from ..runcache import import_records, open_cache

    cache = open_cache(setup.storage_url, setup.results_dir)
    lines = []
    for path in records:
        n, same = import_records(cache, path)
        lines.append(f"--reuse {path.parent}: {n} recorded runs kept in the run cache, {same} of them by this code "
                     "(only runs of the same code, config and data are reused)")
    return lines
