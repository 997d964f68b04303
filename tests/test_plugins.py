"""Bring your own generator (docs/plugins.md): a generator is one file, found by its import path, a
$GR_BENCH_PLUGINS folder or an entry point, and gets the built-ins' accounting, buffer and verdicts;
the built-ins run bit for bit as before the registry; a bad plugin is one line and exit code 2."""

import ast
import csv
import hashlib
import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from gr_bench import plugins as plugin_module
from gr_bench.cli import main
from gr_bench.config import ConfigError, RunConfig, config_from_flat, flatten, preset, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.models import (
    GENERATORS,
    build_classifier,
    check_generator,
    generator_class,
    kept_bytes,
    n_params,
)
from gr_bench.report.frames import memory_points, replay_kind
from gr_bench.strategies import matched_bytes
from gr_bench.trainer import run

ROOT = Path(__file__).resolve().parent.parent
GR = str(Path(sys.executable).parent / "gr-bench")
TINY = ["epochs=1", "vae_epochs=1", "schedule=linear:60", "eval_every=task", "dataset=digits"]

# One short run per built-in generator (and per-batch replay, and a buffer matched to gmm's bytes),
# recorded before the generator registry existed (the if-chains on generator names in models/ and
# the trainer): accuracy matrices, training FLOPs, kept bytes and run ids, compared exactly.
CASES = {
    "vae": ["generator=vae"],
    "cvae": ["generator=cvae"],
    "gmm": ["generator=gmm", "pca_dim=8", "gmm_components=2"],
    "rtf": ["generator=rtf"],
    "vae-per-batch": ["generator=vae", "replay_mode=per-batch"],
    "buffer-match-gmm": ["strategy=buffer", "generator=gmm", "buffer_bytes=match-generator:0.5"],
}
BEFORE = {
    "vae": {"run_id": "b8df1eece9d4", "flops_train": 4200915920, "memory_bytes": 1358720, "generator_bytes": 1358720,
            "accuracy": [[0.2676056338028169, 0.0, 0.0, 0.5070422535211268, 0.0], [0.43661971830985913, 0.49295774647887325, 0.0, 0.0, 0.0], [0.0, 0.49295774647887325, 0.0, 0.0, 0.0], [0.0, 0.49295774647887325, 0.0, 0.0, 0.0], [0.0, 0.49295774647887325, 0.0, 0.0, 0.0]]},  # noqa: E501
    "cvae": {"run_id": "c4bb004ddebe", "flops_train": 4266733200, "memory_bytes": 1354000, "generator_bytes": 1354000,
             "accuracy": [[0.2676056338028169, 0.0, 0.0, 0.5070422535211268, 0.0], [0.0, 0.49295774647887325, 0.0, 0.0, 0.0], [0.38028169014084506, 0.49295774647887325, 0.0, 0.0, 0.0], [0.4788732394366197, 0.23943661971830985, 0.0, 0.49295774647887325, 0.0], [0.0, 0.0, 0.0, 0.5070422535211268, 0.5]]},  # noqa: E501
    "gmm": {"run_id": "ef574088bc6e", "flops_train": 189755504, "memory_bytes": 26640, "generator_bytes": 26640,
            "accuracy": [[0.2676056338028169, 0.0, 0.0, 0.5070422535211268, 0.0], [0.0, 0.49295774647887325, 0.0, 0.0, 0.0], [0.07042253521126761, 0.49295774647887325, 0.0, 0.0, 0.0], [0.29577464788732394, 0.49295774647887325, 0.0, 0.5070422535211268, 0.0], [0.056338028169014086, 0.23943661971830985, 0.0, 0.5070422535211268, 0.4714285714285714]]},  # noqa: E501
    "rtf": {"run_id": "78f3fc9599b0", "flops_train": 4327997440, "memory_bytes": 1333560, "generator_bytes": 1333560,
            "accuracy": [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.7746478873239436, 0.0, 0.0, 0.0], [0.0, 0.49295774647887325, 0.0, 0.0, 0.0], [0.0, 0.49295774647887325, 0.0, 0.0, 0.0], [0.0, 0.49295774647887325, 0.0, 0.0, 0.0]]},  # noqa: E501
    "vae-per-batch": {"run_id": "e70fdf71fcfe", "flops_train": 5852731824, "memory_bytes": 1358720,
                      "generator_bytes": 1358720,
                      "accuracy": [[0.2676056338028169, 0.0, 0.0, 0.5070422535211268, 0.0], [0.49295774647887325, 0.0, 0.0, 0.0, 0.0], [0.49295774647887325, 0.0, 0.0, 0.0, 0.0], [0.49295774647887325, 0.0, 0.0, 0.0, 0.0], [0.49295774647887325, 0.0, 0.0, 0.0, 0.0]]},  # noqa: E501
    "buffer-match-gmm": {"run_id": "4b1078b1b58a", "flops_train": 198085000, "memory_bytes": 75900,
                         "generator_bytes": 151800,
                         "accuracy": [[0.2676056338028169, 0.0, 0.0, 0.5070422535211268, 0.0], [0.5915492957746479, 0.11267605633802817, 0.0, 0.0, 0.0], [0.7464788732394366, 0.09859154929577464, 0.0, 0.0, 0.0], [0.9014084507042254, 0.4507042253521127, 0.0, 0.0, 0.0], [0.9577464788732394, 0.6197183098591549, 0.3472222222222222, 0.014084507042253521, 0.0]]},  # noqa: E501
}

