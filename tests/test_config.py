import dataclasses

import pytest

from gr_bench.config import FIELDS, ConfigError, RunConfig, config_from_flat, flatten, preset, with_overrides


def test_defaults_are_the_report_preset():
    cfg = preset("report")
    assert cfg.model.hidden == (50, 50, 50) and cfg.model.vae_hidden == (512, 256) and cfg.model.latent == 2
    assert cfg == RunConfig()


def test_the_old_preset_name_seed_still_works(capsys):
    from gr_bench.cli import main
    from gr_bench.config import PRESETS

    assert "report" in PRESETS and "seed" not in PRESETS  # listed under its new name only
    assert preset("seed") == preset("report")
    for name in ("seed", "report"):
        assert main(["memory", "--preset", name]) == 0
        assert "1,068,820" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="choose from report, small, quick, vandeven2019"):
        preset("huge")


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
     ("optimizer=rmsprop", "optimizer"), ("seed=-1", "seed"), ("threads=0", "threads"), ("labels=fuzzy", "labels"),
     ("vae_optimizer=rmsprop", "vae_optimizer"), ("vae_optimizer=Adam", "vae_optimizer")],
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


def test_vae_optimizer_unset_follows_the_classifier_optimizer():
    assert RunConfig().train.vae_optimizer is None
    assert RunConfig().train.generator_optimizer() == "adam"
    sgd = with_overrides(RunConfig(), ["optimizer=sgd"])
    assert sgd.train.generator_optimizer() == "sgd"
    assert with_overrides(sgd, ["vae_optimizer=none"]) == sgd
    own = with_overrides(RunConfig(), ["optimizer=adam", "vae_optimizer=sgd"])
    assert (own.train.optimizer, own.train.generator_optimizer()) == ("adam", "sgd")
    assert with_overrides(own, ["optimizer=sgd", "vae_optimizer=adam"]).train.generator_optimizer() == "adam"


def test_invalid_vae_optimizer_from_a_dict_is_one_line():
    with pytest.raises(ConfigError, match=r"^vae_optimizer must be one of adam, sgd, got 'rmsprop'$"):
        with_overrides(RunConfig(), {"vae_optimizer": "rmsprop"})


# Run ids as stored before vae_optimizer existed: cached runs and study storage refer to them.
PINNED_RUN_IDS = {
    "seed": "bef6d65e5343", "small": "b150ea736b2e", "quick": "b4f6075f5b84", "vandeven2019": "eb75454efc4e",
}


@pytest.mark.parametrize("name", sorted(PINNED_RUN_IDS))
def test_run_ids_unchanged_while_vae_optimizer_is_unset(name):
    assert preset(name).run_id() == PINNED_RUN_IDS[name]
    assert with_overrides(preset(name), ["vae_optimizer=none"]).run_id() == PINNED_RUN_IDS[name]


def test_vae_optimizer_set_is_part_of_the_run_id():
    base = with_overrides(RunConfig(), ["optimizer=sgd", "strategy=buffer", "seed=3"])
    assert base.run_id() == "64e6d4713557"  # as before vae_optimizer existed
    ids = {base.run_id(), with_overrides(base, ["vae_optimizer=sgd"]).run_id(),
           with_overrides(base, ["vae_optimizer=adam"]).run_id()}
    assert len(ids) == 3
    assert "vae_optimizer" in flatten(base)  # a column like any other, empty when unset
    own = with_overrides(base, ["vae_optimizer=adam"])
    assert config_from_flat({k: str(v) for k, v in flatten(own).items()}) == own
    assert config_from_flat({k: str(v) for k, v in flatten(base).items()}) == base
