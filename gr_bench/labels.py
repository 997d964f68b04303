"""What a configuration is called: a short label of its settings and a stable id.

A configuration of a study is its overrides over the study's base (``name=value`` strings, as
stored with each trial). Its id is the first 6 hex digits of the sha256 of those overrides, sorted,
so the same settings have the same id in every stage and every export (the final stage's
``val_fraction=0``, common to all its configurations, is left out by the caller). Its short
label names the settings a reader needs, e.g. ``linear:793 lr=7.2e-4 decay=0.76``; the full
settings are ``settings_text`` (exact values). The final stage's best are named by rank
(``final_labels``: 'best-1', 'best-2', ...). Labels stored or shipped under an older name read
under today's (``current_label``; ``RENAMED`` is the one mapping): export writes rows and manifests
under today's names (``current_row``, ``current_manifest``) and a shipped folder reads back under
them. Pure functions of strings and plain data: no storage, no torch.
"""

from __future__ import annotations

import hashlib
import re

BARE = ("strategy", "schedule", "generator", "optimizer")  # values that say what they are: shown alone
SHORT_NAMES = {"lr_decay": "decay", "vae_hidden": "vae", "lr_schedule": "lr-sched"}
# The final stage's overrides common to all its configurations: it trains on the whole training
# split (the search holds out 10%). Left out of a configuration's own overrides (id, label).
FINAL_PAIRS = ["val_fraction=0"]
# Declared labels renamed since studies were stored or shipped: old name -> today's. The source
# report's configuration was 'seed-...' (and its VAE 'vae-seed'), which read like a random seed; it is
# 'report-...' ('vae-report') now. A name is renamed alone or inside a derived label
# ('best-schedule@seed-linear:1000-lr', 'seed-linear:1000@best-samples', 'vae-seed/per-task').
RENAMED = {"seed-linear:1000": "report-linear:1000", "seed-vae": "report-vae", "vae-seed": "vae-report"}
_END = r"(?=$|[@/-])"  # a name ends a label or is followed by a derived label's separator
_RENAMED = re.compile(r"(?<![^@])(" + "|".join(map(re.escape, RENAMED)) + r")" + _END)


def current_label(label: str) -> str:
    """A label as today's studies name it: an old name (RENAMED) mapped to its new one, alone or
    inside a derived label; any other label as it is."""
    return _RENAMED.sub(lambda m: RENAMED[m.group(1)], label) if isinstance(label, str) else label


LABEL_FIELDS = ("label", "a", "b", "best", "reference", "control")  # row and attribution fields naming a configuration
PAIR = " vs "  # a comparison named by its two configurations ('a vs b': a --sequential look's keys)


def current_row(row: dict) -> dict:
    """A row (runs.csv, trials.csv, stats.csv or an attribution entry) with every configuration name
    as today's studies spell it: its label fields and its grid parameters (``param_arm``: the arm a
    grid trial ran, its label's parts)."""
    return {k: current_label(v) if k in LABEL_FIELDS or k.startswith("param_") else v for k, v in row.items()}


def current_pair(text: str) -> str:
    """'a vs b' with both sides under today's names."""
    return PAIR.join(current_label(side) for side in text.split(PAIR))


def current_manifest(manifest: dict) -> dict:
    """A manifest with every configuration name under today's: the attribution entries, the final
    stage's configurations and each --sequential look's verdicts and undecided comparisons. Nothing
    else is read as a name (the command and setup stay as they ran)."""
    out = dict(manifest)
    if isinstance(out.get("attribution"), list):
        out["attribution"] = [current_row(e) for e in out["attribution"]]
    if isinstance(out.get("final_configs"), dict):
        out["final_configs"] = {current_label(k): v for k, v in out["final_configs"].items()}
    if isinstance(out.get("sequential"), dict) and isinstance(out["sequential"].get("history"), list):
        out["sequential"] = {**out["sequential"], "history": [_current_look(h) for h in out["sequential"]["history"]]}
    return out


def _current_look(look: dict) -> dict:
    """One --sequential look with its comparisons ('a vs b') under today's names."""
    out = dict(look)
    if isinstance(out.get("verdicts"), dict):
        out["verdicts"] = {current_pair(k): v for k, v in out["verdicts"].items()}
    if isinstance(out.get("undecided"), list):
        out["undecided"] = [current_pair(c) for c in out["undecided"]]
    return out


def first_label(label: str) -> str:
    """The inverse of current_label: a label under the name it was first stored with."""
    for old, new in RENAMED.items():
        label = re.sub(r"(?<![^@])" + re.escape(new) + _END, old, label)
    return label


def settings_dict(pairs: list[str]) -> dict[str, str]:
    """`name=value` strings as {name: value text}, the last of a repeated name winning."""
    return dict(p.split("=", 1) for p in pairs if "=" in p)


def config_id(pairs: list[str]) -> str:
    """6 hex digits naming a configuration: sha256 of its sorted `name=value` overrides."""
    text = "\n".join(sorted(f"{k}={v}" for k, v in settings_dict(pairs).items()))
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def settings_text(pairs: list[str]) -> str:
    """Every override, exact, in its stored order: 'schedule=linear:793 lr=0.000723 lr_decay=0.76'."""
    return " ".join(f"{k}={v}" for k, v in settings_dict(pairs).items())


def _number(text: str) -> str:
    """A float to 2 significant digits ('7.2e-4', '0.76', '12'); anything else as it is."""
    if not any(c in text for c in ".eE") or "," in text or ":" in text:
        return text
    try:
        x = float(text)
    except ValueError:
        return text
    if x != 0 and (abs(x) < 1e-2 or abs(x) >= 1e4):
        mantissa, exponent = f"{x:.1e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{x:.2g}"


def short_settings(pairs: list[str]) -> str:
    """The overrides in short form: bare values for self-explaining fields, short names, floats
    to 2 significant digits: 'linear:793 lr=7.2e-4 decay=0.76'; '(base)' when there are none."""
    parts = []
    for k, v in settings_dict(pairs).items():
        shown = _number(v)
        parts.append(shown if k in BARE else f"{SHORT_NAMES.get(k, k)}={shown}")
    return " ".join(parts) or "(base)"


def final_labels(configs: dict[str, list[str]]) -> dict[str, str]:
    """The labels reports show for the final stage's configurations (keys of study.final_configs): the
    search's best, in rank order, are 'best-1', 'best-2', ...; references and attribution swaps keep
    their declared names, as today's studies spell them (current_label: a study stored before a rename
    reads under the new names). A best's stored key, 'trial-N' (N: the search trial that proposed it),
    stays internal: a search trial number never appears beside the final stage's own trial numbers.
    The settings behind each label are in runs.csv (config_id, settings) and report.md's Configurations."""
    out: dict[str, str] = {}
    rank = 0
    for key in configs:
        if re.fullmatch(r"trial-\d+", key):
            rank += 1
            name = f"best-{rank}"
            out[key] = name if name not in configs else f"search-best-{rank}"
        else:
            out[key] = current_label(key)
    return out
