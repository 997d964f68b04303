"""The one way a figure reaches disk: PNG and SVG, atomically and byte-for-byte reproducibly."""

from __future__ import annotations

import pickle
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from ...files import atomic_write

SAVE_DPI = 150
SVG_HASHSALT = "gr-bench"  # fixed so that SVG element ids are the same on every save


def _fresh_copy(fig: Figure) -> Figure:
    """An undrawn copy: the layout engine gives the same float positions only from the same state."""
    if getattr(fig.canvas, "manager", None) is not None:
        return fig  # a pyplot figure: unpickling it would open a new pyplot window
    try:
        return pickle.loads(pickle.dumps(fig))
    except Exception:  # an unpicklable artist added by the caller: draw the figure itself
        return fig


def _atomic_save(fig: Figure, path: Path, fmt: str, metadata: dict, dpi: float) -> None:
    fig = _fresh_copy(fig)

    def draw(f) -> None:
        with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT}):
            fig.savefig(f, format=fmt, dpi=dpi, metadata=metadata)

    atomic_write(path, draw)


def save(fig: Figure, folder: str | Path, name: str, dpi: float = SAVE_DPI) -> list[Path]:
    """Write ``name.png`` and ``name.svg`` into folder, each whole or not at all.

    The files carry no date or software version, SVG ids come from a fixed salt, and each format
    is drawn from an undrawn copy of the figure (constrained layout moves things by a millionth of
    a pixel from one draw to the next), so saving the same figure twice gives byte-identical files.
    The figure itself is not drawn or changed.
    """
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"figure name must be a plain file name, got {name!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    _atomic_save(fig, png, "png", {"Software": None}, dpi)
    _atomic_save(fig, svg, "svg", {"Date": None, "Creator": None}, dpi)
    return [png, svg]
