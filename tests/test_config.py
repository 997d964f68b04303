import dataclasses

import pytest

from gr_bench.config import FIELDS, ConfigError, RunConfig, config_from_flat, flatten, preset, with_overrides


def test_defaults_are_the_seed_preset():
    cfg = preset("seed")
    assert cfg.model.hidden == (50, 50, 50) and cfg.model.vae_hidden == (512, 256) and cfg.model.latent == 2
    assert cfg == RunConfig()


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunConfig().seed = 3  # type: ignore[misc]


def test_overrides_parse_types_and_keep_others():
    cfg = with_overrides(RunConfig(), ["lr=0.01", "hidden=100,100", "buffer_mb=4.25", "n_tasks=10",
                                      "schedule=sqrt:300", "strategy=buffer", "labels=soft"])
    assert cfg.train.lr == 0.01 and cfg.model.hidden == (100, 100) and cfg.replay.buffer_mb == 4.25
    assert cfg.data.n_tasks == 10 and cfg.strategy == "buffer" and cfg.train.epochs == RunConfig().train.epochs
    assert with_overrides(cfg, ["buffer_mb=none"]).replay.buffer_mb is None


def test_run_id_is_a_stable_hash_of_the_config():
    a, b = RunConfig(), RunConfig()
    assert a.run_id() == b.run_id() and len(a.run_id()) == 12
    assert with_overrides(a, ["seed=1"]).run_id() != a.run_id()


def test_flatten_round_trip():
    cfg = with_overrides(RunConfig(), ["hidden=20,30", "buffer_mb=1.5", "schedule=manual:1,2,3,4"])
    flat = flatten(cfg)
    assert flat["hidden"] == "20,30"
    assert config_from_flat({k: str(v) for k, v in flat.items()}) == cfg
    assert config_from_flat(flat) == cfg


def test_field_names_unique_across_sections():
    # --set NAME=VALUE and flat CSV columns rely on it.
    names = [f.name for s in ("data", "model", "train", "replay") for f in dataclasses.fields(getattr(RunConfig(), s))]
    assert len(names) == len(set(names))
    assert set(names) <= set(FIELDS)


@pytest.mark.parametrize(
    "pair, field",
    [("lr=-1", "lr"), ("lr=0", "lr"), ("lr=nan", "lr"), ("epochs=0", "epochs"), ("epochs=2.5", "epochs"),
     ("hidden=", "hidden"), ("hidden=10,-3", "hidden"), ("strategy=foo", "strategy"), ("scenario=x", "scenario"),
     ("schedule=linear:-3", "schedule"), ("buffer=0", "buffer"), ("val_fraction=1", "val_fraction"),
     ("optimizer=rmsprop", "optimizer"), ("seed=-1", "seed"), ("threads=0", "threads"), ("labels=fuzzy", "labels")],
)
def test_invalid_values_name_the_field(pair, field):
    with pytest.raises(ConfigError) as e:
        with_overrides(RunConfig(), [pair])
    assert field in str(e.value) and "\n" not in str(e.value)


def test_manual_schedule_length_must_match_tasks():
    with pytest.raises(ConfigError, match="manual needs 4 sizes"):
        with_overrides(RunConfig(), ["schedule=manual:1,2"])
    assert with_overrides(RunConfig(), ["n_tasks=2", "schedule=manual:5"]).data.n_tasks == 2


@pytest.mark.parametrize("pair", ["nosuch=1", "lr", "=3"])
def test_malformed_set_pairs(pair):
    with pytest.raises(ConfigError):
        with_overrides(RunConfig(), [pair])