SMALL_VAE = '''
from gr_bench.models import VAE


class SmallVAE(VAE):
    """The seed's VAE with 16 hidden units and a 2-d latent: a plugin trained by gradient."""

    @classmethod
    def build(cls, cfg, *, input_dim, n_outputs):
        return cls(input_dim, (16,), 2)


GENERATOR = SmallVAE  # what the plain name `my_gen` means in a $GR_BENCH_PLUGINS folder
'''

# A closed-form, conditional generator; SAMPLE is what sample() returns as pixels.
FITTED = '''
import torch
from gr_bench.models import Generator


class G(Generator):
    closed_form = True
    conditional = True

    @classmethod
    def build(cls, cfg, *, input_dim, n_outputs):
        return cls(input_dim)

    def __init__(self, input_dim):
        self.d, self.labels = input_dim, []

    def fit(self, x, y, rng):
        self.labels = sorted(set(self.labels) | set(y.tolist()))

    def sample(self, n, generator, seen=None):
        y = torch.tensor(self.labels)[torch.randint(len(self.labels), (n,), generator=generator)]
        return SAMPLE, LABELS

    def memory_bytes(self):
        return 4 * self.d * len(self.labels)
'''
GOOD_SAMPLE = "torch.rand(n, self.d, generator=generator)"


def fitted(sample: str = GOOD_SAMPLE, labels: str = "y") -> str:
    return FITTED.replace("SAMPLE", sample).replace("LABELS", labels)


@pytest.fixture(scope="module")
def digits():
    return make_benchmark(load_dataset("digits"))


