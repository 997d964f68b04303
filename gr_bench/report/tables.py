"""Rich tables built from plain data. Pure: they return a Table, callers print it."""

from __future__ import annotations

import math
from typing import Sequence

from rich import table as _rich_table


class Table(_rich_table.Table):
    """A rich Table whose cells are never cut: a word too long for its column folds onto the next
    line instead of ending in '…' (rich's default overflow), and the table is at least as wide as its
    title and its caption, so each is one line wherever the console has room. On a console of unlimited
    width (a log or a pipe: cli.common.console) no column is narrowed: every cell is printed whole on
    one line."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.min_width is None:
            from rich.errors import MarkupError
            from rich.text import Text

            widths = [0]
            for text in (self.title, self.caption):
                if isinstance(text, str):
                    try:
                        widths.append(Text.from_markup(text).cell_len)
                    except MarkupError:
                        widths.append(len(text))
            self.min_width = max(widths) or None

    def add_column(self, header="", footer="", *, overflow="fold", **kwargs) -> None:
        super().add_column(header, footer, overflow=overflow, **kwargs)


def pct(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.2f}"


def accuracy_matrix(R: Sequence[Sequence[float]], initial: Sequence[float] | None = None,
                    title: str = "Accuracy matrix R[i, j] (%): test accuracy on task j after training task i") -> Table:
    from ..metrics import avg_acc_seen

    T = len(R[0]) if R else len(initial or [])
    table = Table(title=title)
    table.add_column("after task", justify="right")
    for j in range(T):
        table.add_column(f"task {j}", justify="right")
    table.add_column("avg so far", justify="right")
    if initial is not None:
        table.add_row("untrained", *map(pct, initial), "")
    for i, row in enumerate(R):
        table.add_row(str(i), *map(pct, row), pct(avg_acc_seen(row, i)))
    return table


def run_summary(row: dict) -> Table:
    """One run's headline figures, one per line (see metrics.py for the definitions)."""
    table = Table(title=f"Summary: {row['strategy']} on {row['dataset']}, seed {row['seed']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in (
        ("final average accuracy %", pct(row["final_avg_acc"])),
        ("average forgetting %", pct(row["avg_forgetting"])),
        ("backward transfer (BWT) %", pct(row["bwt"])),
        ("forward transfer (FWT) %", pct(row["fwt"])),
        ("training time s", f"{row['time_total_s']:.1f}"),
        ("memory kept between tasks MiB", mib(row["memory_bytes"])),
        ("peak RSS MiB", f"{row['peak_rss_bytes'] / 2**20:.0f}"),
        ("status", str(row["status"]) + (f": {row['reason']}" if row.get("reason") else "")),
    ):
        table.add_row(name, value)
    return table


def phase_times(times: dict[str, float], title: str = "Time per phase") -> Table:
    table = Table(title=title)
    table.add_column("phase")
    table.add_column("seconds", justify="right")
    table.add_column("share %", justify="right")
    total = times.get("total", 0.0) or 1e-12
    for phase in ("generator", "replay", "classifier", "eval"):
        table.add_row(phase, f"{times.get(phase, 0.0):.2f}", f"{100 * times.get(phase, 0.0) / total:.1f}")
    table.add_row("total", f"{times.get('total', 0.0):.2f}", "100.0")
    return table


def memory_table(rows: Sequence[dict], title: str = "Model memory (float32 parameters)") -> Table:
    """Rows: {"model", "params", "bytes"}; MB is MiB (2^20 bytes), as in the seed's Table 1."""
    table = Table(title=title)
    table.add_column("model")
    table.add_column("# parameters", justify="right")
    table.add_column("weight (MB)", justify="right")
    for r in rows:
        table.add_row(r["model"], f"{r['params']:,}", mib(r["bytes"]))
    return table


def generator_memory_table(rows: Sequence[dict], title: str) -> Table:
    """Rows from models.generator_memory: what generative replay keeps with each generator."""
    table = Table(title=title)
    for col in ("generator", "# parameters", "generator (MB)", "+ classifier copy (MB)", "kept (MB)", "= uint8 images",
                "= buffer examples"):
        table.add_column(col, justify="left" if col == "generator" else "right")
    for r in rows:
        table.add_row(r["generator"], f"{r['params']:,}", mib(r["generator_bytes"]), mib(r["classifier_copy_bytes"]),
                      mib(r["kept_bytes"]), f"{r['images']:,}", f"{r['buffer_examples']:,}")
    return table
