"""A screenshot of `gr-bench dashboard` showing a study's trials, taken in headless Chromium.

    python scripts/dashboard_screenshot.py [--study FOLDER] [--out docs/img/dashboard.png]

Without --study it first runs a small real study into a temporary folder (baselines --quick on
scikit-learn's digits, 3 seeds: about a minute). It starts `gr-bench dashboard` on a free loopback
port, opens the study in Chromium (Debian's `chromium`, or $CHROMIUM) with a fresh profile and no
network beyond loopback, saves the screenshot (by default the trial list with the best trial open:
its parameters, value and user attributes) and stops the dashboard with Ctrl-C. Exit codes: 0
written; 2 no Chromium or no optuna-dashboard (one line saying which).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GR = [sys.executable, "-m", "gr_bench"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
STUDY = ["study", "baselines", "--quick", "--dataset", "digits", "--seeds", "3", "--workers", "1",
         "--set", "vae_hidden=32,16"]


def chromium() -> str | None:
    found = os.environ.get("CHROMIUM") or next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    return found


def small_study(results: Path) -> Path:
    """A real quick study on digits in ``results``; its folder."""
    p = subprocess.run([*GR, *STUDY, "--results", str(results)], capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"dashboard_screenshot: the study failed: {p.stderr.strip()}")
    return next(d for d in results.iterdir() if (d / "study.db").is_file())


def best_trial(study: Path) -> int:
    """The number of the study's best trial (its first stage, as the dashboard opens it)."""
    from gr_bench.storage import default_url, load_study, open_storage

    found = load_study(open_storage(default_url(study)), study.name)
    if found is None:
        raise SystemExit(f"dashboard_screenshot: no study {study.name!r} in {study / 'study.db'}")
    return found.best_trial.number


def screenshot(study: Path, out: Path, browser: str, *, page: str, size: str = "1400,1000") -> Path:
    """Serve ``study`` with gr-bench dashboard, save Chromium's screenshot of its ``page`` to ``out``."""
    dash = subprocess.Popen([*GR, "dashboard", str(study), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = dash.stdout.readline()  # type: ignore[union-attr]
        found = re.search(r"http://127\.0\.0\.1:\d+/dashboard/studies/\d+", line)
        if not found:
            raise SystemExit(f"dashboard_screenshot: gr-bench dashboard printed no address: {line!r} "
                             f"{dash.stderr.read().strip()}")  # type: ignore[union-attr]
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
                            "--virtual-time-budget=20000", f"--screenshot={out.resolve()}", f"{found.group(0)}/{page}"],
                           capture_output=True, timeout=180, check=True)
    finally:
        dash.send_signal(signal.SIGINT)
        dash.wait(timeout=30)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, help="a study folder holding study.db (default: a small new study)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "dashboard.png")
    ap.add_argument("--page", help="the study's page under /dashboard/studies/ID/ (default: its trial list, the "
                                   "best trial open); '' is its history")
    a = ap.parse_args(argv)
    browser = chromium()
    if browser is None:
        print("dashboard_screenshot: no Chromium (apt-get install chromium, or set $CHROMIUM)", file=sys.stderr)
        return 2
    try:
        import optuna_dashboard  # noqa: F401
    except ImportError:
        print("dashboard_screenshot: no optuna-dashboard (pip install -e '.[dashboard]')", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        study = a.study if a.study is not None else small_study(Path(tmp))
        page = a.page if a.page is not None else f"trials?numbers={best_trial(study)}"
        print(screenshot(study, a.out, browser, page=page))
    return 0


if __name__ == "__main__":
    sys.exit(main())