@pytest.fixture
def plugins(tmp_path, monkeypatch) -> Path:
    """A folder on $GR_BENCH_PLUGINS holding my_gen.py (SmallVAE)."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "my_gen.py").write_text(SMALL_VAE)
    monkeypatch.setenv("GR_BENCH_PLUGINS", str(folder))
    return folder


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def summary(results: Path) -> dict:
    (folder,) = [p for p in results.iterdir() if p.name.startswith("run-")]
    with open(folder / "summary.csv") as f:
        return next(csv.DictReader(f))


# --- the built-ins, unchanged -----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(BEFORE))
def test_builtin_generators_run_bit_for_bit_as_before_the_registry(name, digits):
    cfg = with_overrides(RunConfig(), TINY + CASES[name])
    r = run(cfg, digits)
    want = BEFORE[name]
    assert cfg.run_id() == want["run_id"] and r.status == "ok"
    assert r.accuracy == want["accuracy"]
    assert (r.flops_train, r.memory_bytes, r.generator_bytes) == (want["flops_train"], want["memory_bytes"],
                                                                   want["generator_bytes"])


def test_pinned_run_ids_are_unchanged_and_builtins_record_no_plugin():
    assert preset("seed").run_id() == "bef6d65e5343"
    assert with_overrides(RunConfig(), ["generator=gmm"]).run_id() == "e1c044e69859"
    assert with_overrides(RunConfig(), ["optimizer=sgd", "strategy=buffer", "seed=3"]).run_id() == "64e6d4713557"
    flat = flatten(RunConfig())
    assert flat["generator_sha256"] is None and flat["strategy_sha256"] is None
    assert set(GENERATORS) == {"vae", "cvae", "gmm", "rtf"}


NAMES = {"vae", "cvae", "gmm", "rtf"}
OWN_MODULES = {"gr_bench/models/vae.py", "gr_bench/models/cvae.py", "gr_bench/models/gaussian.py",
               "gr_bench/models/rtf.py"}
# A comparison with a generator's name that is no dispatch, each with its reason.
ALLOWED = {"gr_bench/bench.py": "bench measures the seed's VAE and refuses every other generator"}


def _name_comparisons(tree: ast.AST) -> list[int]:
    """Lines where a built-in generator's name is compared (==, !=, in, not in; a match case)."""
    def names(node) -> set:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*(names(e) for e in node.elts))
        return set()

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(names(o) & NAMES for o in [node.left, *node.comparators]):
            lines.append(node.lineno)
        elif isinstance(node, ast.MatchValue) and names(node.value) & NAMES:
            lines.append(node.lineno)
    return lines


