"""What every figure shares: its size, a new or given Axes, "no data", colours, labels, number formats."""

from __future__ import annotations

import textwrap

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

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


def legend_outside(ax: Axes, **kw) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  frameon=False, **kw)
