"""Figures from exported study data (see export.collect): pure functions that return a Figure.

Every plotting function takes plain data (pandas DataFrames, or lists of row dicts as export.collect
returns them; the shapes are in report.frames) and an optional matplotlib Axes. It gets its numbers
from a frame builder in report.frames and only draws them. Without ``ax`` it builds its own Figure
of a fixed size with ``matplotlib.figure.Figure`` (no pyplot, no GUI backend, nothing global
touched); with ``ax`` it draws into it and returns that Axes' Figure. Nothing here reads files,
trains or imports torch. Empty input gives a figure that says "no data"; NaNs are skipped.

- accuracy.py: each task during training, average accuracy against tasks, the accuracy matrix;
- tradeoffs.py: accuracy against memory and against a cost, a search's Pareto front;
- search.py: optimisation history, parameter importances;
- timing.py: time per phase, time against the number of tasks;
- common.py: axes, colours, formats; save.py: :func:`save`, PNG and SVG, atomic and reproducible.
"""

from .accuracy import accuracy_heatmap, accuracy_vs_tasks, task_accuracy_curves
from .save import save
from .search import optimization_history, param_importances
from .timing import phase_times, time_vs_tasks
from .tradeoffs import accuracy_vs_cost, accuracy_vs_memory, pareto_front

__all__ = [
    "accuracy_heatmap", "accuracy_vs_cost", "accuracy_vs_memory", "accuracy_vs_tasks", "optimization_history",
    "param_importances", "pareto_front", "phase_times", "save", "task_accuracy_curves", "time_vs_tasks",
]