def test_no_if_chain_on_generator_names_outside_their_own_modules():
    found = []
    for path in sorted([*(ROOT / "gr_bench").rglob("*.py"), *(ROOT / "studies").glob("*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if rel in OWN_MODULES or rel in ALLOWED:
            continue
        found += [f"{rel}:{line}" for line in _name_comparisons(ast.parse(path.read_text()))]
    assert found == []
    assert _name_comparisons(ast.parse("if cfg.model.generator in ('vae', 'cvae'):\n    pass")) == [1]  # it sees them


# --- a plugin generator: one file ------------------------------------------------------------------

def test_a_plugin_generator_goes_through_run_and_memory_named_three_ways(plugins, tmp_path):
    sets = [f"--set={p}" for p in ("epochs=1", "vae_epochs=1", "schedule=linear:60")]
    for i, name in enumerate(("my_gen:SmallVAE", "my_gen", f"{plugins / 'my_gen.py'}:SmallVAE")):
        results = tmp_path / f"r{i}"
        code, _, err = cli("run", "--dataset", "digits", f"--set=generator={name}", *sets, "--results", str(results),
                           "--quiet")
        assert (code, err) == (0, ""), err
        row = summary(results)
        assert row["status"] == "ok" and row["generator"] == name
        assert row["generator_sha256"] == sha256(plugins / "my_gen.py")  # the run id covers the plugin's source
    code, out, err = cli("memory", "--set", "generator=my_gen:SmallVAE", "--input-dim", "64")
    assert code == 0, err
    assert "my_gen:SmallVAE" in out and "vae" in out  # the plugin's row beside the built-ins'


def test_a_buffer_matched_to_a_plugins_bytes(plugins, digits):
    cfg = with_overrides(RunConfig(), TINY + ["strategy=buffer", "generator=my_gen:SmallVAE",
                                              "buffer_bytes=match-generator"])
    small = n_params(generator_class(cfg).build(cfg, input_dim=64, n_outputs=10))
    classifier = n_params(build_classifier(input_dim=64, hidden=(50, 50, 50), n_outputs=10))
    expected = 4 * (small + classifier)  # the plugin's float32 parameters and the classifier copy
    assert small == 2_244 and kept_bytes(cfg, input_dim=64, n_outputs=10) == expected
    r = run(cfg, digits)
    assert r.generator_bytes == expected and r.memory_bytes == expected // 66 * 66  # 64-pixel images + label + task


def test_a_generative_run_of_a_plugin_counts_its_flops_and_bytes(plugins, digits):
    cfg = with_overrides(RunConfig(), TINY + ["generator=my_gen"])
    r = run(cfg, digits)
    model = generator_class(cfg).build(cfg, input_dim=64, n_outputs=10)
    assert r.status == "ok" and r.params["generator"] == n_params(model) == 2_244
    assert r.memory_bytes == 4 * (2_244 + 8_860) == r.generator_bytes
    assert r.flops_train > r.samples["generator"] * model.train_flops() > 0
    assert r.provenance["plugins"]["generator"]["sha256"] == sha256(plugins / "my_gen.py")


def test_the_run_id_follows_the_plugins_source(plugins):
    cfg = with_overrides(RunConfig(), ["generator=my_gen:SmallVAE"])
    first = cfg.model.generator_sha256
    assert first == sha256(plugins / "my_gen.py") and cfg.run_id() != RunConfig().run_id()
    assert config_from_flat(flatten(cfg)) == cfg  # a stored config keeps what it recorded
    (plugins / "my_gen.py").write_text(SMALL_VAE + "\n# edited\n")
    again = with_overrides(RunConfig(), ["generator=my_gen:SmallVAE"])
    assert again.model.generator_sha256 != first and again.run_id() != cfg.run_id()
    assert with_overrides(cfg, ["lr=0.01"]).model.generator_sha256 == first  # recorded, kept
    assert with_overrides(cfg, ["generator=my_gen:SmallVAE"]).model.generator_sha256 == again.model.generator_sha256
    assert with_overrides(cfg, ["generator=vae"]).run_id() == RunConfig().run_id()  # back to the built-in
    with pytest.raises(ConfigError, match="changed since this configuration was made"):
        generator_class(cfg)  # never run code other than the code the run id names
    with pytest.raises(ConfigError, match="computed from the plugin's source"):
        with_overrides(RunConfig(), ["generator_sha256=" + "0" * 64])


def test_an_entry_point_names_a_plugin(tmp_path, monkeypatch):
    (tmp_path / "ep_gen.py").write_text(SMALL_VAE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugin_module, "_entry_points", lambda group: {"tiny": "ep_gen:SmallVAE"}
                        if group == "gr_bench.generators" else {})
    cfg = with_overrides(RunConfig(), ["generator=tiny"])
    assert cfg.model.generator_sha256 == sha256(tmp_path / "ep_gen.py")
    assert generator_class(cfg).__name__ == "SmallVAE"
    check_generator(cfg, input_dim=64)


# A strategy plug-in that keeps the last task's first 50 images (tests/test_contributing.py too).
LAST_TASK = '''
from gr_bench.strategies.base import NoMemory, ReplaySet, to_float


class LastTask(NoMemory):
    """Replays 50 images of the previous task."""

    name = "last-task"

    def __init__(self, cfg, bench):
        self.x = self.y = None

    def replay(self, task, rng):
        return None if self.x is None else ReplaySet(to_float(self.x), self.y)

    def after_task(self, task, classifier, rng):
        self.x, self.y = task.x_train[:50], task.y_train[:50]

    def memory_bytes(self):
        return 0 if self.x is None else self.x.numel() + self.y.numel()
'''


def test_a_plugin_strategy(plugins, tmp_path):
    (plugins / "last_task.py").write_text(LAST_TASK)
    code, _, err = cli("run", "--dataset", "digits", "--set", "strategy=last_task:LastTask", "--set", "epochs=1",
                       "--results", str(tmp_path / "r"), "--quiet")
    assert (code, err) == (0, ""), err
    row = summary(tmp_path / "r")
    assert row["strategy"] == "last_task:LastTask" and int(row["memory_bytes"]) == 50 * 65
    assert row["strategy_sha256"] == sha256(plugins / "last_task.py")


KEEPER = '''
import torch

from gr_bench.strategies.base import NoMemory, ReplaySet, to_float


class Keeper(NoMemory):
    """Keeps the first 20 images of every task and replays them all: a buffer by what it declares."""

    stores_samples = True  # real images within a budget: what the trainer and the reports read

    def __init__(self, cfg, bench):
        self.x, self.y = [], []

    def replay(self, task, rng):
        return ReplaySet(to_float(torch.cat(self.x)), torch.cat(self.y)) if self.x else None

    def after_task(self, task, classifier, rng):
        self.x.append(task.x_train[:20])
        self.y.append(task.y_train[:20])

    def memory_bytes(self):
        return sum(t.numel() for t in self.x) + len(self.x) * 20  # uint8 images, a byte per label
'''


def test_a_plugin_strategy_declared_by_its_attributes_gets_the_builtins_treatment(plugins, digits):
    """What the trainer and the frames know of a strategy is its class's attributes, not its name: a
    plug-in that stores samples is accounted and plotted as a buffer, one that replays generated data
    as generative replay, one that declares neither as a reference (by its own name)."""
    (plugins / "keeper.py").write_text(KEEPER)
    (plugins / "plain.py").write_text(KEEPER.replace("stores_samples = True", "pass"))
    (plugins / "dreamer.py").write_text(KEEPER.replace("stores_samples = True", "replays_generated = True"))
    cfg = with_overrides(RunConfig(), TINY + ["strategy=keeper:Keeper"])
    r = run(cfg, digits)
    matched = matched_bytes(with_overrides(cfg, {"buffer_bytes": "match-generator"}), digits)
    assert r.status == "ok" and r.memory_bytes == 5 * 20 * 65
    assert r.generator_bytes == matched > 0  # the bytes generative replay would keep, as a buffer's run records
    plain = run(with_overrides(RunConfig(), TINY + ["strategy=plain:Keeper"]), digits)
    assert plain.memory_bytes == r.memory_bytes and plain.generator_bytes == 0  # no budget declared: a reference
    assert [replay_kind("x", s) for s in ("keeper:Keeper", "plain:Keeper", "dreamer:Keeper", "buffer", "joint")] \
        == ["buffer", "plain:keeper", "generative", "buffer", "joint"]
    rows = [{"label": lab, "strategy": s, "final_avg_acc": 0.5, "memory_bytes": 1000, "status": "ok"}
            for lab, s in (("mine", "keeper:Keeper"), ("buffer-1000", "buffer"), ("joint", "joint"))]
    assert list(memory_points(rows)["kind"]) == ["buffer", "buffer", "joint"]  # the accuracy-memory plane's kinds


# --- bad plugins: one line, exit code 2, before any training ---------------------------------------

BAD = {  # file content, the name to --set, what the line says
    "import error": ("raise RuntimeError('boom at import')\n", "bad:G", "importing"),
    "syntax error": ("class G(:\n", "bad:G", "SyntaxError"),
    "no such class": (fitted(), "bad:Nope", "defines no 'Nope'"),
    "not a Generator": ("class G:\n    pass\n", "bad:G", "subclasses gr_bench.models.Generator"),
    "no sample()": ("from gr_bench.models import Generator\nclass G(Generator):\n    @classmethod\n"
                    "    def build(cls, cfg, *, input_dim, n_outputs):\n        return cls()\n", "bad:G",
                    "does not define sample"),
    "trained but no module": ("from gr_bench.models import Generator\nclass G(Generator):\n    build = sample = "
                              "loss = None\n", "bad:G", "must also subclass torch.nn.Module"),
    "wrong shape": (fitted("torch.rand(n, self.d + 1, generator=generator)"), "bad:G", "expected float32 of shape"),
    "wrong dtype": (fitted("torch.rand(n, self.d, generator=generator).double()"), "bad:G", "float64"),
    "NaN samples": (fitted("torch.full((n, self.d), float('nan'))"), "bad:G", "NaN"),
    "pixels past 1": (fitted("2 + torch.rand(n, self.d, generator=generator)"), "bad:G", "must lie in [0, 1]"),
    "no labels": (fitted(labels="None"), "bad:G", "it is conditional"),
    "labels unseen": (fitted(labels="y + 5"), "bad:G", "not among the seen classes"),
    "no module": ("", "no_such_module_gr:G", "no module 'no_such_module_gr'"),
    "no file": ("", "/no/such/dir/gen.py:G", "no file"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_plugin_is_one_line_and_exit_2(case, plugins):
    content, name, needle = BAD[case]
    (plugins / "bad.py").write_text(content)
    code, _, err = cli("run", "--dry-run", "--dataset", "digits", "--set", f"generator={name}")
    assert code == 2 and err.startswith("gr-bench: error:") and err.count("\n") == 1, (code, err)
    assert needle in err, err


def test_the_good_version_of_the_bad_plugins_passes(plugins):
    (plugins / "good.py").write_text(fitted())
    code, _, err = cli("run", "--dry-run", "--dataset", "digits", "--set", "generator=good:G")
    assert (code, err) == (0, ""), err


def test_a_bad_plugin_strategy_and_a_clash_with_a_builtin_are_one_line(plugins):
    (plugins / "bad_strategy.py").write_text('''
import torch
from gr_bench.strategies.base import NoMemory, ReplaySet


class S(NoMemory):
    name = "bad"

    def __init__(self, cfg, bench):
        pass

    def replay(self, task, rng):
        return ReplaySet(torch.rand(4, 3, dtype=torch.float64), torch.zeros(4, dtype=torch.int64))
''')
    code, _, err = cli("run", "--dry-run", "--set", "strategy=bad_strategy:S")
    assert code == 2 and err.count("\n") == 1 and "strategy plugin" in err and "float32" in err, err
    (plugins / "vae.py").write_text(SMALL_VAE.replace("GENERATOR = SmallVAE", "GENERATOR = SmallVAE  # shadows"))
    code, _, err = cli("run", "--dry-run", "--set", "generator=vae")
    assert code == 2 and err.count("\n") == 1 and "clashes with the built-in" in err, err


# --- the one command a generator's author runs ------------------------------------------------------

def _quick_study(tmp_path: Path, generator: str, env: dict) -> Path:
    p = subprocess.run([GR, "study", "generator_vs_buffer", "--quick", "--dataset", "digits", "--workers", "1",
                        "--results", str(tmp_path), "--set", f"generator={generator}", "--set", "epochs=1",
                        "--set", "vae_epochs=1", "--set", "schedule=linear:100"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, **env})
    assert p.returncode == 0, p.stderr[-3000:]
    assert "yours/per-task: " in p.stdout and "buffer-equal-bytes" in p.stdout  # the answer in the terminal
    return tmp_path / "generator_vs_buffer-digits-quick" / "report.md"


def _answers(report: Path) -> None:
    md = report.read_text()
    assert "| yours/per-task | buffer-equal-bytes |" in md  # the verdict at equal bytes (Answer)
    assert "## At equal bytes, on the fronts, and at what cost" in md
    assert "- yours/per-task: " in md and "accuracy-bytes front" in md and "accuracy-FLOPs front" in md
    assert "#### At every buffer budget" in md and "accuracy-vs-memory" in md and "accuracy-vs-flops" in md


@pytest.mark.slow  # a whole quick study: about 25 s
def test_the_example_through_the_quick_study(tmp_path):
    example = ROOT / "examples" / "pca_gaussian.py"
    assert len(example.read_text().splitlines()) < 80
    report = _quick_study(tmp_path, "examples/pca_gaussian.py:PCAGaussian", {})
    _answers(report)
    assert "examples/pca_gaussian.py:PCAGaussian" in report.read_text()


@pytest.mark.slow  # a whole quick study: about 25 s
def test_a_temporary_plugin_through_the_quick_study(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "my_gen.py").write_text(SMALL_VAE)
    _answers(_quick_study(tmp_path / "r", "my_gen", {"GR_BENCH_PLUGINS": str(folder)}))
