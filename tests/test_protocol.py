"""The settings the published protocol needs: iterations per task, loss over the seen classes only,
and one optimizer kept across tasks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gr_bench import optim, trainer
from gr_bench.config import RunConfig, preset, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.fitting import classifier_loss, passes
from gr_bench.trainer import run

TINY = {"vae_hidden": (32, 16), "latent": 4, "batch_size": 32}


def test_passes_cut_the_last_one_short():
    assert passes(100, 32, epochs=3, iters=None) == [4, 4, 4]
    assert passes(100, 32, epochs=3, iters=10) == [4, 4, 2]
    assert passes(100, 32, epochs=3, iters=8) == [4, 4]


def test_iters_count_steps_not_epochs():
    bench = make_benchmark(load_dataset("digits"))
    r = run(with_overrides(RunConfig(), {**TINY, "iters": 7, "vae_iters": 3}), bench)
    per_task = [len(t.y_train) for t in bench.tasks]
    assert all(n > 7 * 32 for n in per_task)  # 7 steps are less than a pass: one cut-short pass per task
    assert len(r.curves) == 5 * 5  # one evaluation per (short) pass, of every task
    # classifier: 7 batches of 32 per task; per-task replay adds nothing to the count of steps
    assert r.samples["classifier"] == 5 * 7 * 32 and r.samples["generator"] == 5 * 3 * 32


def test_seen_outputs_loss_ignores_unseen_classes():
    torch.manual_seed(0)
    logits, y = torch.randn(6, 10), torch.tensor([0, 1, 2, 3, 0, 1])
    active = torch.zeros(10, dtype=torch.bool)
    active[:4] = True
    model = lambda x: x  # noqa: E731  the "model" returns the logits it is given
    got = classifier_loss(None, active)(model, logits, y, None, None)
    assert torch.allclose(got, F.cross_entropy(logits[:, :4], y))
    assert torch.allclose(classifier_loss(None)(model, logits, y, None, None), F.cross_entropy(logits, y))


def test_vandeven_preset_is_the_published_protocol():
    cfg = preset("vandeven2019")
    assert (cfg.model.hidden, cfg.model.vae_hidden, cfg.model.latent) == ((400, 400), (400, 400), 100)
    assert (cfg.train.batch_size, cfg.train.iters, cfg.train.vae_iters, cfg.train.lr) == (128, 2000, 2000, 1e-3)
    assert (cfg.train.active_outputs, cfg.replay.replay_mode, cfg.data.class_order) == ("seen", "per-batch", "permuted")
    assert cfg.train.optimizer_state == "keep"


def test_kept_optimizer_differs_from_reset_only_after_the_first_task():
    digits = load_dataset("digits")
    base = with_overrides(RunConfig(), {**TINY, "epochs": 1, "vae_epochs": 1})
    keep = with_overrides(base, {"optimizer_state": "keep"})
    one = make_benchmark(digits, n_tasks=1)
    assert run(base, one).accuracy == run(keep, one).accuracy
    five = make_benchmark(digits)
    a, b = run(base, five).accuracy, run(keep, five).accuracy
    assert a[0] == b[0] and a != b


def test_flops_count_replay_generation():
    """Generative replay pays for decoding and labelling what it replays; a buffer does not."""
    from gr_bench.models import build_classifier, build_vae, forward_flops, train_flops

    bench = make_benchmark(load_dataset("digits"))
    cfg = with_overrides(RunConfig(), {**TINY, "epochs": 1, "vae_epochs": 1, "schedule": "constant:50"})
    r = run(cfg, bench)
    clf = build_classifier(input_dim=64, hidden=cfg.model.hidden, n_outputs=10)
    vae = build_vae(input_dim=64, hidden=cfg.model.vae_hidden, latent=cfg.model.latent)
    training = r.samples["classifier"] * train_flops(clf) + r.samples["generator"] * train_flops(vae)
    generated = sum(r.replay_sizes)
    assert generated == 4 * 50
    assert r.flops_train == training + generated * (forward_flops(vae.decoder) + forward_flops(clf))
    buf = run(with_overrides(cfg, {"strategy": "buffer", "buffer": 50}), bench)
    assert buf.flops_train == buf.samples["classifier"] * train_flops(clf)


@pytest.mark.parametrize("state", ["reset", "keep"])
def test_classifier_and_generator_get_their_own_optimizers(state, monkeypatch):
    """optimizer=adam, vae_optimizer=sgd: the trainer builds Adam for the classifier and SGD (with
    the generator's vae_lr) for the VAE; optimizer_state applies to both."""
    built = []

    def recording(kind, model, lr):
        opt = real(kind, model, lr)
        built.append((kind, lr, opt))
        return opt

    real = optim.make_optimizer
    monkeypatch.setattr(trainer, "_warmed_up", True)  # record the run's optimizers only
    monkeypatch.setattr(trainer, "make_optimizer", recording)
    cfg = with_overrides(RunConfig(), {**TINY, "iters": 2, "vae_iters": 2, "lr": 2e-3, "vae_lr": 5e-4,
                                       "optimizer": "adam", "vae_optimizer": "sgd", "optimizer_state": state,
                                       "schedule": "constant:20"})
    run(cfg, make_benchmark(load_dataset("digits"), n_tasks=2))
    classifier = [(k, o) for k, lr, o in built if lr == 2e-3]
    generator = [(k, o) for k, lr, o in built if lr == 5e-4]
    assert len(classifier) + len(generator) == len(built)
    assert len(classifier) == len(generator) == (2 if state == "reset" else 1)
    assert all(k == "adam" and isinstance(o, (optim.Adam, torch.optim.Adam)) for k, o in classifier)
    assert all(k == "sgd" and isinstance(o, (optim.SGD, torch.optim.SGD)) for k, o in generator)


def test_unset_vae_optimizer_trains_the_generator_with_optimizer(monkeypatch):
    kinds = []

    def recording(kind, model, lr):
        kinds.append(kind)
        return real(kind, model, lr)

    real = optim.make_optimizer
    monkeypatch.setattr(trainer, "_warmed_up", True)
    monkeypatch.setattr(trainer, "make_optimizer", recording)
    cfg = with_overrides(RunConfig(), {**TINY, "iters": 2, "vae_iters": 2, "optimizer": "sgd"})
    run(cfg, make_benchmark(load_dataset("digits"), n_tasks=1))
    assert kinds == ["sgd", "sgd"]  # the classifier's, then the generator's
