"""What every figure shares: its size, a new or given Axes, "no data", colours, labels, number formats."""

from __future__ import annotations

import textwrap

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, PercentFormatter

DPI = 100  # the figures' own dpi; save() renders PNGs at SAVE_DPI
SIZE = (6.4, 4.2)  # inches, single-panel figures
PCT = PercentFormatter(xmax=1.0, decimals=0)
MARKERS = "osD^vP*Xh<>"


def new_axes(ax: Axes | None, figsize: tuple[float, float] = SIZE) -> tuple[Figure, Axes]:
    """A Figure of its own with one Axes (no pyplot), or the given Axes and its Figure."""
    if ax is None:
        fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
        return fig, fig.add_subplot()
    return root(ax), ax


def root(ax: Axes) -> Figure:
    try:
        return ax.get_figure(root=True)  # matplotlib >= 3.10: the Figure, not a SubFigure
    except TypeError:
        return ax.figure


def no_data(ax: Axes, title: str = "") -> Figure:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, fontsize=14, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return root(ax)


def palette(n: int) -> list:
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) for line in str(text).split("\n"))


def data_limits(low: float, high: float, floor: float = 0.0, ceiling: float = 1.0) -> tuple[float, float]:
    """Axis limits around [low, high] with a margin of 8% of the range (at least 0.01), kept
    within [floor, ceiling] (accuracies: 0..1) unless the data itself goes beyond."""
    pad = max(0.08 * (high - low), 0.01)
    return max(min(floor, low), low - pad), min(max(ceiling, high), high + pad)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def general(value: float, _pos=None) -> str:
    """A tick label in %g."""
    return f"{value:g}"


def plain(value: float, _pos=None) -> str:
    """A tick label in plain decimals, never in powers of ten: 0.2, 5, 40, 1,000, 20,000."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def sig(value: float, digits: int = 3) -> str:
    """A number to `digits` significant digits in plain decimals, trailing zeros kept so that numbers
    side by side read alike: 0.932, 6.25, 20.0, 312, 1,234 (never 1.23e+03)."""
    import math

    if not math.isfinite(value) or value == 0:
        return f"{value:.{digits - 1}f}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    return f"{value:,.{decimals}f}"


# Human names of the run metrics the figures put on an axis or in a title (frames use the code names).
METRIC_NAMES = {
    "final_avg_acc": "final average accuracy",
    "avg_forgetting": "average forgetting",
    "time_total_s": "training time",
    "flops_train": "training compute",
    "memory_bytes": "memory kept between tasks",
    "cpu_s": "CPU time",
}


def metric_name(metric: str) -> str:
    """'final average accuracy' for final_avg_acc; an unknown metric by its own name."""
    return METRIC_NAMES.get(metric, metric)


class PercentTicks(Formatter):
    """Fractions as percent ticks with the decimals their spacing needs and no more: 11%, 12%, 13%
    or 10.5%, 11.0%, 11.5%; never two ticks that read alike (PCT's 11%, 11%) nor 13.00%. ``symbol``
    "" where the axis label says "(%)"."""

    def __init__(self, symbol: str = "%") -> None:
        self.symbol = symbol
        self.ticks: list[float] = []

    def set_locs(self, locs) -> None:  # the axis hands over every tick before labelling one
        self.ticks = [float(v) for v in locs]

    def __call__(self, x, pos=None) -> str:
        import numpy as np

        locs = np.sort(np.asarray(self.ticks, dtype=float))
        steps = np.diff(locs)
        step = 100 * float(steps[steps > 0].min()) if (steps > 0).any() else 1.0
        decimals = next((d for d in range(4) if abs(round(step, d) - step) < 1e-6 * max(step, 1e-12)), 3)
        return f"{100 * x:.{decimals}f}{self.symbol}"


def legend_outside(ax: Axes, **kw) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  frameon=False, **kw)
