"""precision=bf16 (autocast to bfloat16, fp32 master weights and losses) and the run ids of the
fields added with it (precision, eval_every): unset, they leave every older run id as it was."""

from __future__ import annotations

import pytest
import torch

from gr_bench.config import ConfigError, RunConfig, config_from_flat, flatten, preset, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.fitting import Fit, classifier_loss, fit_epoch, generator_loss
from gr_bench.models import build_classifier, build_vae
from gr_bench.optim import make_optimizer
from gr_bench.trainer import precision_context, run

# Run ids as stored before precision and eval_every existed (tests/test_config.py pins the same).
PINNED = {"seed": "bef6d65e5343", "small": "b150ea736b2e", "quick": "b4f6075f5b84", "vandeven2019": "eb75454efc4e"}
TINY = ["strategy=generative", "epochs=2", "vae_epochs=1", "batch_size=32", "vae_hidden=32,16", "latent=4",
        "hidden=32", "schedule=linear:100", "n_tasks=2"]


@pytest.fixture(scope="module")
def digits2():
    return make_benchmark(load_dataset("digits"), n_tasks=2)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_run_ids_unchanged_while_precision_and_eval_every_are_unset(name):
    assert preset(name).run_id() == PINNED[name]
    assert with_overrides(preset(name), ["precision=fp32", "eval_every=pass"]).run_id() == PINNED[name]
    assert with_overrides(RunConfig(), ["optimizer=sgd", "strategy=buffer", "seed=3"]).run_id() == "64e6d4713557"


def test_precision_and_eval_every_change_the_run_id_when_set():
    base = RunConfig()
    ids = {base.run_id(), with_overrides(base, ["precision=bf16"]).run_id(),
           with_overrides(base, ["eval_every=task"]).run_id(),
           with_overrides(base, ["precision=bf16", "eval_every=task"]).run_id()}
    assert len(ids) == 4
    both = with_overrides(base, ["precision=bf16", "eval_every=task"])
    assert (both.precision, both.train.eval_every) == ("bf16", "task")
    assert config_from_flat({k: str(v) for k, v in flatten(both).items()}) == both
    flat = flatten(base)
    del flat["precision"], flat["eval_every"]  # a row stored before they existed reads back as fp32, pass
    assert config_from_flat(flat) == base


@pytest.mark.parametrize("pair", ["precision=fp16", "precision=BF16", "eval_every=epoch"])
def test_invalid_values_name_the_field(pair):
    with pytest.raises(ConfigError, match=pair.split("=")[0]):
        with_overrides(RunConfig(), [pair])


def test_a_bf16_run_records_its_precision(digits2):
    r = run(with_overrides(RunConfig(), [*TINY, "precision=bf16"]), digits2)
    assert r.status == "ok", r.reason
    row = r.summary_row()
    assert row["precision"] == "bf16" and r.provenance["precision"] == "bf16"
    assert isinstance(r.provenance["native_bf16"], bool)
    back = type(r).from_dict(r.to_dict())
    assert back.config.precision == "bf16" and back.summary_row()["precision"] == "bf16"
    fp32 = run(with_overrides(RunConfig(), TINY), digits2)
    assert fp32.summary_row()["precision"] == "fp32" == fp32.provenance["precision"]
    assert "native_bf16" not in fp32.provenance


def _first_loss(model, loss_fn, args, precision):
    """The first step's loss under `precision`, and its gradients' and weights' dtypes after the step."""
    autocast = precision_context(precision, torch.device("cpu"))
    with autocast():
        loss = loss_fn(model, *args)
    loss.backward()
    grad_dtypes = {p.grad.dtype for p in model.parameters()}
    return loss, grad_dtypes


@pytest.mark.parametrize("kind", ["classifier", "vae"])
def test_bf16_first_step_loss_matches_fp32_within_bf16_tolerance(kind):
    torch.manual_seed(0)
    x = torch.rand(64, 64)
    y = torch.randint(0, 10, (64,))
    losses = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(1)  # the same initial weights and the same reparametrisation noise
        if kind == "classifier":
            model, fn, args = build_classifier(input_dim=64, hidden=(32, 32), n_outputs=10), \
                classifier_loss(None), (x, y, None, None)
        else:
            model, fn, args = build_vae(input_dim=64, hidden=(32, 16), latent=4), generator_loss, (x, None)
        loss, grads = _first_loss(model, fn, args, precision)
        assert loss.dtype == torch.float32  # reduced in fp32 under autocast too
        assert grads == {torch.float32} and {p.dtype for p in model.parameters()} == {torch.float32}
        losses[precision] = loss.item()
    # bf16 keeps 8 bits of mantissa: relative error per product about 2^-8; summed, about 1%
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=2e-2)
    assert losses["bf16"] != losses["fp32"]  # autocast was in effect


def test_bf16_training_runs_the_forward_in_bf16_and_keeps_fp32_state(digits2):
    torch.manual_seed(0)
    vae = build_vae(input_dim=64, hidden=(32, 16), latent=4)
    opt = make_optimizer("adam", vae, 1e-3)
    seen = []
    vae.decoder[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    x = digits2.tasks[0].x_train.float() / 255
    fit = Fit(vae, generator_loss, opt, 32, autocast=precision_context("bf16", torch.device("cpu")))
    fit_epoch(fit, (x, None), torch.Generator().manual_seed(0), "test", max_steps=2)
    assert seen == [torch.bfloat16] * 2
    assert {p.dtype for p in vae.parameters()} == {torch.float32}
    moments = [t for v in opt.state.values() for t in (v.values() if isinstance(v, dict) else v)]
    assert moments and all(t.dtype == torch.float32 for t in moments)


def test_no_native_bf16_is_said_once_in_one_line(monkeypatch, capsys):
    import gr_bench.trainer as trainer

    monkeypatch.setattr(trainer, "native_bf16", lambda device: False)
    monkeypatch.setattr(trainer, "_said_not_native", set())
    for _ in range(3):
        ctx = precision_context("bf16", torch.device("cpu"))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no native bf16" in err
    with ctx():
        assert torch.is_autocast_enabled("cpu")
    assert precision_context("fp32", torch.device("cpu"))().__enter__() is None  # nullcontext
