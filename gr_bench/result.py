"""What one run measured, as plain data (no torch): stored, exported and re-read by reports."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from . import metrics
from .config import RunConfig, config_from_flat, flatten

# 2: provenance, dataset source and hash, generator_bytes, cpu_s, flops_train; 3: generator_info; 4: generator_from
SCHEMA_VERSION = 4

# The summary.csv columns every consumer may rely on, in this order; the flattened config follows.
SUMMARY_COLUMNS = (
    "run_id", "strategy", "dataset", "scenario", "n_tasks", "seed", "split", "status", "reason",
    "final_avg_acc", "avg_forgetting", "bwt", "fwt",
    "time_total_s", "time_generator_s", "time_replay_s", "time_classifier_s", "time_eval_s", "cpu_s", "flops_train",
    "memory_bytes", "generator_bytes", "peak_rss_bytes", "peak_rss_method",
    "params_classifier", "params_generator", "samples_classifier", "samples_generator",
    "train_sizes", "replay_sizes", "threads", "schema_version", "dataset_source", "dataset_sha256",
    "code_version", "cpu_model", "blas", "device", "precision", "generator_from",
)


@dataclass
class RunResult:
    config: RunConfig
    dataset: str  # the dataset actually used (never "auto")
    scenario: str
    split: str  # what R was measured on: "test" or "val"
    status: str = "ok"  # "ok" or "failed"
    reason: str = ""  # why it failed: which model, task and epoch
    accuracy: list[list[float]] = field(default_factory=list)  # R[i][j]; fewer rows if failed
    initial_acc: list[float] = field(default_factory=list)  # b[j]: the untrained classifier
    curves: list[tuple[int, int, int, float]] = field(default_factory=list)  # (after_task, epoch, eval_task, acc)
    times: dict[str, float] = field(default_factory=dict)  # seconds per phase and "total"
    train_sizes: list[int] = field(default_factory=list)  # new + replay samples per task
    replay_sizes: list[int] = field(default_factory=list)
    samples: dict[str, int] = field(default_factory=lambda: {"classifier": 0, "generator": 0})
    flops_train: int = 0  # matmul FLOPs of training (models.train_flops per sample): a load-free cost
    cpu_s: float = 0.0  # process CPU seconds of the run (one run per process at a time)
    params: dict[str, int] = field(default_factory=dict)
    param_bytes: dict[str, int] = field(default_factory=dict)
    memory_bytes: int = 0  # what the strategy keeps between tasks
    # what generative replay with this config's generator would keep (buffer_bytes=match-generator
    # sizes a buffer to it): memory_bytes beside it shows how close a bytes-matched comparison is
    generator_bytes: int = 0
    # a closed-form generator's fitted sizes; gmm: {"chosen": [[label, pca_dim, components], ...]},
    # one per (task, class) group in fitting order (gmm_select=heldout picks them per group)
    generator_info: dict = field(default_factory=dict)
    peak_rss_bytes: int = 0
    peak_rss_method: str = ""
    dataset_source: str = ""  # where the data came from, and whether its content is the known dataset's
    dataset_sha256: str = ""  # content hash of the dataset's four uint8 arrays
    # code version, versions, CPU, BLAS, threads, device, precision (at run time)
    provenance: dict = field(default_factory=dict)
    # the run id of the run that trained this run's generator, when its training was restored from
    # a generator track (generator_tracks.py: the runs differ only in the classifier's lr); "" if trained here
    generator_from: str = ""

    @classmethod
    def start(cls, cfg: RunConfig, bench, split: str) -> RunResult:
        from .provenance import run_provenance

        return cls(config=cfg, dataset=bench.dataset, scenario=bench.scenario, split=split,
                   provenance=run_provenance(cfg),
                   dataset_source=getattr(bench, "source", ""), dataset_sha256=getattr(bench, "content_sha256", ""))

    @property
    def complete(self) -> bool:
        return self.status == "ok" and len(self.accuracy) == self.config.data.n_tasks

    def metrics(self) -> dict[str, float]:
        if not self.complete:
            return {k: math.nan for k in ("final_avg_acc", "avg_forgetting", "bwt", "fwt")}
        return metrics.summary(self.accuracy, self.initial_acc)

    def summary_row(self) -> dict[str, object]:
        cfg = self.config
        row: dict[str, object] = {
            "run_id": cfg.run_id(), "strategy": cfg.strategy, "dataset": self.dataset,
            "scenario": self.scenario, "n_tasks": cfg.data.n_tasks, "seed": cfg.seed,
            "split": self.split, "status": self.status, "reason": self.reason,
            **self.metrics(),
            **{f"time_{p}_s": self.times.get(p, 0.0) for p in ("total", "generator", "replay", "classifier", "eval")},
            "cpu_s": self.cpu_s, "flops_train": self.flops_train,
            "memory_bytes": self.memory_bytes, "generator_bytes": self.generator_bytes,
            "peak_rss_bytes": self.peak_rss_bytes,
            "peak_rss_method": self.peak_rss_method,
            "params_classifier": self.params.get("classifier", 0),
            "params_generator": self.params.get("generator", 0),
            "samples_classifier": self.samples["classifier"], "samples_generator": self.samples["generator"],
            "train_sizes": " ".join(map(str, self.train_sizes)),
            "replay_sizes": " ".join(map(str, self.replay_sizes)),
            "threads": cfg.threads, "schema_version": SCHEMA_VERSION,
            "dataset_source": self.dataset_source, "dataset_sha256": self.dataset_sha256,
            **{k: self.provenance.get(k, "") for k in ("code_version", "cpu_model", "blas", "device")},
            # the arithmetic the run trained in (fp32 for runs stored before precision existed)
            "precision": self.provenance.get("precision", cfg.precision),
            "generator_from": self.generator_from,
        }
        for k, v in flatten(cfg).items():
            row.setdefault(k, v)  # the flattened config; dataset stays the one actually used
        row["dataset_requested"] = cfg.data.dataset
        return row

    def accuracy_rows(self) -> list[dict[str, object]]:
        """Long format: the untrained model (after_task -1, epoch 0), then every epoch of every task."""
        rows: list[dict[str, object]] = [{"after_task": -1, "eval_task": j, "epoch": 0, "acc": a}
                                         for j, a in enumerate(self.initial_acc)]
        rows += [{"after_task": t, "eval_task": j, "epoch": e, "acc": a} for t, e, j, a in self.curves]
        return rows

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (for study storage); :meth:`from_dict` inverts it."""
        d = asdict(self)
        d["config"] = flatten(self.config)
        d["curves"] = [list(c) for c in self.curves]
        d["schema_version"] = SCHEMA_VERSION
        return d

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> RunResult:
        d = dict(d)
        version = d.pop("schema_version", None)
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise ValueError(f"a result written by a newer gr-bench (schema {version}, this one reads up to "
                             f"{SCHEMA_VERSION}); upgrade gr-bench to read it")
        for cost in ("cpu_s", "flops_train"):  # stored before these were recorded: unknown, not zero
            d.setdefault(cost, math.nan)
        d["config"] = config_from_flat(d["config"])  # type: ignore[arg-type]
        d["curves"] = [tuple(c) for c in d["curves"]]  # type: ignore[attr-defined]
        return cls(**d)  # type: ignore[arg-type]
